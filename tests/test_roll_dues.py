"""The roll page's dues column: a branch secretary records the month's dues
with the attendance, in one save that writes both or neither, and two people
on one roll lose none of each other's dues."""

import datetime
import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from branches.access import scope_for
from meetings.models import Attendance, DuesPayment
from meetings.services.attendance import meeting_open_roll
from pacnam.models import AuditEntry
from tests.conftest import make_member
from tests.test_meetings_views import new_meeting

D = datetime.date
RURAL_2019 = 2000  # a farmer's monthly dues in 2019 (Quyết định 342-QĐ/TW, migration 0007)


def form_of(page: str) -> dict:
    """The roll form as a browser sends it untouched: stamps, checked radios, texts."""
    data = dict(re.findall(r'name="((?:dues)?stamp-\d+)" value="([^"]*)"', page))
    data.update(re.findall(r'name="((?:presence|dues)-\d+)" value="(\w+)" checked', page))
    data.update(re.findall(r'name="((?:reason|duesreason|duesahead)-\d+)" value="([^"]*)"', page))
    return data


@pytest.fixture
def roll(world):
    members = [make_member(world.branch, name=f"Đảng viên {i:02d}") for i in range(4)]
    meeting = new_meeting(world)
    meeting_open_roll(scope=scope_for(world.branch_secretary), meeting=meeting)
    return meeting, members


def opened_by_two(world, url):
    """The branch's and the commune's secretaries, each with the roll as they opened it."""
    pairs = []
    for user in (world.branch_secretary, world.secretary):
        client = Client()
        client.force_login(user)
        pairs.append((client, form_of(client.get(url).content.decode())))
    return pairs


def payments(meeting) -> dict:
    return {
        (p.member_id, p.month): (p.paid, p.reason)
        for p in DuesPayment.objects.filter(meeting=meeting)
    }


def marks_of(meeting) -> dict:
    return dict(Attendance.objects.filter(meeting=meeting).values_list("member_id", "presence"))


def test_the_branch_secretary_records_the_dues_on_the_roll(world, roll):
    meeting, members = roll
    url = reverse("meetings:roll", args=[meeting.pk])
    client = Client()
    client.force_login(world.branch_secretary)
    page = client.get(url).content.decode()
    assert "Đảng phí 2.000 đ" in page and f'name="dues-{members[0].pk}"' in page
    form = form_of(page)
    form[f"presence-{members[0].pk}"] = "present"
    form[f"dues-{members[0].pk}"] = "paid"
    form[f"duesahead-{members[0].pk}"] = "2"
    form[f"presence-{members[1].pk}"] = "absent"
    form[f"dues-{members[1].pk}"] = "unpaid"
    form[f"duesreason-{members[1].pk}"] = "Đi làm ăn xa"
    form[f"presence-{members[2].pk}"] = "present"  # dues not taken yet
    response = client.post(url, form, follow=True)
    assert "Đã lưu điểm danh và đảng phí." in response.content.decode()
    may, june, july = D(2019, 5, 1), D(2019, 6, 1), D(2019, 7, 1)
    assert payments(meeting) == {
        (members[0].pk, may): (RURAL_2019, ""),
        (members[0].pk, june): (RURAL_2019, ""),
        (members[0].pk, july): (RURAL_2019, ""),
        (members[1].pk, may): (0, "Đi làm ăn xa"),
    }
    marks = marks_of(meeting)
    assert marks[members[0].pk] == "present" and marks[members[1].pk] == "absent"
    # One entry in the trail, naming both.
    entry = AuditEntry.objects.order_by("-seq").first()
    assert entry.action == "meeting_roll_save" and entry.object_id == str(meeting.pk)
    # Opened again, the form shows what is recorded.
    again = form_of(client.get(url).content.decode())
    assert again[f"dues-{members[0].pk}"] == "paid" and again[f"duesahead-{members[0].pk}"] == "2"
    assert again[f"dues-{members[1].pk}"] == "unpaid"
    assert f"dues-{members[2].pk}" not in again
    # Saved untouched, it writes nothing and says it marked the attendance only.
    count = AuditEntry.objects.count()
    assert client.post(url, again).status_code == 302
    assert AuditEntry.objects.count() == count + 1
    assert AuditEntry.objects.order_by("-seq").first().action == "meeting_attendance"
    assert len(payments(meeting)) == 4


def test_a_refused_dues_entry_saves_no_mark_either(world, roll):
    meeting, members = roll
    url = reverse("meetings:roll", args=[meeting.pk])
    client = Client()
    client.force_login(world.branch_secretary)
    form = form_of(client.get(url).content.decode())
    form[f"presence-{members[0].pk}"] = "present"
    form[f"dues-{members[0].pk}"] = "paid"
    form[f"presence-{members[1].pk}"] = "present"
    form[f"dues-{members[1].pk}"] = "paid"
    form[f"duesahead-{members[1].pk}"] = "13"  # more than a year ahead: the service refuses
    response = client.post(url, form)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Đảng phí của Đảng viên 01" in page
    assert payments(meeting) == {} and set(marks_of(meeting).values()) == {""}
    # The taps are kept in the form shown again.
    kept = form_of(page)
    assert kept[f"presence-{members[0].pk}"] == "present"
    assert kept[f"dues-{members[1].pk}"] == "paid" and kept[f"duesahead-{members[1].pk}"] == "13"
    # Not a number of months: refused in Vietnamese before any write.
    form[f"duesahead-{members[1].pk}"] = "hai"
    page = client.post(url, form).content.decode()
    assert "nhập số tháng đóng trước" in page and payments(meeting) == {}


def test_two_people_recording_dues_on_one_roll_lose_nothing(world, roll):
    meeting, members = roll
    url = reverse("meetings:roll", args=[meeting.pk])
    (a, form_a), (b, form_b) = opened_by_two(world, url)
    form_a[f"dues-{members[0].pk}"] = "paid"
    form_b[f"dues-{members[1].pk}"] = "unpaid"
    form_b[f"duesreason-{members[1].pk}"] = "Ốm"
    assert a.post(url, form_a).status_code == 302
    assert b.post(url, form_b).status_code == 302
    may = D(2019, 5, 1)
    assert payments(meeting) == {
        (members[0].pk, may): (RURAL_2019, ""),
        (members[1].pk, may): (0, "Ốm"),
    }


def test_dues_recorded_by_someone_else_since_are_not_overwritten(world, roll):
    meeting, members = roll
    url = reverse("meetings:roll", args=[meeting.pk])
    (a, form_a), (b, form_b) = opened_by_two(world, url)
    form_a[f"dues-{members[0].pk}"] = "paid"
    form_b[f"dues-{members[0].pk}"] = "unpaid"
    form_b[f"duesreason-{members[0].pk}"] = "Ốm"
    form_b[f"dues-{members[1].pk}"] = "paid"
    form_b[f"presence-{members[2].pk}"] = "present"
    assert a.post(url, form_a).status_code == 302
    response = b.post(url, form_b)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Người khác đã ghi đảng phí của 1 đảng viên" in page
    assert "Đảng viên 00" in page.split('class="card conflicts"')[1].split("</div>")[0]
    # Nothing of B's was written (neither the dues nor the mark); A's record stands.
    may = D(2019, 5, 1)
    assert payments(meeting) == {(members[0].pk, may): (RURAL_2019, "")}
    assert marks_of(meeting)[members[2].pk] == ""
    again = form_of(page)
    assert again[f"dues-{members[0].pk}"] == "paid"  # A's, as recorded
    assert again[f"dues-{members[1].pk}"] == "paid"  # B's own tap kept
    assert again[f"presence-{members[2].pk}"] == "present"
    assert b.post(url, again).status_code == 302
    assert payments(meeting) == {
        (members[0].pk, may): (RURAL_2019, ""),
        (members[1].pk, may): (RURAL_2019, ""),
    }
    assert marks_of(meeting)[members[2].pk] == "present"


def test_the_dues_page_refuses_to_overwrite_the_roll(world, roll):
    meeting, members = roll
    roll_url = reverse("meetings:roll", args=[meeting.pk])
    dues_url = reverse("meetings:dues", args=[meeting.pk])
    a, b = Client(), Client()
    a.force_login(world.branch_secretary)
    b.force_login(world.secretary)
    page_b = b.get(dues_url).content.decode()
    form_b = dict(re.findall(r'name="((?:stamp|paid|ahead|reason)-\d+)" value="([^"]*)"', page_b))
    form_a = form_of(a.get(roll_url).content.decode())
    form_a[f"dues-{members[0].pk}"] = "unpaid"
    form_a[f"duesreason-{members[0].pk}"] = "Ốm"
    assert a.post(roll_url, form_a).status_code == 302
    # B's dues page still shows member 0 owing the full amount, and B changes it.
    form_b[f"paid-{members[0].pk}"] = "1000"
    response = b.post(dues_url, form_b)
    assert response.status_code == 200
    assert "Người khác đã ghi đảng phí" in response.content.decode()
    assert payments(meeting) == {(members[0].pk, D(2019, 5, 1)): (0, "Ốm")}


def _roll_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("role", ["admin", "district", "secretary", "branch_secretary"])
def test_the_roll_with_dues_reads_a_fixed_number_of_queries(world, roll, role):
    meeting, members = roll
    url = reverse("meetings:roll", args=[meeting.pk])
    client = Client()
    client.force_login(getattr(world, role))
    client.get(url)
    few = _roll_queries(client, url)
    bigger = new_meeting(world, date=D(2019, 6, 14))
    for i in range(12):
        make_member(world.branch, name=f"Thêm {i:02d}")
    meeting_open_roll(scope=scope_for(world.branch_secretary), meeting=bigger)
    scope = scope_for(world.branch_secretary)
    from meetings.services.dues import DuesEntry, dues_collect

    dues_collect(
        scope=scope,
        meeting=bigger,
        entries={m.pk: DuesEntry(paid=RURAL_2019, ahead=1) for m in members},
    )
    url = reverse("meetings:roll", args=[bigger.pk])
    page = client.get(url).content.decode()
    assert page.count('name="duesstamp-') >= 16
    assert _roll_queries(client, url) == few


@pytest.mark.parametrize("role", ["outsider", "nobody"])
def test_no_one_outside_records_dues_on_the_roll(world, roll, role):
    meeting, members = roll
    url = reverse("meetings:roll", args=[meeting.pk])
    client = Client()
    client.force_login(getattr(world, role))
    response = client.post(url, {f"dues-{members[0].pk}": "paid"})
    assert response.status_code == 404
    assert payments(meeting) == {}
