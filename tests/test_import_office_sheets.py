"""The sheets an office already has, imported through the web with only the columns
that identify and place a member: Họ và tên, Ngày sinh, Giới tính, Số CCCD, Chi bộ
(the branch by its name). Each file is made here the way LibreOffice, Excel and a
Vietnamese Windows write it; each goes through the upload page, its preview and
its confirmation, all rows or none."""

import datetime
import io

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import Workbook

from branches.models import BranchKind
from members.models import ImportJob, Member
from tests.conftest import make_branch, make_member
from tests.test_import_offices import cp1258

D = datetime.date


@pytest.fixture(autouse=True)
def plain_static_storage(settings):
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture
def office(world):
    """Two members of Cao Tân with real IDs (a province code, zeros in front)."""
    world.huong = make_member(
        world.branch,
        name="Nông Thị Hương",
        gender="female",
        citizen_id="006182339563",
        birth_date=D(1975, 2, 3),
    )
    world.tu = make_member(
        world.branch2, name="Hoàng Văn Tú", citizen_id="006085001234", birth_date=D(1980, 7, 9)
    )
    return world


def post(client, data: bytes, name: str):
    file = io.BytesIO(data)
    file.name = name
    # Tasks run at once in the tests (tests/testenv.py): the answer is the preview.
    return client.post(reverse("members:import"), {"kind": "members", "file": file}, follow=True)


def confirm(client, response):
    job = ImportJob.objects.latest("created_at")
    assert job.status == "checked", job.summary.get("errors")
    return client.post(reverse("members:import_confirm"), {"token": job.pk}, follow=True)


def xlsx(build) -> bytes:
    book = Workbook()
    build(book.active)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def libreoffice_sheet(world) -> bytes:
    """LibreOffice: the header on row 1, dates as date cells, the IDs typed as
    numbers (their zeros gone), the branch by its name as the office writes it."""

    def build(sheet):
        sheet.title = "Sheet1"
        sheet.append(["Họ và tên", "Ngày sinh", "Giới tính", "Số CCCD", "Chi bộ"])
        sheet.append(["Nông Thị Hương", datetime.datetime(1975, 2, 4), "Nữ", 6182339563, "Cốc Lải"])
        sheet.append(
            ["Hoàng Văn Tú", datetime.datetime(1980, 7, 9), "Nam", 6085001234, "Thôn Nà Khâu"]
        )
        for row in sheet.iter_rows(min_row=2, min_col=2, max_col=2):
            row[0].number_format = "DD/MM/YYYY"

    return xlsx(build)


def excel_sheet(world) -> bytes:
    """Excel: merged title rows, an STT column, the header on row 4, a total row
    and a signature line at the end."""

    def build(sheet):
        sheet.title = "Danh sách"
        sheet.append(["ĐẢNG BỘ XÃ CAO TÂN"])
        sheet.merge_cells("A1:F1")
        sheet.append(["DANH SÁCH ĐẢNG VIÊN NĂM 2026"])
        sheet.merge_cells("A2:F2")
        sheet.append([])
        sheet.append(["STT", "Họ và tên", "Ngày sinh", "Giới tính", "Số CCCD", "Chi bộ"])
        sheet.append(
            [1, "Nông Thị Hương", "03/02/1975", "Nữ", "006182339563", "Chi bộ thôn Cốc Lải"]
        )
        sheet.append([2, "Hoàng Văn Tú", "10/07/1980", "Nam", 6085001234, "Chi bộ thôn Nà Khâu"])
        sheet.append(["Tổng cộng: 2 đồng chí"])
        sheet.merge_cells("A7:F7")
        sheet.append(["", "", "", "", "", "", "Người lập biểu"])

    return xlsx(build)


def windows_csv(world) -> bytes:
    """Excel's "CSV" on a Vietnamese Windows: Windows-1258 (tone marks written apart),
    semicolons, the IDs without their zeros."""
    text = (
        "Họ và tên;Ngày sinh;Giới tính;Số CCCD;Chi bộ\r\n"
        "Nông Thị Hương;03/02/1976;Nữ;6182339563;Chi bộ thôn Cốc Lải\r\n"
        "Hoàng Văn Tú;09/07/1980;Nam;6085001234;Chi bộ thôn Nà Khâu\r\n"
    )
    return cp1258(text)


SHEETS = {
    "libreoffice.xlsx": (libreoffice_sheet, D(1975, 2, 4), D(1980, 7, 9)),
    "excel.xlsx": (excel_sheet, D(1975, 2, 3), D(1980, 7, 10)),
    "windows.csv": (windows_csv, D(1976, 2, 3), D(1980, 7, 9)),
}


@pytest.mark.parametrize("name", SHEETS)
def test_an_office_sheet_with_only_the_needed_columns_imports_through_the_web(office, login, name):
    build, huong_born, tu_born = SHEETS[name]
    client = login(office.secretary)
    preview = post(client, build(office), name)
    html = preview.content.decode()
    assert preview.status_code == 200
    # The columns found, and those the file lacks (kept as in the registry).
    assert "<dd>Họ và tên, Ngày sinh, Giới tính, Số CCCD, Chi bộ</dd>" in html, html
    assert "Dân tộc" in html and "Ngày vào Đảng" in html
    if name == "excel.xlsx":
        assert "STT" in html  # left out
        assert "a total row" in html or "dòng tổng cộng" in html
    done = confirm(client, preview)
    assert "Nhập xong" in done.content.decode() or done.status_code == 200
    huong, tu = (Member.objects.get(pk=m.pk) for m in (office.huong, office.tu))
    assert (huong.birth_date, tu.birth_date) == (huong_born, tu_born)
    # Every other field kept: the file had no column for it.
    assert (huong.ethnicity, huong.admitted_on, huong.branch_id) == (
        "Tày",
        D(2005, 5, 19),
        office.branch.pk,
    )
    assert tu.branch_id == office.branch2.pk


def test_one_bad_row_refuses_the_whole_sheet_naming_the_files_column_and_row(office, login):
    def build(sheet):
        sheet.append(["DANH SÁCH ĐẢNG VIÊN"])
        sheet.merge_cells("A1:E1")
        sheet.append(["Họ tên", "Ngày sinh", "Giới tính", "CCCD", "Tên chi bộ"])
        sheet.append(["Nông Thị Hương", "04/02/1975", "Nữ", "006182339563", "Cốc Lải"])
        sheet.append(["Hoàng Văn Tú", "31/02/1980", "Nam", "006085001234", "Nà Khâu"])

    client = login(office.secretary)
    html = post(client, xlsx(build), "sheet.xlsx").content.decode()
    assert ImportJob.objects.latest("created_at").status == "refused"
    # Row 4 as the sheet shows it; the column as the file titles it, and the registry.
    assert '<td class="num">4</td><td>Ngày sinh</td>' in html, html
    assert Member.objects.get(pk=office.huong.pk).birth_date == D(1975, 2, 3)  # nothing written


def _sheet(rows) -> bytes:
    def build(sheet):
        sheet.append(["Họ và tên", "Ngày sinh", "Giới tính", "Số CCCD", "Chi bộ"])
        for row in rows:
            sheet.append(row)

    return xlsx(build)


def test_a_branch_name_borne_twice_is_refused_with_the_candidates(office, login):
    make_branch(office.commune, kind=BranchKind.SCHOOL, name="Chi bộ Cốc Lải")
    client = login(office.secretary)
    html = post(
        client,
        _sheet([["Nông Thị Hương", "03/02/1975", "Nữ", "006182339563", "Cốc Lải"]]),
        "a.xlsx",
    ).content.decode()
    assert "Chi bộ thôn Cốc Lải" in html and "Chi bộ Cốc Lải" in html
    assert office.branch.code in html
    assert ImportJob.objects.latest("created_at").status == "refused"


def test_an_unknown_branch_name_lists_near_ones_of_the_users_communes_only(office, login):
    client = login(office.secretary)
    rows = [
        ["Nông Thị Hương", "03/02/1975", "Nữ", "006182339563", "Cốc Lả"],
        # Khâu Slôm is Giáo Hiệu's: to Cao Tân's secretary it is no branch at all.
        ["Hoàng Văn Tú", "09/07/1980", "Nam", "006085001234", "Khâu Slôm"],
    ]
    html = post(client, _sheet(rows), "u.xlsx").content.decode()
    assert "Chi bộ thôn Cốc Lải" in html  # the near one, offered
    assert "Chi bộ thôn Khâu Slôm" not in html and office.other_branch.code not in html


def test_a_new_member_needs_the_admission_date_and_says_so(office, login):
    client = login(office.secretary)
    rows = [["Lường Thị Mai", "03/02/1995", "Nữ", "006195000111", "Cốc Lải"]]
    html = post(client, _sheet(rows), "n.xlsx").content.decode()
    assert "Ngày vào Đảng" in html and "Dân tộc" in html
    assert not Member.objects.filter(citizen_id="006195000111").exists()


def test_a_new_member_with_admission_and_ethnicity_lives_in_the_branchs_village(office, login):
    def build(sheet):
        sheet.append(
            ["Họ và tên", "Ngày sinh", "Giới tính", "Số CCCD", "Chi bộ", "Dân tộc", "Ngày vào Đảng"]
        )
        sheet.append(
            ["Lường Thị Mai", "03/02/1995", "Nữ", 6195000111, "Cốc Lải", "Tày", "19/05/2020"]
        )

    client = login(office.secretary)
    preview = post(client, xlsx(build), "n.xlsx")
    assert "Cốc Lải" in preview.content.decode()
    confirm(client, preview)
    mai = Member.objects.get(citizen_id="006195000111")
    assert (mai.branch_id, mai.residence_village_id) == (office.branch.pk, office.village.pk)
    assert mai.admitted_on == D(2020, 5, 19) and mai.full_on is None


def test_a_cp1252_csv_is_read_and_its_lost_letters_refused(office, login):
    # A Western Windows wrote the list: "?" where its code page has no Vietnamese
    # letter, and "Š" (a byte Windows-1258 has no letter for) in a note.
    text = (
        "Ho va ten;Ngay sinh;Gioi tinh;So CCCD;Chi bo;Ghi chú\r\n"
        "N?ng Th? H??ng;03/02/1975;N?;006182339563;Cốc Lải;Š\r\n"
    )
    data = text.replace("ố", "?").replace("ả", "?").encode("cp1252")
    client = login(office.secretary)
    html = post(client, data, "western.csv").content.decode()
    job = ImportJob.objects.latest("created_at")
    assert job.status == "refused"
    assert "<td>Họ và tên</td>" in html
    assert Member.objects.get(pk=office.huong.pk).full_name == "Nông Thị Hương"


# --- Exports: one for people, one for machines -----------------------------------------


def _workbook(response):
    from openpyxl import load_workbook

    return load_workbook(io.BytesIO(response.content)).worksheets[0]


def test_the_peoples_export_speaks_vietnamese_with_dates_and_names(office, login):
    Member.objects.filter(pk=office.cadre.pk).update(is_commune_cadre=True)
    client = login(office.secretary)
    response = client.get(reverse("members:export_xlsx"), {"titles": "vi"})
    assert response.status_code == 200
    today = timezone.localdate().isoformat()
    assert f'filename="dang-vien-cao-tan-{today}.xlsx"' in response["Content-Disposition"]
    sheet = _workbook(response)
    rows = list(sheet.iter_rows(values_only=True))
    header = list(rows[0])
    assert header[:4] == ["Số CCCD", "Họ và tên", "Giới tính", "Ngày sinh"]
    assert {"Chi bộ", "Mã chi bộ", "Xã", "Mã xã", "Thôn cư trú"} <= set(header)
    by_name = {row[1]: dict(zip(header, row, strict=True)) for row in rows[1:]}
    huong = by_name["Nông Thị Hương"]
    assert (huong["Giới tính"], huong["Cán bộ xã"]) == ("Nữ", "Không")
    assert by_name["Lý Thị Huyền"]["Cán bộ xã"] == "Có"
    assert huong["Số CCCD"] == "006182339563"  # text: its zeros kept
    assert huong["Chi bộ"] == "Chi bộ thôn Cốc Lải" and huong["Xã"] == "Cao Tân"
    assert huong["Ngày sinh"].date() == D(1975, 2, 3)  # a date cell, shown dd/mm/yyyy
    date_cell = sheet.cell(row=2, column=header.index("Ngày sinh") + 1)
    assert date_cell.is_date and date_cell.number_format == "DD/MM/YYYY"


def test_the_peoples_export_reimports_unchanged(office, login):
    client = login(office.secretary)
    content = client.get(reverse("members:export_xlsx"), {"titles": "vi"}).content
    preview = post(client, content, "dang-vien.xlsx")
    assert preview.context["counts"] == {"created": 0, "updated": 0, "unchanged": 4}, (
        ImportJob.objects.latest("created_at").summary.get("errors")
    )
    html = preview.content.decode()
    assert "Thôn cư trú, Mã xã, Xã" in html  # left out: the codes say which


def test_the_machine_exports_keep_their_contract_under_another_name(office, login):
    from members.io.read import HEADERS

    client = login(office.secretary)
    response = client.get(reverse("members:export_xlsx"))
    today = timezone.localdate().isoformat()
    assert f'filename="du-lieu-dang-vien-cao-tan-{today}.xlsx"' in response["Content-Disposition"]
    rows = list(_workbook(response).iter_rows(values_only=True))
    assert list(rows[0]) == HEADERS["members"]
    huong = next(row for row in rows if row[1] == "Nông Thị Hương")
    assert (huong[2], huong[3], huong[7]) == ("female", "1975-02-03", "no")
    csv_response = client.get(reverse("members:export_csv"))
    assert f"du-lieu-dang-vien-cao-tan-{today}.csv" in csv_response["Content-Disposition"]


@pytest.mark.parametrize(
    "role, place",
    [
        ("admin", "tat-ca"),
        ("district", "pac-nam"),
        ("province", "bac-kan"),
        ("secretary", "cao-tan"),
        ("outsider", "giao-hieu"),
        ("branch_secretary", "chi-bo-thon-coc-lai"),
    ],
)
def test_the_peoples_export_per_role_is_named_for_what_it_covers(office, login, role, place):
    response = login(getattr(office, role)).get(reverse("members:export_xlsx"), {"titles": "vi"})
    assert response.status_code == 200
    assert f'filename="dang-vien-{place}-' in response["Content-Disposition"]


def test_the_peoples_export_is_404_without_a_role(office, login):
    assert (
        login(office.nobody).get(reverse("members:export_xlsx"), {"titles": "vi"}).status_code
        == 404
    )


def test_the_peoples_export_has_a_fixed_number_of_queries(office, login, django_assert_num_queries):
    client = login(office.secretary)
    client.get(reverse("members:export_csv"))  # warm the session
    for n in range(10):
        make_member(office.branch, name=f"Nông Văn Số {n}")
    # session, user, role; the sliding session's save (savepoint, update, release);
    # the branches the commune has held (the scope); the commune for the file's
    # name; the members: one query, whatever their number; the read log's entry.
    with django_assert_num_queries(10):
        client.get(reverse("members:export_xlsx"), {"titles": "vi"})


def test_a_sheet_lacking_a_needed_column_says_so_in_vietnamese_by_its_title(office, login):
    def build(sheet):
        sheet.append(["Họ và tên", "Ngày sinh", "Số CCCD", "Chi bộ"])
        sheet.append(["Nông Thị Hương", "03/02/1975", "006182339563", "Cốc Lải"])

    html = post(login(office.secretary), xlsx(build), "thieu.xlsx").content.decode()
    assert "<td>dòng tiêu đề cột</td>" in html
    assert "Tệp cần có các cột" in html and "còn thiếu" not in html.split("Tệp cần có")[0]
    assert "Giới tính (gender)" in html


@pytest.mark.parametrize("role", ["admin", "district", "secretary", "outsider"])
def test_each_role_that_imports_sees_the_columns_it_needs(office, login, role):
    html = login(getattr(office, role)).get(reverse("members:import")).content.decode()
    assert "branch_name" in html and "Chi bộ" in html
