"""What the dashboard and its charts show, for one user's scope.

Each function is one query (or a fixed few), whatever the size of the district:
totals are computed by the database, never by loading rows, and nothing is
cached, so a figure is never stale after a change.
"""

import datetime

from django.db.models import Count, Q
from django.db.models.functions import TruncMonth
from django.utils import timezone

from branches.access import Scope
from branches.models import BranchKind
from members.models import EndReason, Member, Membership, MembershipKind, add_years

AGE_BANDS = [(18, 30), (31, 45), (46, 60), (61, 75), (76, 120)]


def member_totals(scope: Scope) -> dict:
    members = Member.objects.visible_to(scope).current()
    return members.aggregate(
        total=Count("pk"),
        full=Count("pk", filter=Q(full_on__isnull=False)),
        probationary=Count("pk", filter=Q(full_on__isnull=True)),
        cadres=Count("pk", filter=Q(is_commune_cadre=True)),
    )


def branches_by_kind(scope: Scope) -> list[tuple[str, int]]:
    rows = scope.branches().active().values("kind").annotate(n=Count("pk")).order_by("kind")
    labels = dict(BranchKind.choices)
    return [(labels.get(r["kind"], r["kind"]), r["n"]) for r in rows]


def office_branches(scope: Scope) -> list:
    """The commune-office branches in scope, dissolved or not (the policy's first measure)."""
    return list(
        scope.branches()
        .filter(kind=BranchKind.COMMUNE_OFFICE)
        .select_related("commune")
        .order_by("commune__code")
    )


def members_by_commune(scope: Scope) -> list[tuple[str, int]]:
    rows = (
        Member.objects.visible_to(scope)
        .current()
        .values("branch__commune__name", "branch__commune__code")
        .annotate(n=Count("pk"))
        .order_by("branch__commune__code")
    )
    return [(r["branch__commune__name"], r["n"]) for r in rows]


def age_profile(scope: Scope, today: datetime.date | None = None) -> list[tuple[str, int]]:
    today = today or timezone.localdate()
    buckets = {}
    for low, high in AGE_BANDS:
        # Age in [low, high]: born after today-(high+1) years and on or before today-low years.
        buckets[f"b{low}"] = Count(
            "pk",
            filter=Q(birth_date__lte=add_years(today, -low), birth_date__gt=add_years(today, -(high + 1))),
        )
    row = Member.objects.visible_to(scope).current().aggregate(**buckets)
    return [(f"{low}–{high}" if high < 120 else f"{low}+", row[f"b{low}"]) for low, high in AGE_BANDS]


def gender_profile(scope: Scope) -> list[tuple[str, int]]:
    from members.models import Gender

    labels = dict(Gender.choices)
    rows = Member.objects.visible_to(scope).current().values("gender").annotate(n=Count("pk")).order_by("gender")
    return [(str(labels.get(r["gender"], r["gender"])), r["n"]) for r in rows]


def ethnicity_profile(scope: Scope, top: int = 6) -> list[tuple[str, int]]:
    rows = list(
        Member.objects.visible_to(scope).current().values("ethnicity").annotate(n=Count("pk")).order_by("-n", "ethnicity")
    )
    head, tail = rows[:top], rows[top:]
    result = [(r["ethnicity"], r["n"]) for r in head]
    if tail:
        from django.utils.translation import gettext as _

        result.append((_("others"), sum(r["n"] for r in tail)))
    return result


def policy_progress(scope: Scope) -> list[tuple[datetime.date, int]]:
    """Commune cadres moved out of a commune-office branch by its dissolution, per month,
    cumulated: the policy of the story, over time."""
    rows = (
        Membership.objects.filter(
            branch__in=scope.branches(),
            branch__kind=BranchKind.COMMUNE_OFFICE,
            kind=MembershipKind.OFFICIAL,
            end_reason=EndReason.BRANCH_DISSOLVED,
        )
        .annotate(month=TruncMonth("ended_on"))
        .values("month")
        .annotate(n=Count("pk"))
        .order_by("month")
    )
    total, points = 0, []
    for r in rows:
        total += r["n"]
        points.append((r["month"], total))
    return points
