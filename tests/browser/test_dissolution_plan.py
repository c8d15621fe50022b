"""The dissolution plan in the browser (issue 17): a proposed destination changed
in the plan is the one applied, and the undo asks before it moves anyone back."""

import pytest

from members.models import DissolutionBatch, Member
from members.services.dissolutions import branch_dissolve
from tests.browser.conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_changed_proposal_is_the_one_applied(world, page_for):
    page = page_for(width=390)
    log_in(page, "caotan", "pw-caotan")
    page.goto(f"/dissolutions/branch/{world.office.pk}/")
    select = page.locator(f"select[name=assign-{world.cadre.pk}]")
    # Lý Thị Huyền is proposed to Cốc Lải, where she lives; the commune sends her to Nà Khâu.
    assert select.input_value() == str(world.branch.pk)
    select.select_option(str(world.branch2.pk))
    page.fill("input[name=decision]", "15-QĐ/ĐU")
    page.fill("input[name=on]", "01/04/2019")
    page.click("button[name=review]")
    page.wait_for_load_state("networkidle")
    assert "Nà Khâu" in page.locator("table").inner_text()
    page.click("text=Xác nhận giải thể")
    page.wait_for_load_state("networkidle")
    assert Member.objects.get(pk=world.cadre.pk).branch_id == world.branch2.pk


def test_the_undo_asks_first(world, page_for):
    batch = branch_dissolve(
        branch=world.office,
        decision="15-QĐ/ĐU",
        on=world.branch.founded_on.replace(year=2019),
        by=world.secretary,
    )
    page = page_for()
    log_in(page, "district", "pw-district")
    page.goto(f"/dissolutions/{batch.pk}/")
    page.click("text=Hoàn tác toàn bộ việc giải thể")
    page.wait_for_load_state("networkidle")
    # A question, not the deed: nothing has moved yet.
    assert "1 đảng viên" in page.locator("main").inner_text()
    assert not DissolutionBatch.objects.get(pk=batch.pk).is_undone
    assert Member.objects.get(pk=world.cadre.pk).branch_id == world.branch.pk
    page.click("button.danger")
    page.wait_for_load_state("networkidle")
    assert DissolutionBatch.objects.get(pk=batch.pk).is_undone
    assert Member.objects.get(pk=world.cadre.pk).branch_id == world.office.pk
