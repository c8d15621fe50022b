"""The month's meeting as a secretary records it: not held before its day, defaults
that the next step accepts, a refused form that keeps what was typed and says which
field is wrong, people to choose who were in the branch that day, and a report that
opens on the month that has ended."""

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from branches.access import scope_for
from meetings.models import Meeting, MeetingKind, MeetingStatus, Task
from meetings.selectors import meetings_per_month
from meetings.services.attendance import meeting_mark_attendance, meeting_open_roll
from meetings.services.meetings import meeting_adopt_minutes, meeting_create, meeting_hold
from members.models import EndReason
from members.services.members import member_leave
from pacnam.lib.dates import add_months
from pacnam.lib.errors import DomainError
from tests.conftest import make_member

D = datetime.date
MAY = D(2019, 5, 10)


@pytest.fixture(autouse=True)
def plain_static_files(settings):
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


def new_meeting(world, date, **kw):
    return meeting_create(
        scope=scope_for(world.branch_secretary),
        user=world.branch_secretary,
        meeting=Meeting(branch=world.branch, date=date, kind=MeetingKind.REGULAR, **kw),
    )


@pytest.fixture
def to_come(world):
    """Next week's regular meeting of Cốc Lải, planned."""
    return new_meeting(world, timezone.localdate() + datetime.timedelta(days=7))


def test_a_meeting_to_come_cannot_be_held_nor_its_roll_taken(world, to_come):
    scope = scope_for(world.branch_secretary)
    for action in (
        lambda: meeting_hold(scope=scope, meeting=to_come),
        lambda: meeting_open_roll(scope=scope, meeting=to_come),
        lambda: meeting_mark_attendance(
            scope=scope, meeting=to_come, marks={world.member.pk: ("present", "")}
        ),
    ):
        with pytest.raises(DomainError):
            action()
    to_come.refresh_from_db()
    assert to_come.status == MeetingStatus.PLANNED and not to_come.roll_opened
    assert not to_come.attendance.exists()


def test_nor_its_minutes_adopted_if_it_was_recorded_held(world, to_come):
    # A meeting recorded held before the rule (or through the admin).
    Meeting.objects.filter(pk=to_come.pk).update(status=MeetingStatus.HELD, minutes="Nội dung")
    with pytest.raises(DomainError, match="chưa đến ngày đó"):
        meeting_adopt_minutes(
            scope=scope_for(world.branch_secretary), meeting=to_come, on=timezone.localdate()
        )


def test_the_page_says_why_and_the_dashboard_does_not_count_it(world, login, to_come):
    client = login(world.branch_secretary)
    page = client.get(reverse("meetings:detail", args=[to_come.pk])).text
    assert "chưa đến ngày đó thì chưa thể ghi đã sinh hoạt" in page
    assert reverse("meetings:hold", args=[to_come.pk]) not in page
    assert reverse("meetings:roll", args=[to_come.pk]) not in page
    roll = client.get(reverse("meetings:roll", args=[to_come.pk])).text
    assert 'name="open"' not in roll and "chưa đến ngày đó" in roll
    # A hold posted anyway (an old tab) is refused in Vietnamese.
    response = client.post(reverse("meetings:hold", args=[to_come.pk]), follow=True)
    assert "chưa đến ngày đó thì chưa thể ghi đã sinh hoạt" in response.text
    to_come.refresh_from_db()
    assert to_come.status == MeetingStatus.PLANNED
    counts = dict(meetings_per_month(scope_for(world.branch_secretary), to_come.date, 2))
    assert counts[to_come.date.replace(day=1)] == 0


def test_todays_meeting_is_held_and_adopted_on_its_day(world, login):
    helper = make_member(world.branch, name="Đinh Thị Ghi")
    today = timezone.localdate()
    meeting = new_meeting(world, today, chair=world.member, secretary=helper, minutes="Nội dung")
    scope = scope_for(world.branch_secretary)
    meeting_hold(scope=scope, meeting=meeting)
    meeting_mark_attendance(
        scope=scope,
        meeting=meeting,
        marks={world.member.pk: ("present", ""), helper.pk: ("present", "")},
    )
    client = login(world.branch_secretary)
    page = client.get(reverse("meetings:detail", args=[meeting.pk])).text
    assert f'name="on" value="{today:%d/%m/%Y}"' in page
    client.post(reverse("meetings:adopt", args=[meeting.pk]), {"on": f"{today:%d/%m/%Y}"})
    meeting.refresh_from_db()
    assert meeting.status == MeetingStatus.ADOPTED and meeting.adopted_on == today


def test_no_adoption_day_still_to_come_is_offered(world, login, to_come):
    # A meeting recorded held on a day still to come (before the rule, or through the
    # admin): no adoption form offering that day, which the service refuses.
    Meeting.objects.filter(pk=to_come.pk).update(status=MeetingStatus.HELD)
    page = login(world.branch_secretary).get(reverse("meetings:detail", args=[to_come.pk])).text
    assert f'name="on" value="{to_come.date:%d/%m/%Y}"' not in page
    assert reverse("meetings:adopt", args=[to_come.pk]) not in page


def test_a_task_refused_keeps_what_was_typed_and_names_the_field(world, login):
    meeting = new_meeting(world, MAY)
    client = login(world.branch_secretary)
    response = client.post(
        reverse("meetings:task_add", args=[meeting.pk]),
        {
            "description": "Giúp hộ ông Hoàng Văn Nghèo sửa nhà",
            "assignees": [world.member.pk],
            "due_on": "01/05/2019",  # before the meeting
            "household_head": "Hoàng Văn Nghèo",
            "household_village": world.village.pk,
        },
    )
    assert response.status_code == 200
    assert not Task.objects.exists()
    page = response.text
    assert "Giúp hộ ông Hoàng Văn Nghèo sửa nhà</textarea>" in page
    assert 'value="Hoàng Văn Nghèo"' in page
    assert re.search(rf'value="{world.member.pk}"[^>]*checked', page)
    assert re.search(rf'value="{world.village.pk}"[^>]*selected', page)
    assert 'value="01/05/2019"' in page
    # The message names the field; the error stands beside it too.
    assert "Thời hạn: Thời hạn trước ngày sinh hoạt." in page
    assert 'id="id_due_on_error"' in page


def test_a_bad_date_in_the_task_form_names_the_field(world, login):
    meeting = new_meeting(world, MAY)
    response = login(world.branch_secretary).post(
        reverse("meetings:task_add", args=[meeting.pk]),
        {"description": "Vệ sinh đường thôn", "assignees": [world.member.pk], "due_on": "31/02"},
    )
    assert response.status_code == 200
    assert "Vệ sinh đường thôn</textarea>" in response.text
    assert re.search(r"Thời hạn: [^<]+", response.text)


def test_an_edit_refused_keeps_the_minutes_typed(world, login):
    meeting = new_meeting(world, MAY)
    response = login(world.branch_secretary).post(
        reverse("meetings:edit", args=[meeting.pk]),
        {
            "date": "10/05/2019",
            "kind": "thematic",
            "topic": "",
            "minutes": "Biên bản dài đã gõ",
            "agenda": meeting.agenda,
        },
    )
    assert response.status_code == 200
    assert "Biên bản dài đã gõ</textarea>" in response.text
    meeting.refresh_from_db()
    assert meeting.minutes == ""


def test_chair_secretary_and_assignees_are_the_branch_on_the_meetings_day(world, login):
    dead = make_member(world.branch, name="Lò Văn Mất")
    member_leave(member=dead, on=D(2019, 3, 1), reason=EndReason.DIED)
    gone = make_member(world.branch, name="Sầm Thị Đi")
    member_leave(member=gone, on=D(2019, 4, 1), reason=EndReason.TRANSFERRED_OUT)
    later = make_member(world.branch, name="Vàng Văn Sau", since=D(2019, 6, 1))
    meeting = new_meeting(world, MAY)
    page = login(world.branch_secretary).get(reverse("meetings:detail", args=[meeting.pk])).text
    for name in ("Lò Văn Mất", "Sầm Thị Đi", "Vàng Văn Sau"):
        assert name not in page, name
    assert page.count("Hoàng Văn Mạnh") >= 3  # chair, secretary and the task's assignees
    # A posted choice of someone who has died is refused as a choice.
    response = login(world.branch_secretary).post(
        reverse("meetings:edit", args=[meeting.pk]),
        {"date": "10/05/2019", "kind": "regular", "chair": dead.pk, "agenda": meeting.agenda},
    )
    assert response.status_code == 200
    meeting.refresh_from_db()
    assert meeting.chair is None
    assert later.pk  # joined after the meeting: not offered either


def test_a_new_meeting_offers_todays_branch(world, login):
    dead = make_member(world.branch, name="Lò Văn Mất")
    member_leave(member=dead, on=D(2019, 3, 1), reason=EndReason.DIED)
    page = login(world.branch_secretary).get(reverse("meetings:new", args=[world.branch.pk])).text
    assert "Lò Văn Mất" not in page and "Hoàng Văn Mạnh" in page


def test_the_reports_open_on_the_month_that_has_ended(world, login):
    last_month = add_months(timezone.localdate().replace(day=1), -1)
    page = login(world.secretary).get(reverse("meetings:reports")).text
    assert f"Sinh hoạt thường kỳ tháng {last_month:%m/%Y}" in page
    assert f'value="{last_month:%m/%Y}"' in page


def test_the_attendance_sheet_has_a_column_to_sign(world, login):
    meeting = new_meeting(world, MAY)
    meeting_open_roll(scope=scope_for(world.branch_secretary), meeting=meeting)
    page = login(world.branch_secretary).get(reverse("meetings:sheet", args=[meeting.pk])).text
    assert 'class="sign-sheet"' in page and '<td class="sign"></td>' in page
