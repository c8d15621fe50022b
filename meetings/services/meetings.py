"""Planning and changing a meeting, holding it, adopting its minutes, and
dated addenda to adopted minutes."""

import datetime
from collections.abc import Mapping

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from branches.access import Scope
from branches.models import Branch
from branches.services.units import branch_check_accepts
from pacnam.lib.errors import DomainError

from ..models import (
    Attendance,
    Meeting,
    MeetingAddendum,
    MeetingKind,
    MeetingStatus,
    Standing,
    default_agenda,
)
from .attendance import meeting_open_roll
from .guards import (
    check_not_adopted,
    check_rights,
    check_took_place,
    lock_meeting,
    roster_member_ids,
)

EDITABLE_FIELDS = (
    "date",
    "starts_at",
    "place",
    "kind",
    "topic",
    "chair",
    "secretary",
    "agenda",
    "minutes",
    "resolution",
)


def _check_people(meeting: Meeting) -> None:
    """Chair and secretary are members on the branch's roster on the meeting date."""
    if not meeting.chair_id and not meeting.secretary_id:
        return
    roster = roster_member_ids(meeting.branch, meeting.date)
    for field, label in (("chair", _("The chair")), ("secretary", _("The secretary"))):
        member_id = getattr(meeting, f"{field}_id")
        if member_id and member_id not in roster:
            raise DomainError(
                _("%(who)s must be a member of the branch on %(date)s.")
                % {"who": label, "date": meeting.date.strftime("%d/%m/%Y")},
                field=field,
            )
    if meeting.chair_id and meeting.chair_id == meeting.secretary_id:
        raise DomainError(
            _("The chair and the secretary must be two different members."), field="secretary"
        )


def _check_meeting(meeting: Meeting) -> None:
    branch = meeting.branch
    # Not before it was founded, not once it was dissolved or its commune ceased.
    branch_check_accepts(branch, meeting.date, field="date")
    if meeting.kind == MeetingKind.THEMATIC and not meeting.topic.strip():
        raise DomainError(_("A thematic meeting needs a topic."), field="topic")
    if meeting.kind == MeetingKind.REGULAR:
        clash = Meeting.objects.filter(
            branch=branch,
            kind=MeetingKind.REGULAR,
            date__year=meeting.date.year,
            date__month=meeting.date.month,
        ).exclude(pk=meeting.pk)
        if clash.exists():
            raise DomainError(
                _(
                    "Branch %(branch)s already has a regular meeting in %(month)s; record this "
                    "one as thematic or extraordinary."
                )
                % {"branch": branch.name, "month": meeting.date.strftime("%m/%Y")},
                field="date",
            )
    _check_people(meeting)


def _save(meeting: Meeting) -> Meeting:
    try:
        # A savepoint, so that losing the race on the unique constraint leaves
        # the outer transaction usable for the error message.
        with transaction.atomic():
            meeting.save()
    except IntegrityError as exc:
        raise DomainError(
            _("Branch %(branch)s already has a regular meeting in %(month)s.")
            % {"branch": meeting.branch.name, "month": meeting.date.strftime("%m/%Y")},
            field="date",
        ) from exc
    return meeting


@transaction.atomic
def meeting_create(*, scope: Scope, user, meeting: Meeting) -> Meeting:
    """Record a planned meeting (an unsaved Meeting with branch, date, kind, ...).

    The agenda is pre-filled with the regular order when left empty.
    """
    check_rights(scope, meeting.branch)
    # Lock the branch so two secretaries creating the same month's regular
    # meeting queue up and the second sees the first (the constraint is the
    # last line; this gives the clear message).
    Branch.objects.select_for_update().filter(pk=meeting.branch_id).first()
    meeting.status = MeetingStatus.PLANNED
    meeting.adopted_on = None
    if not meeting.agenda.strip():
        meeting.agenda = default_agenda()
    meeting.created_by = user if getattr(user, "is_authenticated", False) else None
    _check_meeting(meeting)
    return _save(meeting)


@transaction.atomic
def meeting_update(*, scope: Scope, meeting: Meeting, changes: Mapping) -> Meeting:
    """Change a meeting's details, agenda, minutes or resolution, until the minutes are adopted."""
    current = lock_meeting(meeting)
    check_rights(scope, current.branch)
    check_not_adopted(current)
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    if current.roll_opened and "date" in changes and changes["date"] != current.date:
        raise DomainError(
            _("The roll was taken from the roster on %(date)s: the date can no longer change.")
            % {"date": current.date.strftime("%d/%m/%Y")},
            field="date",
        )
    for field, value in changes.items():
        setattr(current, field, value)
    _check_meeting(current)
    return _save(current)


@transaction.atomic
def meeting_hold(*, scope: Scope, meeting: Meeting) -> Meeting:
    """Record that the meeting took place (planned -> held); opens the roll if needed."""
    current = lock_meeting(meeting)
    check_rights(scope, current.branch)
    if current.status != MeetingStatus.PLANNED:
        raise DomainError(_("Only a planned meeting can be marked as held."))
    check_took_place(current)
    if not current.roll_opened:
        meeting_open_roll(scope=scope, meeting=current)
    current.status = MeetingStatus.HELD
    current.save(update_fields=["status", "updated_at"])
    return current


@transaction.atomic
def meeting_adopt_minutes(*, scope: Scope, meeting: Meeting, on: datetime.date) -> Meeting:
    """Adopt the minutes (held -> minutes adopted): from then on they are read-only."""
    current = lock_meeting(meeting)
    check_rights(scope, current.branch)
    check_not_adopted(current)
    if current.status != MeetingStatus.HELD:
        raise DomainError(_("The minutes can be adopted only once the meeting is held."))
    check_took_place(current)
    if not current.minutes.strip():
        raise DomainError(_("Write the minutes before adopting them."))
    if not current.chair_id or not current.secretary_id:
        raise DomainError(_("Name the chair and the secretary before adopting the minutes."))
    if Attendance.objects.filter(meeting=current, standing=Standing.COUNTED, presence="").exists():
        raise DomainError(_("Mark every member on the roll before adopting the minutes."))
    if on < current.date:
        raise DomainError(_("The minutes cannot be adopted before the meeting."), field="on")
    if on > timezone.localdate():
        raise DomainError(_("The minutes cannot be adopted on a day still to come."), field="on")
    current.status = MeetingStatus.ADOPTED
    current.adopted_on = on
    current.save(update_fields=["status", "adopted_on", "updated_at"])
    return current


@transaction.atomic
def meeting_add_addendum(
    *, scope: Scope, user, meeting: Meeting, dated: datetime.date, text: str
) -> MeetingAddendum:
    """Correct adopted minutes with a dated addendum (the minutes stay as adopted)."""
    current = lock_meeting(meeting)
    check_rights(scope, current.branch)
    if not current.is_adopted:
        raise DomainError(_("The minutes are not adopted yet: correct them directly."))
    if not text.strip():
        raise DomainError(_("Write the correction."), field="text")
    assert current.adopted_on is not None  # the table's constraint: adopted minutes are dated
    if dated < current.adopted_on:
        raise DomainError(
            _("An addendum cannot be dated before the minutes were adopted."), field="dated"
        )
    return MeetingAddendum.objects.create(
        meeting=current,
        dated=dated,
        text=text.strip(),
        created_by=user if getattr(user, "is_authenticated", False) else None,
    )
