"""The roll taken with no signal: the address a phone sends its queue to.

Each entry has an id made on the phone; the registry applies it once (a replay
changes nothing and gets the same answer), writes a mark only where the roll
still holds what the phone saw, and answers the others as conflicts with both
values. Who may send is who may take the roll; anyone else gets a 404.
"""

import datetime
import json
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from branches.access import scope_for
from meetings.models import Attendance, OfflineEntry, Presence
from meetings.services.attendance import meeting_mark_attendance, meeting_open_roll
from pacnam.models import AuditEntry
from tests.conftest import make_member
from tests.test_meetings_views import new_meeting, user_for

WRITES = {"admin", "district", "secretary", "branch_secretary"}


@pytest.fixture(autouse=True)
def plain_static_files(settings):
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


def send(client, meeting, marks, seen=None, entry_id=None):
    body = {
        "id": str(entry_id or uuid.uuid4()),
        "marks": {str(k): list(v) for k, v in marks.items()},
        "seen": {str(k): list(v) for k, v in (seen or {}).items()},
        "written_at": "2019-05-10T09:30:00+07:00",
    }
    return client.post(
        reverse("meetings:roll_entry", args=[meeting.pk]),
        data=json.dumps(body),
        content_type="application/json",
    )


def marks_of(meeting):
    return {a.member_id: (a.presence, a.reason) for a in Attendance.objects.filter(meeting=meeting)}


@pytest.mark.parametrize(
    "role", ["admin", "district", "secretary", "branch_secretary", "outsider", "nobody"]
)
def test_who_may_send_a_roll_entry(world, login, role):
    meeting = new_meeting(world)
    response = send(login(user_for(world, role)), meeting, {world.member.pk: ("present", "")})
    if role in WRITES:
        assert response.status_code == 200, response.content
        assert response.json() == {"written": 1, "conflicts": [], "repeated": False}
        assert marks_of(meeting)[world.member.pk] == ("present", "")
    else:
        assert response.status_code == 404
        assert not Attendance.objects.filter(meeting=meeting, presence="present").exists()


def test_an_anonymous_phone_is_sent_to_the_login_and_nothing_is_written(world, login):
    meeting = new_meeting(world)
    response = send(login(None), meeting, {world.member.pk: ("present", "")})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert not OfflineEntry.objects.exists()


def test_an_entry_sent_twice_is_applied_once(world, login):
    meeting = new_meeting(world)
    client = login(world.branch_secretary)
    entry_id = uuid.uuid4()
    first = send(client, meeting, {world.member.pk: ("present", "")}, entry_id=entry_id)
    # Meanwhile the commune secretary marks him absent with reason on the web.
    meeting_mark_attendance(
        scope=scope_for(world.secretary),
        meeting=meeting,
        marks={world.member.pk: ("excused", "ốm")},
    )
    entries_before = AuditEntry.objects.count()
    again = send(client, meeting, {world.member.pk: ("present", "")}, entry_id=entry_id)
    assert again.status_code == 200
    assert again.json() == {**first.json(), "repeated": True}
    # The replay changed nothing: the later mark stands, and the trail has no new entry.
    assert marks_of(meeting)[world.member.pk] == ("excused", "ốm")
    assert AuditEntry.objects.count() == entries_before
    assert OfflineEntry.objects.count() == 1


def test_a_mark_changed_meanwhile_is_answered_as_a_conflict_and_not_overwritten(world, login):
    second = make_member(world.branch, name="Nông Thị Hoa")
    meeting = new_meeting(world)
    meeting_open_roll(scope=scope_for(world.secretary), meeting=meeting)
    meeting_mark_attendance(
        scope=scope_for(world.secretary),
        meeting=meeting,
        marks={world.member.pk: ("excused", "ốm")},
    )
    # The phone opened the roll before that mark: it saw both members unmarked.
    response = send(
        login(world.branch_secretary),
        meeting,
        {world.member.pk: ("present", ""), second.pk: ("absent", "")},
        seen={world.member.pk: ("", ""), second.pk: ("", "")},
    )
    answer = response.json()
    assert answer["written"] == 1
    [conflict] = answer["conflicts"]
    assert conflict["member"] == world.member.pk and conflict["name"] == "Hoàng Văn Mạnh"
    assert conflict["server"] == ["excused", "ốm"] and conflict["phone"] == ["present", ""]
    assert conflict["server_label"] == "vắng có lý do (ốm)" and conflict["phone_label"] == "có mặt"
    assert marks_of(meeting) == {world.member.pk: ("excused", "ốm"), second.pk: ("absent", "")}
    # The secretary chose the phone's mark: sent again, having seen the registry's.
    chosen = send(
        login(world.branch_secretary),
        meeting,
        {world.member.pk: ("present", "")},
        seen={world.member.pk: ("excused", "ốm")},
    )
    assert chosen.json()["written"] == 1
    assert marks_of(meeting)[world.member.pk] == ("present", "")


def test_a_mark_the_roll_already_holds_is_neither_written_nor_a_conflict(world, login):
    meeting = new_meeting(world)
    meeting_mark_attendance(
        scope=scope_for(world.secretary), meeting=meeting, marks={world.member.pk: ("present", "")}
    )
    response = send(login(world.branch_secretary), meeting, {world.member.pk: ("present", "")})
    assert response.json() == {"written": 0, "conflicts": [], "repeated": False}


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        json.dumps({"id": "not-a-uuid", "marks": {}}).encode(),
        json.dumps({"id": str(uuid.uuid4()), "marks": {"1": ["late", ""]}}).encode(),
        json.dumps({"id": str(uuid.uuid4()), "marks": {"x": ["present", ""]}}).encode(),
        json.dumps({"id": str(uuid.uuid4()), "marks": {"1": "present"}}).encode(),
    ],
)
def test_an_entry_the_registry_cannot_read_is_refused_in_vietnamese(world, login, body):
    meeting = new_meeting(world)
    response = login(world.branch_secretary).post(
        reverse("meetings:roll_entry", args=[meeting.pk]),
        data=body,
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.json() == {"error": "Điện thoại gửi một bản ghi mà hệ thống không đọc được."}
    assert not OfflineEntry.objects.exists()


def test_a_rule_that_refuses_writes_nothing_and_keeps_no_entry(world, login):
    stranger = make_member(world.other_branch, name="Người Ngoài")
    meeting = new_meeting(world)
    response = send(
        login(world.branch_secretary),
        meeting,
        {world.member.pk: ("present", ""), stranger.pk: ("present", "")},
    )
    assert response.status_code == 400
    assert "không có trong danh sách của buổi sinh hoạt" in response.json()["error"]
    # All or nothing: the good mark was not written either, and the id may be sent again.
    assert marks_of(meeting).get(world.member.pk, ("", "")) == ("", "")
    assert not OfflineEntry.objects.exists()


def test_the_entry_is_one_audit_entry_with_its_marks(world, login):
    meeting = new_meeting(world)
    last = AuditEntry.objects.order_by("-seq").first().seq
    send(login(world.branch_secretary), meeting, {world.member.pk: ("present", "")})
    [entry] = AuditEntry.objects.filter(seq__gt=last)
    assert entry.action == "meeting_attendance_offline"
    assert entry.actor_id == world.branch_secretary.pk
    assert {"meetings.offlineentry", "meetings.attendance"} <= {i["type"] for i in entry.items}


def test_sending_an_entry_costs_the_same_queries_for_a_big_roll(world, login):
    def cost(n):
        meeting = new_meeting(world, date=datetime.date(2019, 5 + n % 7, 10))
        members = [make_member(world.branch, name=f"Đảng viên {n}-{i}") for i in range(n)]
        client = login(world.branch_secretary)
        send(client, meeting, {members[0].pk: ("present", "")})  # opens the roll
        marks = {m.pk: ("present", "") for m in members}
        with CaptureQueriesContext(connection) as queries:
            assert send(client, meeting, marks).status_code == 200
        return len(queries)

    assert cost(3) == cost(12)


def test_the_service_worker_manifest_and_no_signal_page_are_served(world, login):
    client = login(world.branch_secretary)
    worker = client.get("/sw.js")
    assert worker.status_code == 200 and worker["Content-Type"].startswith("text/javascript")
    assert worker["Service-Worker-Allowed"] == "/"
    assert 'importScripts("/static/js/roll-queue.js")' in worker.content.decode()
    manifest = client.get("/manifest.webmanifest")
    assert json.loads(manifest.content)["start_url"] == "/"
    offline = client.get("/offline/").content.decode()
    assert (
        "Không có mạng" in offline and "branch_secretary" not in offline and "coclai" not in offline
    )


def test_the_roll_page_carries_what_the_script_needs_and_still_posts_without_it(world, login):
    meeting = new_meeting(world)
    client = login(world.branch_secretary)
    client.post(reverse("meetings:roll", args=[meeting.pk]), {"open": "1"})
    html = client.get(reverse("meetings:roll", args=[meeting.pk])).content.decode()
    assert f'data-entry-url="/meetings/{meeting.pk}/attendance/offline/"' in html
    assert 'method="post"' in html and "/static/js/offline-roll.js" in html
    response = client.post(
        reverse("meetings:roll", args=[meeting.pk]), {f"presence-{world.member.pk}": "present"}
    )
    assert response.status_code == 302
    assert marks_of(meeting)[world.member.pk] == (Presence.PRESENT, "")


def test_logging_out_clears_what_the_browser_kept(world, login):
    response = login(world.branch_secretary).post(reverse("logout"))
    assert response["Clear-Site-Data"] == '"cache", "storage"'


# --- A task set with no signal ---


def send_task(client, meeting, assignees, entry_id=None, description="Giúp hộ nghèo làm chuồng"):
    return client.post(
        reverse("meetings:task_entry", args=[meeting.pk]),
        {
            "offline_id": str(entry_id or uuid.uuid4()),
            "written_at": "2019-05-10T09:40:00+07:00",
            "description": description,
            "assignees": [m.pk for m in assignees],
            "due_on": "20/05/2019",
            "household_head": "",
            "household_village": "",
        },
    )


@pytest.mark.parametrize(
    "role", ["admin", "district", "secretary", "branch_secretary", "outsider", "nobody"]
)
def test_who_may_send_a_task_entry(world, login, role):
    from meetings.models import Task

    meeting = new_meeting(world)
    response = send_task(login(user_for(world, role)), meeting, [world.member])
    if role in WRITES:
        assert response.status_code == 200, response.content
        task = Task.objects.get(meeting=meeting)
        assert response.json() == {
            "task": task.pk,
            "description": "Giúp hộ nghèo làm chuồng",
            "repeated": False,
        }
        assert list(task.assignees.all()) == [world.member]
    else:
        assert response.status_code == 404
        assert not Task.objects.filter(meeting=meeting).exists()


def test_a_task_sent_twice_is_set_once(world, login):
    from meetings.models import Task

    meeting = new_meeting(world)
    client = login(world.branch_secretary)
    entry_id = uuid.uuid4()
    first = send_task(client, meeting, [world.member], entry_id=entry_id)
    again = send_task(client, meeting, [world.member], entry_id=entry_id)
    assert first.status_code == again.status_code == 200
    assert again.json() == {**first.json(), "repeated": True}
    assert Task.objects.filter(meeting=meeting).count() == 1
    entry = OfflineEntry.objects.get(client_id=entry_id)
    assert (entry.kind, entry.sent_by) == ("task", world.branch_secretary)
    # One audit entry, the task's and the entry's together, in the interface's words.
    audited = AuditEntry.objects.filter(action="meeting_task_offline")
    assert audited.count() == 1


def test_a_task_the_form_refuses_is_answered_in_vietnamese_and_nothing_is_kept(world, login):
    from meetings.models import Task

    meeting = new_meeting(world)
    response = send_task(login(world.branch_secretary), meeting, [], description="  ")
    assert response.status_code == 400
    error = response.json()["error"]
    # Each message after its field's label, as the page would put it beside the field.
    assert error == "Nhiệm vụ: Trường này là bắt buộc. Phân công cho: Trường này là bắt buộc."
    assert not Task.objects.exists() and not OfflineEntry.objects.exists()


def test_a_task_refused_by_a_rule_keeps_no_entry(world, login):
    """The rule of the service (a due date before the meeting), not the form's."""
    from meetings.models import Task

    meeting = new_meeting(world)
    client = login(world.branch_secretary)
    response = client.post(
        reverse("meetings:task_entry", args=[meeting.pk]),
        {
            "offline_id": str(uuid.uuid4()),
            "description": "Vận động làm đường",
            "assignees": [world.member.pk],
            "due_on": "01/01/2019",
        },
    )
    assert response.status_code == 400
    assert response.json()["error"] == "Thời hạn trước ngày sinh hoạt."
    assert not Task.objects.exists() and not OfflineEntry.objects.exists()


def test_the_meeting_page_carries_what_the_script_needs_for_tasks(world, login):
    meeting = new_meeting(world)
    page = login(world.branch_secretary).get(reverse("meetings:detail", args=[meeting.pk]))
    html = page.content.decode()
    assert "data-offline-task" in html
    assert reverse("meetings:task_entry", args=[meeting.pk]) in html
    # Without the script the form posts to the task page as always.
    assert f'action="{reverse("meetings:task_add", args=[meeting.pk])}"' in html


# --- The agenda, minutes and resolution written with no signal ---


def send_record(client, meeting, texts, seen=None, entry_id=None):
    body = {
        "id": str(entry_id or uuid.uuid4()),
        "texts": texts,
        "seen": seen if seen is not None else dict.fromkeys(texts, ""),
        "written_at": "2019-05-10T10:30:00+07:00",
    }
    return client.post(
        reverse("meetings:record_entry", args=[meeting.pk]),
        data=json.dumps(body),
        content_type="application/json",
    )


@pytest.mark.parametrize(
    "role", ["admin", "district", "secretary", "branch_secretary", "outsider", "nobody"]
)
def test_who_may_send_the_minutes(world, login, role):
    meeting = new_meeting(world)
    response = send_record(
        login(user_for(world, role)), meeting, {"minutes": "Đồng chí Mạnh báo cáo."}
    )
    meeting.refresh_from_db()
    if role in WRITES:
        assert response.status_code == 200, response.content
        assert response.json() == {"written": ["minutes"], "conflicts": [], "repeated": False}
        assert meeting.minutes == "Đồng chí Mạnh báo cáo."
    else:
        assert response.status_code == 404 and meeting.minutes == ""


def test_minutes_sent_twice_are_written_once_and_a_text_changed_meanwhile_is_not_overwritten(
    world, login
):
    from meetings.services.meetings import meeting_update

    meeting = new_meeting(world)
    client = login(world.branch_secretary)
    entry_id = uuid.uuid4()
    first = send_record(client, meeting, {"minutes": "Bản từ điện thoại.\r\n"}, entry_id=entry_id)
    assert first.json()["written"] == ["minutes"]
    # Someone edits on the web; the phone's lost answer makes it send again: nothing changes.
    meeting_update(
        scope=scope_for(world.secretary), meeting=meeting, changes={"minutes": "Bản trên web."}
    )
    again = send_record(client, meeting, {"minutes": "Bản từ điện thoại."}, entry_id=entry_id)
    assert again.json() == {**first.json(), "repeated": True}
    meeting.refresh_from_db()
    assert meeting.minutes == "Bản trên web."
    # A new entry from a phone that saw the old text: a conflict, both texts answered.
    conflict = send_record(
        client,
        meeting,
        {"minutes": "Bản khác từ điện thoại.", "resolution": "Nghị quyết tháng 5."},
        seen={"minutes": "Bản từ điện thoại.", "resolution": ""},
    ).json()
    assert conflict["written"] == ["resolution"]
    assert conflict["conflicts"] == [
        {
            "field": "minutes",
            "label": "Biên bản",
            "server": "Bản trên web.",
            "phone": "Bản khác từ điện thoại.",
        }
    ]
    meeting.refresh_from_db()
    assert (meeting.minutes, meeting.resolution) == ("Bản trên web.", "Nghị quyết tháng 5.")
    assert OfflineEntry.objects.filter(meeting=meeting, kind="record").count() == 2


@pytest.mark.parametrize(
    "texts", [{"date": "2019-05-11"}, {"minutes": 5}, "minutes", {"chair": "1"}]
)
def test_minutes_the_registry_cannot_read_are_refused(world, login, texts):
    meeting = new_meeting(world)
    response = send_record(login(world.branch_secretary), meeting, texts, seen={})
    assert response.status_code == 400
    assert response.json()["error"] == "Điện thoại gửi một bản ghi mà hệ thống không đọc được."
    assert not OfflineEntry.objects.exists()


def test_minutes_of_an_adopted_meeting_are_refused_and_nothing_is_kept(world, login):
    from meetings.models import Meeting

    meeting = new_meeting(world)
    Meeting.objects.filter(pk=meeting.pk).update(
        status="adopted", adopted_on=meeting.date, minutes="Đã thông qua."
    )
    response = send_record(login(world.branch_secretary), meeting, {"minutes": "Sửa."})
    assert response.status_code == 400 and "đã được thông qua" in response.json()["error"]
    meeting.refresh_from_db()
    assert meeting.minutes == "Đã thông qua." and not OfflineEntry.objects.exists()
