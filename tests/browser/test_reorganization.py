"""Issue 13 in the browser: a district officer fills in the plan, sees what it
does, applies it, and undoes it after confirming."""

import datetime

import pytest

from branches.models import Branch, Commune, Reorganization
from tests.browser.conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PLAN = """old_code,new_code,new_name,province_code,province_name
01885,01885,Cao Minh,19,Thái Nguyên
01870,01864,Bằng Thành,19,Thái Nguyên
"""


def test_a_district_officer_previews_applies_and_undoes_the_merger(world, page_for):
    page = page_for()
    log_in(page, "district", "pw-district")
    page.goto("/")
    page.click("a[href='/reorganizations/']")
    page.click("a[href='/reorganizations/new/']")
    page.fill("input[name=on]", "2025-07-01")
    page.fill("input[name=decision]", "1683/NQ-UBTVQH15")
    page.fill("textarea[name=plan]", PLAN)
    page.click("button[name=preview]")
    page.wait_for_load_state("networkidle")
    # The preview: each new commune with what it will hold; nothing changed yet.
    row = page.locator("tr", has_text="Cao Minh")
    assert "Cao Tân" in row.inner_text() and "Thái Nguyên" in row.inner_text()
    assert not Reorganization.objects.exists()
    page.click("button[name=apply]")
    page.wait_for_load_state("networkidle")
    assert Reorganization.objects.count() == 1
    july = datetime.date(2025, 7, 1)
    cao_minh = Commune.objects.by_code("01885", july)
    assert cao_minh.name == "Cao Minh"
    assert Branch.objects.get(pk=world.branch.pk).commune == cao_minh
    assert "1683/NQ-UBTVQH15" in page.content()
    # Undo asks first.
    page.click("a[href$='/undo/']")
    page.wait_for_load_state("networkidle")
    assert Reorganization.objects.get().undone_at is None
    page.click("main form button[type=submit].danger")
    page.wait_for_load_state("networkidle")
    assert Reorganization.objects.get().undone_at is not None
    assert Commune.objects.by_code("01885", july).name == "Cao Tân"
    assert Branch.objects.get(pk=world.branch.pk).commune == world.commune
