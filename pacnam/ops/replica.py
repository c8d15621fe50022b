"""Reads from a PostgreSQL streaming replica, with read-your-own-writes.

When DATABASE_REPLICA_URL is set, the settings add a "replica" database and
this router. The rules, in order:

- Writes always go to the primary ("default").
- Reads go to the replica only inside a request that may read there
  (ReplicaMiddleware says so): a GET or HEAD (pages, exports) from a browser
  that has not written in the last REPLICA_STICKY_SECONDS. Everything else
  reads from the primary: other methods, management commands, the background
  worker (db_worker), tests, and any code outside a request.
- Inside transaction.atomic() on the primary, reads stay on the primary: a
  read in a write transaction must see that transaction's own rows (the audit
  chain reads its head there, a service re-reads what it just locked).
- Once a request has written through the ORM, its later reads go to the
  primary, and the response carries a short signed cookie that keeps that
  browser on the primary for REPLICA_STICKY_SECONDS. A replica lags its primary
  (usually by milliseconds, under load by more): without the window, the page
  after "save" could show the old values, and the first page after logging in
  could look for a session the replica has not received yet and send the user
  back to the login page.

Why a cookie and not the session or process memory: several gunicorn nodes
behind a proxy serve one user, and the next request may reach any of them; the
session itself is what must not be read stale. A cookie signed with SECRET_KEY
(the same on every node) that carries its own deadline works on any node, and
a client cannot keep itself on the primary longer by replaying it.

The request's state lives in a ContextVar, which is per thread and per asyncio
task: two requests served at once never see each other's.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

REPLICA = "replica"
COOKIE = "pacnam_primary"
_SALT = "pacnam.ops.replica.sticky"
READ_METHODS = frozenset({"GET", "HEAD"})
# Writes that do not make a request (or a browser) read from the primary: the
# session is saved on every request (SESSION_SAVE_EVERY_REQUEST) and the read
# log gets a row on every member page and export; nobody reads either back in
# the next page. A session whose contents changed still counts (the middleware
# looks at session.modified).
UNSTICKY_MODELS = frozenset({"sessions.session", "pacnam.readlogentry"})


@dataclass
class RequestReads:
    """What the router needs to know about the request being served."""

    replica: bool  # this request may read from the replica
    wrote: bool = False  # it has written through the ORM: read from the primary from now on


_request: ContextVar[RequestReads | None] = ContextVar("pacnam_replica_request", default=None)


def replica_alias() -> str | None:
    """The replica's alias when reads may go there, else None.

    REPLICA_READS=0 keeps the alias but sends every read to the primary: the
    switch for a replica that lags too far, and the test suite's default (its
    tests run inside transactions the replica cannot see; tests/test_replica.py
    turns it on).
    """
    if settings.REPLICA_READS and REPLICA in settings.DATABASES:
        return REPLICA
    return None


def _now() -> float:
    return time.time()


class ReplicaRouter:
    """Reads of GET pages to the replica, everything else to the primary (see the module)."""

    def db_for_read(self, model, **hints):
        alias = replica_alias()
        if alias is None:
            return None
        state = _request.get()
        if state is None or not state.replica or state.wrote:
            return DEFAULT_DB_ALIAS
        if connections[DEFAULT_DB_ALIAS].in_atomic_block:
            return DEFAULT_DB_ALIAS
        return alias

    def db_for_write(self, model, **hints):
        if replica_alias() is None:
            return None
        state = _request.get()
        if state is not None and model._meta.label_lower not in UNSTICKY_MODELS:
            state.wrote = True
        # Named, not None: for an object read from the replica Django would
        # otherwise write where the object came from.
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints):
        both = {obj1._state.db, obj2._state.db}
        if both <= {DEFAULT_DB_ALIAS, REPLICA}:
            return True  # one database seen twice: the replica is a copy of the primary
        return None

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        if db == REPLICA:
            return False  # read-only; it replays the primary's migrations
        return None


def sticky(request) -> bool:
    """Whether this browser wrote recently enough to read from the primary."""
    value = request.get_signed_cookie(COOKIE, default=None, salt=_SALT)
    try:
        return value is not None and float(value) > _now()
    except ValueError:
        return False


def _keep_on_primary(response) -> None:
    seconds = settings.REPLICA_STICKY_SECONDS
    if seconds <= 0:
        return
    response.set_signed_cookie(
        COOKIE,
        f"{_now() + seconds:.3f}",
        salt=_SALT,
        max_age=max(1, round(seconds)),
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )


def _streamed(chunks: Iterable, state: RequestReads) -> Iterator:
    """A streamed response (the CSV export) runs its queries after the middleware
    has returned, while the server sends it: each chunk is made under the
    request's state, not the outside's."""
    iterator = iter(chunks)
    try:
        while True:
            token = _request.set(state)
            try:
                chunk = next(iterator)
            except StopIteration:
                return
            finally:
                _request.reset(token)
            yield chunk
    finally:
        close = getattr(iterator, "close", None)
        if close is not None:
            close()


class ReplicaMiddleware:
    """Tells ReplicaRouter whether the request may read from the replica, and
    keeps a browser that has just written on the primary for a few seconds.

    It goes before SessionMiddleware: the session is read from the database
    too, and must be read under the request's rule.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if replica_alias() is None:
            return self.get_response(request)
        reads = request.method in READ_METHODS
        state = RequestReads(replica=reads and not sticky(request))
        token = _request.set(state)
        try:
            response = self.get_response(request)
        finally:
            _request.reset(token)
        if response.streaming and not response.is_async:
            response.streaming_content = _streamed(response.streaming_content, state)
        session = getattr(request, "session", None)
        if not reads or state.wrote or (session is not None and session.modified):
            _keep_on_primary(response)
        return response
