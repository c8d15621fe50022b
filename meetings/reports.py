"""The district's meeting reports: regularity, attendance, commune cadres.

Everything is aggregated in the database: each report is a fixed number of
queries whatever the number of branches, members or meetings.

Attendance rate = members present / members counted (full and probationary
members on the roll, not temporarily away, not exempt, whose attendance was
marked), summed over the meetings in question; None when no member was
counted. A line not marked yet is left out rather than taken as an absence.
"""

import datetime
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count, Exists, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from branches.models import Branch, BranchInCommune, BranchKind

from .models import Attendance, MeetingKind, Presence, Standing
from .selectors import TOOK_PLACE, active_in, month_bounds, regular_meetings_in


def rate(present: int, counted: int) -> float | None:
    return present / counted if counted else None


def rate_text(value: float | None) -> str:
    """0.833 -> "0.83"; None -> "" (the CSV's empty cell)."""
    if value is None:
        return ""
    return str(Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


@dataclass
class BranchRow:
    branch: Branch
    regular_meetings: int
    counted: int
    present: int
    per_month: list[int] = field(default_factory=list)

    @property
    def attendance_rate(self) -> float | None:
        return rate(self.present, self.counted)

    @property
    def months_without(self) -> int:
        return sum(1 for n in self.per_month if n == 0)


def _attendance_by(key: str, lines: QuerySet) -> dict:
    counted = Q(standing=Standing.COUNTED) & ~Q(presence="")
    rows = (
        lines.values(key)
        .annotate(
            counted=Count("pk", filter=counted),
            present=Count("pk", filter=counted & Q(presence=Presence.PRESENT)),
        )
        .order_by()
    )
    return {row[key]: (row["counted"], row["present"]) for row in rows}


def regularity(branches_qs: QuerySet, year: int, month: int | None = None) -> list[BranchRow]:
    """Every branch active in the period with its number of regular meetings held,
    per month for a year, and its attendance rate at them. Two queries."""
    if month:
        first, last = month_bounds(year, month)
        months = [month]
    else:
        first, last = datetime.date(year, 1, 1), datetime.date(year, 12, 31)
        months = list(range(1, 13))
    regular = Q(
        meetings__kind=MeetingKind.REGULAR,
        meetings__status__in=TOOK_PLACE,
        meetings__date__gte=first,
        meetings__date__lte=last,
    )
    annotations = {
        f"m{m}": Count("meetings", filter=regular & Q(meetings__date__month=m)) for m in months
    }
    branches = (
        active_in(branches_qs, first, last)
        .annotate(**annotations, **commune_on(last))
        .order_by("commune_then_code", "code")
    )
    lines = Attendance.objects.filter(
        meeting__branch__in=branches_qs,
        meeting__kind=MeetingKind.REGULAR,
        meeting__status__in=TOOK_PLACE,
        meeting__date__gte=first,
        meeting__date__lte=last,
    )
    attendance = _attendance_by("meeting__branch", lines)
    rows = []
    for branch in branches:
        per_month = [getattr(branch, f"m{m}") for m in months]
        counted, present = attendance.get(branch.pk, (0, 0))
        rows.append(BranchRow(branch, sum(per_month), counted, present, per_month))
    return rows


def commune_on(day: datetime.date) -> dict:
    """Annotations naming the commune a branch was in on `day` (its period then): a
    report of 2019 groups the branches by the communes of 2019, not today's."""
    period = (
        BranchInCommune.objects.filter(branch=OuterRef("pk")).valid_on(day).order_by("-valid_from")
    )
    return {
        f"commune_then_{name}": Subquery(period.values(f"commune__{field}")[:1])
        for name, field in (("id", "id"), ("code", "code"), ("name", "name"))
    }


# More communes than this in the scope (a province) and none chosen: the report
# shows a line per commune, not per branch and member. Every branch and member of
# a million-member province was 180 MB of HTML and over a minute.
COMMUNE_SUMMARY_FROM = 50


def summarise_by_commune(scope) -> bool:
    """Whether the report of the whole scope is a line per commune (a province)."""
    return scope.communes()[: COMMUNE_SUMMARY_FROM + 1].count() > COMMUNE_SUMMARY_FROM


@dataclass
class CommuneRow:
    commune_id: int
    code: str
    name: str
    branches: int
    without: int


def regularity_by_commune(
    branches_qs: QuerySet, year: int, month: int | None = None
) -> list[CommuneRow]:
    """Per commune: the branches active in the period and how many of them held no
    regular meeting in the month (for a year: missed at least one month, as
    BranchRow.months_without counts). One query, grouped in the database."""
    if month:
        first, last = month_bounds(year, month)
        held = regular_meetings_in(first, last).filter(branch=OuterRef("pk"))
        branches = active_in(branches_qs, first, last).annotate(missed=~Exists(held))
        missed = Q(missed=True)
    else:
        first, last = datetime.date(year, 1, 1), datetime.date(year, 12, 31)
        # At most one regular meeting per branch and month (a constraint): the
        # count is the number of months with a meeting.
        months = (
            regular_meetings_in(first, last)
            .filter(branch=OuterRef("pk"))
            .order_by()
            .values("branch")
            .annotate(n=Count("pk"))
            .values("n")
        )
        branches = active_in(branches_qs, first, last).annotate(
            held=Coalesce(Subquery(months, output_field=IntegerField()), 0)
        )
        missed = Q(held__lt=12)
    rows = (
        branches.annotate(**commune_on(last))
        .values("commune_then_id", "commune_then_code", "commune_then_name")
        .annotate(n=Count("pk"), without=Count("pk", filter=missed))
        .order_by("commune_then_code")
    )
    return [
        CommuneRow(
            r["commune_then_id"],
            r["commune_then_code"],
            r["commune_then_name"],
            r["n"],
            r["without"],
        )
        for r in rows
    ]


@dataclass
class MemberRow:
    member_id: int
    name: str
    branch_name: str
    counted: int
    present: int
    excused: int
    absent: int

    @property
    def attendance_rate(self) -> float | None:
        return rate(self.present, self.counted)


def member_attendance(
    branches_qs: QuerySet,
    first: datetime.date,
    last: datetime.date,
    *,
    cadres_in_villages: bool = False,
) -> list[MemberRow]:
    """Attendance per member at the meetings (all kinds) held in the period. One query.

    With `cadres_in_villages`, only commune cadres at meetings of village
    branches: the story's measure of whether the cadres who moved take part.
    """
    lines = Attendance.objects.exclude(presence="").filter(
        standing=Standing.COUNTED,
        meeting__branch__in=branches_qs,
        meeting__status__in=TOOK_PLACE,
        meeting__date__gte=first,
        meeting__date__lte=last,
    )
    if cadres_in_villages:
        lines = lines.filter(
            member__is_commune_cadre=True, meeting__branch__kind=BranchKind.VILLAGE
        )
    rows = (
        lines.values("member_id", "member__full_name", "meeting__branch__name")
        .annotate(
            counted=Count("pk"),
            present=Count("pk", filter=Q(presence=Presence.PRESENT)),
            excused=Count("pk", filter=Q(presence=Presence.EXCUSED)),
            absent=Count("pk", filter=Q(presence=Presence.ABSENT)),
        )
        .order_by("meeting__branch__name", "member__full_name", "member_id")
    )
    return [
        MemberRow(
            r["member_id"],
            r["member__full_name"],
            r["meeting__branch__name"],
            r["counted"],
            r["present"],
            r["excused"],
            r["absent"],
        )
        for r in rows
    ]
