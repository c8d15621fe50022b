"""The replica router's rules (pacnam.ops.replica), on any database.

No replica is needed: the router only names an alias, and these tests look at
the name it gives, with the request state the middleware sets. The same rules
against a real streaming replica are in tests/test_replica.py.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.sessions.models import Session
from django.db import connections, transaction
from django.http import HttpResponse, StreamingHttpResponse
from django.test import RequestFactory

from members.models import Member
from pacnam.models import ReadLogEntry
from pacnam.ops import replica

ROOT = Path(__file__).resolve().parent.parent
router = replica.ReplicaRouter()


@pytest.fixture
def configured(monkeypatch, settings):
    """As if DATABASE_REPLICA_URL were set and replica reads on."""
    monkeypatch.setattr(replica, "replica_alias", lambda: "replica")
    settings.REPLICA_STICKY_SECONDS = 5


def in_request(method="GET", cookies=None, view=None):
    """Run `view(request)` through ReplicaMiddleware; returns (response, what the view saw)."""
    seen = {}

    def get_response(request):
        seen["read"] = router.db_for_read(Member)
        if view is not None:
            view(request, seen)
        seen.setdefault("read_after", router.db_for_read(Member))
        return seen.pop("response", None) or HttpResponse("ok")

    request = getattr(RequestFactory(), method.lower())("/members/")
    request.COOKIES.update(cookies or {})
    response = replica.ReplicaMiddleware(get_response)(request)
    return response, seen


def sticky_cookie(response) -> dict:
    return (
        {replica.COOKIE: response.cookies[replica.COOKIE].value}
        if replica.COOKIE in response.cookies
        else {}
    )


def test_without_a_replica_the_router_leaves_everything_to_django(settings, monkeypatch):
    monkeypatch.delitem(settings.DATABASES, "replica", raising=False)
    settings.REPLICA_READS = True
    assert replica.replica_alias() is None
    assert router.db_for_read(Member) is None
    assert router.db_for_write(Member) is None


def test_the_off_switch_sends_every_read_to_the_primary(settings, monkeypatch):
    monkeypatch.setitem(settings.DATABASES, "replica", settings.DATABASES["default"])
    settings.REPLICA_READS = True
    assert replica.replica_alias() == "replica"
    settings.REPLICA_READS = False
    assert replica.replica_alias() is None


def test_outside_a_request_reads_and_writes_go_to_the_primary(configured):
    # Management commands, the db_worker, the shell: no request, no replica.
    assert router.db_for_read(Member) == "default"
    assert router.db_for_write(Member) == "default"


def test_a_get_reads_from_the_replica_and_a_post_from_the_primary(configured):
    response, seen = in_request("GET")
    assert seen["read"] == "replica"
    assert replica.COOKIE not in response.cookies
    response, seen = in_request("HEAD")
    assert seen["read"] == "replica"
    response, seen = in_request("POST")
    assert seen["read"] == "default"
    assert replica.COOKIE in response.cookies  # a POST keeps the browser on the primary
    assert response.cookies[replica.COOKIE]["max-age"] == 5
    assert response.cookies[replica.COOKIE]["httponly"]
    # After the request the state is gone: the thread reads from the primary again.
    assert router.db_for_read(Member) == "default"


def test_just_written_reads_from_the_primary_for_the_sticky_window(configured, monkeypatch):
    response, _ = in_request("POST")
    cookie = sticky_cookie(response)
    _, seen = in_request("GET", cookie)
    assert seen["read"] == "default"
    # Any node may serve the next request: the cookie carries its own deadline.
    now = replica._now()
    monkeypatch.setattr(replica, "_now", lambda: now + 5.1)
    _, seen = in_request("GET", cookie)
    assert seen["read"] == "replica"


def test_a_forged_or_tampered_cookie_is_ignored(configured):
    response, _ = in_request("POST")
    value = response.cookies[replica.COOKIE].value
    deadline, signature = value.split(":", 1)
    later = f"{float(deadline) + 3600:.3f}:{signature}"  # keep myself on the primary for an hour
    for cookie in ("9999999999", later):
        _, seen = in_request("GET", {replica.COOKIE: cookie})
        assert seen["read"] == "replica"


def test_no_sticky_window_when_it_is_zero(configured, settings):
    settings.REPLICA_STICKY_SECONDS = 0
    response, _ = in_request("POST")
    assert replica.COOKIE not in response.cookies


def test_a_get_that_writes_reads_its_own_write_and_sticks(configured):
    def view(request, seen):
        assert router.db_for_write(Member) == "default"
        seen["read_after"] = router.db_for_read(Member)

    response, seen = in_request("GET", view=view)
    assert (seen["read"], seen["read_after"]) == ("replica", "default")
    assert replica.COOKIE in response.cookies


def test_the_session_save_and_the_read_log_do_not_stick(configured):
    # Saved on every request (SESSION_SAVE_EVERY_REQUEST) and on every member page:
    # counting them would keep every browser on the primary.
    def view(request, seen):
        router.db_for_write(Session)
        router.db_for_write(ReadLogEntry)
        seen["read_after"] = router.db_for_read(Member)

    response, seen = in_request("GET", view=view)
    assert seen["read_after"] == "replica"
    assert replica.COOKIE not in response.cookies


def test_a_get_that_changes_the_session_sticks(configured):
    class ChangedSession(dict):
        modified = True

    def view(request, seen):
        request.session = ChangedSession()

    response, _ = in_request("GET", view=view)
    assert replica.COOKIE in response.cookies


def test_a_streamed_export_reads_under_its_request_while_it_is_sent(configured):
    # The CSV export's rows are queried while the server sends them, after the
    # middleware has returned.
    reads = []

    def rows():
        for _ in range(2):
            reads.append(router.db_for_read(Member))
            yield b"row\n"

    def view(request, seen):
        seen["response"] = StreamingHttpResponse(rows())

    response, _ = in_request("GET", view=view)
    assert router.db_for_read(Member) == "default"  # outside: not the request's state
    assert b"".join(response.streaming_content) == b"row\nrow\n"
    assert reads == ["replica", "replica"]
    assert router.db_for_read(Member) == "default"


@pytest.mark.django_db(transaction=True)
def test_inside_a_transaction_reads_see_its_own_writes(configured):
    def view(request, seen):
        with transaction.atomic():
            seen["in_atomic"] = router.db_for_read(Member)
        seen["read_after"] = router.db_for_read(Member)

    assert not connections["default"].in_atomic_block
    _, seen = in_request("GET", view=view)
    assert (seen["read"], seen["in_atomic"], seen["read_after"]) == (
        "replica",
        "default",
        "replica",
    )


def test_migrations_only_on_the_primary_and_relations_across_both():
    assert router.allow_migrate("replica", "members") is False
    assert router.allow_migrate("default", "members") is None
    one, other = Member(), Member()
    one._state.db, other._state.db = "replica", "default"
    assert router.allow_relation(one, other) is True
    other._state.db = "elsewhere"
    assert router.allow_relation(one, other) is None


def settings_with(**environ) -> dict:
    """pacnam.settings as a fresh process reads it with `environ`."""
    code = (
        "import json, django; from django.conf import settings; django.setup(); "
        "print(json.dumps({'databases': settings.DATABASES, 'routers': settings.DATABASE_ROUTERS, "
        "'middleware': settings.MIDDLEWARE}, default=str))"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "pacnam.settings", "DEBUG": "1", **environ}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if result.returncode:
        return {"error": result.stderr}
    import json

    return json.loads(result.stdout)


def test_the_settings_add_the_replica_only_when_its_url_is_set():
    plain = settings_with(DATABASE_URL="postgres://u@db:5432/pacnam", DATABASE_REPLICA_URL="")
    assert set(plain["databases"]) == {"default"}
    assert plain["routers"] == []
    assert "pacnam.ops.replica.ReplicaMiddleware" not in plain["middleware"]

    both = settings_with(
        DATABASE_URL="postgres://u@db:5432/pacnam",
        DATABASE_REPLICA_URL="postgres://u@db-replica:5433/pacnam",
        CONN_MAX_AGE="30",
    )
    copy = both["databases"]["replica"]
    assert (copy["HOST"], copy["PORT"], copy["NAME"]) == ("db-replica", 5433, "pacnam")
    assert (copy["CONN_MAX_AGE"], copy["CONN_HEALTH_CHECKS"]) == (30, True)
    assert copy["TEST"]["MIRROR"] == "default"  # no second test database
    assert both["routers"] == ["pacnam.ops.replica.ReplicaRouter"]
    middleware = both["middleware"]
    assert middleware.index("pacnam.ops.replica.ReplicaMiddleware") + 1 == middleware.index(
        "django.contrib.sessions.middleware.SessionMiddleware"
    )

    sqlite = settings_with(
        DATABASE_URL="sqlite:///x.sqlite3", DATABASE_REPLICA_URL="postgres://u@db/pacnam"
    )
    assert "both must be postgres:// URLs" in sqlite["error"]
