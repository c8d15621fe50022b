"""The figures of the report upward: one unit (a branch, a commune, a province) and one
period, with the period before it for comparison.

Every figure counts by the units of its own day, never by today's: a meeting, a move,
an admission counts where its branch was on that day, so a merged commune reports the
branches it and its predecessors had each month (Cao Minh's first half of 2025 is the
branches of Công Bằng, Cổ Linh and Cao Tân), and a branch that moved to another commune
since still counts in its old commune's report of the months before. The unit's
communes are those of its `Scope` (a commune and the communes merged into it; every
commune ever in a province or in a province merged into it), so the report covers what
its reader may see and nothing else.

A fixed number of queries whatever the size of the unit (about twelve a period): all
counting is done by the database. A province of millions of members is slow to count
in one request; running it in the background is the job runner's work (not here).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.db.models import (
    Count,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.expressions import Combinable
from django.db.models.functions import TruncMonth

from branches.access import BRANCH, COMMUNE, PROVINCE, Scope
from branches.models import Branch, BranchInCommune, Commune, Province
from meetings.models import (
    Attendance,
    DuesPayment,
    Meeting,
    MeetingKind,
    Presence,
    Standing,
    Task,
    TaskStatus,
)
from meetings.reports import rate
from meetings.selectors import TOOK_PLACE, month_bounds
from members.models import Candidate, EndReason, Member, Membership, MembershipKind
from pacnam.lib.dates import add_months, dmy

MOVE_REASONS = (EndReason.TRANSFERRED, EndReason.BRANCH_DISSOLVED, EndReason.TRANSFERRED_OUT)
LEFT_REASONS = (EndReason.REMOVED, EndReason.EXPELLED, EndReason.RESIGNED, EndReason.OTHER)


@dataclass(frozen=True)
class ReportUnit:
    """The unit a report is about, as it was on the period's last day."""

    level: str  # BRANCH, COMMUNE or PROVINCE (branches.access)
    unit: Branch | Commune | Province

    @property
    def scope(self) -> Scope:
        if self.level == BRANCH:
            assert isinstance(self.unit, Branch)
            return Scope(level=BRANCH, branch_id=self.unit.pk, commune_id=self.unit.commune_id)
        if self.level == COMMUNE:
            return Scope(level=COMMUNE, commune_id=self.unit.pk)
        return Scope(level=PROVINCE, province_id=self.unit.pk)

    @property
    def name(self) -> str:
        return self.unit.name

    @property
    def code(self) -> str:
        return self.unit.code


def unit_by_code(code: str, on: datetime.date) -> ReportUnit | None:
    """The province, commune or branch that bore `code` on `on` (codes of the three
    kinds have different shapes: 19, 01879, 01870-T01), or None."""
    code = (code or "").strip()
    for level, model in ((PROVINCE, Province), (COMMUNE, Commune), (BRANCH, Branch)):
        unit = model.objects.by_code(code, on)
        if unit is not None:
            return ReportUnit(level, unit)
    return None


def previous_period(
    first: datetime.date, last: datetime.date
) -> tuple[datetime.date, datetime.date]:
    """The period before: as many whole months when the period is whole months (a
    month, six months, a year), else as many days."""
    if first.day == 1 and last == month_bounds(last.year, last.month)[1]:
        months = (last.year - first.year) * 12 + last.month - first.month + 1
        return add_months(first, -months), first - datetime.timedelta(days=1)
    days = (last - first).days + 1
    return first - datetime.timedelta(days=days), first - datetime.timedelta(days=1)


def _valid_on(day: datetime.date | Combinable) -> Q:
    return (Q(valid_from__isnull=True) | Q(valid_from__lte=day)) & (
        Q(valid_to__isnull=True) | Q(valid_to__gte=day)
    )


def _in_unit(unit: ReportUnit, branch: Combinable, day: Combinable) -> Exists:
    """Whether the branch `branch` was in the unit on `day` (expressions, usually
    OuterRef's of the row being counted). No query of its own."""
    if unit.level == BRANCH:
        return Exists(Branch.objects.filter(pk=unit.unit.pk).filter(pk=branch))
    periods = BranchInCommune.objects.filter(branch=branch, commune__in=unit.scope.communes())
    return Exists(periods.filter(_valid_on(day)))


@dataclass
class Figures:
    """One period's figures (None where nothing was counted, e.g. a rate)."""

    first: datetime.date
    last: datetime.date
    branches: int = 0
    members: int = 0
    full: int = 0
    probationary: int = 0
    moved_in: int = 0
    moved_out: int = 0
    died: int = 0
    left: int = 0
    meetings: int = 0
    regular: int = 0
    thematic: int = 0
    extraordinary: int = 0
    counted: int = 0
    present: int = 0
    excused: int = 0
    absent: int = 0
    tasks_set: int = 0
    tasks_done: int = 0
    tasks_dropped: int = 0
    tasks_carried_over: int = 0
    households_helped: int = 0
    candidates_new: int = 0
    candidates_open: int = 0
    admissions: int = 0
    recognitions: int = 0
    dues_due: int = 0
    dues_paid: int = 0
    dues_members_behind: int = 0
    months: list[dict] = field(default_factory=list)

    @property
    def attendance_rate(self) -> float | None:
        return rate(self.present, self.counted)

    @property
    def dues_owed(self) -> int:
        return max(self.dues_due - self.dues_paid, 0)

    @property
    def dues_rate(self) -> float | None:
        return rate(self.dues_paid, self.dues_due)


def _branch_periods(unit: ReportUnit, first: datetime.date, last: datetime.date) -> list[tuple]:
    """(branch, in from, in until, founded, dissolved) of every branch that was in the
    unit on some day of the period: one query."""
    if unit.level == BRANCH:
        b = unit.unit
        assert isinstance(b, Branch)
        return [(b.pk, None, None, b.founded_on, b.dissolved_on)]
    rows = (
        BranchInCommune.objects.filter(commune__in=unit.scope.communes())
        .filter(Q(valid_from__isnull=True) | Q(valid_from__lte=last))
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=first))
        .values_list(
            "branch_id", "valid_from", "valid_to", "branch__founded_on", "branch__dissolved_on"
        )
    )
    return list(rows)


def _branches_in(periods: list[tuple], first: datetime.date, last: datetime.date) -> set[int]:
    """The branches that existed and were in the unit on some day of [first, last]."""
    found = set()
    for branch_id, since, until, founded, dissolved in periods:
        in_unit = (since is None or since <= last) and (until is None or until >= first)
        exists = (founded is None or founded <= last) and (dissolved is None or dissolved > first)
        # Existing and in the unit must overlap, not merely both touch the period.
        start = max(d for d in (since, founded, first) if d is not None)
        end_candidates = [d for d in (until, last) if d is not None]
        if dissolved is not None:
            end_candidates.append(dissolved - datetime.timedelta(days=1))
        if in_unit and exists and start <= min(end_candidates):
            found.add(branch_id)
    return found


def _meetings(unit: ReportUnit, first: datetime.date, last: datetime.date) -> QuerySet:
    return Meeting.objects.filter(
        _in_unit(unit, OuterRef("branch"), OuterRef("date")),
        status__in=TOOK_PLACE,
        date__gte=first,
        date__lte=last,
    )


def figures(
    unit: ReportUnit, first: datetime.date, last: datetime.date, *, monthly: bool = True
) -> Figures:
    """The unit's figures for [first, last]. Thirteen queries (eleven without the months)."""
    f = Figures(first=first, last=last)
    periods = _branch_periods(unit, first, last)
    f.branches = len(_branches_in(periods, last, last))

    # Members on the last day: official memberships running then in the unit's branches.
    on_last = (
        Membership.objects.on(last)
        .filter(kind=MembershipKind.OFFICIAL)
        .filter(_in_unit(unit, OuterRef("branch"), Value(last)))
        .aggregate(
            members=Count("member", distinct=True),
            full=Count("member", distinct=True, filter=Q(member__full_on__lte=last)),
        )
    )
    f.members, f.full = on_last["members"], on_last["full"]
    f.probationary = f.members - f.full

    # Moves: a period begun in the unit whose previous one ended the same day outside
    # it (or, for someone never in a branch before and not admitted here, from
    # outside the registry); a period ended in the unit by a move whose next one did
    # not begin inside it.
    official = Membership.objects.filter(kind=MembershipKind.OFFICIAL)
    came_from_outside = official.filter(member=OuterRef("member"), ended_on=OuterRef("started_on"))
    came_from_outside = came_from_outside.filter(
        ~_in_unit(unit, OuterRef("branch"), OuterRef("ended_on"))
    )
    earlier = official.filter(member=OuterRef("member"), started_on__lt=OuterRef("started_on"))
    stayed = official.filter(member=OuterRef("member"), started_on=OuterRef("ended_on")).filter(
        _in_unit(unit, OuterRef("branch"), OuterRef("started_on"))
    )
    moved_in = Q(from_outside=True) | Q(had_earlier=False, member__candidate__isnull=True)
    began = Q(started_on__gte=first, started_on__lte=last)
    ended = Q(ended_on__gte=first, ended_on__lte=last)
    moves = (
        official.filter(began | ended)
        .annotate(
            began_in=_in_unit(unit, OuterRef("branch"), OuterRef("started_on")),
            ended_in=_in_unit(unit, OuterRef("branch"), OuterRef("ended_on")),
            stayed=Exists(stayed),
            from_outside=Exists(came_from_outside),
            had_earlier=Exists(earlier),
        )
        .aggregate(
            moved_in=Count("pk", filter=began & Q(began_in=True) & moved_in),
            moved_out=Count(
                "pk",
                filter=ended & Q(ended_in=True, stayed=False, end_reason__in=MOVE_REASONS),
            ),
            died=Count("pk", filter=ended & Q(ended_in=True, end_reason=EndReason.DIED)),
            left=Count("pk", filter=ended & Q(ended_in=True, end_reason__in=LEFT_REASONS)),
        )
    )
    f.moved_in, f.moved_out, f.died, f.left = (
        moves["moved_in"],
        moves["moved_out"],
        moves["died"],
        moves["left"],
    )

    # Meetings that took place, and the roll at them (lines not marked are left out,
    # as the meeting reports leave them out).
    held = _meetings(unit, first, last)
    by_kind = held.aggregate(
        meetings=Count("pk"),
        regular=Count("pk", filter=Q(kind=MeetingKind.REGULAR)),
        thematic=Count("pk", filter=Q(kind=MeetingKind.THEMATIC)),
        extraordinary=Count("pk", filter=Q(kind=MeetingKind.EXTRAORDINARY)),
    )
    for key, value in by_kind.items():
        setattr(f, key, value)
    marked = Q(standing=Standing.COUNTED) & ~Q(presence="")
    roll = Attendance.objects.filter(meeting__in=held.values("pk")).aggregate(
        counted=Count("pk", filter=marked),
        present=Count("pk", filter=marked & Q(presence=Presence.PRESENT)),
        excused=Count("pk", filter=marked & Q(presence=Presence.EXCUSED)),
        absent=Count("pk", filter=marked & Q(presence=Presence.ABSENT)),
    )
    for key, value in roll.items():
        setattr(f, key, value)

    # Tasks: set at the period's meetings; closed at them; still open at its end.
    tasks = Task.objects.filter(
        _in_unit(unit, OuterRef("meeting__branch"), OuterRef("meeting__date"))
    )
    closed_in = Q(
        closed_at__date__gte=first, closed_at__date__lte=last, closed_at__status__in=TOOK_PLACE
    )
    task_counts = tasks.filter(meeting__status__in=TOOK_PLACE, meeting__date__lte=last).aggregate(
        set=Count("pk", filter=Q(meeting__date__gte=first)),
        done=Count("pk", filter=closed_in & Q(status=TaskStatus.DONE)),
        dropped=Count("pk", filter=closed_in & Q(status=TaskStatus.DROPPED)),
        carried=Count("pk", filter=Q(status=TaskStatus.OPEN) | Q(closed_at__date__gt=last)),
    )
    f.tasks_set, f.tasks_done = task_counts["set"], task_counts["done"]
    f.tasks_dropped, f.tasks_carried_over = task_counts["dropped"], task_counts["carried"]
    f.households_helped = (
        tasks.filter(closed_in, status=TaskStatus.DONE)
        .exclude(household_head="")
        .values("household_village_id", "household_head")
        .distinct()
        .count()
    )

    # Party development.
    started = Q(awareness_certificate_on__gte=first, awareness_certificate_on__lte=last) | Q(
        awareness_certificate_on__isnull=True,
        created_at__date__gte=first,
        created_at__date__lte=last,
    )
    candidates = Candidate.objects.filter(_in_unit(unit, OuterRef("branch"), Value(last)))
    candidate_counts = candidates.aggregate(
        new=Count("pk", filter=started),
        open=Count("pk", filter=Q(pk__in=Candidate.objects.open_on(last).values("pk"))),
    )
    f.candidates_new, f.candidates_open = candidate_counts["new"], candidate_counts["open"]
    first_period = official.filter(member=OuterRef("pk")).order_by("started_on", "pk")
    f.admissions = (
        Member.objects.filter(admitted_on__gte=first, admitted_on__lte=last)
        .annotate(
            first_branch=Subquery(first_period.values("branch_id")[:1]),
            first_day=Subquery(first_period.values("started_on")[:1]),
        )
        .filter(_in_unit(unit, OuterRef("first_branch"), OuterRef("first_day")))
        .count()
    )
    recognised_in = official.filter(
        Q(ended_on__isnull=True) | Q(ended_on__gt=OuterRef("full_on")),
        member=OuterRef("pk"),
        started_on__lte=OuterRef("full_on"),
    ).filter(_in_unit(unit, OuterRef("branch"), OuterRef(OuterRef("full_on"))))
    f.recognitions = Member.objects.filter(
        Exists(recognised_in), full_on__gte=first, full_on__lte=last
    ).count()

    # Dues of the period's months, where the collecting branch was that month; a
    # member behind is one with a month not paid in full and no reason given.
    dues = (
        DuesPayment.objects.filter(month__gte=first.replace(day=1), month__lte=last)
        .filter(_in_unit(unit, OuterRef("branch"), OuterRef("month")))
        .aggregate(
            total_due=Sum("due"),
            total_paid=Sum("paid"),
            behind=Count("member", distinct=True, filter=Q(paid__lt=F("due"), reason="")),
        )
    )
    f.dues_due, f.dues_paid = dues["total_due"] or 0, dues["total_paid"] or 0
    f.dues_members_behind = dues["behind"]

    if monthly:
        f.months = _months(unit, periods, first, last)
    return f


def _months(
    unit: ReportUnit, periods: list[tuple], first: datetime.date, last: datetime.date
) -> list[dict]:
    """Per month: the branches the unit had, how many held their regular meeting, and
    the attendance rate at those meetings. Two queries."""
    regular = _meetings(unit, first, last).filter(kind=MeetingKind.REGULAR)
    held: dict[datetime.date, set[int]] = {}
    for month, branch_id in regular.annotate(month=TruncMonth("date")).values_list(
        "month", "branch_id"
    ):
        month = month.date() if isinstance(month, datetime.datetime) else month
        held.setdefault(month, set()).add(branch_id)
    marked = Q(standing=Standing.COUNTED) & ~Q(presence="")
    roll = {}
    for row in (
        Attendance.objects.filter(meeting__in=regular.values("pk"))
        .annotate(month=TruncMonth("meeting__date"))
        .values("month")
        .annotate(
            counted=Count("pk", filter=marked),
            present=Count("pk", filter=marked & Q(presence=Presence.PRESENT)),
        )
        .order_by()
    ):
        month = row["month"]
        month = month.date() if isinstance(month, datetime.datetime) else month
        roll[month] = rate(row["present"], row["counted"])
    rows = []
    month = first.replace(day=1)
    while month <= last:
        m_first, m_last = month_bounds(month.year, month.month)
        branches = _branches_in(periods, max(m_first, first), min(m_last, last))
        done = held.get(month, set()) & branches
        rows.append(
            {
                "month": month,
                "branches": len(branches),
                "held": len(done),
                "missed": len(branches - done),
                "rate": roll.get(month),
            }
        )
        month = add_months(month, 1)
    return rows


def report_figures(unit: ReportUnit, first: datetime.date, last: datetime.date) -> dict:
    """This period's figures and the previous period's, beside. About twenty queries."""
    prev_first, prev_last = previous_period(first, last)
    return {
        "current": figures(unit, first, last),
        "previous": figures(unit, prev_first, prev_last, monthly=False),
    }


# --- As the document and the page show them (Vietnamese: the report is a Party document) ---


def percent(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value * 100:.1f} %".replace(".", ",")


def _change(current: float | None, previous: float | None, *, amount: bool = False) -> str:
    if current is None or previous is None:
        return "–"
    if isinstance(current, float) or isinstance(previous, float):
        points = (current - previous) * 100
        return f"{points:+.1f} điểm %".replace(".", ",")
    diff = current - previous
    if not diff:
        return "0"
    if amount:
        return ("+" if diff > 0 else "-") + f"{abs(diff):,}".replace(",", ".")
    return f"{diff:+d}"


SECTIONS = {
    "organisation": [
        ("Số chi bộ (cuối kỳ)", "branches"),
        ("Tổng số đảng viên (cuối kỳ)", "members"),
        ("Đảng viên chính thức", "full"),
        ("Đảng viên dự bị", "probationary"),
        ("Đảng viên chuyển sinh hoạt đến", "moved_in"),
        ("Đảng viên chuyển sinh hoạt đi", "moved_out"),
        ("Đảng viên từ trần", "died"),
        ("Đảng viên ra khỏi Đảng (xóa tên, khai trừ, xin ra)", "left"),
    ],
    "meetings": [
        ("Số buổi sinh hoạt chi bộ đã tổ chức", "meetings"),
        ("Sinh hoạt thường kỳ", "regular"),
        ("Sinh hoạt chuyên đề", "thematic"),
        ("Sinh hoạt bất thường", "extraordinary"),
        ("Lượt đảng viên phải dự", "counted"),
        ("Lượt đảng viên có mặt", "present"),
        ("Tỷ lệ đảng viên dự sinh hoạt", "attendance_rate"),
        ("Lượt vắng có lý do", "excused"),
        ("Lượt vắng không lý do", "absent"),
    ],
    "tasks": [
        ("Nhiệm vụ được phân công trong kỳ", "tasks_set"),
        ("Nhiệm vụ đã hoàn thành", "tasks_done"),
        ("Nhiệm vụ dừng thực hiện", "tasks_dropped"),
        ("Nhiệm vụ chuyển sang kỳ sau", "tasks_carried_over"),
        ("Số hộ được giúp đỡ (nhiệm vụ đã hoàn thành)", "households_helped"),
    ],
    "development": [
        ("Quần chúng ưu tú mới đưa vào danh sách theo dõi", "candidates_new"),
        ("Đối tượng kết nạp đang theo dõi (cuối kỳ)", "candidates_open"),
        ("Kết nạp đảng viên mới", "admissions"),
        ("Công nhận đảng viên chính thức", "recognitions"),
    ],
    "dues": [
        ("Đảng phí phải thu (đồng)", "dues_due"),
        ("Đảng phí đã thu (đồng)", "dues_paid"),
        ("Tỷ lệ thu đảng phí", "dues_rate"),
        ("Đảng phí còn thiếu (đồng)", "dues_owed"),
        ("Đảng viên chưa nộp đủ, không có lý do", "dues_members_behind"),
    ],
}

AMOUNTS = {"dues_due", "dues_paid", "dues_owed"}
RATES = {"attendance_rate", "dues_rate"}


def money(value: int) -> str:
    """An amount in đồng as Vietnamese write it: 1.250.000."""
    return f"{value:,}".replace(",", ".")


def dues_sentence(f: Figures) -> str:
    """The dues in one sentence, for a commune's own template that has only
    {{ dues_text }} where the figures table is in the registry's."""
    if not f.dues_due:
        return "Trong kỳ chưa có số liệu thu đảng phí trong Sổ quản lý chi bộ, đảng viên."
    return (
        f"Đảng phí phải thu {money(f.dues_due)} đồng, đã thu {money(f.dues_paid)} đồng "
        f"(đạt {percent(f.dues_rate)}), còn thiếu {money(f.dues_owed)} đồng; "
        f"{f.dues_members_behind} đảng viên chưa nộp đủ mà không có lý do."
    )


def section_rows(report: dict) -> dict[str, list[dict]]:
    """{section: [{number, label, key, current, previous, change}]}, the cells as text."""
    current, previous = report["current"], report["previous"]
    out = {}
    for section, lines in SECTIONS.items():
        rows = []
        for number, (label, key) in enumerate(lines, start=1):
            now, before = getattr(current, key), getattr(previous, key)
            show = percent if key in RATES else money if key in AMOUNTS else str
            rows.append(
                {
                    "number": number,
                    "label": label,
                    "key": key,
                    "value": now,
                    "current": show(now),
                    "previous": show(before),
                    "change": _change(now, before, amount=key in AMOUNTS),
                }
            )
        out[section] = rows
    return out


def month_rows(report: dict) -> list[dict]:
    return [
        {
            "label": row["month"].strftime("%m/%Y"),
            "branches": row["branches"],
            "held": row["held"],
            "missed": row["missed"],
            "rate": percent(row["rate"]),
        }
        for row in report["current"].months
    ]


def period_label(first: datetime.date, last: datetime.date) -> str:
    return f"(Từ ngày {dmy(first)} đến ngày {dmy(last)})"
