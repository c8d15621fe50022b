"""Minutes are adopted on the meeting's day, or on a day the user gives (issue 17):
not on the day someone happened to press the button."""

import datetime

import pytest
from django.urls import reverse

from branches.access import scope_for
from meetings.models import Meeting, MeetingKind, MeetingStatus
from meetings.services.attendance import meeting_mark_attendance
from meetings.services.meetings import meeting_create, meeting_hold
from tests.conftest import make_member

D = datetime.date
MAY = D(2019, 5, 10)


@pytest.fixture(autouse=True)
def plain_static_files(settings):
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture
def held(world):
    """A held meeting of Cốc Lải, everyone marked, minutes written: ready to adopt."""
    helper = make_member(world.branch, name="Đinh Thị Ghi")
    scope = scope_for(world.branch_secretary)
    meeting = meeting_create(
        scope=scope,
        user=world.branch_secretary,
        meeting=Meeting(
            branch=world.branch,
            date=MAY,
            kind=MeetingKind.REGULAR,
            chair=world.member,
            secretary=helper,
            minutes="Nội dung họp",
        ),
    )
    meeting_hold(scope=scope, meeting=meeting)
    meeting_mark_attendance(
        scope=scope,
        meeting=meeting,
        marks={world.member.pk: ("present", ""), helper.pk: ("present", "")},
    )
    return meeting


def _adopt(login, world, meeting, data):
    return login(world.branch_secretary).post(
        reverse("meetings:adopt", args=[meeting.pk]), data, follow=True
    )


def test_the_minutes_are_adopted_on_the_meetings_day(world, login, held):
    page = login(world.branch_secretary).get(reverse("meetings:detail", args=[held.pk])).text
    assert 'name="on" value="10/05/2019"' in page  # the form offers the meeting's day
    _adopt(login, world, held, {})
    held.refresh_from_db()
    assert held.status == MeetingStatus.ADOPTED and held.adopted_on == MAY


def test_or_on_a_day_the_user_gives(world, login, held):
    _adopt(login, world, held, {"on": "14/06/2019"})
    held.refresh_from_db()
    assert held.adopted_on == D(2019, 6, 14)


@pytest.mark.parametrize("day, why", [("09/05/2019", "trước"), ("01/01/2099", "chưa tới")])
def test_not_before_the_meeting_nor_in_the_future(world, login, held, day, why):
    response = _adopt(login, world, held, {"on": day})
    held.refresh_from_db()
    assert held.status == MeetingStatus.HELD and held.adopted_on is None
    assert why in response.text
