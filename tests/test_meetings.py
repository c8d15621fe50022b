"""Meetings: the roll follows the roster on the meeting date, tasks carry over
and close, adopted minutes refuse edits, services check the user's scope."""

import datetime

import pytest
from django.db import IntegrityError, transaction

from branches.access import scope_for
from meetings.models import (
    Attendance,
    Meeting,
    MeetingKind,
    MeetingStatus,
    Standing,
    Task,
    TaskReview,
    TaskStatus,
)
from meetings.selectors import tasks_to_review
from meetings.services.attendance import meeting_mark_attendance, meeting_open_roll
from meetings.services.meetings import (
    meeting_add_addendum,
    meeting_adopt_minutes,
    meeting_create,
    meeting_hold,
    meeting_update,
)
from meetings.services.tasks import task_create, task_review
from members.models import Membership, MembershipKind
from members.services.members import membership_move
from pacnam.lib.errors import DomainError, NotAllowed
from tests.conftest import make_member

D = datetime.date
MAY = D(2019, 5, 10)


def new_meeting(world, date=MAY, kind=MeetingKind.REGULAR, branch=None, user=None, **kw):
    user = user or world.branch_secretary
    meeting = Meeting(branch=branch or world.branch, date=date, kind=kind, **kw)
    return meeting_create(scope=scope_for(user), user=user, meeting=meeting)


def roll(meeting):
    return {a.member_id: a for a in Attendance.objects.filter(meeting=meeting)}


def hold_and_adopt(world, meeting, chair, secretary, on=None):
    scope = scope_for(world.branch_secretary)
    meeting_update(
        scope=scope,
        meeting=meeting,
        changes={"chair": chair, "secretary": secretary, "minutes": "Họp bàn việc thôn."},
    )
    meeting_hold(scope=scope, meeting=meeting)
    marks = {
        a.member_id: ("present", "") for a in Attendance.objects.filter(meeting=meeting).counted()
    }
    meeting_mark_attendance(scope=scope, meeting=meeting, marks=marks)
    return meeting_adopt_minutes(scope=scope, meeting=meeting, on=on or meeting.date)


def test_new_meeting_gets_the_regular_order_as_agenda(world):
    meeting = new_meeting(world)
    assert meeting.status == MeetingStatus.PLANNED
    assert meeting.agenda.count("\n") == 5  # the six steps of the regular order


def test_roll_follows_the_roster_on_the_meeting_date(world):
    moved_in_later = make_member(world.branch2, name="Nông Văn Sau")
    membership_move(member=moved_in_later, to_branch=world.branch, on=D(2019, 6, 1))
    moved_out_before = make_member(world.branch, name="Ma Văn Trước")
    membership_move(member=moved_out_before, to_branch=world.branch2, on=D(2019, 4, 1))
    moved_in_before = make_member(world.branch2, name="Lục Thị Đến")
    membership_move(member=moved_in_before, to_branch=world.branch, on=D(2019, 4, 1))
    # The cadre moved from the commune office to her village branch in April 2019.
    membership_move(member=world.cadre, to_branch=world.branch, on=D(2019, 4, 15))

    meeting = new_meeting(world)
    created = meeting_open_roll(scope=scope_for(world.branch_secretary), meeting=meeting)

    lines = roll(meeting)
    assert created == len(lines)
    assert set(lines) == {world.member.pk, moved_in_before.pk, world.cadre.pk}
    assert moved_in_later.pk not in lines
    assert moved_out_before.pk not in lines
    # Taken once: a later move does not rewrite the roll of a past meeting.
    membership_move(member=world.member, to_branch=world.branch2, on=D(2019, 7, 1))
    assert meeting_open_roll(scope=scope_for(world.branch_secretary), meeting=meeting) == 0
    assert world.member.pk in roll(meeting)


def test_temporarily_away_attached_and_exempt_members_stand_apart(world):
    away = make_member(world.branch, name="Hà Văn Đi")
    Membership.objects.create(
        member=away,
        branch=world.branch2,
        kind=MembershipKind.TEMPORARY,
        started_on=D(2019, 3, 1),
        ended_on=D(2019, 9, 1),
    )
    attached = make_member(world.other_branch, name="Bàn Văn Tạm")
    Membership.objects.create(
        member=attached,
        branch=world.branch,
        kind=MembershipKind.TEMPORARY,
        started_on=D(2019, 5, 1),
        ended_on=D(2019, 11, 1),
    )
    exempt = make_member(world.branch, name="Hoàng Văn Già", status="exempt")
    probationary = make_member(
        world.branch, name="Lý Văn Mới", admitted_on=D(2019, 1, 1), full_on=None
    )

    meeting = new_meeting(world)
    meeting_open_roll(scope=scope_for(world.branch_secretary), meeting=meeting)
    lines = roll(meeting)

    assert lines[away.pk].standing == Standing.AWAY
    assert lines[attached.pk].standing == Standing.COUNTED and lines[attached.pk].temporary
    assert lines[exempt.pk].standing == Standing.EXEMPT
    assert (
        lines[probationary.pk].standing == Standing.COUNTED and not lines[probationary.pk].is_full
    )
    counted = set(
        Attendance.objects.filter(meeting=meeting).counted().values_list("member_id", flat=True)
    )
    assert counted == {world.member.pk, attached.pk, probationary.pk}


def test_member_made_full_after_the_meeting_stays_probationary_on_its_roll(world):
    member = make_member(
        world.branch, name="Lý Văn Mới", admitted_on=D(2019, 1, 1), full_on=D(2020, 1, 1)
    )
    meeting = new_meeting(world)
    meeting_open_roll(scope=scope_for(world.branch_secretary), meeting=meeting)
    assert roll(meeting)[member.pk].is_full is False


def test_one_regular_meeting_per_branch_and_month(world):
    new_meeting(world)
    with pytest.raises(DomainError):
        new_meeting(world, date=D(2019, 5, 25))
    # Another kind in the same month is fine, and so is another branch.
    new_meeting(world, date=D(2019, 5, 25), kind=MeetingKind.EXTRAORDINARY)
    new_meeting(world, user=world.secretary, branch=world.branch2)
    # The database refuses it too, whatever the code path.
    with pytest.raises(IntegrityError), transaction.atomic():
        Meeting.objects.create(branch=world.branch, date=D(2019, 5, 28), kind=MeetingKind.REGULAR)


def test_thematic_meeting_needs_a_topic(world):
    with pytest.raises(DomainError):
        new_meeting(world, kind=MeetingKind.THEMATIC)
    with pytest.raises(IntegrityError), transaction.atomic():
        Meeting.objects.create(branch=world.branch, date=MAY, kind=MeetingKind.THEMATIC)
    assert new_meeting(world, kind=MeetingKind.THEMATIC, topic="Xây dựng nông thôn mới").pk


def test_chair_and_secretary_must_be_on_the_roster_that_day(world):
    helper = make_member(world.branch, name="Đinh Thị Ghi")
    with pytest.raises(DomainError) as info:
        new_meeting(world, chair=world.other_member, secretary=helper)
    assert info.value.field == "chair"
    with pytest.raises(DomainError):
        new_meeting(world, chair=helper, secretary=helper)
    meeting = new_meeting(world, chair=world.member, secretary=helper)
    assert meeting.chair == world.member


def test_adopted_minutes_refuse_edits_and_take_addenda(world):
    helper = make_member(world.branch, name="Đinh Thị Ghi")
    meeting = new_meeting(world)
    hold_and_adopt(world, meeting, world.member, helper, on=D(2019, 5, 12))
    scope = scope_for(world.branch_secretary)

    with pytest.raises(DomainError):
        meeting_update(scope=scope, meeting=meeting, changes={"minutes": "Sửa lại"})
    with pytest.raises(DomainError):
        meeting_mark_attendance(
            scope=scope, meeting=meeting, marks={world.member.pk: ("absent", "")}
        )
    with pytest.raises(DomainError):
        task_create(
            scope=scope,
            meeting=meeting,
            description="Việc mới",
            due_on=D(2019, 6, 1),
            assignees=[world.member],
        )
    meeting.refresh_from_db()
    assert meeting.minutes == "Họp bàn việc thôn."
    assert roll(meeting)[world.member.pk].presence == "present"

    addendum = meeting_add_addendum(
        scope=scope,
        user=world.branch_secretary,
        meeting=meeting,
        dated=D(2019, 5, 20),
        text="Bổ sung: đồng chí Mạnh có ý kiến về đường thôn.",
    )
    assert meeting.addenda.get() == addendum


def test_minutes_cannot_be_adopted_before_everyone_is_marked(world):
    helper = make_member(world.branch, name="Đinh Thị Ghi")
    meeting = new_meeting(world, chair=world.member, secretary=helper, minutes="Biên bản")
    scope = scope_for(world.branch_secretary)
    meeting_hold(scope=scope, meeting=meeting)
    with pytest.raises(DomainError):
        meeting_adopt_minutes(scope=scope, meeting=meeting, on=MAY)
    meeting.refresh_from_db()
    assert meeting.status == MeetingStatus.HELD


def test_absence_with_reason_needs_the_reason(world):
    meeting = new_meeting(world)
    scope = scope_for(world.branch_secretary)
    meeting_open_roll(scope=scope, meeting=meeting)
    with pytest.raises(DomainError):
        meeting_mark_attendance(
            scope=scope, meeting=meeting, marks={world.member.pk: ("excused", " ")}
        )
    meeting_mark_attendance(
        scope=scope, meeting=meeting, marks={world.member.pk: ("excused", "Ốm")}
    )
    assert roll(meeting)[world.member.pk].reason == "Ốm"


def test_tasks_carry_over_and_close(world):
    scope = scope_for(world.branch_secretary)
    helper = make_member(world.branch, name="Đinh Thị Ghi")
    april = new_meeting(world, date=D(2019, 4, 10))
    roads = task_create(
        scope=scope,
        meeting=april,
        description="Làm đường thôn",
        due_on=D(2019, 5, 1),
        assignees=[world.member, helper],
    )
    poor = task_create(
        scope=scope,
        meeting=april,
        description="Giúp đỡ hộ nghèo",
        due_on=D(2019, 5, 1),
        assignees=[helper],
        household_head="Hoàng Văn Nghèo",
        household_village=world.village,
    )
    fence = task_create(
        scope=scope,
        meeting=april,
        description="Rào vườn",
        due_on=D(2019, 5, 1),
        assignees=[helper],
    )

    may = new_meeting(world)
    assert set(tasks_to_review(may)) == {roads, poor, fence}
    with pytest.raises(DomainError):
        task_review(scope=scope, meeting=may, outcomes={fence.pk: ("dropped", "")})
    task_review(
        scope=scope,
        meeting=may,
        outcomes={
            roads.pk: ("done", ""),
            poor.pk: ("carried_over", ""),
            fence.pk: ("dropped", "Hộ tự làm"),
        },
    )
    roads.refresh_from_db()
    fence.refresh_from_db()
    assert (roads.status, roads.closed_at) == (TaskStatus.DONE, may)
    assert (fence.status, fence.drop_reason) == (TaskStatus.DROPPED, "Hộ tự làm")
    assert Task.objects.get(pk=poor.pk).status == TaskStatus.OPEN
    assert TaskReview.objects.filter(meeting=may).count() == 3

    # June's meeting reviews only what is still open: the carried-over task.
    june = new_meeting(world, date=D(2019, 6, 10))
    assert list(tasks_to_review(june)) == [poor]
    task_review(scope=scope, meeting=june, outcomes={poor.pk: ("done", "")})
    assert Task.objects.get(pk=poor.pk).status == TaskStatus.DONE
    assert list(tasks_to_review(new_meeting(world, date=D(2019, 7, 10)))) == []
    # A task closed at an earlier meeting cannot be reviewed again.
    with pytest.raises(DomainError):
        task_review(scope=scope, meeting=june, outcomes={roads.pk: ("done", "")})
    # A wrong tap at this meeting is corrected until its minutes are adopted.
    task_review(scope=scope, meeting=june, outcomes={poor.pk: ("carried_over", "")})
    assert Task.objects.get(pk=poor.pk).status == TaskStatus.OPEN
    assert TaskReview.objects.get(meeting=june, task=poor).outcome == "carried_over"


def test_tasks_go_to_members_of_the_branch(world):
    meeting = new_meeting(world)
    with pytest.raises(DomainError):
        task_create(
            scope=scope_for(world.branch_secretary),
            meeting=meeting,
            description="Việc",
            due_on=D(2019, 6, 1),
            assignees=[world.other_member],
        )
    assert not Task.objects.exists()


@pytest.mark.parametrize("role", ["outsider", "nobody"])
def test_services_refuse_users_outside_the_branch(world, role):
    user = getattr(world, role)
    with pytest.raises(NotAllowed):
        new_meeting(world, user=user)
    meeting = new_meeting(world)
    with pytest.raises(NotAllowed):
        meeting_open_roll(scope=scope_for(user), meeting=meeting)
    with pytest.raises(NotAllowed):
        meeting_update(scope=scope_for(user), meeting=meeting, changes={"minutes": "x"})
    assert not Attendance.objects.exists()


def test_branch_secretary_cannot_record_another_branch(world):
    with pytest.raises(NotAllowed):
        new_meeting(world, branch=world.branch2, user=world.branch_secretary)
    # The commune secretary records any branch of the commune.
    assert new_meeting(world, branch=world.branch2, user=world.secretary).pk


def test_meeting_of_a_dissolved_branch_is_refused(world):
    world.office.dissolved_on = D(2019, 4, 1)
    world.office.dissolution_decision = "12-QĐ/ĐU"
    world.office.save()
    with pytest.raises(DomainError):
        new_meeting(world, branch=world.office, user=world.secretary)
