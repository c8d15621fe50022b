"""Writes to meetings, their roll, tasks and reviews.

Each function is keyword-only, takes the acting user's `Scope` (services check
rights too, not only the views), runs in one transaction and raises
`DomainError` with a message for the user when a rule refuses the action.
Every change to a meeting first locks its row (`_lock_meeting`), so a change
racing with the adoption of the minutes waits and then sees them adopted.
"""

import datetime
from collections.abc import Iterable, Mapping

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from branches.access import Scope
from branches.models import Branch, Village
from branches.services.units import branch_check_accepts
from members.models import Member, Membership, MembershipKind, MemberStatus
from pacnam.audit.trail import audited, current_batch
from pacnam.lib.errors import DomainError

from .models import (
    Attendance,
    Meeting,
    MeetingAddendum,
    MeetingKind,
    MeetingStatus,
    Presence,
    ReviewOutcome,
    Standing,
    Task,
    TaskReview,
    TaskStatus,
    default_agenda,
)
from .selectors import tasks_to_review

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


def _check_rights(scope: Scope, branch: Branch) -> None:
    scope.require_branch(
        branch, _("You may not record meetings of branch %(branch)s.") % {"branch": branch.name}
    )


def _lock_meeting(meeting: Meeting) -> Meeting:
    """Re-read the meeting with a row lock.

    Without it, a secretary saving the minutes while the chair adopts them
    could write into minutes that are already adopted; with it the second one
    waits, re-reads the status and is refused.
    """
    return Meeting.objects.select_for_update().select_related("branch").get(pk=meeting.pk)


def _check_not_adopted(meeting: Meeting) -> None:
    if meeting.is_adopted:
        raise DomainError(
            _(
                "The minutes of this meeting were adopted on %(date)s and can no longer be "
                "changed; add a dated addendum instead."
            )
            % {"date": meeting.adopted_on.strftime("%d/%m/%Y")}
        )


def _roster_member_ids(branch: Branch, on: datetime.date) -> set[int]:
    return set(Membership.objects.roster(branch, on).values_list("member_id", flat=True))


def _check_people(meeting: Meeting) -> None:
    """Chair and secretary are members on the branch's roster on the meeting date."""
    if not meeting.chair_id and not meeting.secretary_id:
        return
    roster = _roster_member_ids(meeting.branch, meeting.date)
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
    _check_rights(scope, meeting.branch)
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
    current = _lock_meeting(meeting)
    _check_rights(scope, current.branch)
    _check_not_adopted(current)
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


def _roll_lines(meeting: Meeting) -> list[Attendance]:
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
    current = _lock_meeting(meeting)
    _check_rights(scope, current.branch)
    _check_not_adopted(current)
    if current.roll_opened:
        return 0
    lines = Attendance.objects.bulk_create(_roll_lines(current))
    # bulk_create writes no history: each line is an item of the roll's entry.
    for line in lines:
        current_batch().record(line)
    current.roll_opened = True
    current.save(update_fields=["roll_opened", "updated_at"])
    meeting.roll_opened = True
    return len(lines)


@audited("meeting_attendance", subject="meeting")
@transaction.atomic
def meeting_mark_attendance(
    *, scope: Scope, meeting: Meeting, marks: Mapping[int, tuple[str, str]]
) -> int:
    """Mark members present / absent with reason / absent without reason.

    `marks` maps a member id to (presence, reason). Members not on the roll
    are refused; a reason is kept only for an absence with reason.
    """
    current = _lock_meeting(meeting)
    _check_rights(scope, current.branch)
    _check_not_adopted(current)
    if not current.roll_opened:
        meeting_open_roll(scope=scope, meeting=current)
    lines = {
        a.member_id: a for a in Attendance.objects.filter(meeting=current).select_related("member")
    }
    changed = []
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
        before = {"presence": line.presence, "reason": line.reason}
        line.presence = presence
        line.reason = reason if presence == Presence.EXCUSED else ""
        if before != {"presence": line.presence, "reason": line.reason}:
            changed.append((line, before))
    Attendance.objects.bulk_update([line for line, _before in changed], ["presence", "reason"])
    # bulk_update writes no history: each mark changed is an item of the entry.
    for line, before in changed:
        current_batch().record(line, op="update", before=before)
    return len(marks)


@transaction.atomic
def meeting_hold(*, scope: Scope, meeting: Meeting) -> Meeting:
    """Record that the meeting took place (planned -> held); opens the roll if needed."""
    current = _lock_meeting(meeting)
    _check_rights(scope, current.branch)
    if current.status != MeetingStatus.PLANNED:
        raise DomainError(_("Only a planned meeting can be marked as held."))
    if not current.roll_opened:
        meeting_open_roll(scope=scope, meeting=current)
    current.status = MeetingStatus.HELD
    current.save(update_fields=["status", "updated_at"])
    return current


@transaction.atomic
def meeting_adopt_minutes(*, scope: Scope, meeting: Meeting, on: datetime.date) -> Meeting:
    """Adopt the minutes (held -> minutes adopted): from then on they are read-only."""
    current = _lock_meeting(meeting)
    _check_rights(scope, current.branch)
    _check_not_adopted(current)
    if current.status != MeetingStatus.HELD:
        raise DomainError(_("The minutes can be adopted only once the meeting is held."))
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
    current = _lock_meeting(meeting)
    _check_rights(scope, current.branch)
    if not current.is_adopted:
        raise DomainError(_("The minutes are not adopted yet: correct them directly."))
    if not text.strip():
        raise DomainError(_("Write the correction."), field="text")
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


@audited("task_create", subject="meeting")
@transaction.atomic
def task_create(
    *,
    scope: Scope,
    meeting: Meeting,
    description: str,
    due_on: datetime.date,
    assignees: Iterable[Member],
    household_head: str = "",
    household_village: Village | None = None,
) -> Task:
    """Set a task at a meeting, assigned to members on the branch's roster that day."""
    current = _lock_meeting(meeting)
    _check_rights(scope, current.branch)
    _check_not_adopted(current)
    assignees = list(assignees)
    if not assignees:
        raise DomainError(_("Assign the task to at least one member."), field="assignees")
    roster = _roster_member_ids(current.branch, current.date)
    if any(m.pk not in roster for m in assignees):
        raise DomainError(
            _("A task can only be assigned to members of the branch."), field="assignees"
        )
    if not description.strip():
        raise DomainError(_("Describe the task."), field="description")
    if due_on < current.date:
        raise DomainError(_("The due date is before the meeting."), field="due_on")
    if household_village is not None and not household_head.strip():
        raise DomainError(_("Give the head of household's name."), field="household_head")
    task = Task.objects.create(
        meeting=current,
        description=description.strip(),
        due_on=due_on,
        household_head=household_head.strip(),
        household_village=household_village,
    )
    task.assignees.set(assignees)
    return task


@audited("task_review", subject="meeting")
@transaction.atomic
def task_review(
    *, scope: Scope, meeting: Meeting, outcomes: Mapping[int, tuple[str, str]]
) -> list[TaskReview]:
    """Review open tasks from earlier meetings at a regular meeting.

    `outcomes` maps a task id to (outcome, reason). Done and dropped close the
    task at this meeting; carried over leaves it open for the next one.
    """
    current = _lock_meeting(meeting)
    _check_rights(scope, current.branch)
    _check_not_adopted(current)
    if current.kind != MeetingKind.REGULAR:
        raise DomainError(_("Last month's tasks are reviewed at the regular meeting."))
    # Lock the tasks: the same task reviewed at once from two meetings must not
    # be closed twice.
    # Tasks this meeting already closed may be reviewed again until the minutes
    # are adopted (a wrong tap is corrected, not frozen).
    reviewable = Task.objects.filter(
        Q(pk__in=tasks_to_review(current).values("pk")) | Q(closed_at=current)
    )
    tasks = {t.pk: t for t in reviewable.select_for_update().filter(pk__in=list(outcomes))}
    existing = {r.task_id: r for r in TaskReview.objects.filter(meeting=current)}
    reviews = []
    for task_id, (outcome, reason) in outcomes.items():
        task = tasks.get(task_id)
        if task is None:
            raise DomainError(_("This task is not open for review at this meeting."))
        if outcome not in ReviewOutcome.values:
            raise DomainError(_("Unknown review outcome."))
        reason = (reason or "").strip()
        if outcome == ReviewOutcome.DROPPED and not reason:
            raise DomainError(_("Give the reason a task is dropped."))
        review = existing.get(task_id) or TaskReview(meeting=current, task=task)
        review.outcome = outcome
        review.reason = reason
        review.save()
        reviews.append(review)
        if outcome == ReviewOutcome.DONE:
            task.status, task.closed_at, task.drop_reason = TaskStatus.DONE, current, ""
        elif outcome == ReviewOutcome.DROPPED:
            task.status, task.closed_at, task.drop_reason = TaskStatus.DROPPED, current, reason
        else:
            task.status, task.closed_at, task.drop_reason = TaskStatus.OPEN, None, ""
        task.save(update_fields=["status", "closed_at", "drop_reason"])
    return reviews
