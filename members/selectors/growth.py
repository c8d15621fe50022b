"""Reads of the admission pipeline, probation, ratings and badges.

Every function takes the user's `Scope` and runs a fixed, small number of
queries whatever the size of the district; the dashboard, the pages and the
growth_report command all read from here.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection
from django.db.models import BigIntegerField, Count, F, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce, ExtractYear
from django_stubs_ext import StrOrPromise

from branches.access import Scope
from branches.models import BranchInCommune, Commune, valid_on_q
from pacnam.lib.dates import add_months

from ..models import (
    Candidate,
    CandidateStep,
    Evaluation,
    Member,
    MembershipKind,
    Rating,
    probation_ends_on,
)
from ..models.growth import CandidateQuerySet
from ..models.members import MemberQuerySet

# Years of membership for which a Party badge is awarded (huy hiệu Đảng).
BADGE_YEARS: tuple[int, ...] = tuple(
    getattr(settings, "PARTY_BADGE_YEARS", (30, 40, 45, 50, 55, 60, 65, 70, 75, 80, 85, 90))
)


def _scoped_candidates(scope: Scope) -> CandidateQuerySet:
    return Candidate.objects.filter(branch__in=scope.branches())


def _scoped_members(scope: Scope) -> MemberQuerySet:
    return Member.objects.visible_to(scope)


# --- Candidates ---


def candidates_by_step(scope: Scope) -> list[tuple[str, StrOrPromise, int]]:
    """Open candidates at each step (the last one recorded): [(step, label, count)],
    every step listed, in pipeline order. One query."""
    counts = dict(
        _scoped_candidates(scope)
        .open()
        .with_step()
        .values("current_step")
        .annotate(n=Count("pk"))
        .values_list("current_step", "n")
        .order_by()
    )
    return [(step.value, step.label, counts.get(step.value, 0)) for step in CandidateStep]


def _years_q(years: list[int]) -> Q:
    """A date range rather than admitted_on__year__in, which Django turns into
    EXTRACT(year ...) IN (...): no index can answer that."""
    if years and sorted(years) == list(range(min(years), max(years) + 1)):
        return Q(
            admitted_on__gte=datetime.date(min(years), 1, 1),
            admitted_on__lte=datetime.date(max(years), 12, 31),
        )
    return Q(admitted_on__year__in=years)


def admissions_per_year(scope: Scope, years: list[int], commune_limit: int | None = None) -> dict:
    """Members admitted (decision date) per commune and year, each in the commune its
    branch was in on the day of the decision (the branch of the member's first
    membership): a 2022 admission in Cổ Linh stays Cổ Linh's, though the branch is
    Cao Minh's since the merger. The communes listed are those of the scope that
    existed in one of the years; a year outside a commune's life is None, not 0.
    {"communes": [Commune], "rows": {commune_id: {year: n}}, "totals": {year: n},
    "years": years, "table": [(Commune, [n or None per year])]}. Two queries."""
    first, last = datetime.date(min(years), 1, 1), datetime.date(max(years), 12, 31)
    lived = (
        scope.communes()
        .filter(Q(valid_from__isnull=True) | Q(valid_from__lte=last))
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=first))
        .order_by("code", F("valid_from").asc(nulls_first=True))
    )
    communes = list(lived[: commune_limit + 1] if commune_limit else lived)
    totals = dict.fromkeys(years, 0)
    if commune_limit and len(communes) > commune_limit:
        # A province on the dashboard: a table of thousands of communes
        # is unreadable and slow to draw; the yearly totals alone.
        for year, n in _admission_totals(scope, years):
            totals[year] = n
        return {
            "communes": [],
            "rows": {},
            "totals": totals,
            "years": years,
            "table": [],
            "communes_omitted": True,
            "totals_row": [totals[y] for y in years],
        }
    rows: dict[int, dict[int, int]] = {c.pk: dict.fromkeys(years, 0) for c in communes}
    listed = set(rows)
    # The commune, on the decision day, of the branch of the member's first official
    # membership; a branch with no period that day (registered later) counts in its
    # commune now.
    then = (
        BranchInCommune.objects.filter(
            *valid_on_q(OuterRef("admitted_on")),
            branch__memberships__member=OuterRef("pk"),
            branch__memberships__kind=MembershipKind.OFFICIAL,
        )
        .order_by("branch__memberships__started_on", "branch__memberships__pk")
        .values("commune_id")[:1]
    )
    counted = (
        _scoped_members(scope)
        .filter(_years_q(years))
        .annotate(
            y=ExtractYear("admitted_on"),
            commune_then=Coalesce(
                Subquery(then), F("branch__commune_id"), output_field=BigIntegerField()
            ),
        )
        .values_list("commune_then", "y")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for commune_id, year, n in counted:
        rows.setdefault(commune_id, dict.fromkeys(years, 0))[year] = n
        # Only the scope's communes: a branch of the district that went on into a
        # merged commune admits members of 2026 that are the province's, not the
        # district's, which ceased in 2025.
        if commune_id in listed:
            totals[year] += n

    def lived_in(commune: Commune, year: int) -> bool:
        return (commune.valid_from is None or commune.valid_from.year <= year) and (
            commune.valid_to is None or commune.valid_to.year >= year
        )

    return {
        "communes": communes,
        "rows": rows,
        "totals": totals,
        "years": years,
        # The same figures as a list of (commune, [n per year]) for templates.
        "table": [
            (c, [rows[c.pk][y] if lived_in(c, y) else None for y in years]) for c in communes
        ],
        "totals_row": [totals[y] for y in years],
    }


def _admission_totals(scope: Scope, years: list[int]) -> Iterable[tuple[int, int]]:
    """(year, members admitted that year) for the scope. For the whole district on
    PostgreSQL, read from the yearly tally that triggers keep in the same transaction
    as every change (members migration 0007): five rows instead of counting every
    admission of five years. Otherwise counted from the (admitted_on, branch) index."""
    if scope.sees_all and connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT year, members FROM members_admission_tally WHERE year = ANY(%s::int[])",
                [list(years)],
            )
            return cursor.fetchall()
    return (
        _scoped_members(scope)
        .filter(_years_q(years))
        # count(*), not count(id): the index holds admitted_on but not the id.
        .annotate(y=ExtractYear("admitted_on"))
        .values_list("y")
        .annotate(n=Count("*"))
        .order_by()
    )


# --- Probation ---


@dataclass
class Probation:
    member: Member
    started_on: datetime.date
    ends_on: datetime.date
    overdue: bool


def _last_day_of_month(day: datetime.date) -> datetime.date:
    return add_months(day.replace(day=1), 1) - datetime.timedelta(days=1)


def probations_due(scope: Scope, today: datetime.date) -> dict[str, list[Probation]]:
    """Probationary members whose 12 months end this month ("due") or ended before
    today without recognition ("overdue"). Probation runs from the ceremony (from the
    admission decision for members registered before the pipeline). One query."""
    end_of_month = _last_day_of_month(today)
    # Probation ends in month M or earlier exactly when it started in month M-12 or
    # earlier, so the cut-off is the last day of that month: no date arithmetic in SQL.
    latest_start = _last_day_of_month(
        add_months(end_of_month.replace(day=1), -settings.PROBATION_MONTHS)
    )
    members = (
        _scoped_members(scope)
        .probationary()
        .annotate(probation_from=Coalesce(F("candidate__ceremony_on"), F("admitted_on")))
        .filter(probation_from__lte=latest_start)
        .select_related("branch", "branch__commune")
        .order_by("probation_from", "folded_name", "pk")
    )
    result: dict[str, list[Probation]] = {"due": [], "overdue": []}
    for member in members:
        ends = probation_ends_on(member.probation_from)
        overdue = ends < today
        result["overdue" if overdue else "due"].append(
            Probation(
                member=member, started_on=member.probation_from, ends_on=ends, overdue=overdue
            )
        )
    return result


# --- Ratings ---


@dataclass
class RatingCounts:
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(Rating.values, 0))

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def rows(self) -> list[tuple[str, StrOrPromise, int, float]]:
        """[(rating, label, count, share in %)] in the order of the four ratings."""
        total = self.total
        return [
            (
                value,
                label,
                self.counts[value],
                round(100 * self.counts[value] / total, 1) if total else 0.0,
            )
            for value, label in Rating.choices
        ]


def _evaluations(scope: Scope) -> QuerySet[Evaluation]:
    return Evaluation.objects.filter(branch__in=scope.branches())


def rating_distribution(scope: Scope, year: int) -> dict[str, RatingCounts]:
    """The year's ratings in scope: {"members": RatingCounts, "branches": RatingCounts}.
    One query."""
    result = {"members": RatingCounts(), "branches": RatingCounts()}
    counted = (
        _evaluations(scope)
        .filter(year=year)
        .values_list("rating")
        .annotate(
            members=Count("pk", filter=Q(member__isnull=False)),
            branches=Count("pk", filter=Q(member__isnull=True)),
        )
        .order_by()
    )
    for rating, members, branches in counted:
        result["members"].counts[rating] = members
        result["branches"].counts[rating] = branches
    return result


def rating_report(scope: Scope, years: list[int]) -> dict:
    """Counts and shares per rating, per commune and for the district, year over year.
    {"communes": [(commune, {year: {"members": RatingCounts, "branches": RatingCounts}})],
     "district": {year: {...}}}. Two queries."""
    communes = list(scope.communes())

    def empty() -> dict[int, dict[str, RatingCounts]]:
        return {year: {"members": RatingCounts(), "branches": RatingCounts()} for year in years}

    per_commune = {c.pk: empty() for c in communes}
    district = empty()
    counted = (
        _evaluations(scope)
        .filter(year__in=years)
        .values_list("branch__commune_id", "year", "rating")
        .annotate(
            members=Count("pk", filter=Q(member__isnull=False)),
            branches=Count("pk", filter=Q(member__isnull=True)),
        )
        .order_by()
    )
    for commune_id, year, rating, members, branches in counted:
        target = per_commune.setdefault(commune_id, empty())[year]
        target["members"].counts[rating] += members
        target["branches"].counts[rating] += branches
        district[year]["members"].counts[rating] += members
        district[year]["branches"].counts[rating] += branches
    return {
        "years": years,
        "communes": [(c, per_commune[c.pk]) for c in communes],
        "district": district,
    }


# --- Party badges ---


@dataclass
class BadgeGroup:
    commune: Commune
    by_years: list[tuple[int, list[Member]]]

    @property
    def total(self) -> int:
        return sum(len(members) for _years, members in self.by_years)


def badge_members(scope: Scope, year: int) -> MemberQuerySet:
    """Members still in the Party who reach one of the badge anniversaries in `year`,
    counted from the admission decision, with `membership_years` annotated."""
    admitted_years = [year - n for n in BADGE_YEARS]
    return (
        _scoped_members(scope)
        .current()
        .filter(admitted_on__year__in=admitted_years)
        .select_related("branch", "branch__commune")
        .order_by("branch__commune__code", "admitted_on", "folded_name", "pk")
    )


def badges_by_commune(scope: Scope, year: int) -> list[BadgeGroup]:
    """The award list of `year`, per commune then per anniversary. One query."""
    groups: dict[int, dict[int, list[Member]]] = {}
    communes: dict[int, Commune] = {}
    for member in badge_members(scope, year):
        member.membership_years = year - member.admitted_on.year
        commune = member.branch.commune
        communes[commune.pk] = commune
        groups.setdefault(commune.pk, defaultdict(list))[member.membership_years].append(member)
    return [
        BadgeGroup(
            commune=communes[pk],
            by_years=sorted(groups[pk].items()),
        )
        for pk in sorted(communes, key=lambda pk: communes[pk].code)
    ]


# --- The yearly figures of the growth_report command ---

REPORT_COLUMNS = [
    "commune_code",
    "admitted",
    "became_full",
    "candidates_open",
    "excellent",
    "good",
    "satisfactory",
    "not_satisfactory",
]


def growth_rows(year: int, communes: Iterable[Commune]) -> list[dict]:
    """One row per commune for `year`: members admitted (decision date) and made
    full, by their current branch; candidates still open at the end of the year; the
    year's member ratings by the branch that rated. Four queries."""
    communes = list(communes)
    ids = [c.pk for c in communes]
    rows = {c.pk: dict.fromkeys(REPORT_COLUMNS, 0) | {"commune_code": c.code} for c in communes}
    members = Member.objects.filter(branch__commune_id__in=ids)
    for commune_id, n in (
        members.filter(admitted_on__year=year)
        .values_list("branch__commune_id")
        .annotate(n=Count("pk"))
        .order_by()
    ):
        rows[commune_id]["admitted"] = n
    for commune_id, n in (
        members.filter(full_on__year=year)
        .values_list("branch__commune_id")
        .annotate(n=Count("pk"))
        .order_by()
    ):
        rows[commune_id]["became_full"] = n
    end_of_year = datetime.date(year, 12, 31)
    for commune_id, n in (
        Candidate.objects.open_on(end_of_year)
        .filter(branch__commune_id__in=ids)
        .values_list("branch__commune_id")
        .annotate(n=Count("pk"))
        .order_by()
    ):
        rows[commune_id]["candidates_open"] = n
    for commune_id, rating, n in (
        Evaluation.objects.filter(year=year, member__isnull=False, branch__commune_id__in=ids)
        .values_list("branch__commune_id", "rating")
        .annotate(n=Count("pk"))
        .order_by()
    ):
        rows[commune_id][rating] = n
    return [rows[c.pk] for c in communes]


# --- For the lead's dashboard ---


def probations_due_counts(scope: Scope, today: datetime.date) -> dict[str, int]:
    """How many probations_due(scope, today) would list as "due" and "overdue", counted
    by the database: the dashboard shows only the numbers, and building a thousand
    members for them was most of its time in a province. One query."""
    end_of_month = _last_day_of_month(today)
    latest_start = _last_day_of_month(
        add_months(end_of_month.replace(day=1), -settings.PROBATION_MONTHS)
    )
    # "Overdue" is probation_ends_on(start) < today; probation_ends_on never decreases
    # as the start moves later, so it is start <= the last start still ending before today.
    overdue_until = add_months(today, -settings.PROBATION_MONTHS) - datetime.timedelta(days=4)
    while probation_ends_on(overdue_until + datetime.timedelta(days=1)) < today:
        overdue_until += datetime.timedelta(days=1)
    counts = (
        _scoped_members(scope)
        .probationary()
        .annotate(probation_from=Coalesce(F("candidate__ceremony_on"), F("admitted_on")))
        .filter(probation_from__lte=latest_start)
        .aggregate(
            listed=Count("pk"),
            overdue=Count("pk", filter=Q(probation_from__lte=overdue_until)),
        )
    )
    return {"due": counts["listed"] - counts["overdue"], "overdue": counts["overdue"]}


# More communes than this (a province) and the dashboard shows yearly totals only.
DASHBOARD_COMMUNES = 50


def growth_dashboard(scope: Scope, today: datetime.date) -> dict:
    """Everything templates/members/growth/_dashboard.html shows: candidates per step,
    admissions over the last five years, probations due, last year's ratings.
    Five queries."""
    years = list(range(today.year - 4, today.year + 1))
    steps = candidates_by_step(scope)
    probations = probations_due_counts(scope, today)
    return {
        "candidates_by_step": steps,
        "candidates_open": sum(n for _step, _label, n in steps),
        "admissions": admissions_per_year(scope, years, commune_limit=DASHBOARD_COMMUNES),
        "probations": probations,
        "rating_year": today.year - 1,
        "ratings": rating_distribution(scope, today.year - 1),
    }
