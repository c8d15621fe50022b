"""The roll page's one save: the attendance marks and the month's dues taken at
the meeting, written together or not at all."""

from collections.abc import Mapping

from django.db import transaction

from branches.access import Scope
from pacnam.audit.trail import audited, running_batch

from ..models import Meeting
from .attendance import meeting_mark_attendance
from .dues import DuesEntry, dues_collect


@audited("meeting_roll_save", subject="meeting")
@transaction.atomic
def meeting_roll_save(
    *,
    scope: Scope,
    meeting: Meeting,
    marks: Mapping[int, tuple[str, str]],
    opened: Mapping[int, str] | None = None,
    dues: Mapping[int, DuesEntry] | None = None,
    dues_opened: Mapping[int, str] | None = None,
    by=None,
) -> tuple[int, int]:
    """Mark the attendance and record the dues the secretary took on the roll.

    One transaction: a refused dues amount (or someone else's dues recorded
    since the form was opened) leaves the marks unsaved too, so the form shown
    again still holds both and one more save writes both. Both services lock
    the meeting first, so the order of locks is theirs. Returns (marks
    written, payment rows written)."""
    marked = meeting_mark_attendance(scope=scope, meeting=meeting, marks=marks, opened=opened)
    paid = 0
    if dues:
        paid = dues_collect(
            scope=scope, meeting=meeting, entries=dues, opened=dues_opened or {}, by=by
        )
    if not paid:
        # One entry, appended after every lock is taken (the trail's head last),
        # named by what it holds: a save that recorded no dues is a marking.
        running_batch().action = "meeting_attendance"
    return marked, paid
