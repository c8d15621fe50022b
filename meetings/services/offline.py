"""The roll taken on a phone with no signal, applied when the phone is back online.

The phone keeps each entry (its marks, and the marks it showed when the roll was
opened) under an id it made itself, and sends its queue when the network
returns. Two things must never happen: an entry applied twice (the phone did
not get the answer and sends again), and a mark someone else made meanwhile
silently overwritten by the phone's older view of the roll.
"""

import datetime
import uuid
from collections.abc import Mapping

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from branches.access import Scope
from pacnam.audit.trail import audited, running_batch
from pacnam.lib.errors import DomainError
from pacnam.lib.fields import own_field

from ..models import Attendance, Meeting, OfflineEntry, OfflineEntryKind, Presence
from .attendance import meeting_mark_attendance
from .guards import check_not_adopted, check_rights, lock_meeting
from .meetings import meeting_update
from .tasks import task_create

# What a phone with no signal may write on a meeting: its texts. The other fields
# (the date, the chair) are chosen from the registry's lists and wait for a network.
RECORD_FIELDS = ("agenda", "minutes", "resolution")


def same_text(a: str, b: str) -> bool:
    """Texts equal but for line endings and the spaces at their ends (a textarea
    sends \r\n; the browser trims nothing, the form strips)."""
    return (a or "").replace("\r\n", "\n").strip() == (b or "").replace("\r\n", "\n").strip()


Mark = tuple[str, str]


def _label(mark: Mark) -> str:
    presence, reason = mark
    label = str(Presence(presence).label) if presence in Presence.values else _("not marked")
    return f"{label} ({reason})" if reason else label


def meeting_apply_offline_roll(
    *, meeting: Meeting, client_id: uuid.UUID, **entry
) -> tuple[dict, bool]:
    """Apply one entry of a phone's queue once; returns (outcome, was_new).

    An entry already applied is answered as it was, without a write or a new
    audit entry (a replay is not an act of anyone's).
    """
    previous = OfflineEntry.objects.filter(client_id=client_id).first()
    if previous is not None:
        return _repeated(previous, meeting)
    return _apply(meeting=meeting, client_id=client_id, **entry)


def _repeated(previous: OfflineEntry, meeting: Meeting) -> tuple[dict, bool]:
    if previous.meeting_id != meeting.pk:
        raise DomainError(_("This entry was sent for another meeting."))
    return previous.outcome, False


@audited("meeting_attendance_offline", subject="meeting")
@transaction.atomic
def _apply(
    *,
    scope: Scope,
    by,
    meeting: Meeting,
    client_id: uuid.UUID,
    marks: Mapping[int, Mark],
    seen: Mapping[int, Mark],
    written_at: datetime.datetime | None = None,
) -> tuple[dict, bool]:
    """`by` is the user who sent it. `marks` are the phone's marks by member id, `seen` what the phone showed for
    those members before they were marked. A mark is written when the roll still
    holds what the phone saw (or already holds the phone's mark); otherwise it is
    a conflict, left as the server has it and returned with both values for the
    user to choose.
    """
    # The meeting's row lock serialises two sends of the same queue (two tabs, a
    # retry racing the first try): the second waits, then finds the entry and
    # answers what the first one did. The unique client_id is the backstop.
    current = lock_meeting(meeting)
    previous = OfflineEntry.objects.filter(client_id=client_id).first()
    if previous is not None:
        return _repeated(previous, current)
    check_rights(scope, current.branch)
    check_not_adopted(current)
    if current.roll_opened:
        lines = {
            a.member_id: a
            for a in Attendance.objects.filter(meeting=current).select_related("member")
        }
    else:
        lines = {}
    to_write: dict[int, Mark] = {}
    conflicts = []
    for member_id, mark in marks.items():
        line = lines.get(member_id)
        now: Mark = (line.presence, line.reason) if line else ("", "")
        if now == tuple(mark):
            continue
        if now == tuple(seen.get(member_id, ("", ""))):
            to_write[member_id] = mark
        else:
            conflicts.append(
                {
                    "member": member_id,
                    "name": line.member.full_name if line else "",
                    "server": list(now),
                    "phone": list(mark),
                    "server_label": _label(now),
                    "phone_label": _label(mark),
                }
            )
    if to_write:
        meeting_mark_attendance(scope=scope, meeting=current, marks=to_write)
    outcome = {"written": len(to_write), "conflicts": conflicts}
    try:
        with transaction.atomic():
            entry = OfflineEntry.objects.create(
                client_id=client_id,
                meeting=current,
                kind=OfflineEntryKind.ROLL,
                sent_by=by,
                written_at=written_at,
                outcome=outcome,
            )
    except IntegrityError:
        # Only if the lock above was bypassed; refusing keeps the marks unwritten
        # (the whole transaction rolls back) and the phone sends again.
        raise DomainError(_("This entry is already being applied; send it again.")) from None
    running_batch().record(entry)
    return outcome, True


def meeting_apply_offline_task(
    *, meeting: Meeting, client_id: uuid.UUID, **entry
) -> tuple[dict, bool]:
    """Set a task written on a phone with no signal, once; returns (outcome,
    was_new). A replay (the phone never got the answer) is answered as the first
    send was, and sets no second task."""
    previous = OfflineEntry.objects.filter(client_id=client_id).first()
    if previous is not None:
        return _repeated(previous, meeting)
    return _apply_task(meeting=meeting, client_id=client_id, **entry)


@audited("meeting_task_offline", subject="meeting")
@transaction.atomic
def _apply_task(
    *,
    scope: Scope,
    by,
    meeting: Meeting,
    client_id: uuid.UUID,
    written_at: datetime.datetime | None = None,
    **task,
) -> tuple[dict, bool]:
    """`task` holds task_create's fields (description, due_on, assignees,
    household_head, household_village), already read by the task form. The task
    and the entry that says it was applied are written together, so an entry is
    never applied without being noted, nor noted without its task."""
    # As for the roll: the meeting's row lock serialises two sends of the same
    # entry (a retry racing the first try); the second finds the entry and answers.
    current = lock_meeting(meeting)
    previous = OfflineEntry.objects.filter(client_id=client_id).first()
    if previous is not None:
        return _repeated(previous, current)
    created = task_create(scope=scope, meeting=current, **task)
    outcome = {"task": created.pk, "description": created.description}
    try:
        with transaction.atomic():
            entry = OfflineEntry.objects.create(
                client_id=client_id,
                meeting=current,
                kind=OfflineEntryKind.TASK,
                sent_by=by,
                written_at=written_at,
                outcome=outcome,
            )
    except IntegrityError:
        raise DomainError(_("This entry is already being applied; send it again.")) from None
    running_batch().record(entry)
    return outcome, True


def meeting_apply_offline_record(
    *, meeting: Meeting, client_id: uuid.UUID, **entry
) -> tuple[dict, bool]:
    """Write the agenda, minutes or resolution typed on a phone with no signal,
    once; returns (outcome, was_new). As for the roll, a text is written only where
    the registry still holds what the phone showed when the page was opened;
    otherwise both are answered, for the secretary to choose."""
    previous = OfflineEntry.objects.filter(client_id=client_id).first()
    if previous is not None:
        return _repeated(previous, meeting)
    return _apply_record(meeting=meeting, client_id=client_id, **entry)


@audited("meeting_record_offline", subject="meeting")
@transaction.atomic
def _apply_record(
    *,
    scope: Scope,
    by,
    meeting: Meeting,
    client_id: uuid.UUID,
    texts: Mapping[str, str],
    seen: Mapping[str, str],
    written_at: datetime.datetime | None = None,
) -> tuple[dict, bool]:
    current = lock_meeting(meeting)
    previous = OfflineEntry.objects.filter(client_id=client_id).first()
    if previous is not None:
        return _repeated(previous, current)
    check_rights(scope, current.branch)
    check_not_adopted(current)
    to_write, conflicts = {}, []
    for field, text in texts.items():
        now = getattr(current, field)
        if same_text(now, text):
            continue
        if same_text(now, seen.get(field, "")):
            to_write[field] = text.replace("\r\n", "\n").strip()
        else:
            conflicts.append(
                {
                    "field": field,
                    "label": str(own_field(Meeting, field).verbose_name).capitalize(),
                    "server": now,
                    "phone": text,
                }
            )
    if to_write:
        meeting_update(scope=scope, meeting=current, changes=to_write)
    outcome = {"written": sorted(to_write), "conflicts": conflicts}
    try:
        with transaction.atomic():
            entry = OfflineEntry.objects.create(
                client_id=client_id,
                meeting=current,
                kind=OfflineEntryKind.RECORD,
                sent_by=by,
                written_at=written_at,
                outcome=outcome,
            )
    except IntegrityError:
        raise DomainError(_("This entry is already being applied; send it again.")) from None
    running_batch().record(entry)
    return outcome, True
