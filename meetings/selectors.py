"""Reads of meetings that other pages reuse (the lead's dashboard, the branch page).

A meeting "counts" once it took place: held or with adopted minutes. A
planned meeting is an intention, not a meeting, so it never makes a branch
look regular.
"""

import calendar
import datetime

from django.conf import settings
from django.db import connection
from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet, Window
from django.db.models.functions import TruncMonth

from branches.access import Scope
from branches.models import Branch
from members.models import Member
from pacnam.lib.dates import add_months

from .models import (
    Attendance,
    Meeting,
    MeetingKind,
    MeetingStatus,
    Presence,
    Standing,
    Task,
    TaskStatus,
)

# Also in the monthly tally's triggers (migration 0005) and the partial indexes
# (models/meetings.py): tests/test_meetings_reports.py checks that they agree.
TOOK_PLACE = (MeetingStatus.HELD, MeetingStatus.ADOPTED)


def month_bounds(year: int, month: int) -> tuple[datetime.date, datetime.date]:
    """First and last day of a month."""
    return datetime.date(year, month, 1), datetime.date(
        year, month, calendar.monthrange(year, month)[1]
    )


def active_in(branches_qs: QuerySet, first: datetime.date, last: datetime.date) -> QuerySet:
    """Branches that existed on at least one day between `first` and `last`."""
    return branches_qs.filter(
        Q(founded_on__isnull=True) | Q(founded_on__lte=last),
        Q(dissolved_on__isnull=True) | Q(dissolved_on__gt=first),
    )


def regular_meetings_in(first: datetime.date, last: datetime.date) -> QuerySet:
    return Meeting.objects.filter(
        kind=MeetingKind.REGULAR, status__in=TOOK_PLACE, date__gte=first, date__lte=last
    )


def branches_without_regular_meeting(branches_qs: QuerySet, year: int, month: int) -> QuerySet:
    """Branches active in the month that held no regular meeting in it."""
    first, last = month_bounds(year, month)
    held = regular_meetings_in(first, last).filter(branch=OuterRef("pk"))
    return active_in(branches_qs, first, last).filter(~Exists(held))


def first_branches_without_regular_meeting(
    branches_qs: QuerySet, year: int, month: int, limit: int = 20
) -> tuple[list, int]:
    """The first `limit` branches (by commune, then name) of branches_without_regular_meeting,
    with their commune, and how many there are in all. One query.

    The total is a window over the whole set. Besides giving the dashboard an exact
    figure, it keeps the query fast in a province: Django puts a filtered
    window in a subquery, which the LIMIT cannot reach, so PostgreSQL computes the
    set at once with a hash anti-join (about 20 ms for 30,000 branches). Without it
    the planner walks the branches in commune order and probes each one's meetings,
    hoping to stop after 20; when nearly every branch held its meeting (the good
    case), that is every branch, about 100 ms."""
    rows = list(
        branches_without_regular_meeting(branches_qs, year, month)
        .select_related("commune")
        .annotate(total=Window(Count("pk")))
        .filter(total__gt=0)
        .order_by("commune__code", "name")[:limit]
    )
    return rows, (rows[0].total if rows else 0)


def meetings_per_month(
    scope: Scope, end_month_date: datetime.date, months: int = 12
) -> list[tuple[datetime.date, int]]:
    """Meetings that took place (all kinds) per month, for the `months` months ending
    with the month of `end_month_date`, oldest first; months without any give 0.
    One query."""
    end = end_month_date.replace(day=1)
    start = add_months(end, -(months - 1))
    last = month_bounds(end.year, end.month)[1]
    if scope.sees_all and connection.vendor == "postgresql":
        # A province's: the monthly tally the triggers keep (meetings 0005).
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT month, took_place FROM meetings_month_tally WHERE month BETWEEN %s AND %s",
                [start, end],
            )
            rows = [{"month": month, "n": n} for month, n in cursor.fetchall()]
    else:
        rows = (
            scope.by_branch(
                Meeting.objects.filter(status__in=TOOK_PLACE, date__gte=start, date__lte=last)
            )
            .annotate(month=TruncMonth("date"))
            .values("month")
            # count(*): answered from the meeting_took_place index alone.
            .annotate(n=Count("*"))
            .order_by()
        )
    counts = {}
    for row in rows:
        month = row["month"]
        if isinstance(month, datetime.datetime):
            month = month.date()
        counts[month] = row["n"]
    return [(add_months(start, i), counts.get(add_months(start, i), 0)) for i in range(months)]


def with_attendance_counts(qs: QuerySet) -> QuerySet:
    """Annotate meetings with counted members, those present, full and probationary present."""
    counted = Q(attendance__standing=Standing.COUNTED)
    present = counted & Q(attendance__presence=Presence.PRESENT)
    return qs.annotate(
        n_counted=Count("attendance", filter=counted),
        n_present=Count("attendance", filter=present),
        n_excused=Count("attendance", filter=counted & Q(attendance__presence=Presence.EXCUSED)),
        n_absent=Count("attendance", filter=counted & Q(attendance__presence=Presence.ABSENT)),
    )


def branch_recent_meetings(branch: Branch, limit: int = 5) -> list[Meeting]:
    """The branch's latest meetings with their attendance counts (one query)."""
    return list(
        with_attendance_counts(Meeting.objects.filter(branch=branch)).order_by("-date", "-pk")[
            :limit
        ]
    )


def tasks_to_review(meeting: Meeting) -> QuerySet:
    """Open tasks set at the branch's earlier meetings: the "review of last month"."""
    return Task.objects.filter(
        meeting__branch_id=meeting.branch_id,
        meeting__date__lt=meeting.date,
        status=TaskStatus.OPEN,
    )


def meeting_roll_sheet(meeting: Meeting) -> dict:
    """The attendance sheet, split as the minutes state it, with the counts. One query."""
    lines = list(
        Attendance.objects.filter(meeting=meeting)
        .select_related("member")
        .order_by("member__folded_name", "pk")
    )
    counted = [a for a in lines if a.standing == Standing.COUNTED]

    def count(presence: str | None = None, full: bool | None = None) -> int:
        return sum(
            1
            for a in counted
            if (presence is None or a.presence == presence) and (full is None or a.is_full == full)
        )

    present = count(Presence.PRESENT)
    quorum = settings.MEETING_QUORUM
    return {
        "counted": counted,
        "away": [a for a in lines if a.standing == Standing.AWAY],
        "exempt": [a for a in lines if a.standing in (Standing.EXEMPT, Standing.SUSPENDED)],
        "n_counted": len(counted),
        "n_full": sum(1 for a in counted if a.is_full),
        "n_probationary": sum(1 for a in counted if not a.is_full),
        "n_present": present,
        "n_present_full": count(Presence.PRESENT, True),
        "n_present_probationary": count(Presence.PRESENT, False),
        "n_excused": count(Presence.EXCUSED),
        "n_absent": count(Presence.ABSENT),
        "n_unmarked": count(""),
        # Flagged once everyone is marked: a half-taken roll is not a failed quorum.
        "below_quorum": bool(counted) and not count("") and present < quorum * len(counted),
        "quorum_percent": round(quorum * 100),
    }


def meeting_tasks(meeting: Meeting) -> list[Task]:
    return list(
        Task.objects.filter(meeting=meeting)
        .select_related("household_village")
        .prefetch_related(Prefetch("assignees", queryset=Member.objects.only("pk", "full_name")))
    )


def meeting_review(meeting: Meeting) -> list[dict]:
    """Review of last month: tasks this meeting reviewed, then open ones it has not."""
    if meeting.kind != MeetingKind.REGULAR:
        return []
    reviewed = list(meeting.reviews.select_related("task__meeting", "task__household_village"))
    seen = {r.task_id for r in reviewed}
    rows: list[dict] = [{"task": r.task, "review": r} for r in reviewed]
    if not meeting.is_adopted:
        pending = tasks_to_review(meeting).select_related("meeting", "household_village")
        rows += [{"task": t, "review": None} for t in pending if t.pk not in seen]
    return rows
