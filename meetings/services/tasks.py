"""Tasks set at a meeting (who does what by when, a household helped) and
their review at a later regular meeting."""

import datetime
from collections.abc import Iterable, Mapping

from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from branches.access import Scope
from branches.models import Village
from members.models import Member
from pacnam.audit.trail import audited
from pacnam.lib.errors import DomainError

from ..models import Meeting, MeetingKind, ReviewOutcome, Task, TaskReview, TaskStatus
from ..selectors import tasks_to_review
from .guards import check_not_adopted, check_rights, lock_meeting, roster_member_ids


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
    current = lock_meeting(meeting)
    check_rights(scope, current.branch)
    check_not_adopted(current)
    assignees = list(assignees)
    if not assignees:
        raise DomainError(_("Assign the task to at least one member."), field="assignees")
    roster = roster_member_ids(current.branch, current.date)
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
    current = lock_meeting(meeting)
    check_rights(scope, current.branch)
    check_not_adopted(current)
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
