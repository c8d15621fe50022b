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


@pytest.fixture
def twins(merged):
    """Two "Chi bộ thôn Bản 1" in Cao Minh after the merger (one from Cao Tân, one
    from Cổ Linh), in two "Thôn Bản 1"."""
    from branches.models import Commune
    from tests.conftest import make_branch, make_member, make_village

    w = merged
    w.cao_minh = Commune.objects.by_code("01879")
    for code, commune in (("01867-T01", w.commune), ("01879-T01", w.co_linh)):
        village = make_village(commune, "Thôn Bản 1", code=code)
        branch = make_branch(commune, village=village, name="Chi bộ thôn Bản 1", code=code)
        for n in range(3):
            make_member(branch, name=f"Bản Một {code} {n}")
        setattr(w, "ban1_" + code[:5], branch)
    # Made after the merger in the old communes' names: move them as the plan would.
    from branches.models import Branch, BranchInCommune, Village, VillageInCommune

    Branch.objects.filter(code__endswith="-T01").update(commune=w.cao_minh)
    Village.objects.filter(code__endswith="-T01").update(commune=w.cao_minh)
    BranchInCommune.objects.filter(branch__code__endswith="-T01").update(
        valid_from=D(2000, 1, 1), valid_to=D(2025, 6, 30)
    )
    VillageInCommune.objects.filter(village__code__endswith="-T01").update(valid_to=D(2025, 6, 30))
    for b in Branch.objects.filter(code__endswith="-T01"):
        BranchInCommune.objects.create(branch=b, commune=w.cao_minh, valid_from=D(2025, 7, 1))
        VillageInCommune.objects.create(
            village=b.village, commune=w.cao_minh, valid_from=D(2025, 7, 1)
        )
    w.caominh = make_user("caominh", RoleKind.COMMUNE_SECRETARY, commune=w.cao_minh)
    return w


TWIN_BRANCHES = (
    "Chi bộ thôn Bản 1 · 01867-T01 · Cao Minh",
    "Chi bộ thôn Bản 1 · 01879-T01 · Cao Minh",
)
TWIN_VILLAGES = ("Thôn Bản 1 · 01867-T01 · Cao Minh", "Thôn Bản 1 · 01879-T01 · Cao Minh")


def _options(response, name):
    import re

    html = response.content.decode()
    select = re.search(rf'<select name="{name}".*?</select>', html, re.S)
    assert select, name
    return set(re.findall(r"<option[^>]*>([^<]*)</option>", select.group(0)))


def test_twins_read_differently_in_every_select(twins, login):
    w = twins
    client = login(w.caominh)
    # The member form: the branch and the village of residence.
    new = client.get("/members/new/")
    assert set(TWIN_BRANCHES) <= _options(new, "branch")
    assert set(TWIN_VILLAGES) <= _options(new, "residence_village")
    # The member list's filter.
    listed = client.get("/members/?commune=01879")
    assert set(TWIN_BRANCHES) <= _options(listed, "branch")
    # The transfer's receiving branch and village.
    start = client.get(f"/members/{w.member.pk}/transfer/")
    assert set(TWIN_BRANCHES) <= _options(start, "to_branch")
    # The dissolution plan: a member of one twin may go to the other.
    plan = client.get(f"/dissolutions/branch/{w.ban1_01867.pk}/?all=1")
    assert plan.status_code == 200
    html = plan.content.decode()
    assert TWIN_BRANCHES[1] in html
    # The task's household village, on the meeting's date.
    from meetings.forms import TaskForm
    from meetings.models import Meeting

    meeting = Meeting(branch=w.ban1_01879, date=D(2026, 1, 10), kind="regular")
    form = TaskForm(meeting=meeting, members=w.ban1_01879.members.all())
    labels = {label for _value, label in form.fields["household_village"].choices}
    assert set(TWIN_VILLAGES) <= labels
    # Before the merger the same village is shown in the commune it was in then.
    before = Meeting(branch=w.ban1_01879, date=D(2024, 1, 10), kind="regular")
    form = TaskForm(meeting=before, members=w.ban1_01879.members.all())
    labels = {label for _value, label in form.fields["household_village"].choices}
    assert "Thôn Bản 1 · 01879-T01 · Cổ Linh" in labels
