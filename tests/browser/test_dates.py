"""Dates typed on an English-language browser (issue 17): a native date input would
follow the browser's order (month first in en-US) while the records say day
first; the registry's date fields are text typed as dd/mm/yyyy."""

import datetime

import pytest

from meetings.models import Meeting
from members.models import Member
from tests.browser.conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_date_typed_on_an_english_browser_is_stored_day_first(world, page_for):
    page = page_for(locale="en-US")
    assert page.evaluate("() => navigator.language") == "en-US"
    log_in(page, "coclai", "pw-coclai")
    page.goto(f"/branches/{world.branch.pk}/meetings/new/")
    assert page.locator("input[type=date]").count() == 0
    page.fill("input[name=date]", "05/04/2019")
    page.click("main form button[type=submit]")
    page.wait_for_load_state("networkidle")
    meeting = Meeting.objects.get(branch=world.branch)
    assert meeting.date == datetime.date(2019, 4, 5)
    assert "05/04/2019" in page.locator("h1").inner_text()


def test_a_stored_date_is_shown_day_first_in_the_form(world, page_for):
    page = page_for(locale="en-US")
    log_in(page, "caotan", "pw-caotan")
    page.goto(f"/members/{world.member.pk}/edit/")
    field = page.locator("input[name=birth_date]")
    assert field.get_attribute("type") == "text"
    assert field.input_value() == "01/01/1980"
    field.fill("12/01/1962")
    page.click("main form button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert Member.objects.get(pk=world.member.pk).birth_date == datetime.date(1962, 1, 12)
