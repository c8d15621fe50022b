"""Every page fits a 360 px phone (issue 21): the commune secretary, the branch
secretary and the province officer open each page of the permission matrix
that answers them 200, in Chromium at 360×800, and none is wider than the
screen (/transfers/N/ squeezed its values to 80 px; /import/ was 1,658 px)."""

import pytest

from tests.browser.conftest import log_in
from tests.test_permission_matrix import _matrix

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTH = 360
LOGINS = {"secretary": "caotan", "branch_secretary": "coclai", "province": "province"}


@pytest.mark.parametrize("role", sorted(LOGINS))
def test_no_page_is_wider_than_a_phone(world, page_for, role):
    page = page_for(width=WIDTH, height=800)
    log_in(page, LOGINS[role], f"pw-{LOGINS[role]}")
    pages = [
        url
        for name, (url, expected, *post) in _matrix(world).items()
        # Files (exports, charts, the service worker) are downloads, not pages.
        if not post and expected[role] == 200 and "." not in url.rsplit("/", 1)[-1]
    ]
    assert len(pages) >= 30
    wide, opened = [], 0
    for url in pages:
        response = page.goto(url)
        if "text/html" not in response.headers.get("content-type", ""):
            continue  # the exports, charts and the service worker
        assert response.status == 200, url
        opened += 1
        width = page.evaluate("() => document.documentElement.scrollWidth")
        if width > WIDTH:
            wide.append(f"{url}: {width} px")
    assert opened >= 25
    assert not wide, "wider than the phone: " + ", ".join(wide)
