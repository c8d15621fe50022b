"""scripts/loadtest.py against the live test server: concurrent readers and
writers, no server error, no lost write, and the audit chain still whole."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.contrib.staticfiles.handlers import StaticFilesHandler
from django.core.servers.basehttp import WSGIServer
from django.db import DEFAULT_DB_ALIAS, connections
from django.test.testcases import LiveServerThread

from branches.models import Village
from pacnam.audit.chain import verify_chain
from pacnam.models import AuditEntry
from tests.conftest import make_commune

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "loadtest.py"


@pytest.fixture(autouse=True)
def plain_static_files(settings):
    # Tests run no collectstatic: the admin's pages need plain static names.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


class _OneAtATimeServer(WSGIServer):
    def __init__(self, *args, connections_override=None, **kwargs):
        super().__init__(*args, **kwargs)


class _OneAtATimeThread(LiveServerThread):
    server_class = _OneAtATimeServer


@pytest.fixture
def server_url(request, transactional_db):
    """The live test server's address.

    On PostgreSQL: pytest-django's live_server, one thread per request, each
    with its own connection: real concurrency in the database. On SQLite the
    test database lives in memory behind ONE connection that the server must
    share, so concurrent requests would trip over each other's transactions
    (a test artefact: production SQLite is a file in WAL mode); there the
    server answers one request at a time while the clients stay concurrent.
    """
    conn = connections[DEFAULT_DB_ALIAS]
    if not (conn.vendor == "sqlite" and conn.is_in_memory_db()):
        yield request.getfixturevalue("live_server").url
        return
    conn.inc_thread_sharing()
    thread = _OneAtATimeThread("127.0.0.1", StaticFilesHandler, {conn.alias: conn})
    thread.daemon = True
    thread.start()
    thread.is_ready.wait()
    if thread.error:
        raise thread.error
    try:
        yield f"http://127.0.0.1:{thread.port}"
    finally:
        thread.terminate()
        conn.dec_thread_sharing()


def loadtest(url, *args) -> dict:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--base-url", url, "--json", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode in (0, 1), result.stderr
    return json.loads(result.stdout)


@pytest.fixture
def admin_user(transactional_db):
    make_commune("01885", "Cao Tân")
    return get_user_model().objects.create_superuser("loadadmin", password="load-pass-1")


def test_concurrent_readers_and_writers_get_no_server_error_and_lose_no_write(
    server_url, admin_user
):
    summary = loadtest(
        server_url,
        "--username",
        "loadadmin",
        "--password",
        "load-pass-1",
        "--readers",
        "3",
        "--writers",
        "2",
        "--seconds",
        "4",
        "--max-requests",
        "300",
    )
    assert summary["server_errors"] == 0, summary
    assert summary["transport_errors"] == {}, summary
    assert summary["lost_writes"] == [], summary
    assert summary["writes_ok"] > 0 and summary["requests"] > summary["writes_ok"]
    assert summary["ok"] is True
    # Every acknowledged write is in the database, once, with its audit entry.
    created = Village.objects.filter(code__startswith="LT-")
    assert created.count() == summary["writes_ok"]
    assert sorted(created.values_list("code", flat=True)) == sorted(summary["created"])
    logged = AuditEntry.objects.filter(
        action="create", object_type="branches.village", object_repr__startswith="Thôn tải"
    )
    assert logged.count() == summary["writes_ok"]
    assert set(logged.values_list("actor_name", flat=True)) == {"loadadmin"}
    assert verify_chain().ok


def test_counter_mode_counts_every_successful_increment(server_url, admin_user):
    commune = make_commune("01870", "Giáo Hiệu")
    village = Village.objects.create(commune=commune, code="CNT", name="Thôn Đếm", households=10)
    summary = loadtest(
        server_url,
        "--username",
        "loadadmin",
        "--password",
        "load-pass-1",
        "--readers",
        "1",
        "--writers",
        "1",
        "--seconds",
        "2",
        "--max-requests",
        "60",
        "--counter-url",
        f"/admin/branches/village/{village.pk}/change/",
        "--counter-field",
        "households",
    )
    assert summary["ok"] is True, summary
    village.refresh_from_db()
    assert summary["writes_ok"] > 0
    assert village.households == 10 + summary["writes_ok"]


def test_it_refuses_a_target_that_is_not_this_machine():
    result = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--base-url",
            "http://192.0.2.10:8000",
            "--username",
            "x",
            "--password",
            "y",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "not a loopback address" in result.stderr
