"""The pages read as a district officer would write them (issue 17, and the table
of /work/shared/VIETNAMESE.md): the letter, the change log, the member's page and
filters. The crawl (test_crawl.py) checks every page for English and for the
wordings that read wrong; these check what should be there instead."""

import datetime
import re

import pytest
from django.urls import reverse

from members.services.dissolutions import branch_dissolve
from members.services.transfers import transfer_issue_letter, transfer_request

D = datetime.date


@pytest.fixture(autouse=True)
def plain_static_files(settings):
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


def _text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


def test_a_temporary_letter_of_the_commune_says_so_and_names_its_seat(world, login):
    transfer = transfer_request(
        on=D(2019, 4, 1),
        by=world.secretary,
        member=world.member,
        to_branch=world.branch2,
        kind="temporary",
        planned_end=D(2019, 10, 1),
    )
    transfer_issue_letter(
        transfer=transfer, by=world.secretary, on=D(2019, 4, 2), signer_title="Phó Bí thư Đảng ủy"
    )
    page = _text(login(world.secretary).get(reverse("transfers:letter", args=[transfer.pk])))
    assert "Giấy giới thiệu sinh hoạt đảng tạm thời" in page
    assert "Cao Tân, ngày 02 tháng 4 năm 2019" in page  # the commune's seat, not Pác Nặm
    assert "T/M ĐẢNG ỦY" in page  # a collective body signs on behalf


def test_a_district_letter_is_signed_by_the_head_or_for_the_head(world, login):
    transfer = transfer_request(
        on=D(2019, 4, 1), by=world.district, member=world.member, to_branch=world.other_branch
    )
    transfer_issue_letter(
        transfer=transfer, by=world.district, on=D(2019, 4, 2), signer_title="Phó Trưởng ban"
    )
    client = login(world.district)
    page = _text(client.get(reverse("transfers:letter", args=[transfer.pk])))
    assert "K/T TRƯỞNG BAN PHÓ TRƯỞNG BAN" in page
    assert "T/M BAN TỔ CHỨC" not in page
    assert "Pác Nặm, ngày 02 tháng 4 năm 2019" in page
    assert "Giấy này có giá trị đến hết ngày" in page
    detail = _text(client.get(reverse("transfers:detail", args=[transfer.pk])))
    assert f"Số {transfer.letter_reference}" in detail and "STT" not in detail


def test_the_change_log_says_actions_in_words_and_dates_day_first(world, login):
    from pacnam.lib.versioning import save_if_unchanged

    branch_dissolve(branch=world.office, decision="15-QĐ/ĐU", on=D(2019, 4, 1), by=world.secretary)
    world.office.refresh_from_db()
    world.office.founded_on = D(2001, 2, 3)
    save_if_unchanged(world.office, expected_version=world.office.version)
    page = _text(login(world.district).get(reverse("places:branch", args=[world.office.pk])))
    assert "Giải thể chi bộ: Chi bộ cơ quan xã Cao Tân" in page
    assert "15-QĐ/ĐU · 01/04/2019" in page
    assert "01/01/2000 → 03/02/2001" in page
    assert "hồ sơ được lưu lần thứ 3" in page
    assert "branch_dissolve" not in page and "version" not in page
    assert not re.search(r"\d{4}-\d\d-\d\d", page)


def test_the_member_page_and_filters_use_the_standard_terms(world, login):
    client = login(world.secretary)
    page = _text(client.get(reverse("members:detail", args=[world.cadre.pk])))
    assert "Thông tin cá nhân" in page and "Quá trình sinh hoạt" in page
    assert "cán bộ, công chức xã" in page
    listing = client.get(reverse("members:list")).content.decode()
    assert '<option value="active">đang sinh hoạt</option>' in listing
    assert "kể cả đảng viên không còn sinh hoạt" in listing
    assert "tất cả các xã" in listing and "tất cả chi bộ" in listing
    assert "Kích hoạt" not in listing


def test_the_transfer_list_says_where_from_and_where_to(world, login):
    transfer_request(
        on=D(2019, 4, 1), by=world.secretary, member=world.member, to_branch=world.branch2
    )
    page = _text(login(world.secretary).get(reverse("transfers:list")))
    assert "Nơi chuyển đi" in page and "Nơi chuyển đến" in page and "Từ ngày" not in page
