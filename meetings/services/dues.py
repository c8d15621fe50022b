"""Party dues collected at a meeting: one transaction records the month's dues
of everyone on the roll, months paid ahead, and arrears settled.

The amounts due are computed (meetings.dues_selectors), never typed: the form
sends what each member paid, a reason when not in full, and how many months
ahead. The race: two secretaries saving the dues of one roll at once. The
meeting's row lock (guards.lock_meeting) makes the second wait and then
re-read the payments the first one wrote; the unique (member, month)
constraint is the last line for a month collected at two different meetings
at once. Lock order: the meeting, then the members' payment rows by id, and
only then the first save (the audit trail's head, pacnam.audit.trail).
"""

import datetime
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext as _

from branches.access import Scope
from pacnam.audit.trail import audited, current_batch
from pacnam.lib.dates import add_months
from pacnam.lib.errors import DomainError
from pacnam.lib.rowstamps import RowsChanged, rows_to_write

from ..dues_selectors import RateBook, due_for, dues_state, month_of, pays_here, profiles_of
from ..models import Attendance, DuesPayment, DuesProfile, Meeting
from .attendance import meeting_open_roll
from .guards import check_not_adopted, check_rights, lock_meeting

MAX_AHEAD = 12


class DuesChanged(RowsChanged):
    """Someone else recorded the dues of members this form changed."""

    def __init__(self, conflicts):
        super().__init__(conflicts)
        self.message = _(
            "Someone else recorded the dues of %(count)d of the members you changed after "
            "you opened the form. Nothing was saved: their record is shown below, your "
            "other changes are kept in the form; check them and save again."
        ) % {"count": len(conflicts)}


@dataclass(frozen=True)
class DuesEntry:
    """What the secretary recorded for one member at the meeting."""

    paid: int
    reason: str = ""
    ahead: int = 0  # months after the meeting's month paid in full now
    settle: bool = False  # pay in full the months of the year still owed


@audited("dues_collect", subject="meeting")
@transaction.atomic
def dues_collect(
    *,
    scope: Scope,
    meeting: Meeting,
    entries: Mapping[int, DuesEntry],
    opened: Mapping[int, str] | None = None,
    on: datetime.date | None = None,
    by=None,
) -> int:
    """Record the dues of the meeting's month for the members in `entries` (member
    id → DuesEntry): paid (at most the amount due), the reason when less, months
    paid ahead, arrears settled. Returns the number of payment rows written.

    `opened` maps a member id to the stamp of the dues the form showed
    (`dues_state`, pacnam.lib.rowstamps): then only the members whose dues the
    user changed are written, and RowsChanged is raised, writing nothing, when
    someone else recorded another value for one of them since."""
    current = lock_meeting(meeting)
    check_rights(scope, current.branch)
    check_not_adopted(current)
    if not current.roll_opened:
        meeting_open_roll(scope=scope, meeting=current)
    on = on or current.date
    month = month_of(current.date)
    payers = {
        line.member_id: line
        for line in Attendance.objects.filter(meeting=current).select_related("member")
        if pays_here(line)
    }
    for member_id in entries:
        if member_id not in payers:
            raise DomainError(
                _("A member who does not pay dues at this meeting cannot be recorded.")
            )
    ids = sorted(entries)
    last = add_months(month, MAX_AHEAD + 1)
    existing = {
        (p.member_id, p.month): p
        for p in DuesPayment.objects.select_for_update()
        .filter(member_id__in=ids, month__gte=month.replace(month=1), month__lt=last)
        .order_by("pk")
    }
    book = RateBook.load()
    profiles = profiles_of(ids)
    batch = current_batch()
    written = 0
    if opened is not None:
        # The race: two secretaries on one roll (or the roll and the dues page),
        # each recording the dues of different members. The payment rows are read
        # under their lock above, after the meeting's: a save writes only the
        # members its user changed, and refuses one recorded differently since.
        ahead_here = Counter(
            mid for (mid, m), p in existing.items() if m > month and p.meeting_id == current.pk
        )
        state = {
            member_id: dues_state(existing.get((member_id, month)), ahead_here[member_id])
            for member_id in ids
        }
        wanted = {
            member_id: _wanted(entries[member_id], due_for(book, profiles[member_id], month))
            for member_id in ids
        }
        try:
            changed = set(
                rows_to_write(rows=state, values=lambda v: v, wanted=wanted, opened=opened)
            )
        except RowsChanged as exc:
            raise DuesChanged(exc.conflicts) from None
        ids = [m for m in ids if m in changed or entries[m].settle]

    def put(member_id, m, paid, reason):
        nonlocal written
        due = due_for(book, profiles[member_id], m)
        row = existing.get((member_id, m))
        values = {
            "due": due,
            "paid": paid,
            "paid_on": on if paid else None,
            "reason": reason if paid < due else "",
            "meeting_id": current.pk,
            "branch_id": current.branch_id,
        }
        if row is None:
            row = DuesPayment(member_id=member_id, month=m, recorded_by=by, **values)
            row.save()
            written += 1
            return
        before = {k: getattr(row, k) for k in values}
        if before == values:
            return
        for k, v in values.items():
            setattr(row, k, v)
        row.save()
        written += 1

    for member_id in ids:
        entry = entries[member_id]
        name = payers[member_id].member.full_name
        if entry.paid < 0 or not 0 <= entry.ahead <= MAX_AHEAD:
            raise DomainError(
                _("Dues of %(name)s: an amount or a number of months is wrong.") % {"name": name}
            )
        row = existing.get((member_id, month))
        if row is not None and row.meeting_id not in (None, current.pk):
            continue  # paid ahead at an earlier meeting: that record stands
        due = due_for(book, profiles[member_id], month)
        if entry.paid > due:
            raise DomainError(
                _("%(name)s owes %(due)s đ for %(month)s; record months ahead for more.")
                % {
                    "name": name,
                    "due": f"{due:,}".replace(",", "."),
                    "month": month.strftime("%m/%Y"),
                }
            )
        put(member_id, month, entry.paid, (entry.reason or "").strip())
        for n in range(1, MAX_AHEAD + 1):
            ahead = add_months(month, n)
            row = existing.get((member_id, ahead))
            if n <= entry.ahead:
                if row is None or row.meeting_id == current.pk:
                    put(member_id, ahead, due_for(book, profiles[member_id], ahead), "")
            elif row is not None and row.meeting_id == current.pk:
                # Fewer months ahead than saved before: those rows go (in the trail).
                row.delete()
                written += 1
        if entry.settle:
            for (mid, m), row in existing.items():
                if mid == member_id and m < month and row.paid < row.due:
                    row.paid, row.paid_on, row.reason = row.due, on, ""
                    row.meeting_id = current.pk
                    row.save()
                    written += 1
    if batch is not None and written == 0:
        batch.note(current, "no change")
    return written


def _wanted(entry: DuesEntry, due: int) -> tuple:
    """What saving `entry` stores, in the terms of dues_state."""
    reason = (entry.reason or "").strip() if entry.paid < due else ""
    return (entry.paid, reason, entry.ahead)


def dues_profile_set(
    *, scope: Scope, member, valid_from: datetime.date, category: str, base: int, by=None
):
    """A member's dues category and base from a month on (the month's first day)."""
    scope.require_commune(
        member.branch.commune_id,
        _("You may not change the dues of %(name)s.") % {"name": member.full_name},
    )
    if base < 0:
        raise DomainError(_("The monthly base cannot be negative."), field="base")
    profile, _created = DuesProfile.objects.update_or_create(
        member=member,
        valid_from=month_of(valid_from),
        defaults={"category": category, "base": base, "created_by": by},
    )
    return profile
