"""What the dashboard and its charts show, for one user's scope.

Each function is one query (or a fixed few), whatever the size of the district:
totals are computed by the database, never by loading rows, and nothing is
cached, so a figure is never stale after a change.
"""

import datetime

from django.db import connection
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Window
from django.db.models.functions import TruncMonth
from django.utils import timezone
from django.utils.translation import gettext as _

from branches.access import Scope
from branches.models import Branch, BranchKind, Commune
from meetings.selectors import active_in, regular_meetings_in
from members.models import EndReason, Gender, Member, Membership, MembershipKind
from pacnam.lib.dates import add_years

AGE_BANDS = [(18, 30), (31, 45), (46, 60), (61, 75), (76, 120)]


def _members(scope: Scope) -> QuerySet[Member]:
    """The members the dashboard counts: the current members of the scope's branches.
    A member temporarily attached to one of them is counted once, in their own
    branch, as the tiles' tallies count them (the member list shows them too)."""
    return scope.by_branch(Member.objects.current())


def member_totals(scope: Scope) -> dict:
    """The tiles' figures: the members of the scope's branches (a member temporarily
    attached elsewhere is counted in their own branch, once). On PostgreSQL they are
    the sums of the per-branch tallies that triggers keep in the same transaction as
    every change (members migration 0005), for a province as for a commune or a
    branch: a small read whatever the number of members, and never stale. SQLite
    counts the members."""
    if connection.vendor == "postgresql":
        sql = (
            "SELECT coalesce(sum(members), 0), coalesce(sum(full_members), 0), "
            "coalesce(sum(cadres), 0) FROM members_branch_tally"
        )
        params = []
        if not scope.sees_all:
            sql += " WHERE branch_id = ANY(%s)"
            params = [sorted(scope.branch_ids)]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            total, full, cadres = cursor.fetchone()
        return {"total": total, "full": full, "probationary": total - full, "cadres": cadres}
    return _members(scope).aggregate(
        total=Count("pk"),
        full=Count("pk", filter=Q(full_on__isnull=False)),
        probationary=Count("pk", filter=Q(full_on__isnull=True)),
        cadres=Count("pk", filter=Q(is_commune_cadre=True)),
    )


def branches_by_kind(scope: Scope) -> list[tuple[str, int]]:
    # count(*), not count(id): answered from the (kind, dissolved_on) index alone.
    rows = scope.branches().active().values("kind").annotate(n=Count("*")).order_by("kind")
    labels = dict(BranchKind.choices)
    return [(labels.get(r["kind"], r["kind"]), r["n"]) for r in rows]


OFFICE_LIST_LIMIT = 20


def office_branches(scope: Scope, limit: int | None = None) -> tuple[list, int, int]:
    """The commune-office branches in scope (the policy's first measure): those not yet
    dissolved first, at most `limit` of them (a province has thousands), with the
    total and the number dissolved counted by the same query."""
    offices = list(
        scope.branches()
        .filter(kind=BranchKind.COMMUNE_OFFICE)
        .select_related("commune")
        .annotate(
            office_total=Window(Count("pk")),
            office_dissolved=Window(Count("dissolved_on")),
        )
        .order_by(F("dissolved_on").asc(nulls_first=True), "commune__code")[
            : limit or OFFICE_LIST_LIMIT
        ]
    )
    if not offices:
        return [], 0, 0
    return offices, offices[0].office_total, offices[0].office_dissolved


def members_by_commune(scope: Scope) -> list[tuple[str, int]]:
    rows = (
        _members(scope)
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
            filter=Q(
                birth_date__lte=add_years(today, -low), birth_date__gt=add_years(today, -(high + 1))
            ),
        )
    row = _members(scope).aggregate(**buckets)
    return [
        (f"{low}–{high}" if high < 120 else f"{low}+", row[f"b{low}"]) for low, high in AGE_BANDS
    ]


def gender_profile(scope: Scope) -> list[tuple[str, int]]:
    labels = dict(Gender.choices)
    rows = _members(scope).values("gender").annotate(n=Count("pk")).order_by("gender")
    return [(str(labels.get(r["gender"], r["gender"])), r["n"]) for r in rows]


def ethnicity_profile(scope: Scope, top: int = 6) -> list[tuple[str, int]]:
    rows = list(
        _members(scope).values("ethnicity").annotate(n=Count("pk")).order_by("-n", "ethnicity")
    )
    head, tail = rows[:top], rows[top:]
    result = [(r["ethnicity"], r["n"]) for r in head]
    if tail:
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


# The dashboard's table of communes names at most this many (a province has
# thousands; the meetings report lists them all, commune by commune).
COMMUNE_TABLE_LIMIT = 50
COMMUNE_SORTS = {"name", "members", "branches", "missed"}


def commune_table(
    scope: Scope, month_first: datetime.date, month_last: datetime.date, sort: str = "name"
) -> tuple[list[dict], int]:
    """One line per commune of the scope valid at the end of the month: its current
    members, its active branches, and how many of them held no regular meeting in
    the month; sorted by `sort` ("members", "-members", ...), at most
    COMMUNE_TABLE_LIMIT lines, and how many communes there are. Four queries.

    A province has thousands of communes: sorted by name (the default), only the
    lines shown are read and counted; sorted by a figure, every commune's figures
    are counted from (id, name) pairs, and only the lines shown become objects."""
    key = sort.lstrip("-")
    key = key if key in COMMUNE_SORTS else "name"
    reverse = sort.startswith("-")
    communes = scope.communes().valid_on(month_last)
    if key == "name":
        shown = communes.order_by(f"{'-' if reverse else ''}name", "code")[:COMMUNE_TABLE_LIMIT]
        rows = [{"commune": c, "members": 0, "branches": 0, "missed": 0} for c in shown]
        _count_figures({r["commune"].pk: r for r in rows}, month_first, month_last)
        return rows, communes.count()
    lines = {
        pk: {"name": name, "members": 0, "branches": 0, "missed": 0}
        for pk, name in communes.values_list("pk", "name")
    }
    _count_figures(lines, month_first, month_last)
    ranked = sorted(
        lines.items(), key=lambda item: (item[1][key], item[1]["name"]), reverse=reverse
    )
    ranked = ranked[:COMMUNE_TABLE_LIMIT]
    objects = Commune.objects.in_bulk([pk for pk, _line in ranked])
    rows = [{**line, "commune": objects[pk]} for pk, line in ranked]
    return rows, len(lines)


def _count_figures(
    communes: dict[int, dict], month_first: datetime.date, month_last: datetime.date
) -> None:
    """Fill in each commune's line: members, active branches, branches without a
    regular meeting in the month. Two queries."""
    if connection.vendor == "postgresql":
        # The per-branch tallies the triggers keep (members migration 0005), summed
        # per commune.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT b.commune_id, coalesce(sum(t.members), 0) FROM members_branch_tally t "
                "JOIN branches_branch b ON b.id = t.branch_id WHERE b.commune_id = ANY(%s) "
                "GROUP BY b.commune_id",
                [list(communes)],
            )
            members = cursor.fetchall()
    else:
        members = (
            Member.objects.current()
            .filter(branch__commune_id__in=list(communes))
            .values_list("branch__commune_id")
            .annotate(n=Count("pk"))
            .order_by()
        )
    for commune_id, n in members:
        communes[commune_id]["members"] = n or 0
    held = regular_meetings_in(month_first, month_last).filter(branch=OuterRef("pk"))
    branches = (
        active_in(Branch.objects.filter(commune_id__in=list(communes)), month_first, month_last)
        .values("commune_id")
        .annotate(n=Count("pk"), missed=Count("pk", filter=~Exists(held)))
        .order_by()
    )
    for row in branches:
        communes[row["commune_id"]].update(branches=row["n"], missed=row["missed"])
