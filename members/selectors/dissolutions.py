"""Reads of dissolutions: the plan of one (where each member would go), where
the policy stands per commune, a branch's batches."""

import dataclasses
import datetime
from dataclasses import dataclass, field

from django.db.models import Count, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.utils import timezone

from branches.access import Scope
from branches.models import Branch, BranchInCommune, BranchKind, Commune, valid_on_q

from ..models import DissolutionBatch, Member, Membership, MembershipKind


@dataclass
class CommuneProgress:
    """One commune's line of the policy report, on the report's day."""

    commune: Commune
    # The communes merged into it (a commune formed on 1 July 2025 from three or four):
    # its office branches are theirs.
    made_from: list = field(default_factory=list)
    office_branches: list = field(default_factory=list)
    cadres_in_villages: int = 0
    cadres_unplaced: int = 0
    as_of: datetime.date | None = None

    @property
    def office_dissolved(self) -> bool:
        """Whether every office branch it had was dissolved by the report's day."""
        return bool(self.office_branches) and all(
            b.dissolved_on is not None and (self.as_of is None or b.dissolved_on <= self.as_of)
            for b in self.office_branches
        )


def policy_progress(
    scope: Scope, as_of: datetime.date | None = None
) -> tuple[list[CommuneProgress], list[Branch]]:
    """The "Policy progress" report (Conclusion 38-KL/TW) as it stood on `as_of`
    (today by default), by the communes of that day: the district's ten in 2019, the
    three merged communes from July 2025. Per commune, its commune-office branches
    (a merged commune's are those of the communes it was made from) and where its
    commune cadres were that day, counted by their memberships of that day in the
    branches the commune had then (not by the branches' communes now, which would
    credit a 2019 move to a commune of 2025); per village branch active that day,
    how many of its members were commune cadres. Five queries."""
    as_of = as_of or timezone.localdate()
    communes = list(
        scope.communes()
        .valid_on(as_of)
        .prefetch_related(Prefetch("merged_from", queryset=Commune.objects.order_by("code")))
        .order_by("code")
    )
    rows = {c.pk: CommuneProgress(c, list(c.merged_from.all()), as_of=as_of) for c in communes}
    # Which line a commune's office branches belong to: its own, or its successor's.
    line_of = {c.pk: c.pk for c in communes}
    for c in communes:
        line_of.update({old.pk: c.pk for old in rows[c.pk].made_from})
    offices = (
        BranchInCommune.objects.filter(
            commune_id__in=list(line_of), branch__kind=BranchKind.COMMUNE_OFFICE
        )
        .filter(Q(branch__founded_on__isnull=True) | Q(branch__founded_on__lte=as_of))
        .select_related("branch")
        .order_by("branch__code", "valid_from")
    )
    for period in offices:
        office_list = rows[line_of[period.commune_id]].office_branches
        if period.branch not in office_list:
            office_list.append(period.branch)
    then = valid_on_q(as_of, "branch__commune_periods__")
    cadres = (
        Membership.objects.on(as_of)
        .filter(*then, kind=MembershipKind.OFFICIAL, member__is_commune_cadre=True)
        .filter(branch__commune_periods__commune_id__in=list(rows))
        .values_list("branch__commune_periods__commune_id", "branch__kind")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for commune_id, kind, n in cadres:
        if kind == BranchKind.VILLAGE:
            rows[commune_id].cadres_in_villages += n
        else:
            rows[commune_id].cadres_unplaced += n
    running = Q(memberships__started_on__lte=as_of, memberships__kind=MembershipKind.OFFICIAL) & (
        Q(memberships__ended_on__isnull=True) | Q(memberships__ended_on__gt=as_of)
    )
    period_then = BranchInCommune.objects.filter(branch=OuterRef("pk")).valid_on(as_of)
    village_branches = list(
        scope.branches(Branch.objects.active_on(as_of))
        .filter(kind=BranchKind.VILLAGE)
        .filter(
            pk__in=BranchInCommune.objects.valid_on(as_of)
            .filter(commune_id__in=list(rows))
            .values("branch_id")
        )
        .annotate(
            commune_then_code=Subquery(period_then.values("commune__code")[:1]),
            commune_then_name=Subquery(period_then.values("commune__name")[:1]),
            member_count=Count("memberships", filter=running),
            cadre_count=Count(
                "memberships", filter=running & Q(memberships__member__is_commune_cadre=True)
            ),
        )
        .order_by("commune_then_code", "name", "code")
    )
    return list(rows.values()), village_branches


def branch_dissolutions(branch: Branch) -> QuerySet[DissolutionBatch]:
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
    *, scope: Scope, branch: Branch, on: datetime.date, show_all: bool = False
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
