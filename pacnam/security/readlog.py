"""The read log: who opened which member's page, who exported which members.

One call in each place that shows personal data::

    log_member_view(request, member)                         # the member's page
    rows = log_member_export(rows, request=request)          # a web export's rows
    rows = log_member_export(rows, where="manage.py registry_export members",
                             query={"commune": "01885"})     # a command's rows

`log_member_export` passes the rows through untouched and writes one entry
when the last row has gone out (or the download stopped), with the number of
rows written, so a streamed export is counted without counting it twice.
The first row (the header) is not counted.

Entries are pacnam.models.ReadLogEntry, append-only; the page that lists them
for district officers is pacnam.security.views.read_log.
"""

from __future__ import annotations

import getpass
from collections.abc import Iterable, Iterator

from django.db import models

from pacnam.models import ReadAction, ReadLogEntry

REPR_MAX = 300


def _who(user) -> tuple[int | None, str]:
    if user is not None and getattr(user, "is_authenticated", False):
        return user.pk, user.get_username()
    try:
        system = getpass.getuser()
    except (KeyError, OSError):
        system = "?"
    return None, f"{system} (manage.py)"


def log_member_view(request, member: models.Model) -> ReadLogEntry:
    """Record that request.user opened `member`'s page (one INSERT)."""
    actor_id, actor_name = _who(request.user)
    return ReadLogEntry.objects.create(
        actor_id=actor_id,
        actor_name=actor_name,
        action=ReadAction.MEMBER_VIEW,
        object_type=member._meta.label_lower,
        object_id=str(member.pk),
        object_repr=str(member)[:REPR_MAX],
        where=request.path[:300],
    )


def _query_of(request) -> dict:
    return {key: values if len(values) > 1 else values[0] for key, values in request.GET.lists()}


def log_member_export(
    rows: Iterable[list],
    *,
    request=None,
    user=None,
    query: dict | None = None,
    where: str = "",
    header_rows: int = 1,
) -> Iterator[list]:
    """`rows`, recorded as an export of members when they have all been read.

    From a view pass `request` (the user, its filter and path are taken from
    it); from a command pass `query` and `where` (the system account is the actor).
    """
    if request is not None:
        user = request.user
        query = _query_of(request) if query is None else query
        where = where or request.get_full_path()[:300]
    actor_id, actor_name = _who(user)
    sent = 0
    complete = False
    try:
        for row in rows:
            sent += 1  # counted as it is handed on: a stopped download counts what it got
            yield row
        complete = True
    finally:
        ReadLogEntry.objects.create(
            actor_id=actor_id,
            actor_name=actor_name,
            action=ReadAction.MEMBER_EXPORT,
            query={**(query or {}), **({} if complete else {"stopped": True})},
            rows=max(0, sent - header_rows),
            where=where[:300],
        )
