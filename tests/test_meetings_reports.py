"""Meeting reports: regularity per month and year, attendance rates, commune
cadres in village branches, the CSV command and the selectors other pages use."""

import datetime
import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from branches.access import ALL, COMMUNE, Scope, scope_for
from branches.models import Branch
from meetings.models import Meeting, MeetingKind
from meetings.reports import member_attendance, rate_text, regularity
from meetings.selectors import (
    branch_recent_meetings,
    branches_without_regular_meeting,
    first_branches_without_regular_meeting,
    meetings_per_month,
)
from meetings.services.attendance import meeting_mark_attendance
from meetings.services.meetings import meeting_create, meeting_hold
from members.services.members import membership_move
from tests.conftest import make_branch, make_member

D = datetime.date


def held_meeting(world, branch, date, marks=None, kind=MeetingKind.REGULAR, hold=True, **kw):
    """A meeting recorded by the commune secretary; `marks` maps members to presence."""
    scope = scope_for(world.secretary)
    meeting = meeting_create(
        scope=scope,
        user=world.secretary,
        meeting=Meeting(branch=branch, date=date, kind=kind, **kw),
    )
    if hold:
        meeting_hold(scope=scope, meeting=meeting)
    if marks:
        meeting_mark_attendance(
            scope=scope,
            meeting=meeting,
            marks={m.pk: (p, "Bận việc" if p == "excused" else "") for m, p in marks.items()},
        )
    return meeting


@pytest.fixture
def may(world):
    """May 2019 in Cao Tân: Cốc Lải meets with 4 of 6 counted present; Nà Khâu does not
    meet (only a planned meeting); the commune office is dissolved in April."""
    members = [make_member(world.branch, name=f"Đảng viên {i}") for i in range(5)]
    # The cadre moved to the village branch of Cốc Lải in April 2019.
    membership_move(member=world.cadre, to_branch=world.branch, on=D(2019, 4, 15))
    Branch.objects.filter(pk=world.office.pk).update(
        dissolved_on=D(2019, 4, 20), dissolution_decision="15-QĐ/ĐU"
    )
    everyone = [world.member, world.cadre, *members]
    marks = dict.fromkeys(everyone[:4], "present")
    marks[everyone[4]] = "excused"
    marks[everyone[5]] = "absent"
    marks[everyone[6]] = "present"
    held_meeting(world, world.branch, D(2019, 5, 10), marks)
    # A thematic meeting the same month is not a regular one.
    held_meeting(
        world, world.branch, D(2019, 5, 24), kind=MeetingKind.THEMATIC, topic="Nông thôn mới"
    )
    held_meeting(world, world.branch2, D(2019, 5, 15), hold=False)
    return everyone


def test_regularity_for_a_month(world, may):
    rows = {
        r.branch.pk: r for r in regularity(Branch.objects.filter(commune=world.commune), 2019, 5)
    }
    # The office dissolved in April is not active in May: not in the report.
    assert set(rows) == {world.branch.pk, world.branch2.pk}
    assert rows[world.branch.pk].regular_meetings == 1
    assert (rows[world.branch.pk].present, rows[world.branch.pk].counted) == (5, 7)
    assert rate_text(rows[world.branch.pk].attendance_rate) == "0.71"
    # A planned meeting does not count as held.
    assert rows[world.branch2.pk].regular_meetings == 0
    assert rows[world.branch2.pk].attendance_rate is None


def test_regularity_for_a_year_flags_missed_months(world, may):
    held_meeting(world, world.branch, D(2019, 6, 12), {world.member: "present"})
    rows = {r.branch.pk: r for r in regularity(Branch.objects.filter(commune=world.commune), 2019)}
    coclai = rows[world.branch.pk]
    assert coclai.per_month[4:6] == [1, 1]
    assert coclai.regular_meetings == 2
    assert coclai.months_without == 10
    # The office existed until April 2019: it is in the year's report, with no meeting.
    assert rows[world.office.pk].regular_meetings == 0


def test_regularity_has_a_fixed_number_of_queries(world, may):
    branches = Branch.objects.filter(commune=world.commune)
    with CaptureQueriesContext(connection) as small:
        regularity(branches, 2019)
    for i in range(4):
        extra = make_branch(world.commune, name=f"Chi bộ thêm {i}")
        member = make_member(extra, name=f"Thêm {i}")
        held_meeting(world, extra, D(2019, 3, 5), {member: "present"})
    with CaptureQueriesContext(connection) as large:
        rows = regularity(branches, 2019)
    assert len(small) == len(large) == 2
    assert len(rows) == 7


def test_member_attendance_and_commune_cadres(world, may):
    rows = member_attendance(Branch.objects.all(), D(2019, 5, 1), D(2019, 5, 31))
    by_member = {r.member_id: r for r in rows}
    assert by_member[may[4].pk].excused == 1
    assert by_member[may[5].pk].absent == 1 and by_member[may[5].pk].attendance_rate == 0
    cadres = member_attendance(
        Branch.objects.all(), D(2019, 5, 1), D(2019, 5, 31), cadres_in_villages=True
    )
    assert [(r.name, r.branch_name, r.present, r.counted) for r in cadres] == [
        ("Lý Thị Huyền", "Chi bộ thôn Cốc Lải", 1, 1)
    ]


def test_meeting_report_command_prints_csv(world, may):
    out = io.StringIO()
    call_command("meeting_report", "--month", "2019-05", "--commune", "01885", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0] == "commune_code,branch_code,regular_meetings,attendance_rate"
    assert sorted(lines[1:]) == sorted(
        [f"01885,{world.branch.code},1,0.71", f"01885,{world.branch2.code},0,"]
    )
    out = io.StringIO()
    call_command("meeting_report", "--month", "2019-05", stdout=out)
    assert f"01870,{world.other_branch.code},0," in out.getvalue().splitlines()


@pytest.mark.parametrize(
    "args",
    [["--month", "2019-13"], ["--month", "May"], ["--month", "2019-05", "--commune", "99999"]],
)
def test_meeting_report_command_refuses_bad_input(world, args):
    with pytest.raises(CommandError):
        call_command("meeting_report", *args, stdout=io.StringIO())


def test_meeting_report_command_exits_1_on_a_bad_month(world, capsys):
    with pytest.raises(SystemExit) as info:
        from django.core.management import execute_from_command_line

        execute_from_command_line(["manage.py", "meeting_report", "--month", "2019-5x"])
    assert info.value.code == 1
    assert "YYYY-MM" in capsys.readouterr().err


def test_branches_without_regular_meeting(world, may):
    missing = branches_without_regular_meeting(Branch.objects.all(), 2019, 5)
    assert set(missing) == {world.branch2, world.other_branch}
    # Before the office was dissolved it counted too.
    assert world.office in set(branches_without_regular_meeting(Branch.objects.all(), 2019, 4))


def test_the_first_branches_without_a_meeting_come_with_how_many_there_are(world, may):
    with CaptureQueriesContext(connection) as queries:
        first, total = first_branches_without_regular_meeting(
            Branch.objects.all(), 2019, 5, limit=1
        )
    assert len(queries) == 1
    assert total == 2
    # By commune code: Giáo Hiệu (01870) before Cao Tân (01885), whose Nà Khâu is the other.
    assert first == [world.other_branch] and first[0].commune == world.other_commune
    assert first_branches_without_regular_meeting(
        Branch.objects.filter(pk=world.branch.pk), 2019, 5
    ) == ([], 0)


def test_meetings_per_month_in_one_query(world, may):
    held_meeting(world, world.branch, D(2019, 3, 8), {world.member: "present"})
    with CaptureQueriesContext(connection) as queries:
        series = meetings_per_month(Scope(level=ALL), D(2019, 5, 20), months=3)
    assert len(queries) == 1
    # March: 1; April: none; May: the regular and the thematic (the planned one does not count).
    assert series == [(D(2019, 3, 1), 1), (D(2019, 4, 1), 0), (D(2019, 5, 1), 2)]
    # The other commune's secretary sees none of them.
    other = Scope(level=COMMUNE, commune_id=world.other_commune.pk)
    assert [n for _m, n in meetings_per_month(other, D(2019, 5, 20), months=3)] == [0, 0, 0]


def test_branch_recent_meetings(world, may):
    recent = branch_recent_meetings(world.branch, 1)
    assert len(recent) == 1
    assert recent[0].date == D(2019, 5, 24)
    regular = branch_recent_meetings(world.branch, 5)[1]
    assert (regular.n_present, regular.n_counted) == (5, 7)


@pytest.mark.postgres
def test_a_provinces_meetings_per_month_follow_every_kind_of_change(world):
    """Issue 14: a province reads its meetings per month from a tally kept by
    triggers (meetings 0005); after each kind of change it says what a count says."""
    everything = Scope(level=ALL)

    def tallied():
        return meetings_per_month(everything, D(2019, 6, 1), months=3)

    def counted():
        # The commune secretary's scope counts the meetings directly (no tally).
        return meetings_per_month(scope_for(world.secretary), D(2019, 6, 1), months=3)

    april = held_meeting(world, world.branch, D(2019, 4, 10))
    planned = held_meeting(world, world.branch2, D(2019, 5, 8), hold=False)
    assert tallied() == counted() == [(D(2019, 4, 1), 1), (D(2019, 5, 1), 0), (D(2019, 6, 1), 0)]
    meeting_hold(scope=scope_for(world.secretary), meeting=planned)  # planned -> held
    Meeting.objects.filter(pk=april.pk).update(date=D(2019, 6, 3))  # moved to another month
    assert tallied() == counted() == [(D(2019, 4, 1), 0), (D(2019, 5, 1), 1), (D(2019, 6, 1), 1)]
    Meeting.objects.filter(pk=planned.pk).update(status="planned")  # back to planned
    Meeting.objects.bulk_create(
        [
            Meeting(
                branch=world.branch2,
                date=D(2019, 6, 20),
                kind="thematic",
                topic="Chuyên đề",
                status="held",
            ),
            Meeting(
                branch=world.branch, date=D(2019, 6, 21), kind="extraordinary", status="planned"
            ),
        ]
    )
    assert tallied() == counted() == [(D(2019, 4, 1), 0), (D(2019, 5, 1), 0), (D(2019, 6, 1), 2)]
    Meeting.objects.filter(date__month=6, status="held").delete()
    assert tallied() == counted() == [(D(2019, 4, 1), 0), (D(2019, 5, 1), 0), (D(2019, 6, 1), 0)]


def test_the_monthly_tally_counts_the_statuses_the_selectors_count():
    # The triggers of meetings 0005 hold their own copy of TOOK_PLACE (a migration
    # must not import the app's code): the two must not drift apart.
    import importlib

    from meetings.selectors import TOOK_PLACE

    migration = importlib.import_module("meetings.migrations.0005_month_tally")
    assert migration.TOOK_PLACE == "(" + ", ".join(f"'{status}'" for status in TOOK_PLACE) + ")"
