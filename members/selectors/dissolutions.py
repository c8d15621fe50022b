"""Reads of dissolutions: the plan of one (where each member would go), where
the policy stands per commune, a branch's batches."""

import dataclasses
import datetime
from dataclasses import dataclass, field

from django.db.models import Count, Q
from django.utils import timezone

from branches.models import Branch, BranchKind

from ..models import DissolutionBatch, Member, Membership, MembershipKind, MemberStatus


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
                "members",
                filter=Q(members__is_commune_cadre=True) & ~Q(members__status=MemberStatus.LEFT),
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


@dataclass
class PlanRow:
    """One member of a branch being dissolved and where they go."""

    member: Member
    membership: Membership
    from_branch: Branch
    proposed: Branch | None  # the village branch where they live; None: needs a decision
    destination: Branch | None  # proposed, or the one a person chose
    decided_by_person: bool = False

    @property
    def needs_decision(self) -> bool:
        return self.destination is None


def branch_dissolution_plan(
    *, branch: Branch, assignments: dict | None = None, on: datetime.date | None = None
) -> list[PlanRow]:
    """Where each current member of `branch` would go if it were dissolved on `on`.

    The proposal is the active village branch of the village the member lives
    in, in the same commune; `assignments` ({member id or citizen ID: Branch})
    overrides or fills it in. A row whose `destination` is None needs a
    decision. Two queries whatever the size of the branch.
    """
    on = on or timezone.localdate()
    memberships = list(
        Membership.objects.filter(
            branch=branch, kind=MembershipKind.OFFICIAL, ended_on__isnull=True
        )
        .select_related("member", "member__residence_village")
        .order_by("member__folded_name", "member__pk")
    )
    village_branches: dict[int, Branch] = {}
    for candidate in (
        Branch.objects.active_on(on)
        .filter(commune_id=branch.commune_id, kind=BranchKind.VILLAGE)
        .exclude(pk=branch.pk)
        .order_by("-code")
    ):
        village_branches[candidate.village_id] = candidate  # the lowest code wins
    rows = [
        PlanRow(
            member=membership.member,
            membership=membership,
            from_branch=branch,
            proposed=village_branches.get(membership.member.residence_village_id),
            destination=village_branches.get(membership.member.residence_village_id),
        )
        for membership in memberships
    ]
    return with_assignments(rows, assignments)


def dissolution_destinations(
    *, scope, branch: Branch, on: datetime.date, show_all: bool = False
) -> list[Branch]:
    """Where a member of `branch`, dissolved on `on`, may be sent (one query): the
    village branches of its commune active on that day; with `show_all`, every
    other branch active then in a commune the user may change, its own commune's
    first. Never a commune-office branch: the policy dissolves them."""
    qs = (
        Branch.objects.active_on(on)
        .exclude(pk=branch.pk)
        .exclude(kind=BranchKind.COMMUNE_OFFICE)
        .select_related("commune")
    )
    if show_all:
        editable = scope.editable_commune_ids
        if editable is not None:
            qs = qs.filter(commune_id__in=editable)
    else:
        qs = qs.filter(commune_id=branch.commune_id, kind=BranchKind.VILLAGE)
    return sorted(
        qs,
        key=lambda b: (
            b.commune_id != branch.commune_id,
            b.commune.code,
            b.kind != BranchKind.VILLAGE,
            b.name,
        ),
    )


def with_assignments(rows: list[PlanRow], assignments: dict | None) -> list[PlanRow]:
    """The plan with a person's choices ({member id or citizen ID: Branch}) applied:
    no query, so a page that has the plan need not build it again."""
    assignments = assignments or {}
    result = []
    for row in rows:
        chosen = assignments.get(row.member.pk) or assignments.get(row.member.citizen_id)
        result.append(
            dataclasses.replace(
                row,
                destination=chosen or row.proposed,
                decided_by_person=chosen is not None and chosen != row.proposed,
            )
        )
    return result
