"""The import's pages fit the screen (issue 22): the page was 1,658 px wide on a
360 px phone, its list of keys and its messages running off the right edge, even
at 1,280 px. Every message wraps now, on a phone as on a desktop."""

import pytest

from tests.browser.conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LONG_NAME = "Thôn Không Có Trong Sổ Nào Cả Với Một Cái Tên Rất Dài Để Thử Xuống Dòng " * 2


@pytest.mark.parametrize("width", [360, 1280])
def test_the_import_page_and_its_errors_fit_the_screen(world, page_for, tmp_path, width):
    page = page_for(width=width)
    log_in(page, "caotan", "pw-caotan")
    page.goto("/import/")
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width
    path = tmp_path / "danh-sach.csv"
    path.write_text(
        "Họ và tên;Ngày sinh;Giới tính;Số CCCD;Chi bộ\n"
        f"Nguyễn Văn A;01/01/1980;Nam;006080000001;{LONG_NAME}\n",
        encoding="utf-8",
    )
    page.set_input_files("input[type=file]", str(path))
    page.click("main form button.primary")
    page.wait_for_load_state("networkidle")
    assert page.locator("table.import-messages td").count() >= 3
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width
    # The message's cell is inside the screen, not cut at its edge.
    right = page.evaluate(
        "() => Math.max(...[...document.querySelectorAll('table.import-messages td')]"
        ".map(td => td.getBoundingClientRect().right))"
    )
    assert right <= width
