"""The roll of a meeting: taken once from the branch's roster on the meeting
date, then marked present, absent with reason or absent without reason."""

from collections.abc import Mapping

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils.translation import gettext as _

from branches.access import Scope
from members.models import Membership, MembershipKind, MemberStatus
from pacnam.audit.trail import audited, running_batch
from pacnam.lib.errors import DomainError
from pacnam.lib.rowstamps import rows_to_write

from ..models import Attendance, Meeting, Presence, Standing
from .guards import check_not_adopted, check_rights, check_took_place, lock_meeting


def roll_lines(meeting: Meeting) -> list[Attendance]:
    """The roll on the meeting date: who is on the roster and where each one stands."""
    date = meeting.date
    away = (
        Membership.objects.on(date)
        .filter(member=OuterRef("member_id"), kind=MembershipKind.TEMPORARY)
        .exclude(branch=meeting.branch)
    )
    memberships = (
        Membership.objects.roster(meeting.branch, date)
        .annotate(away=Exists(away))
        .select_related("member")
    )
    lines: dict[int, Attendance] = {}
    for membership in memberships:
        member = membership.member
        temporary = membership.kind == MembershipKind.TEMPORARY
        if member.status == MemberStatus.EXEMPT:
            standing = Standing.EXEMPT
        elif member.status == MemberStatus.SUSPENDED:
            standing = Standing.SUSPENDED
        elif not temporary and membership.away:
            standing = Standing.AWAY
        else:
            standing = Standing.COUNTED
        previous = lines.get(member.pk)
        if previous is not None and previous.standing == Standing.COUNTED:
            continue
        lines[member.pk] = Attendance(
            meeting=meeting,
            member=member,
            standing=standing,
            is_full=not member.is_probationary_on(date),
            temporary=temporary,
        )
    return list(lines.values())


@audited("meeting_roll_open", subject="meeting")
@transaction.atomic
def meeting_open_roll(*, scope: Scope, meeting: Meeting) -> int:
    """Create the attendance lines from the branch's roster on the meeting date.

    Taken once: later moves do not change who was on the roll. Returns the
    number of lines created (0 if the roll was already open).
    """
    current = lock_meeting(meeting)
    check_rights(scope, current.branch)
    check_not_adopted(current)
    if current.roll_opened:
        return 0
    check_took_place(current)
    lines = Attendance.objects.bulk_create(roll_lines(current))
    # bulk_create writes no history: each line is an item of the roll's entry.
    for line in lines:
        running_batch().record(line)
    current.roll_opened = True
    current.save(update_fields=["roll_opened", "updated_at"])
    meeting.roll_opened = True
    return len(lines)


def line_values(line: Attendance) -> tuple[str, str]:
    """What the roll form edits on a line, as it stores it: a reason only for an excused absence."""
    return (line.presence, line.reason if line.presence == Presence.EXCUSED else "")


@audited("meeting_attendance", subject="meeting")
@transaction.atomic
def meeting_mark_attendance(
    *,
    scope: Scope,
    meeting: Meeting,
    marks: Mapping[int, tuple[str, str]],
    opened: Mapping[int, str] | None = None,
) -> int:
    """Mark members present / absent with reason / absent without reason.

    `marks` maps a member id to (presence, reason). Members not on the roll
    are refused; a reason is kept only for an absence with reason. `opened`
    maps a member id to the stamp of the line the form showed
    (pacnam.lib.rowstamps): only the lines the user changed are written, and
    RowsChanged is raised, writing nothing, when one of them was changed by
    someone else since. Returns the number of lines written.
    """
    current = lock_meeting(meeting)
    check_rights(scope, current.branch)
    check_not_adopted(current)
    check_took_place(current)
    if not current.roll_opened:
        meeting_open_roll(scope=scope, meeting=current)
    # The race: two secretaries open the roll, each marks different members and
    # saves. Each save used to write every line from its form, so the second
    # reset the first one's marks to what it had been shown. The lines are
    # re-read under a row lock (besides the meeting's) and compared with the
    # stamps the form was opened with, in this one transaction: the second save
    # writes only its own changes, or is refused when it changed the same lines.
    lines = {
        a.member_id: a
        for a in Attendance.objects.select_for_update(of=("self",))
        .filter(meeting=current)
        .select_related("member")
    }
    wanted = {}
    for member_id, (presence, reason) in marks.items():
        line = lines.get(member_id)
        if line is None:
            raise DomainError(_("A member who is not on this meeting's roll cannot be marked."))
        if presence not in Presence.values and presence != "":
            raise DomainError(_("Unknown attendance mark."))
        reason = (reason or "").strip()
        if presence == Presence.EXCUSED and not reason:
            raise DomainError(
                _("Give the reason %(name)s was absent.") % {"name": line.member.full_name}
            )
        wanted[member_id] = (presence, reason if presence == Presence.EXCUSED else "")
    keys = rows_to_write(rows=lines, values=line_values, wanted=wanted, opened=opened)
    changed = []
    for member_id in keys:
        line = lines[member_id]
        before = {"presence": line.presence, "reason": line.reason}
        line.presence, line.reason = wanted[member_id]
        changed.append((line, before))
    Attendance.objects.bulk_update([line for line, _before in changed], ["presence", "reason"])
    # bulk_update writes no history: each mark changed is an item of the entry.
    for line, before in changed:
        running_batch().record(line, op="update", before=before)
    return len(changed)
