"""Reads of transfers and dissolutions reused by pages and reports.

Each returns a queryset or a small structure in a fixed number of queries.
"""

import datetime
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Count, Q
from django.utils import timezone

from branches.models import Branch, BranchKind
from pacnam.workdays import is_working_day

from .models import DissolutionBatch, MemberStatus, Transfer, TransferScope, TransferStatus


def letter_overdue_cutoff(today: datetime.date | None = None) -> datetime.date:
    """The latest letter date whose deadline has passed by `today`.

    The deadline grows with the letter date, so "overdue" is "letter dated on
    or before this day" and the database can filter on it.
    """
    today = today or timezone.localdate()
    # A letter's deadline is before today when its n working days all fall before
    # today, that is when it is dated before the n-th working day before today.
    # Counted back once (every dashboard asks), not by trying day after day.
    day, left = today, settings.TRANSFER_LETTER_DEADLINE_WORKING_DAYS
    while left:
        day -= datetime.timedelta(days=1)
        if is_working_day(day):
            left -= 1
    return day - datetime.timedelta(days=1)


def _with_relations(qs):
    return qs.select_related("member", "from_branch", "to_branch", "from_branch__commune", "to_branch__commune")


def transfers_in_progress(scope):
    """Transfers in progress that either end of which `scope` sees, oldest first."""
    return _with_relations(Transfer.objects.visible_to(scope).in_progress()).order_by("requested_at", "pk")


def overdue_transfers(scope, today: datetime.date | None = None):
    """Letters issued and not presented to the receiving branch within the deadline
    (settings.TRANSFER_LETTER_DEADLINE_WORKING_DAYS working days), for the
    district and for the communes at either end."""
    return (
        _with_relations(Transfer.objects.visible_to(scope))
        .filter(status=TransferStatus.LETTER_ISSUED, letter_date__lte=letter_overdue_cutoff(today))
        .exclude(scope=TransferScope.OUT_OF_DISTRICT)
        .order_by("letter_date", "pk")
    )


@dataclass
class CommuneProgress:
    commune: object
    office_branches: list = field(default_factory=list)
    cadres_in_villages: int = 0
    cadres_unplaced: int = 0

    @property
    def office_dissolved(self) -> bool:
        return bool(self.office_branches) and all(b.is_dissolved for b in self.office_branches)


def policy_progress(scope) -> tuple[list[CommuneProgress], list[Branch]]:
    """The district's "Policy progress" report (Conclusion 38-KL/TW): per commune,
    its commune-office branch and where its commune cadres are; per active village
    branch, how many of its members are commune cadres. Three queries."""
    current = ~Q(branches__members__status=MemberStatus.LEFT)
    cadre = Q(branches__members__is_commune_cadre=True) & current
    communes = list(
        scope.communes()
        .annotate(
            cadres_in_villages=Count(
                "branches__members", filter=cadre & Q(branches__kind=BranchKind.VILLAGE)
            ),
            cadres_unplaced=Count(
                "branches__members", filter=cadre & ~Q(branches__kind=BranchKind.VILLAGE)
            ),
        )
        .order_by("code")
    )
    rows = {c.pk: CommuneProgress(c, [], c.cadres_in_villages, c.cadres_unplaced) for c in communes}
    for office in scope.branches().filter(kind=BranchKind.COMMUNE_OFFICE).order_by("code"):
        if office.commune_id in rows:
            rows[office.commune_id].office_branches.append(office)
    village_branches = list(
        scope.branches()
        .filter(kind=BranchKind.VILLAGE, dissolved_on__isnull=True)
        .select_related("commune", "village")
        .annotate(
            member_count=Count("members", filter=~Q(members__status=MemberStatus.LEFT)),
            cadre_count=Count(
                "members", filter=Q(members__is_commune_cadre=True) & ~Q(members__status=MemberStatus.LEFT)
            ),
        )
        .order_by("commune__code", "name")
    )
    return list(rows.values()), village_branches


def branch_dissolutions(branch):
    """The dissolutions of `branch`, newest first, for the branch page (one query)."""
    return (
        DissolutionBatch.objects.filter(branch=branch)
        .select_related("branch", "performed_by", "undone_by")
        .order_by("-performed_at", "-pk")
    )
