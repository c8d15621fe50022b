"""The replica router against a real PostgreSQL streaming replica (issue 14, item 5).

CI starts one (.ci/replica) and sets DATABASE_REPLICA_URL for its PostgreSQL
step. A physical replica replays everything the primary writes, the test
database included, and refuses every write: the two cannot be told apart by
their rows, so these tests look at which connection ran each query. They pause
the replica's replay to make it lag, as a loaded one does, and check that a
user who has just logged in or saved is not shown the lag.

The router's rules on any database: tests/test_replica_router.py.
"""

import time

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.db import connections
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from members.models import Member
from pacnam.ops import replica

NO_REPLICA = (
    "needs a PostgreSQL streaming replica: set DATABASE_REPLICA_URL (CI's .ci/replica starts one)"
)
HAS_REPLICA = "replica" in django_settings.DATABASES
ON_POSTGRES = django_settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"

pytestmark = [
    pytest.mark.postgres,  # on SQLite: skipped as every PostgreSQL-only test is
    # On PostgreSQL without a replica: skipped, and CI (which starts one) refuses that skip.
    pytest.mark.skipif(ON_POSTGRES and not HAS_REPLICA, reason=NO_REPLICA),
    pytest.mark.django_db(
        transaction=True, databases=["default", "replica"] if HAS_REPLICA else ["default"]
    ),
]


def wal_position(alias: str, sql: str) -> str:
    with connections[alias].cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchone()[0]


def caught_up(timeout: float = 30) -> None:
    """Wait until the replica has replayed everything the primary has written so far."""
    target = wal_position("default", "SELECT pg_current_wal_lsn()::text")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with connections["replica"].cursor() as cursor:
            cursor.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [target])
            if cursor.fetchone()[0]:
                return
        time.sleep(0.05)
    raise AssertionError(f"the replica did not reach {target} within {timeout} s")


@pytest.fixture
def real_replica(db, settings):
    """The "replica" alias connected to the real replica's copy of the test database,
    and replica reads on.

    In tests the alias is a mirror of the primary's test database (TEST MIRROR in
    the settings, so no second test database is made): here it keeps that name but
    is pointed at the replica's host and port, where the test database arrived by
    replication.
    """
    connection = connections["replica"]
    mirror = connection.settings_dict
    connection.close()
    connection.settings_dict = {
        **django_settings.DATABASES["replica"],
        "NAME": connections["default"].settings_dict["NAME"],
        "TEST": mirror["TEST"],
    }
    settings.REPLICA_READS = True
    try:
        resume_replay()  # in case a killed run left it paused
        caught_up(timeout=60)  # the CREATE DATABASE of the session may still be on its way
        yield connection
    finally:
        resume_replay()
        connection.close()
        connection.settings_dict = mirror


def pause_replay() -> None:
    with connections["replica"].cursor() as cursor:
        cursor.execute("SELECT pg_wal_replay_pause()")


def resume_replay() -> None:
    with connections["replica"].cursor() as cursor:
        cursor.execute("SELECT pg_wal_replay_resume()")


class Queries:
    """The queries each connection ran inside the block."""

    def __enter__(self):
        self.contexts = {
            alias: CaptureQueriesContext(connections[alias]) for alias in ("default", "replica")
        }
        for context in self.contexts.values():
            context.__enter__()
        return self

    def __exit__(self, *exc):
        for context in self.contexts.values():
            context.__exit__(*exc)

    def sql(self, alias: str) -> list[str]:
        return [query["sql"] for query in self.contexts[alias].captured_queries]

    def reads(self, alias: str) -> list[str]:
        # An export reads through a server-side cursor (QuerySet.iterator): DECLARE … FOR SELECT.
        return [
            sql for sql in self.sql(alias) if sql.lstrip().upper().startswith(("SELECT", "DECLARE"))
        ]

    def writes(self, alias: str) -> list[str]:
        return [
            sql
            for sql in self.sql(alias)
            if sql.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))
        ]


def test_the_alias_is_the_replicas_copy_of_the_test_database(real_replica):
    with real_replica.cursor() as cursor:
        cursor.execute("SELECT current_database(), pg_is_in_recovery(), current_setting('port')")
        name, in_recovery, port = cursor.fetchone()
    assert name == connections["default"].settings_dict["NAME"]
    assert in_recovery  # a standby, not the primary under another name
    assert int(port) == int(django_settings.DATABASES["replica"]["PORT"])


def test_a_get_page_reads_from_the_replica(real_replica, world, client):
    client.force_login(world.district)
    caught_up()
    with Queries() as queries:
        response = client.get(reverse("members:list"))
    assert response.status_code == 200
    assert world.member.full_name in response.content.decode()
    assert any("members_member" in sql for sql in queries.reads("replica"))
    assert any("django_session" in sql for sql in queries.reads("replica"))
    # On the primary: only the session's save (SESSION_SAVE_EVERY_REQUEST).
    assert queries.reads("default") == []
    statements = [sql for sql in queries.sql("default") if sql not in ("BEGIN", "COMMIT")]
    assert statements and all("django_session" in sql for sql in statements), statements
    assert replica.COOKIE not in response.cookies


def test_an_export_streams_from_the_replica_and_logs_on_the_primary(real_replica, world, client):
    client.force_login(world.district)
    caught_up()
    with Queries() as queries:
        response = client.get(reverse("members:export_csv"))
        body = b"".join(response.streaming_content).decode("utf-8-sig")
    assert world.member.citizen_id in body
    assert any("members_member" in sql for sql in queries.reads("replica"))
    assert any("pacnam_readlogentry" in sql for sql in queries.writes("default"))  # the read log
    assert queries.writes("replica") == []
    assert replica.COOKIE not in response.cookies  # logging a read is not the user's write


def test_writes_and_their_next_page_use_the_primary_until_the_window_closes(
    real_replica, world, client, monkeypatch
):
    caught_up()
    pause_replay()  # from here the replica lags, as a loaded one does
    with Queries() as queries:
        response = client.post(
            reverse("login"), {"username": "district", "password": "pw-district"}
        )
    assert response.status_code == 302
    assert queries.sql("replica") == []
    assert any("django_session" in sql for sql in queries.writes("default"))
    assert replica.COOKIE in response.cookies

    # The first page after logging in: its session exists only on the primary.
    with Queries() as queries:
        page = client.get(reverse("members:list"))
    assert page.status_code == 200, (
        "sent back to the login page: the session was read from the lagging replica"
    )
    assert queries.sql("replica") == []
    assert any("members_member" in sql for sql in queries.reads("default"))

    # What the window prevents: the same request without it reads the lagging replica.
    session_cookie = client.cookies[django_settings.SESSION_COOKIE_NAME].value
    sticky = client.cookies.pop(replica.COOKIE)
    lost = client.get(reverse("members:list"))
    assert lost.status_code == 302 and lost.url.startswith(reverse("login"))
    client.cookies[django_settings.SESSION_COOKIE_NAME] = session_cookie
    client.cookies[replica.COOKIE] = sticky.value

    # Once the window has passed (on whichever node), reads are the replica's again.
    resume_replay()
    caught_up()
    now = replica._now()
    monkeypatch.setattr(replica, "_now", lambda: now + django_settings.REPLICA_STICKY_SECONDS + 1)
    with Queries() as queries:
        page = client.get(reverse("members:list"))
    assert page.status_code == 200
    assert any("members_member" in sql for sql in queries.reads("replica"))
    assert queries.reads("default") == []


def test_commands_and_the_worker_read_from_the_primary(real_replica, world, capsys):
    # Outside a request (manage.py, db_worker's tasks) nothing reads the replica,
    # even with replica reads on: a command's output must be the latest state.
    caught_up()
    with Queries() as queries:
        call_command("registry_export", "members")
        assert Member.objects.count() == 3
    assert world.member.citizen_id in capsys.readouterr().out
    assert queries.sql("replica") == []
    assert any("members_member" in sql for sql in queries.reads("default"))
