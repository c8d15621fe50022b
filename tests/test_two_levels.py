"""The words of the two-level government (issue 21): from 1 July 2025 there is
no district, the level above a commune is the province. A transfer, a member
who left and the transfer forms say "trong huyện" for what happened before
that day and "trong tỉnh" after it; the transfer page says who takes the next
step, to everyone who sees it."""

import datetime

import pytest
from django.urls import reverse

from members.services.transfers import transfer_issue_letter, transfer_request
from pacnam.lib.dates import two_levels

D = datetime.date


@pytest.fixture(autouse=True)
def plain_static_files(settings):
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


def page(client, user, url):
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def test_the_day_the_districts_ended():
    assert not two_levels(D(2025, 6, 30))
    assert two_levels(D(2025, 7, 1))


def test_a_transfer_between_communes_reads_in_the_words_of_its_day(client, world):
    before = transfer_request(
        on=D(2019, 4, 1), by=world.district, member=world.member, to_branch=world.other_branch
    )
    after = transfer_request(
        on=D(2026, 4, 1), by=world.district, member=world.cadre, to_branch=world.other_branch
    )
    html = page(client, world.district, reverse("transfers:detail", args=[before.pk]))
    assert "giữa các đảng bộ xã trong huyện" in html
    html = page(client, world.district, reverse("transfers:detail", args=[after.pk]))
    assert "giữa các đảng bộ xã trong tỉnh" in html and "trong huyện" not in html
    listing = page(client, world.district, reverse("transfers:list"))
    assert "trong huyện" in listing and "trong tỉnh" in listing


def test_the_transfer_form_of_today_names_the_province(client, world):
    html = page(client, world.secretary, reverse("transfers:start", args=[world.member.pk]))
    assert "Chi bộ tiếp nhận trong tỉnh" in html and "Tổ chức đảng ngoài tỉnh" in html
    # The footer of every page names the board of today's province.
    assert "Ban Tổ chức Tỉnh ủy Thái Nguyên" in html
    assert "huyện" not in html.split("<main", 1)[1]
    client.force_login(world.secretary)
    response = client.post(
        reverse("transfers:start", args=[world.member.pk]),
        {"kind": "official", "requested_on": "01/12/2026"},
    )
    assert "hoặc nhập tổ chức đảng ngoài tỉnh" in response.content.decode()


def test_a_member_who_left_after_the_merger_left_the_province(client, world):
    t = transfer_request(
        on=D(2026, 3, 2),
        by=world.secretary,
        member=world.member,
        other_organisation="Đảng bộ phường Đức Xuân",
    )
    transfer_issue_letter(transfer=t, by=world.district, on=D(2026, 3, 3), signer_title="")
    html = page(client, world.district, reverse("members:detail", args=[world.member.pk]))
    assert "chuyển sinh hoạt ra ngoài tỉnh" in html


def test_the_transfer_page_says_who_acts_next(client, world):
    within = transfer_request(
        on=D(2026, 4, 1), by=world.secretary, member=world.member, to_branch=world.branch2
    )
    between = transfer_request(
        on=D(2026, 4, 1), by=world.district, member=world.cadre, to_branch=world.other_branch
    )
    # The branch secretary takes no step, and is still told who does.
    url = reverse("transfers:detail", args=[within.pk])
    html = page(client, world.branch_secretary, url)
    assert "Bước tiếp theo: Đảng ủy xã Cao Tân cấp giấy giới thiệu" in html
    html = page(client, world.secretary, reverse("transfers:detail", args=[between.pk]))
    assert "Bước tiếp theo: Ban Tổ chức Tỉnh ủy cấp giấy giới thiệu" in html
    transfer_issue_letter(transfer=within, by=world.secretary, on=D(2026, 4, 2), signer_title="")
    html = page(client, world.branch_secretary, url)
    assert (
        "đảng viên nộp giấy giới thiệu cho Chi bộ thôn Nà Khâu; "
        "Đảng ủy xã Cao Tân ghi nhận việc tiếp nhận"
    ) in html


# --- Each role's menu and dashboard lead to its own unit ---------------------------


@pytest.mark.parametrize(
    "role, target",
    [
        ("branch_secretary", lambda w: f"/branches/{w.branch.pk}/"),
        ("secretary", lambda w: f"/communes/{w.commune.code}/"),
        ("district", None),
        ("province", None),
        ("outsider", lambda w: f"/communes/{w.other_commune.code}/"),
        ("nobody", None),
    ],
)
def test_my_unit_opens_the_users_own_unit(client, world, role, target):
    user = getattr(world, role)
    dashboard = page(client, user, "/")
    response = client.get(reverse("places:mine"))
    if target is None:
        # Officers' own unit is the dashboard itself; no menu entry leads to a 404.
        assert response.status_code == 404
        assert reverse("places:mine") not in dashboard
        return
    assert response.status_code == 302 and response["Location"] == target(world)
    assert client.get(response["Location"]).status_code == 200
    # In the menu of every page and on the dashboard.
    assert dashboard.count(f'href="{reverse("places:mine")}"') == 2


def test_a_ceased_commune_opens_on_its_last_day(client, world):
    world.commune.valid_to = D(2025, 6, 30)
    world.commune.save()
    client.force_login(world.secretary)
    response = client.get(reverse("places:mine"))
    assert response["Location"] == f"/communes/{world.commune.code}/?as_of=2025-06-30"


def test_my_unit_asks_to_log_in(client):
    response = client.get(reverse("places:mine"))
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


# --- The introduction letter is issued by the bodies of its day -------------------


def _into_thai_nguyen(*communes):
    """The communes' parents as the merger left them: Pác Nặm district until
    30/06/2025, Thái Nguyên province (no district) from 01/07/2025."""
    from branches.models import CommuneInProvince, Province

    thai_nguyen = Province.objects.create(code="19", name="Thái Nguyên")
    for commune in communes:
        CommuneInProvince.objects.filter(commune=commune).update(valid_to=D(2025, 6, 30))
        CommuneInProvince.objects.create(
            commune=commune, province=thai_nguyen, district=None, valid_from=D(2025, 7, 1)
        )


def test_a_letter_after_the_merger_comes_from_the_province(client, world):
    _into_thai_nguyen(world.commune, world.other_commune)
    old = transfer_request(
        on=D(2019, 4, 1), by=world.district, member=world.cadre, to_branch=world.other_branch
    )
    transfer_issue_letter(transfer=old, by=world.district, on=D(2019, 4, 2), signer_title="")
    letter = page(client, world.district, reverse("transfers:letter", args=[old.pk]))
    assert "HUYỆN ỦY PÁC NẶM" in letter and "Pác Nặm, ngày" in letter
    between = transfer_request(
        on=D(2026, 4, 1), by=world.district, member=world.member, to_branch=world.other_branch
    )
    transfer_issue_letter(transfer=between, by=world.district, on=D(2026, 4, 2), signer_title="")
    letter = page(client, world.district, reverse("transfers:letter", args=[between.pk]))
    assert "TỈNH ỦY THÁI NGUYÊN" in letter and "Ban Tổ chức Tỉnh ủy Thái Nguyên" in letter
    article = letter.upper().split("<ARTICLE", 1)[1].split("</ARTICLE", 1)[0]
    assert "Thái Nguyên, ngày" in letter and "HUYỆN" not in article


def test_a_commune_letter_after_the_merger_names_the_province_organisation(client, world):
    _into_thai_nguyen(world.commune)
    within = transfer_request(
        on=D(2026, 4, 1), by=world.secretary, member=world.member, to_branch=world.branch2
    )
    transfer_issue_letter(
        transfer=within, by=world.secretary, on=D(2026, 4, 2), signer_title="Phó Bí thư"
    )
    letter = page(client, world.secretary, reverse("transfers:letter", args=[within.pk]))
    assert "ĐẢNG BỘ TỈNH THÁI NGUYÊN" in letter and "ĐẢNG BỘ HUYỆN" not in letter


def test_the_letter_reads_the_same_queries_before_and_after_the_merger(client, world):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    _into_thai_nguyen(world.commune, world.other_commune)
    letters = []
    for member, day in ((world.cadre, D(2019, 4, 1)), (world.member, D(2026, 4, 1))):
        t = transfer_request(on=day, by=world.district, member=member, to_branch=world.other_branch)
        transfer_issue_letter(transfer=t, by=world.district, on=day, signer_title="")
        letters.append(reverse("transfers:letter", args=[t.pk]))
    client.force_login(world.district)
    counts = []
    for url in letters:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        counts.append(len(queries))
    assert counts == [LETTER_QUERIES, LETTER_QUERIES]


# As the test client counts them (the session read and saved, the user and role):
# one of them is the sending commune's parent on the letter's day.
LETTER_QUERIES = 9
