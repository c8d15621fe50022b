"""The transfer and dissolution pages: access per role, the wizard, the letter,
and a fixed number of queries per page."""

import datetime

import pytest
from django.urls import reverse
from django.utils import translation

from branches.models import Branch
from members.models import DissolutionBatch, Membership, Transfer
from members.services.dissolutions import branch_dissolve
from members.services.transfers import transfer_issue_letter, transfer_request
from tests.conftest import ROLES, make_member, make_village

D = datetime.date
APRIL = D(2019, 4, 1)


@pytest.fixture(autouse=True)
def english(settings):
    """Messages are asserted in English; the Vietnamese catalogue is checked apart."""
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def plain_static_files(settings):
    # Tests run no collectstatic; the manifest storage of production would fail.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


def user_for(world, role):
    return None if role == "anonymous" else getattr(world, role)


@pytest.fixture
def transfer(world):
    """Hoàng Văn Mạnh, Cốc Lải -> Nà Khâu, inside Cao Tân, letter issued."""
    t = transfer_request(
        on=D(2019, 4, 1), by=world.secretary, member=world.member, to_branch=world.branch2
    )
    transfer_issue_letter(
        transfer=t, by=world.secretary, on=D(2019, 4, 2), signer_title="Phó Bí thư Đảng ủy"
    )
    t.refresh_from_db()
    return t


@pytest.fixture
def batch(world):
    return branch_dissolve(branch=world.office, decision="15-QĐ/ĐU", on=APRIL, by=world.secretary)


# --- Access per role ---------------------------------------------------------------

# role -> expected status; anonymous is redirected to the login page.
SEE_TRANSFER = {
    "admin": 200,
    "district": 200,
    "secretary": 200,
    "branch_secretary": 200,
    "outsider": 404,
    "nobody": 404,
    "anonymous": 302,
}
EDITORS = {
    "admin": 200,
    "district": 200,
    "secretary": 200,
    "branch_secretary": 404,
    "outsider": 404,
    "nobody": 404,
    "anonymous": 302,
}


def check(response, expected):
    assert response.status_code == expected
    if expected == 302:
        assert response.url.startswith("/accounts/login/")


@pytest.mark.parametrize("role", ROLES)
def test_transfer_detail_and_letter_access(world, login, transfer, role):
    client = login(user_for(world, role))
    check(client.get(reverse("transfers:detail", args=[transfer.pk])), SEE_TRANSFER[role])
    check(client.get(reverse("transfers:letter", args=[transfer.pk])), SEE_TRANSFER[role])


@pytest.mark.parametrize("role", ROLES)
def test_transfer_start_access(world, login, role):
    client = login(user_for(world, role))
    check(client.get(reverse("transfers:start", args=[world.member.pk])), EDITORS[role])


@pytest.mark.parametrize("role", ROLES)
def test_transfer_list_access(world, login, transfer, role):
    client = login(user_for(world, role))
    response = client.get(reverse("transfers:list"))
    if role == "anonymous":
        return check(response, 302)
    assert response.status_code == 200
    shown = "Hoàng Văn Mạnh" in response.text
    assert shown == (role not in ("outsider", "nobody"))


@pytest.mark.parametrize("role", ROLES)
def test_dissolution_pages_access(world, login, batch, role):
    client = login(user_for(world, role))
    check(client.get(reverse("transfers:dissolution_plan", args=[world.branch2.pk])), EDITORS[role])
    # Pages of one's own commune: the outsider gets theirs, without a trace of Cao Tân.
    own = {**EDITORS, "outsider": 200}
    for name in ("dissolution_choose", "incoming", "policy_report"):
        response = client.get(reverse(f"transfers:{name}"))
        check(response, own[role])
        if role == "outsider":
            assert "Cao Tân" not in response.text and "Cốc Lải" not in response.text
    # The batch belongs to the office branch, which the Cốc Lải secretary does not see.
    check(client.get(reverse("transfers:dissolution_detail", args=[batch.pk])), EDITORS[role])


@pytest.mark.parametrize("role", ROLES)
def test_receive_post_per_role(world, login, transfer, role):
    client = login(user_for(world, role))
    response = client.post(reverse("transfers:receive", args=[transfer.pk]), {"on": "2019-04-10"})
    transfer.refresh_from_db()
    if role == "anonymous":
        check(response, 302)
    elif role in ("outsider", "nobody"):
        assert response.status_code == 404
    elif role == "branch_secretary":
        assert response.status_code == 403  # sees the transfer, takes no step
    else:
        assert response.status_code == 302
    # The commune (and above) may record the receipt; a branch secretary may not.
    assert (transfer.status == "received") == (role in ("admin", "district", "secretary"))


@pytest.mark.parametrize("role", ROLES)
def test_undo_post_per_role(world, login, batch, role):
    client = login(user_for(world, role))
    client.post(reverse("transfers:dissolution_undo", args=[batch.pk]))
    batch.refresh_from_db()
    assert batch.is_undone == (role in ("admin", "district"))


def test_step_pages_refuse_get(world, login, transfer):
    client = login(world.secretary)
    assert client.get(reverse("transfers:receive", args=[transfer.pk])).status_code == 405


# --- The transfer path through the pages ---------------------------------------------


def test_start_a_transfer_from_the_page_and_take_each_step(world, login):
    client = login(world.secretary)
    response = client.post(
        reverse("transfers:start", args=[world.member.pk]),
        {
            "kind": "official",
            "to_branch": world.other_branch.pk,
            "requested_on": "2019-04-01",
            "reason": "lấy chồng",
        },
    )
    transfer = Transfer.objects.get()
    assert response.status_code == 302 and response.url == reverse(
        "transfers:detail", args=[transfer.pk]
    )
    page = client.get(response.url).text
    assert (
        "Issue the introduction letter" not in page
    )  # leaving the commune: the district issues it
    assert "Cancel the transfer" in page
    district = login(world.district)
    page = district.get(reverse("transfers:detail", args=[transfer.pk])).text
    assert "Issue the introduction letter" in page
    district.post(
        reverse("transfers:issue_letter", args=[transfer.pk]),
        {"on": "2019-04-02", "signer_title": "Trưởng ban"},
    )
    transfer.refresh_from_db()
    assert transfer.status == "letter_issued" and transfer.letter_issued_by == world.district
    receiver = login(world.outsider)
    page = receiver.get(reverse("transfers:detail", args=[transfer.pk])).text
    assert "Record the receipt" in page
    receiver.post(reverse("transfers:receive", args=[transfer.pk]), {"on": "2019-04-08"})
    transfer.refresh_from_db()
    assert transfer.status == "received"
    assert (
        Membership.objects.get(member=world.member, ended_on__isnull=True).branch
        == world.other_branch
    )


def test_a_refused_step_is_a_message_and_nothing_changes(world, login, transfer):
    client = login(world.secretary)
    response = client.post(
        reverse("transfers:receive", args=[transfer.pk]), {"on": "2019-03-01"}, follow=True
    )
    assert "The receipt cannot be before the letter" in response.text
    transfer.refresh_from_db()
    assert transfer.status == "letter_issued"


def test_start_form_shows_the_domain_error(world, login):
    Membership.objects.filter(member=world.member)  # noqa: B018 - documentation
    world.member.__class__.objects.filter(pk=world.member.pk).update(under_inspection=True)
    client = login(world.secretary)
    response = client.post(
        reverse("transfers:start", args=[world.member.pk]),
        {"kind": "official", "to_branch": world.branch2.pk, "requested_on": "2019-04-01"},
    )
    assert response.status_code == 200 and "under inspection" in response.text
    assert not Transfer.objects.exists()


def test_a_late_start_is_recorded_and_shown(world, login, settings):
    settings.HOLIDAYS = []
    client = login(world.secretary)
    response = client.post(
        reverse("transfers:start", args=[world.member.pk]),
        {
            "kind": "official",
            "to_branch": world.branch2.pk,
            "requested_on": "2019-05-28",
            "moved_on": "2019-03-04",
        },
        follow=True,
    )
    transfer = Transfer.objects.get()
    assert transfer.moved_on == datetime.date(2019, 3, 4) and transfer.started_late
    assert "started late: due by 27/05/2019" in response.text
    assert "started late" in client.get(reverse("transfers:list")).text


def test_cancel_from_the_page(world, login, transfer):
    client = login(world.secretary)
    client.post(reverse("transfers:cancel", args=[transfer.pk]), {"reason": "đổi ý"})
    transfer.refresh_from_db()
    assert transfer.status == "cancelled" and transfer.closing_reason == "đổi ý"


def test_incoming_transfer_page_records_a_newcomer(world, login):
    client = login(world.secretary)
    response = client.post(
        reverse("transfers:incoming"),
        {
            "to_branch": world.branch2.pk,
            "other_organisation": "Đảng bộ xã Cao Kỳ",
            "requested_on": "2019-04-01",
            "citizen_id": "006080001234",
            "full_name": "Hà Thị Lan",
            "gender": "female",
            "birth_date": "1990-02-03",
            "ethnicity": "Tày",
            "residence_village": world.village2.pk,
            "admitted_on": "2015-03-03",
            "full_on": "2016-03-03",
            "card_number": "",
        },
    )
    transfer = Transfer.objects.get()
    assert response.status_code == 302 and transfer.scope == "into_district"
    client.post(reverse("transfers:receive", args=[transfer.pk]), {"on": "2019-05-02"})
    transfer.refresh_from_db()
    assert transfer.member.full_name == "Hà Thị Lan" and transfer.member.branch == world.branch2


def test_the_letter_reads_as_the_official_form(world, login, transfer):
    Transfer.objects.filter(pk=transfer.pk)
    response = login(world.secretary).get(reverse("transfers:letter", args=[transfer.pk]))
    text = response.text
    for expected in (
        "ĐẢNG CỘNG SẢN VIỆT NAM",
        "Số 1/GGT",
        "GIẤY GIỚI THIỆU SINH HOẠT ĐẢNG".lower(),
        "Hoàng Văn Mạnh",
        "01/01/1980",
        "Tày",
        "19/05/2005",
        "19/05/2006",
        "Chi bộ thôn Cốc Lải",
        "Chi bộ thôn Nà Khâu",
        "T/M",
        "PHÓ BÍ THƯ ĐẢNG ỦY",
        'class="document"',
    ):
        assert expected in text or expected in text.lower(), expected


def test_letter_is_404_before_it_is_issued(world, login):
    t = transfer_request(
        on=D(2019, 4, 1), by=world.secretary, member=world.member, to_branch=world.branch2
    )
    assert login(world.secretary).get(reverse("transfers:letter", args=[t.pk])).status_code == 404


# --- The dissolution wizard -----------------------------------------------------------


@pytest.fixture
def homeless(world):
    return make_member(
        world.office,
        village=make_village(world.commune, "Bản Chang"),
        name="Bàn Văn Sinh",
        is_commune_cadre=True,
    )


def test_wizard_plan_review_confirm(world, login, homeless):
    client = login(world.secretary)
    plan_url = reverse("transfers:dissolution_plan", args=[world.office.pk])
    page = client.get(plan_url).text
    assert "Bàn Văn Sinh" in page and "needs a decision" in page
    # Reviewing without placing everyone: the plan again, with an error, nothing changed.
    page = client.get(plan_url, {"review": "1", "decision": "15-QĐ/ĐU", "on": "2019-04-01"}).text
    assert "Choose a branch for every member" in page
    assert not Branch.objects.get(pk=world.office.pk).is_dissolved
    params = {
        "review": "1",
        "decision": "15-QĐ/ĐU",
        "on": "2019-04-01",
        f"assign-{homeless.pk}": world.branch2.pk,
    }
    page = client.get(plan_url, params).text
    assert "Confirm the dissolution" in page
    assert not Branch.objects.get(pk=world.office.pk).is_dissolved  # still nothing until confirmed
    response = client.post(
        reverse("transfers:dissolution_confirm", args=[world.office.pk]),
        {k: v for k, v in params.items() if k != "review"},
    )
    batch = DissolutionBatch.objects.get()
    assert response.status_code == 302 and response.url == reverse(
        "transfers:dissolution_detail", args=[batch.pk]
    )
    office = Branch.objects.get(pk=world.office.pk)
    assert office.dissolved_on == APRIL and office.dissolution_decision == "15-QĐ/ĐU"
    assert Membership.objects.get(member=homeless, ended_on__isnull=True).branch == world.branch2
    page = client.get(response.url).text
    assert (
        "Bàn Văn Sinh" in page and "Undo the whole dissolution" not in page
    )  # secretaries cannot undo
    assert "Undo the whole dissolution" in login(world.district).get(response.url).text


def test_confirm_with_an_unplaced_member_changes_nothing(world, login, homeless):
    client = login(world.secretary)
    response = client.post(
        reverse("transfers:dissolution_confirm", args=[world.office.pk]),
        {"decision": "15", "on": "2019-04-01"},
        follow=True,
    )
    assert "Bàn Văn Sinh" in response.text
    assert not DissolutionBatch.objects.exists()


def test_undo_refused_after_a_later_move_shows_why(world, login, batch):
    from members.services.members import membership_move

    membership_move(member=world.cadre, to_branch=world.branch2, on=D(2019, 9, 1))
    response = login(world.district).post(
        reverse("transfers:dissolution_undo", args=[batch.pk]), follow=True
    )
    assert "Lý Thị Huyền has moved" in response.text
    batch.refresh_from_db()
    assert not batch.is_undone


def test_policy_report_shows_khau_slom_three_of_ten(world, login):
    office = Branch.objects.create(
        commune=world.other_commune,
        kind="commune_office",
        code="GH-CQ",
        name="Chi bộ cơ quan xã Giáo Hiệu",
        founded_on=D(2000, 1, 1),
    )
    for i in range(6):
        make_member(world.other_branch, name=f"Đảng viên {i}")
    for i in range(3):
        make_member(office, village=world.other_village, name=f"Cán bộ {i}", is_commune_cadre=True)
    branch_dissolve(branch=office, decision="20-QĐ/ĐU", on=APRIL, by=world.district)
    page = login(world.district).get(reverse("transfers:policy_report")).text
    assert "Chi bộ thôn Khâu Slôm" in page and "3 of 10" in page
    assert "20-QĐ/ĐU" in page and "01/04/2019" in page


# --- Query counts ------------------------------------------------------------------------


def grow(world, n):
    """More of everything the pages list: members, transfers, moves."""
    for i in range(n):
        m = make_member(world.branch, name=f"Người {i}")
        t = transfer_request(
            on=D(2019, 4, 1), by=world.secretary, member=m, to_branch=world.branch2
        )
        transfer_issue_letter(transfer=t, by=world.secretary, on=D(2019, 4, 2))
        make_member(world.office, village=world.village2, name=f"Cán bộ {i}", is_commune_cadre=True)
        make_member(
            world.office, village=make_village(world.commune, f"Bản {i}"), name=f"Chưa có {i}"
        )


def count_queries(client, url, django_assert_max_num_queries, params=None):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, params or {})
    assert response.status_code == 200
    return len(ctx.captured_queries)


PAGES = [
    ("transfers:list", None),
    ("transfers:detail", "transfer"),
    ("transfers:letter", "transfer"),
    ("transfers:start", "member"),
    ("transfers:incoming", None),
    ("transfers:dissolution_choose", None),
    ("transfers:dissolution_plan", "office"),
    ("transfers:policy_report", None),
]


@pytest.mark.parametrize("name, arg", PAGES)
def test_pages_take_a_fixed_number_of_queries(
    world, login, transfer, name, arg, django_assert_num_queries
):
    client = login(world.district)
    args = {
        "transfer": [transfer.pk],
        "member": [world.cadre.pk],
        "office": [world.office.pk],
        None: [],
    }[arg]
    url = reverse(name, args=args)
    before = count_queries(client, url, None)
    grow(world, 4)
    with django_assert_num_queries(before):
        assert client.get(url).status_code == 200


def test_review_and_detail_pages_take_a_fixed_number_of_queries(
    world, login, django_assert_num_queries
):
    client = login(world.district)
    homeless = make_member(
        world.office, village=make_village(world.commune, "Bản Chang"), name="Bàn Văn Sinh"
    )
    url = reverse("transfers:dissolution_plan", args=[world.office.pk])
    params = {
        "review": "1",
        "decision": "1",
        "on": "2019-04-01",
        f"assign-{homeless.pk}": world.branch2.pk,
    }
    before = count_queries(client, url, None, params)
    more = [
        make_member(world.office, village=make_village(world.commune, f"Bản {i}"), name=f"X {i}")
        for i in range(3)
    ]
    params.update({f"assign-{m.pk}": world.branch2.pk for m in more})
    with django_assert_num_queries(before):
        assert "Confirm the dissolution" in client.get(url, params).text
    batch = branch_dissolve(
        branch=world.office,
        decision="1",
        on=APRIL,
        by=world.district,
        assignments={m.pk: world.branch2 for m in [homeless, *more]},
    )
    detail = reverse("transfers:dissolution_detail", args=[batch.pk])
    with django_assert_num_queries(count_queries(client, detail, None)):
        client.get(detail)


def test_pages_speak_vietnamese_by_default(world, login, transfer, settings):
    settings.LANGUAGE_CODE = "vi"
    page = login(world.secretary).get(reverse("transfers:detail", args=[transfer.pk])).text
    assert "Ghi nhận tiếp nhận" in page and "Cấp giấy giới thiệu" not in page


def test_admin_shows_transfers_and_dissolutions_read_only(world, login, transfer, batch):
    client = login(world.admin)
    for url in (
        reverse("admin:members_transfer_changelist"),
        reverse("admin:members_transfer_change", args=[transfer.pk]),
        reverse("admin:members_dissolutionbatch_changelist"),
        reverse("admin:members_dissolutionbatch_change", args=[batch.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 200, url
    page = client.get(reverse("admin:members_dissolutionbatch_change", args=[batch.pk])).text
    assert "Lý Thị Huyền" in page and "15-QĐ/ĐU" in page
    assert client.get(reverse("admin:members_dissolutionbatch_add")).status_code == 403


def test_incoming_form_refuses_a_malformed_citizen_id(world, login):
    response = login(world.secretary).post(
        reverse("transfers:incoming"),
        {
            "to_branch": world.branch2.pk,
            "other_organisation": "Đảng bộ xã Cao Kỳ",
            "requested_on": "2019-04-01",
            "citizen_id": "00608000123X",
            "full_name": "Hà Thị Lan",
            "gender": "female",
            "birth_date": "1990-02-03",
            "ethnicity": "Tày",
            "residence_village": world.village2.pk,
            "admitted_on": "2015-03-03",
        },
    )
    assert response.status_code == 200 and "12 digits" in response.text
    assert not Transfer.objects.exists()


def test_the_review_page_reads_the_plan_once(world, login):
    """The plan (the branch's memberships and the village branches) is read once per
    request: the choices in the form are applied to it without reading it again."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = login(world.district)
    homeless = make_member(
        world.office, village=make_village(world.commune, "Bản Chang"), name="Bàn Văn Sinh"
    )
    url = reverse("transfers:dissolution_plan", args=[world.office.pk])
    params = {
        "review": "1",
        "decision": "1",
        "on": "2019-04-01",
        f"assign-{homeless.pk}": world.branch2.pk,
    }
    with CaptureQueriesContext(connection) as ctx:
        assert "Confirm the dissolution" in client.get(url, params).text
    plan_reads = [q["sql"] for q in ctx.captured_queries if 'FROM "members_membership"' in q["sql"]]
    assert len(plan_reads) == 1, plan_reads
