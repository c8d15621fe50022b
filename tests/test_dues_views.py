"""The dues pages: a secretary records a month's dues through the form; every
page's queries do not grow with the members; each role sees its own."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from branches.access import scope_for
from meetings.models import DuesPayment, Meeting, MeetingKind
from meetings.services.attendance import meeting_open_roll
from meetings.services.meetings import meeting_create
from tests.conftest import make_member

D = datetime.date


def _meeting(world, day=None):
    meeting = meeting_create(
        scope=scope_for(world.branch_secretary),
        user=world.branch_secretary,
        meeting=Meeting(branch=world.branch, date=day or D(2024, 5, 10), kind=MeetingKind.REGULAR),
    )
    meeting_open_roll(scope=scope_for(world.branch_secretary), meeting=meeting)
    return meeting


def _owing(world, member, months=(2, 5, 9)):
    for m in months:
        DuesPayment.objects.create(
            member=member, branch=world.branch, month=D(2024, m, 1), due=2000
        )


def test_the_branch_secretary_records_the_dues_through_the_form(world, client):
    other = make_member(world.branch, name="Lục Thị Hoa")
    meeting = _meeting(world)
    client.force_login(world.branch_secretary)
    page = client.get(f"/meetings/{meeting.pk}/dues/")
    assert page.status_code == 200 and "Lục Thị Hoa" in page.content.decode()
    response = client.post(
        f"/meetings/{meeting.pk}/dues/",
        {
            f"paid-{world.member.pk}": "2.000",
            f"ahead-{world.member.pk}": "1",
            f"paid-{other.pk}": "0",
            f"reason-{other.pk}": "Đi làm ăn xa",
        },
    )
    assert response.status_code == 302
    rows = {(p.member_id, p.month): p for p in DuesPayment.objects.all()}
    assert rows[(world.member.pk, D(2024, 5, 1))].paid == 2000
    assert rows[(world.member.pk, D(2024, 6, 1))].meeting_id == meeting.pk
    assert rows[(other.pk, D(2024, 5, 1))].reason == "Đi làm ăn xa"
    # Another commune's secretary gets a 404, and writes nothing.
    client.force_login(world.outsider)
    assert (
        client.post(f"/meetings/{meeting.pk}/dues/", {f"paid-{other.pk}": "2000"}).status_code
        == 404
    )
    assert DuesPayment.objects.get(member=other).paid == 0


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200, url
    return len(ctx.captured_queries)


@pytest.mark.parametrize("role", ["district", "secretary", "branch_secretary"])
def test_the_dues_pages_read_a_fixed_number_of_queries(world, client, role):
    meeting = _meeting(world)
    urls = [
        f"/branches/{world.branch.pk}/dues/2024/",
        f"/branches/{world.branch.pk}/dues/2024.xlsx",
        f"/members/{world.member.pk}/dues/2024/",
        "/dues/behind/?year=2024",
        "/dues/review/?year=2024",
        "/dues/totals/?year=2024",
    ]
    client.force_login(getattr(world, role))
    _owing(world, world.member)
    before = [_queries(client, url) for url in urls]
    before_meeting = _queries(client, f"/meetings/{meeting.pk}/dues/")
    for n in range(5):
        _owing(world, make_member(world.branch, name=f"Thêm {n}"))
    meeting2 = _meeting(world, D(2024, 6, 10))
    assert [_queries(client, url) for url in urls] == before
    assert _queries(client, f"/meetings/{meeting2.pk}/dues/") == before_meeting


def test_the_outsider_sees_none_of_our_dues(world, client):
    _owing(world, world.member)
    client.force_login(world.outsider)
    assert client.get(f"/branches/{world.branch.pk}/dues/2024/").status_code == 404
    assert client.get(f"/members/{world.member.pk}/dues/2024/").status_code == 404
    for url in ("/dues/behind/?year=2024", "/dues/review/?year=2024", "/dues/totals/?year=2024"):
        assert world.member.full_name not in client.get(url).content.decode()
    client.force_login(world.secretary)
    assert world.member.full_name in client.get("/dues/review/?year=2024").content.decode()


@pytest.mark.parametrize("role", ["district", "secretary", "branch_secretary", "outsider"])
def test_the_dashboard_shows_the_months_dues_collected_against_due(world, client, role):
    other = make_member(world.branch, name="Lục Thị Hoa")
    DuesPayment.objects.create(
        member=world.member,
        branch=world.branch,
        month=D(2024, 5, 1),
        due=2000,
        paid=2000,
        paid_on=D(2024, 5, 10),
    )
    DuesPayment.objects.create(member=other, branch=world.branch, month=D(2024, 5, 1), due=3000)
    # Another month and another commune's branch are not counted.
    DuesPayment.objects.create(
        member=world.member,
        branch=world.branch,
        month=D(2024, 4, 1),
        due=2000,
        paid=2000,
        paid_on=D(2024, 5, 10),
    )
    DuesPayment.objects.create(
        member=world.other_member,
        branch=world.other_branch,
        month=D(2024, 5, 1),
        due=7000,
        paid=7000,
        paid_on=D(2024, 5, 10),
    )
    client.force_login(getattr(world, role))
    html = client.get("/?month=2024-05").content.decode()
    expected = {
        "district": "9.000 / 12.000",
        "secretary": "2.000 / 5.000",
        "branch_secretary": "2.000 / 5.000",
        "outsider": "7.000 / 7.000",
    }[role]
    assert expected in html and "đảng phí đã thu tháng 05/2024" in html
