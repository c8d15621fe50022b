"""What every write to a meeting checks first: the user's rights over the
branch, the meeting's row lock, and that its minutes are not adopted yet."""

import datetime

from django.utils import timezone
from django.utils.translation import gettext as _

from branches.access import Scope
from branches.models import Branch
from members.models import Membership
from pacnam.lib.errors import DomainError

from ..models import Meeting


def check_rights(scope: Scope, branch: Branch) -> None:
    scope.require_branch(
        branch, _("You may not record meetings of branch %(branch)s.") % {"branch": branch.name}
    )


def lock_meeting(meeting: Meeting) -> Meeting:
    """Re-read the meeting with a row lock.

    Without it, a secretary saving the minutes while the chair adopts them
    could write into minutes that are already adopted; with it the second one
    waits, re-reads the status and is refused.
    """
    return Meeting.objects.select_for_update().select_related("branch").get(pk=meeting.pk)


def check_not_adopted(meeting: Meeting) -> None:
    if meeting.is_adopted:
        assert meeting.adopted_on is not None  # the table's constraint: adopted minutes are dated
        raise DomainError(
            _(
                "The minutes of this meeting were adopted on %(date)s and can no longer be "
                "changed; add a dated addendum instead."
            )
            % {"date": meeting.adopted_on.strftime("%d/%m/%Y")}
        )


def check_took_place(meeting: Meeting, today: datetime.date | None = None) -> None:
    """A meeting dated after today has not taken place: it cannot be marked held, its
    roll cannot be taken nor its minutes adopted. Without this a planned meeting of
    next week was counted on the dashboard as held and its roll frozen from a roster
    that may still change before the day."""
    today = today or timezone.localdate()
    if meeting.date > today:
        raise DomainError(
            _(
                "The meeting is dated %(date)s: it cannot be marked as held, its roll taken "
                "or its minutes adopted before that day."
            )
            % {"date": meeting.date.strftime("%d/%m/%Y")}
        )


def roster_member_ids(branch: Branch, on: datetime.date) -> set[int]:
    return set(Membership.objects.roster(branch, on).values_list("member_id", flat=True))
