"""The roll with no signal, on a 360×800 phone in Chromium: the secretary opens
the meeting's roll online, loses the signal, marks the roll, reloads with no
signal (the page and the marks are still there, "chưa gửi"), and when the
signal is back the marks reach the registry once. A replayed queue changes
nothing; a mark made meanwhile on the web is shown beside the phone's and
the secretary chooses."""

import datetime

import pytest

from branches.access import scope_for
from meetings.models import Attendance, Meeting, OfflineEntry
from meetings.services.attendance import meeting_mark_attendance, meeting_open_roll
from tests.browser.conftest import log_in
from tests.conftest import make_member

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def roll(world):
    people = [make_member(world.branch, name=f"Đảng Viên {i:02d}") for i in range(4)]
    meeting = Meeting.objects.create(
        branch=world.branch, date=datetime.date(2024, 5, 10), kind="regular"
    )
    meeting_open_roll(scope=scope_for(world.secretary), meeting=meeting)
    return meeting, [world.member, *people]


def marks(meeting):
    return {a.member_id: (a.presence, a.reason) for a in Attendance.objects.filter(meeting=meeting)}


def open_roll_online(page_for, meeting):
    page = page_for(width=360, height=800)
    log_in(page, "coclai", "pw-coclai")
    page.goto(f"/meetings/{meeting.pk}/attendance/")
    # The service worker controls the page and the roll page is kept for offline use.
    page.evaluate("() => navigator.serviceWorker.ready")
    page.reload()
    page.wait_for_function(
        """async () => (await caches.open("pacnam-roll-v1")).match(location.pathname)
            .then(r => !!r)"""
    )
    return page


def wait_until_sent(page):
    # The status line is hidden in the HTML until the script has read the queue,
    # so a hidden line right after a load says nothing: wait for the queue
    # itself to be empty, which it is only once the registry has answered.
    page.wait_for_function("async () => (await rollQueue.all()).length === 0")


def mark_offline(page, members):
    page.context.set_offline(True)
    page.click(f"label:has(input[name=presence-{members[0].pk}][value=present])")
    page.click(f"label:has(input[name=presence-{members[1].pk}][value=excused])")
    page.fill(f"input[name=reason-{members[1].pk}]", "đi rừng")
    page.click("form[data-offline-roll] button[type=submit]")
    page.wait_for_selector("#offline-status:not([hidden])")


def test_the_roll_taken_with_no_signal_reaches_the_registry_when_it_is_back(world, page_for, roll):
    meeting, members = roll
    page = open_roll_online(page_for, meeting)
    mark_offline(page, members)
    assert "chưa gửi" in page.inner_text("#offline-status")
    assert marks(meeting)[members[0].pk] == ("", "")
    # Reloaded with no signal: the kept page, with the phone's marks on it.
    page.reload()
    page.wait_for_selector("#offline-status:not([hidden])")
    assert page.is_checked(f"input[name=presence-{members[0].pk}][value=present]")
    assert page.input_value(f"input[name=reason-{members[1].pk}]") == "đi rừng"
    assert "Không có mạng" in page.inner_text("#offline-queue")
    # Another page needs the network: the registry's own words, not the browser's error.
    page.goto("/members/")
    assert "Không có mạng" in page.inner_text("h1")
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 360
    # Signal back: the next page load sends the queue, once.
    page.context.set_offline(False)
    page.goto(f"/meetings/{meeting.pk}/attendance/")
    wait_until_sent(page)
    assert marks(meeting)[members[0].pk] == ("present", "")
    assert marks(meeting)[members[1].pk] == ("excused", "đi rừng")
    assert OfflineEntry.objects.filter(meeting=meeting).count() == 1


def test_a_queue_sent_twice_changes_nothing_the_second_time(world, page_for, roll):
    meeting, members = roll
    page = open_roll_online(page_for, meeting)
    mark_offline(page, members)
    # Keep a copy of the queue, as a phone that sent it but lost the answer would.
    queue = page.evaluate("() => rollQueue.all()")
    page.context.set_offline(False)
    page.reload()
    wait_until_sent(page)
    meeting_mark_attendance(
        scope=scope_for(world.secretary), meeting=meeting, marks={members[0].pk: ("absent", "")}
    )
    page.evaluate("(entries) => Promise.all(entries.map(e => rollQueue.put(e)))", queue)
    page.evaluate(
        "() => rollQueue.sendAll(document.querySelector('[name=csrfmiddlewaretoken]').value)"
    )
    assert page.evaluate("() => rollQueue.all()") == []
    # The replay did not bring back the phone's older mark.
    assert marks(meeting)[members[0].pk] == ("absent", "")
    assert OfflineEntry.objects.filter(meeting=meeting).count() == 1


def test_a_mark_made_meanwhile_on_the_web_is_shown_beside_the_phones(world, page_for, roll):
    meeting, members = roll
    page = open_roll_online(page_for, meeting)
    mark_offline(page, members)
    # While the phone had no signal, the commune secretary marked the same member.
    meeting_mark_attendance(
        scope=scope_for(world.secretary), meeting=meeting, marks={members[0].pk: ("absent", "")}
    )
    page.context.set_offline(False)
    page.reload()
    page.wait_for_selector(".offline-conflict")
    text = page.inner_text(".offline-conflict")
    assert members[0].full_name in text
    assert "trên hệ thống: vắng không lý do" in text and "trên điện thoại: có mặt" in text
    # The member without a conflict was written; the conflicting one was not.
    assert marks(meeting)[members[1].pk] == ("excused", "đi rừng")
    assert marks(meeting)[members[0].pk] == ("absent", "")
    page.click(".offline-conflict button.primary")
    page.wait_for_function("() => !document.querySelector('.offline-conflict')")
    assert marks(meeting)[members[0].pk] == ("present", "")
    assert page.evaluate("() => rollQueue.all()") == []


def test_logging_out_clears_the_kept_roll(world, page_for, roll):
    meeting, _members = roll
    page = open_roll_online(page_for, meeting)
    page.click("form[data-logout] button")
    page.wait_for_url("**/accounts/login/")
    assert page.evaluate("async () => (await caches.keys()).length") == 0


def test_a_task_set_with_no_signal_is_set_once_when_it_is_back(world, page_for, roll):
    from meetings.models import Task

    meeting, members = roll
    page = page_for(width=360, height=800)
    log_in(page, "coclai", "pw-coclai")
    page.goto(f"/meetings/{meeting.pk}/")
    page.evaluate("() => navigator.serviceWorker.ready")
    page.reload()
    page.wait_for_function(
        """async () => (await caches.open("pacnam-roll-v1")).match(location.pathname)
            .then(r => !!r)"""
    )
    page.context.set_offline(True)
    form = "form[data-offline-task]"
    page.fill(f"{form} textarea[name=description]", "Giúp hộ Hoàng Văn Sình làm chuồng trại")
    page.check(f"{form} input[name=assignees][value='{members[1].pk}']")
    page.fill(f"{form} input[name=due_on]", "20/05/2024")
    page.click(f"{form} button[type=submit]")
    page.wait_for_selector("#offline-tasks:not([hidden])")
    assert "Nhiệm vụ chưa gửi" in page.inner_text("#offline-tasks")
    assert "chưa gửi" in page.inner_text("#offline-status")
    assert not Task.objects.filter(meeting=meeting).exists()
    # Reloaded with no signal: the kept meeting page, the task still waiting.
    page.reload()
    page.wait_for_selector("#offline-tasks:not([hidden])")
    assert "làm chuồng trại" in page.inner_text("#offline-tasks")
    queue = page.evaluate("() => rollQueue.all()")
    # Signal back: the page sends it at once, then shows it among the meeting's tasks.
    page.context.set_offline(False)
    page.wait_for_selector("td:has-text('Giúp hộ Hoàng Văn Sình làm chuồng trại')")
    page.wait_for_load_state()
    assert page.is_hidden("#offline-status") and page.is_hidden("#offline-tasks")
    task = Task.objects.get(meeting=meeting)
    assert list(task.assignees.all()) == [members[1]]
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 360
    # The same queue sent again (a phone that lost the answer): no second task.
    page.evaluate("(entries) => Promise.all(entries.map(e => rollQueue.put(e)))", queue)
    page.evaluate(
        "() => rollQueue.sendAll(document.querySelector('[name=csrfmiddlewaretoken]').value)"
    )
    assert page.evaluate("() => rollQueue.all()") == []
    assert Task.objects.filter(meeting=meeting).count() == 1
    assert OfflineEntry.objects.filter(meeting=meeting, kind="task").count() == 1


def test_the_minutes_written_with_no_signal_reach_the_registry_when_it_is_back(
    world, page_for, roll
):
    meeting, _members = roll
    page = page_for(width=360, height=800)
    log_in(page, "coclai", "pw-coclai")
    page.goto(f"/meetings/{meeting.pk}/")
    page.evaluate("() => navigator.serviceWorker.ready")
    page.reload()
    page.wait_for_function(
        """async () => (await caches.open("pacnam-roll-v1")).match(location.pathname)
            .then(r => !!r)"""
    )
    page.context.set_offline(True)
    form = "form[data-offline-record]"
    page.fill(f"{form} textarea[name=minutes]", "Đồng chí Bí thư khai mạc.\nChi bộ thảo luận.")
    page.click(f"{form} button[type=submit]")
    page.wait_for_selector("#offline-record:not([hidden])")
    assert "chưa gửi" in page.inner_text("#offline-record")
    meeting.refresh_from_db()
    assert meeting.minutes == ""
    # Reloaded with no signal: the kept page shows what was typed, still waiting.
    page.reload()
    page.wait_for_selector("#offline-record:not([hidden])")
    assert "Chi bộ thảo luận." in page.input_value(f"{form} textarea[name=minutes]")
    page.context.set_offline(False)
    page.wait_for_selector("p:has-text('Chi bộ thảo luận.')")
    page.wait_for_load_state()
    meeting.refresh_from_db()
    assert meeting.minutes == "Đồng chí Bí thư khai mạc.\nChi bộ thảo luận."
    assert page.evaluate("() => rollQueue.all()") == []
    assert OfflineEntry.objects.filter(meeting=meeting, kind="record").count() == 1


def test_dues_tapped_on_the_roll_are_saved_with_the_marks_and_never_dropped_offline(
    world, page_for, roll
):
    from meetings.models import DuesPayment

    meeting, members = roll
    page = open_roll_online(page_for, meeting)
    # With no signal the marks are queued; the dues stay in the form, and it says so.
    page.context.set_offline(True)
    page.click(f"label:has(input[name=presence-{members[0].pk}][value=present])")
    page.click(f"label:has(input[name=dues-{members[0].pk}][value=paid])")
    page.click("form[data-offline-roll] button[type=submit]")
    page.wait_for_function(
        "() => document.getElementById('offline-status').textContent.includes('đảng phí chưa lưu')"
    )
    assert page.is_checked(f"input[name=dues-{members[0].pk}][value=paid]")
    assert not DuesPayment.objects.exists()
    # Signal back: saving posts the page's form, marks and dues in one.
    page.context.set_offline(False)
    page.click("form[data-offline-roll] button[type=submit]")
    page.wait_for_load_state()
    page.wait_for_function("async () => (await rollQueue.all()).length === 0")
    assert marks(meeting)[members[0].pk] == ("present", "")
    [payment] = DuesPayment.objects.all()
    # (A transactional test empties the migration's rates: the amount due is 0.)
    assert payment.member_id == members[0].pk and payment.paid == payment.due
    assert payment.meeting_id == meeting.pk
