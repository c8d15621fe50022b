"""The policy report, the dashboard's admissions per year and its month by the
communes of each period: the district's ten of 2019 (here four) until 30/06/2025,
the merged communes since. A 2019 move is credited to the commune of 2019, a
merged commune says which communes it was made from, and a district that ceased
sees its last day by default."""

import pytest

from branches.models import Commune, Province, RoleKind
from members.services.dissolutions import branch_dissolve
from tests.conftest import make_member, make_user
from tests.test_reorganization import D, apply, english, pac_nam  # noqa: F401

SEPTEMBER_2019 = D(2019, 9, 30)


@pytest.fixture
def moved(pac_nam):  # noqa: F811
    """Cao Tân's office branch with Lý Thị Huyền and two more commune cadres, dissolved in April 2019 (they
    go to Cốc Lải, where they live), then the merger of 1 July 2025."""
    w = pac_nam
    w.office_cadres = [  # Lý Thị Huyền is the world's
        make_member(w.office, village=w.village, name=f"Cán Bộ {n}", is_commune_cadre=True)
        for n in range(2)
    ]
    branch_dissolve(branch=w.office, decision="15-QĐ/ĐU", on=D(2019, 4, 1), by=w.district)
    apply()
    w.cao_minh = Commune.objects.by_code("01879")
    w.bang_thanh = Commune.objects.by_code("01864")
    w.thainguyen = make_user(
        "thainguyen", RoleKind.PROVINCE_OFFICER, province=Province.objects.get(code="19")
    )
    return w


def _lines(response):
    return {(row.commune.code, row.commune.name): row for row in response.context["communes"]}


def test_the_2019_report_counts_cadres_in_the_communes_of_2019(moved, login):
    w = moved
    response = login(w.district).get("/reports/policy/?as_of=30/09/2019")
    lines = _lines(response)
    # The four communes of 2019, each once; none of 2025.
    assert set(lines) == {
        ("01885", "Cao Tân"),
        ("01870", "Giáo Hiệu"),
        ("01879", "Cổ Linh"),
        ("01864", "Bộc Bố"),
    }
    cao_tan = lines[("01885", "Cao Tân")]
    # Lý Thị Huyền and the two others of the office branch, moved in April.
    assert (cao_tan.cadres_in_villages, cao_tan.cadres_unplaced) == (3, 0)
    assert cao_tan.office_dissolved and cao_tan.office_branches == [w.office]
    assert "15-QĐ/ĐU" in response.text and "01/04/2019" in response.text
    coc_lai = next(b for b in response.context["village_branches"] if b.pk == w.branch.pk)
    assert (coc_lai.cadre_count, coc_lai.commune_then_name) == (3, "Cao Tân")


def test_before_the_dissolution_the_cadres_are_unplaced(moved, login):
    lines = _lines(login(moved.district).get("/reports/policy/?as_of=2019-03-31"))
    cao_tan = lines[("01885", "Cao Tân")]
    assert not cao_tan.office_dissolved
    assert (cao_tan.cadres_in_villages, cao_tan.cadres_unplaced) == (0, 3)


def test_today_a_merged_commune_says_what_it_was_made_of(moved, login):
    w = moved
    response = login(w.thainguyen).get("/reports/policy/")
    lines = _lines(response)
    assert set(lines) == {("01879", "Cao Minh"), ("01864", "Bằng Thành")}
    cao_minh = lines[("01879", "Cao Minh")]
    assert [c.name for c in cao_minh.made_from] == ["Cổ Linh", "Cao Tân"]
    # Its office branches are those of the communes it was made from.
    assert cao_minh.office_branches == [w.office] and cao_minh.office_dissolved
    assert (cao_minh.cadres_in_villages, cao_minh.cadres_unplaced) == (3, 0)
    assert lines[("01864", "Bằng Thành")].office_branches == []
    assert "hợp nhất từ" in response.text and "Cổ Linh 01879" in response.text


def test_a_district_that_ceased_sees_its_last_day(moved, login):
    response = login(moved.district).get("/reports/policy/")
    assert response.context["as_of"] == D(2025, 6, 30)
    assert ("01885", "Cao Tân") in _lines(response)
    # A date it cannot read: a message, and the last day.
    response = login(moved.district).get("/reports/policy/?as_of=31/02/2019", follow=True)
    assert response.context["as_of"] == D(2025, 6, 30)
    assert "không phải là ngày (dd/mm/yyyy); đang hiển thị ngày 30/06/2025" in response.text


def test_admissions_count_in_the_commune_of_the_decision_day(moved, login):
    w = moved
    make_member(w.branch, name="Kết Nạp Hai Hai", admitted_on=D(2022, 5, 1), full_on=None)
    make_member(w.branch, name="Kết Nạp Hai Sáu", admitted_on=D(2026, 3, 1), full_on=None)
    growth = login(w.thainguyen).get("/").context["growth"]["admissions"]
    assert 2022 in growth["years"] and 2026 in growth["years"]
    rows = {(c.code, c.name): counts for c, counts in growth["table"]}
    i22, i26 = growth["years"].index(2022), growth["years"].index(2026)
    # 2022 is Cao Tân's (its branch was Cao Tân's then), 2026 Cao Minh's; Cao Minh
    # did not exist in 2022, Cao Tân does not in 2026.
    assert rows[("01885", "Cao Tân")][i22] == 1 and rows[("01885", "Cao Tân")][i26] is None
    assert rows[("01879", "Cao Minh")][i26] == 1 and rows[("01879", "Cao Minh")][i22] is None
    # The district (ceased in 2025) is credited 2022, and not the province's 2026.
    district = login(w.district).get("/").context["growth"]["admissions"]
    assert district["totals"][2022] == 1 and district["totals"][2026] == 0


def test_a_ceased_districts_dashboard_is_about_its_last_month(moved, login):
    w = moved
    context = login(w.district).get("/").context
    assert context["month"] == D(2025, 6, 1)
    assert context["following_month"] is None
    assert {row["commune"].name for row in context["communes"]} == {
        "Cao Tân",
        "Giáo Hiệu",
        "Cổ Linh",
        "Bộc Bố",
    }
    # A month after its end asked for: its last month.
    assert login(w.district).get("/?month=2026-01").context["month"] == D(2025, 6, 1)
    # The province goes on: its dashboard is about a month that has ended.
    assert login(w.thainguyen).get("/").context["month"] > D(2025, 6, 1)
