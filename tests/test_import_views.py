"""Web import (upload -> preview -> confirm) and the member list exports, per role."""

import csv
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import load_workbook

from branches.models import Branch, BranchKind
from members.io.read import HEADERS
from members.models import Member, Membership
from tests.conftest import make_member

MEMBER_HEADER = ",".join(HEADERS["members"])


@pytest.fixture(autouse=True)
def plain_static_storage(settings):
    # Tests run with DEBUG off and no collectstatic: the manifest storage has no
    # manifest to read, so pages are rendered with plain static URLs.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


def member_csv(rows) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADERS["members"])
    writer.writerows(rows)
    return buffer.getvalue().encode()


def new_member_row(village, branch, citizen_id="006190000001", name="Triệu Thị Mây"):
    return [
        citizen_id,
        name,
        "Nữ",
        "03/02/1990",
        "Dao",
        village.code,
        "",
        "không",
        "2015-06-01",
        "2016-06-01",
        "",
        branch.code,
        "",
    ]


def upload(client, content: bytes, kind="members", name="members.csv"):
    """Upload and follow to the import's page. The tests run tasks at once
    (tests/testenv.py), so the page is already the preview."""
    file = io.BytesIO(content)
    file.name = name
    return client.post(reverse("members:import"), {"kind": kind, "file": file}, follow=True)


def confirm(client, token, **extra):
    return client.post(reverse("members:import_confirm"), {"token": token, **extra}, follow=True)


def exported_rows(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(body)))


# --- Import page: who may use it ---


@pytest.mark.parametrize(
    "role, status",
    [
        ("admin", 200),
        ("district", 200),
        ("secretary", 200),
        ("outsider", 200),
        ("branch_secretary", 404),
        ("nobody", 404),
    ],
)
def test_import_page_per_role(world, login, role, status):
    client = login(getattr(world, role))
    assert client.get(reverse("members:import")).status_code == status
    confirm = client.post(reverse("members:import_confirm"), {"token": "x"})
    assert confirm.status_code == (302 if status == 200 else 404)


def test_import_pages_send_anonymous_users_to_login(world, login):
    client = login(None)
    for url in (
        reverse("members:import"),
        reverse("members:export_csv"),
        reverse("members:export_xlsx"),
    ):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    response = client.post(reverse("members:import_confirm"))
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


# --- Upload -> preview -> confirm ---


def test_secretary_previews_then_confirms_an_import(world, login):
    client = login(world.secretary)
    changed = [
        world.member.citizen_id,
        "Hoàng Văn Mạnh",
        "male",
        "1980-01-01",
        "Tày",
        world.branch.village.code,
        "Trưởng thôn",
        "no",
        "2005-05-19",
        "2006-05-19",
        "",
        world.branch.code,
        "",
    ]
    response = upload(client, member_csv([new_member_row(world.village, world.branch), changed]))
    assert response.status_code == 200
    assert response.context["counts"] == {"created": 1, "updated": 1, "unchanged": 0}
    page = response.content.decode()
    assert "Triệu Thị Mây" in page
    assert "chức vụ" in page  # the changed field, named in Vietnamese
    # Nothing is written by the preview.
    assert not Member.objects.filter(citizen_id="006190000001").exists()

    token = response.context["token"]
    response = confirm(client, token)
    assert response.status_code == 200
    assert response.templates[0].name == "members/import_result.html"
    assert response.context["counts"] == {"created": 1, "updated": 1, "unchanged": 0}
    member = Member.objects.get(citizen_id="006190000001")
    assert member.branch == world.branch
    assert Membership.objects.filter(member=member, branch=world.branch).exists()
    world.member.refresh_from_db()
    assert world.member.position == "Trưởng thôn"
    # Who imported is kept in the history of both rows.
    assert member.history.get().history_user == world.secretary
    assert world.member.history.latest().history_user == world.secretary

    # Confirming twice writes nothing more: the upload is gone.
    again = client.post(reverse("members:import_confirm"), {"token": token})
    assert again.status_code == 302
    assert Member.objects.filter(citizen_id="006190000001").count() == 1


def test_preview_lists_every_row_error_and_offers_no_confirm(world, login):
    client = login(world.secretary)
    rows = [
        new_member_row(world.village, world.branch, citizen_id="123"),
        new_member_row(world.other_village, world.other_branch, citizen_id="006190000002"),
    ]
    response = upload(client, member_csv(rows))
    errors = {(e.row, e.column) for e in response.context["plan"].errors}
    # Row 3 is for another commune's village and branch: row errors for a commune secretary.
    assert errors == {(2, "citizen_id"), (3, "residence_village_code"), (3, "branch_code")}
    assert response.context["token"] is None
    assert reverse("members:import_confirm") not in response.content.decode()
    assert Member.objects.count() == 3


def test_district_officer_may_import_any_commune(world, login):
    client = login(world.district)
    response = upload(client, member_csv([new_member_row(world.other_village, world.other_branch)]))
    assert response.context["plan"].errors == []
    confirm(client, response.context["token"])
    assert Member.objects.get(citizen_id="006190000001").branch == world.other_branch


def test_confirm_revalidates_the_file(world, login):
    client = login(world.secretary)
    response = upload(client, member_csv([new_member_row(world.village, world.branch)]))
    # Meanwhile someone registers the same citizen ID in another branch.
    make_member(world.branch2, citizen_id="006190000001", name="Người Khác")
    response = confirm(client, response.context["token"])
    assert response.context["plan"].errors
    assert Member.objects.filter(citizen_id="006190000001").get().full_name == "Người Khác"


def test_upload_of_a_file_that_is_not_a_spreadsheet_is_an_error_not_a_crash(world, login):
    client = login(world.secretary)
    for content, name in [
        (bytes(range(256)) * 8, "members.csv"),
        (b"PK\x03\x04broken", "members.xlsx"),
    ]:
        response = upload(client, content, name=name)
        assert response.status_code == 200
        assert response.context["plan"].errors[0].column == "file"


def test_upload_of_unicode_text_from_excel_is_read(world, login):
    # Excel's "Unicode text": UTF-16 with a BOM, tab-separated (issue 15).
    client = login(world.secretary)
    text = member_csv([new_member_row(world.village, world.branch)]).decode().replace(",", "\t")
    response = upload(client, text.encode("utf-16"), name="members.txt")
    assert response.status_code == 200
    assert not response.context["plan"].errors and response.context["plan"].count("create") == 1


def test_upload_over_the_size_limit_is_a_form_error(world, login, settings):
    settings.IMPORT_MAX_BYTES = 50
    client = login(world.secretary)
    response = upload(client, member_csv([new_member_row(world.village, world.branch)]))
    assert response.status_code == 200
    assert response.context["form"].errors["file"]


def test_secretary_cannot_import_communes_or_branches_elsewhere(world, login):
    client = login(world.secretary)
    response = upload(
        client, b"code,name\n01999,X\xc3\xa3 M\xe1\xbb\x9bi\n", kind="communes", name="c.csv"
    )
    assert response.context["plan"].errors[0].column == "code"
    body = f"commune_code,code,name,kind,village_code,founded_on\n{world.other_commune.code},B-X,Chi bộ X,school,,2000-01-01\n"
    response = upload(client, body.encode(), kind="branches", name="b.csv")
    assert response.context["plan"].errors[0].column == "commune_code"
    assert not Branch.objects.filter(code="B-X").exists()


def test_preview_has_a_fixed_number_of_queries(world, login, django_assert_num_queries):
    client = login(world.district)
    small = member_csv([new_member_row(world.village, world.branch)])
    big = member_csv(
        [
            new_member_row(world.village, world.branch, citizen_id=f"0061900000{n:02d}")
            for n in range(1, 40)
        ]
    )
    with CaptureQueriesContext(connection) as one:
        upload(client, small)
    with CaptureQueriesContext(connection) as many:
        upload(client, big)
    assert len(one.captured_queries) == len(many.captured_queries)


# --- Exports ---


def test_export_csv_per_role(world, login):
    expected = {
        "admin": {world.member, world.cadre, world.other_member},
        "district": {world.member, world.cadre, world.other_member},
        "secretary": {world.member, world.cadre},
        "branch_secretary": {world.member},
        "outsider": {world.other_member},
    }
    for role, members in expected.items():
        response = login(getattr(world, role)).get(reverse("members:export_csv"))
        assert response.status_code == 200, role
        assert response["Content-Type"].startswith("text/csv")
        rows = exported_rows(response)
        assert rows[0] == HEADERS["members"]
        assert {r[0] for r in rows[1:]} == {m.citizen_id for m in members}, role
    assert login(world.nobody).get(reverse("members:export_csv")).status_code == 404


def test_export_never_leaks_another_commune_even_when_asked(world, login):
    client = login(world.secretary)
    response = client.get(reverse("members:export_csv"), {"commune": world.other_commune.code})
    # Another commune's code is a filter error: the export is empty, not the other commune.
    assert exported_rows(response) == [HEADERS["members"]]
    response = client.get(reverse("members:export_csv"), {"branch": world.other_branch.pk})
    assert exported_rows(response) == [HEADERS["members"]]
    response = client.get(reverse("members:export_xlsx"), {"commune": world.other_commune.code})
    sheet = load_workbook(io.BytesIO(response.content), read_only=True).worksheets[0]
    assert [[c.value for c in row] for row in sheet.iter_rows()] == [HEADERS["members"]]


def test_export_follows_the_list_filters(world, login):
    client = login(world.district)
    rows = exported_rows(client.get(reverse("members:export_csv"), {"cadre": "yes"}))
    assert [r[1] for r in rows[1:]] == ["Lý Thị Huyền"]
    rows = exported_rows(client.get(reverse("members:export_csv"), {"q": "ly thi huyen"}))
    assert [r[1] for r in rows[1:]] == ["Lý Thị Huyền"]
    rows = exported_rows(
        client.get(reverse("members:export_csv"), {"commune": world.other_commune.code})
    )
    assert [r[1] for r in rows[1:]] == ["Triệu Văn Páo"]


def test_export_xlsx_has_the_registry_columns_and_imports_back(world, login):
    response = login(world.secretary).get(reverse("members:export_xlsx"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(response.content), read_only=True).worksheets[0]
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert rows[0] == HEADERS["members"]
    cadre = next(r for r in rows if r[1] == "Lý Thị Huyền")
    assert (
        cadre[0] == world.cadre.citizen_id and cadre[7] == "yes" and cadre[11] == world.office.code
    )
    # Re-importing the export changes nothing.
    preview = upload(login(world.secretary), response.content, name="export.xlsx")
    assert preview.context["counts"] == {"created": 0, "updated": 0, "unchanged": 2}


def test_export_has_a_fixed_number_of_queries(world, login, django_assert_num_queries):
    client = login(world.district)
    client.get(reverse("members:export_csv"))  # warm the session
    for n in range(10):
        make_member(world.branch, name=f"Nông Văn Số {n}")
    # session, user, role; the sliding session's save (savepoint, update, release);
    # whether the district holds every commune (Scope.sees_all); the members: one
    # query, whatever their number; the read log's entry; the district, whose name
    # the file bears (a commune filtered on needs none: the filter has read it).
    with django_assert_num_queries(10):
        exported = exported_rows(client.get(reverse("members:export_csv")))
    assert len(exported) == 14
    with django_assert_num_queries(10):  # + the commune filter's lookup
        client.get(reverse("members:export_xlsx"), {"commune": world.commune.code})


# --- The admin's "add member" ---


def test_admin_adds_a_member_through_member_create(world, login):
    client = login(world.admin)
    assert client.get(reverse("admin:members_member_add")).status_code == 200
    response = client.post(
        reverse("admin:members_member_add"),
        {
            "citizen_id": "006190000077",
            "full_name": "Lương Văn Mới",
            "gender": "male",
            "birth_date": "1991-01-01",
            "ethnicity": "Tày",
            "residence_village": world.village.pk,
            "position": "",
            "admitted_on": "2016-01-01",
            "full_on": "",
            "card_number": "",
            "branch": world.branch.pk,
            "since": "",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    member = Member.objects.get(citizen_id="006190000077")
    assert member.branch == world.branch and member.folded_name == "luong van moi"
    assert Membership.objects.get(member=member).started_on.isoformat() == "2016-01-01"


def test_admin_add_member_refuses_a_start_before_admission(world, login):
    client = login(world.admin)
    response = client.post(
        reverse("admin:members_member_add"),
        {
            "citizen_id": "006190000078",
            "full_name": "Lương Văn Sớm",
            "gender": "male",
            "birth_date": "1991-01-01",
            "ethnicity": "Tày",
            "residence_village": world.village.pk,
            "admitted_on": "2016-01-01",
            "branch": world.office.pk,
            "since": "2015-01-01",
        },
    )
    assert response.status_code == 200
    assert not Member.objects.filter(citizen_id="006190000078").exists()
    assert Branch.objects.filter(kind=BranchKind.COMMUNE_OFFICE).exists()


@pytest.mark.parametrize(
    "role, expected",
    [
        ("admin", {"member", "cadre", "other_member"}),
        ("district", {"member", "cadre", "other_member"}),
        ("secretary", {"member", "cadre"}),
        ("branch_secretary", {"member"}),
        ("outsider", {"other_member"}),
    ],
)
def test_export_xlsx_per_role(world, login, role, expected):
    response = login(getattr(world, role)).get(reverse("members:export_xlsx"))
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content), read_only=True).worksheets[0]
    citizen_ids = {row[0].value for row in sheet.iter_rows(min_row=2)}
    assert citizen_ids == {getattr(world, name).citizen_id for name in expected}


def test_export_xlsx_is_404_without_a_role(world, login):
    assert login(world.nobody).get(reverse("members:export_xlsx")).status_code == 404


def test_import_page_has_a_fixed_number_of_queries(world, login, django_assert_num_queries):
    client = login(world.secretary)
    client.get(reverse("members:import"))
    # session, user, role; the sliding session's save (savepoint, update, release).
    with django_assert_num_queries(6):
        assert client.get(reverse("members:import")).status_code == 200


# --- The admin's change forms check the version like the registry's own ---


def _admin_post_data(form) -> dict:
    values = {name: form[name].value() for name in form.fields}
    return {name: "" if value is None else value for name, value in values.items()}


def test_the_admin_does_not_save_over_a_change_made_since_it_opened(world, login):
    from pacnam.lib.versioning import save_if_unchanged

    client = login(world.admin)
    url = reverse("admin:branches_village_change", args=[world.village.pk])
    opened = _admin_post_data(client.get(url).context["adminform"].form)
    assert opened["opened_version"] == world.village.version
    # A commune secretary saves the village on the registry's page meanwhile.
    village = type(world.village).objects.get(pk=world.village.pk)
    village.households = 61
    save_if_unchanged(village, expected_version=village.version)
    response = client.post(url, {**opened, "households": 99})
    assert response.status_code == 200
    assert "Có người khác đã lưu hồ sơ này" in response.text  # "Someone else saved this record"
    village.refresh_from_db()
    assert village.households == 61
    # Reopened, the administrator's save goes through and bumps the version.
    reopened = _admin_post_data(client.get(url).context["adminform"].form)
    assert client.post(url, {**reopened, "households": 99}).status_code == 302
    village.refresh_from_db()
    assert (village.households, village.version) == (99, reopened["opened_version"] + 1)


def test_the_admin_saves_a_member_and_bumps_its_version(world, login):
    client = login(world.admin)
    url = reverse("admin:members_member_change", args=[world.member.pk])
    page = client.get(url).context
    data = _admin_post_data(page["adminform"].form)
    for inline in page["inline_admin_formsets"]:
        formset = inline.formset
        data.update(
            {
                f"{formset.prefix}-{k}": v
                for k, v in _admin_post_data(formset.management_form).items()
            }
        )
        for form in formset.forms:
            data.update({f"{form.prefix}-{k}": v for k, v in _admin_post_data(form).items()})
    data["position"] = "Trưởng thôn"
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    world.member.refresh_from_db()
    assert (world.member.position, world.member.version) == (
        "Trưởng thôn",
        data["opened_version"] + 1,
    )
