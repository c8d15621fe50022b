"""The two workflows of the story, in the browser: a commune secretary dissolves
the office branch with the wizard, and a branch secretary takes a meeting's
roll on a phone-sized screen (390 px)."""

import datetime

import pytest

from members.models import Member, Membership
from tests.browser.conftest import log_in
from tests.conftest import make_member, make_village

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_dissolution_wizard_to_the_end(world, page_for):
    # A cadre who lives where there is no branch: the wizard needs a decision.
    hamlet = make_village(world.commune, "Bản Không Chi Bộ")
    unplaced = make_member(world.office, village=hamlet, name="Nông Văn Chờ", is_commune_cadre=True)
    page = page_for(width=390)
    log_in(page, "caotan", "pw-caotan")
    page.goto(f"/branches/{world.office.pk}/")
    page.click("text=Giải thể chi bộ này")
    page.wait_for_load_state("networkidle")
    assert page.get_by_text("cần quyết định").count() >= 1
    page.select_option(f"select[name=assign-{unplaced.pk}]", str(world.branch2.pk))
    page.fill("input[name=decision]", "15-QĐ/ĐU")
    page.fill("input[name=on]", "2019-04-01")
    page.click("button[name=review]")
    page.wait_for_load_state("networkidle")
    # Nothing has changed yet: the confirmation page only shows the plan.
    assert world.office.__class__.objects.get(pk=world.office.pk).dissolved_on is None
    page.click("text=Xác nhận giải thể")
    page.wait_for_load_state("networkidle")
    office = world.office.__class__.objects.get(pk=world.office.pk)
    assert office.dissolved_on == datetime.date(2019, 4, 1)
    assert Member.objects.get(pk=world.cadre.pk).branch_id == world.branch.pk
    assert Member.objects.get(pk=unplaced.pk).branch_id == world.branch2.pk
    assert not Membership.objects.filter(branch=office, ended_on__isnull=True).exists()
    assert "15-QĐ/ĐU" in page.content()


def test_attendance_on_a_phone(world, page_for):
    from meetings.models import Attendance, Meeting

    people = [make_member(world.branch, name=f"Đảng Viên {i:02d}") for i in range(12)]
    meeting = Meeting.objects.create(
        branch=world.branch, date=datetime.date(2024, 5, 10), kind="regular"
    )
    page = page_for(width=390, height=844)
    log_in(page, "coclai", "pw-coclai")
    page.goto(f"/meetings/{meeting.pk}/attendance/")
    page.click("button[name=open]")
    page.wait_for_load_state("networkidle")
    # Nothing is wider than the phone.
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    # One tap per member: everyone present but two.
    for member in [world.member, *people]:
        page.click(f"label:has(input[name=presence-{member.pk}][value=present])")
    page.click(f"label:has(input[name=presence-{people[0].pk}][value=excused])")
    page.fill(f"input[name=reason-{people[0].pk}]", "ốm")
    page.click(f"label:has(input[name=presence-{people[1].pk}][value=absent])")
    page.click("form:has(ul.roll) button[type=submit]")
    page.wait_for_url(f"**/meetings/{meeting.pk}/")
    lines = {a.member_id: a for a in Attendance.objects.filter(meeting=meeting)}
    assert lines[people[0].pk].presence == "excused" and lines[people[0].pk].reason == "ốm"
    assert lines[people[1].pk].presence == "absent"
    assert sum(1 for a in lines.values() if a.presence == "present") == 11
