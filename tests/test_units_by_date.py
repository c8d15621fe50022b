"""A code means different units on different dates (01864 is Bộc Bố until
30/06/2025, Bằng Thành since): every page that takes a code takes the date it
is about, and every select shows a unit so that twins can be told apart."""

import pytest

from branches.models import Province, RoleKind
from tests.conftest import make_user
from tests.test_reorganization import D, apply, english, pac_nam  # noqa: F401


@pytest.fixture
def merged(pac_nam):  # noqa: F811
    apply()
    pac_nam.thainguyen = make_user(
        "thainguyen", RoleKind.PROVINCE_OFFICER, province=Province.objects.get(code="19")
    )
    return pac_nam


def _names(response):
    return {m.full_name for m in response.context["page"].object_list}


def test_the_member_list_reads_a_commune_code_on_its_date(merged, login):
    w = merged
    # Today 01864 is Bằng Thành (Giáo Hiệu's and Bộc Bố's branches): no 500.
    today = login(w.thainguyen).get("/members/?commune=01864")
    assert today.status_code == 200
    assert _names(today) == {"Triệu Văn Páo"}
    # On 30/06/2025 01885 is Cao Tân, whose branches are Cao Minh's now.
    then = login(w.district).get("/members/?commune=01885&as_of=30/06/2025")
    assert then.status_code == 200
    assert _names(then) == {"Hoàng Văn Mạnh", "Lý Thị Huyền"}
    # 01879 on that day is Cổ Linh, today Cao Minh (Cổ Linh and Cao Tân).
    assert _names(login(w.thainguyen).get("/members/?commune=01879&as_of=2025-06-30")) == {
        "Đàm Văn Linh"
    }
    assert _names(login(w.thainguyen).get("/members/?commune=01879")) == {
        "Đàm Văn Linh",
        "Hoàng Văn Mạnh",
        "Lý Thị Huyền",
    }


def test_the_commune_page_links_its_members_on_its_date(merged, login):
    w = merged
    page = login(w.district).get("/communes/01885/").content.decode()
    assert "/members/?commune=01885&amp;as_of=2025-06-30" in page
    assert (
        '/members/?commune=01879"' in login(w.thainguyen).get("/communes/01879/").content.decode()
    )
