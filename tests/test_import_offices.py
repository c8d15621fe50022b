"""Issue 15: the files district offices really have, imported exactly or refused whole.

Each kind of file is built here, the way Excel and LibreOffice write it, from one
canonical list; after `registry_import members` the export must give back exactly
that list. Garbled files are refused with their row numbers and nothing written.
"""

import csv
import datetime
import io
import unicodedata

import pytest
from django.core.management import CommandError, call_command
from openpyxl import Workbook, load_workbook

from branches.models import BranchKind, Commune, Province, Village
from members.io.read import HEADERS, TITLES, vietnamese_header
from members.io.validate import validate_table
from members.models import Member
from tests.conftest import make_branch, make_member, make_village

D = datetime.date
KEYS = HEADERS["members"]


def run_import(kind, path, *args):
    """(exit status, stdout lines, stderr lines) of registry_import."""
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("registry_import", kind, str(path), *args, stdout=out, stderr=err)
        status = 0
    except CommandError as exc:
        err.write(str(exc) + "\n")
        status = 1
    lines = lambda text: [line for line in text.splitlines() if line]  # noqa: E731
    return status, lines(out.getvalue()), lines(err.getvalue())


def export_members(commune) -> list[list[str]]:
    out = io.StringIO()
    call_command("registry_export", "members", "--commune", commune.code, stdout=out)
    return list(csv.reader(io.StringIO(out.getvalue())))


def snapshot():
    return (
        Member.objects.count(),
        list(
            Member.objects.order_by("pk").values_list(
                "full_name", "position", "ethnicity", "version"
            )
        ),
    )


# --- One canonical list, many files --------------------------------------------------


def canonical(world) -> list[dict]:
    """Three new members as the export writes them. Every citizen ID begins with
    zeros, as real ones do (the province code, 001 to 096)."""
    common = {"residence_village_code": world.village.code, "branch_code": world.branch.code}
    return [
        {
            **common,
            "citizen_id": "006182339563",
            "full_name": "Nguyễn Thị Ước",
            "gender": "female",
            "birth_date": "1990-02-03",
            "ethnicity": "Tày",
            "position": "Trưởng thôn",
            "is_commune_cadre": "no",
            "admitted_on": "2015-06-01",
            "full_on": "2016-06-01",
            "card_number": "61023456",
            "since": "2015-06-01",
        },
        {
            **common,
            "citizen_id": "001190000002",
            "full_name": "Đặng Văn Ðức",
            "gender": "male",
            "birth_date": "1985-12-31",
            "ethnicity": "Dao",
            "position": "",
            "is_commune_cadre": "yes",
            "admitted_on": "2010-01-15",
            "full_on": "2011-01-15",
            "card_number": "",
            "since": "2012-03-04",
        },
        {
            **common,
            "citizen_id": "096190000003",
            "full_name": "Hà Thị Slay",
            "gender": "female",
            "birth_date": "2000-07-08",
            "ethnicity": "Nùng",
            "position": "Phó Bí thư Đoàn xã",
            "is_commune_cadre": "no",
            "admitted_on": "2023-05-19",
            "full_on": "",
            "card_number": "",
            "since": "2023-05-19",
        },
    ]


def expected_rows(world) -> list[list[str]]:
    rows = []
    for row in canonical(world):
        row = dict(row, full_name=row["full_name"].replace("Ð", "Đ"))  # stored with the right D
        rows.append([row[key] for key in KEYS])
    return rows


def to_dmy(iso: str) -> str:
    return datetime.date.fromisoformat(iso).strftime("%d/%m/%Y") if iso else ""


def office_rows(world) -> tuple[list[str], list[list]]:
    """The list as an office keeps it: Vietnamese titles in another order, an STT and
    a notes column, dates DD/MM/YYYY, Nam/Nữ, a cross for the commune cadres."""
    order = [
        "full_name",
        "citizen_id",
        "birth_date",
        "gender",
        "ethnicity",
        "position",
        "is_commune_cadre",
        "residence_village_code",
        "branch_code",
        "admitted_on",
        "full_on",
        "card_number",
        "since",
    ]
    header = [
        "STT",
        *[
            TITLES["members"][key][0].upper() if key == "full_name" else TITLES["members"][key][0]
            for key in order
        ],
        "Ghi chú",
    ]
    rows = []
    for n, row in enumerate(canonical(world), start=1):
        values = {
            **row,
            "gender": "Nữ" if row["gender"] == "female" else "Nam",
            "is_commune_cadre": "x" if row["is_commune_cadre"] == "yes" else "",
            **{key: to_dmy(row[key]) for key in ("birth_date", "admitted_on", "full_on", "since")},
        }
        rows.append([str(n), *[values[key] for key in order], "đã kiểm tra"])
    return header, rows


def cp1258(text: str) -> bytes:
    """Windows-1258 as Excel writes it: a tone mark is a byte after its letter."""
    out = bytearray()
    for char in text.replace("Ð", "Đ"):  # the code page has no eth: its 0xD0 is Đ
        try:
            out += char.encode("cp1258")
        except UnicodeEncodeError:
            decomposed = unicodedata.normalize("NFD", char)
            tones = "".join(c for c in decomposed if c in "\u0300\u0301\u0303\u0309\u0323")
            base = unicodedata.normalize("NFC", "".join(c for c in decomposed if c not in tones))
            out += (base + tones).encode("cp1258")
    return bytes(out)


def csv_text(header, rows, delimiter=",", title_rows=()) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    for title in title_rows:
        writer.writerow([title])
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


TITLE_ROWS = ("ĐẢNG BỘ XÃ CAO TÂN", "DANH SÁCH ĐẢNG VIÊN CHI BỘ THÔN CỐC LẢI", "")


def file_export_utf8_bom(world):
    rows = [[row[key] for key in KEYS] for row in canonical(world)]
    return "members.csv", b"\xef\xbb\xbf" + csv_text(KEYS, rows).encode()


def file_windows_1258_semicolons(world):
    header, rows = office_rows(world)
    return "danh-sach.csv", cp1258(csv_text(header, rows, ";", TITLE_ROWS))


def file_utf16_tabs(world):
    header, rows = office_rows(world)
    return "danh-sach.txt", csv_text(header, rows, "\t", TITLE_ROWS).encode("utf-16")


def file_utf8_no_bom_ids_without_zeros(world):
    # Excel wrote the IDs of a number column: "6182339563", the zeros gone.
    header, rows = office_rows(world)
    for row in rows:
        row[2] = row[2].lstrip("0")
    return "danh-sach.csv", csv_text(header, rows, ",", TITLE_ROWS).encode()


def file_xlsx_numbers_second_sheet(world):
    header, rows = office_rows(world)
    book = Workbook()
    book.active.title = "Hướng dẫn"
    book.active.append(["Danh sách ở trang tính thứ hai"])
    sheet = book.create_sheet("Danh sách")
    for title in TITLE_ROWS:
        sheet.append([title])
    sheet.append(header)
    for row in rows:
        cells = list(row)
        cells[0] = int(cells[0])  # STT
        cells[2] = int(cells[2])  # the citizen ID typed as a number: 6182339563
        cells[3] = datetime.datetime.strptime(cells[3], "%d/%m/%Y")  # a date cell
        if cells[12]:
            cells[12] = int(cells[12])  # the card number as a number too
        sheet.append(cells)
    buffer = io.BytesIO()
    book.save(buffer)
    return "danh-sach.xlsx", buffer.getvalue()


FILES = {
    "the export, UTF-8 with BOM": file_export_utf8_bom,
    "Vietnamese titles, Windows-1258, semicolons, title rows": file_windows_1258_semicolons,
    "Unicode text: UTF-16, tabs": file_utf16_tabs,
    "CSV whose IDs lost their zeros": file_utf8_no_bom_ids_without_zeros,
    "XLSX: second sheet, IDs and card numbers as numbers, date cells": file_xlsx_numbers_second_sheet,
}


@pytest.mark.parametrize("name", FILES)
def test_each_kind_of_office_file_imports_and_exports_as_the_canonical_list(world, tmp_path, name):
    filename, data = FILES[name](world)
    path = tmp_path / filename
    path.write_bytes(data)
    status, out, errors = run_import("members", path)
    assert (status, errors) == (0, []), (name, errors)
    assert out[-1].startswith("3 ")  # 3 created
    exported = [
        row
        for row in export_members(world.commune)[1:]
        if row[0] in {r[0] for r in expected_rows(world)}
    ]
    assert sorted(exported) == sorted(expected_rows(world)), name
    # Imported again, it changes nothing.
    status, out, _errors = run_import("members", path)
    assert status == 0 and out[-1].startswith("0 ") and ", 3 " in out[-1], out


def test_ids_whose_zeros_excel_dropped_are_given_back_and_said(world, tmp_path):
    filename, data = file_xlsx_numbers_second_sheet(world)
    path = tmp_path / filename
    path.write_bytes(data)
    status, out, errors = run_import("members", path, "--dry-run")
    assert status == 0, errors
    # Row 7: below the sheet's three title rows, its header (row 4), two rows.
    # "6182339563 read as 006182339563", in the command's language, Vietnamese.
    assert "row 5: citizen_id: 6182339563 được đọc là 006182339563" in out
    assert "row 7: citizen_id: 96190000003 được đọc là 096190000003" in out


def test_an_id_excel_wrote_in_short_form_is_an_error_that_says_the_digits_are_lost(world, tmp_path):
    header, rows = office_rows(world)
    rows[1][2] = "6.18234E+11"
    path = tmp_path / "m.csv"
    path.write_text(csv_text(header, rows))
    status, _out, errors = run_import("members", path)
    assert status == 1
    assert errors[0].startswith("row 3: citizen_id: ")
    assert "'6.18234E+11'" in errors[0]
    assert not Member.objects.filter(citizen_id="006182339563").exists()


def test_an_id_of_the_wrong_length_is_refused_not_padded(world, tmp_path):
    header, rows = office_rows(world)
    rows[0][2] = "61823395"  # 8 digits: mistyped, not an ID that lost its zeros
    rows[1][2] = "01190000002"  # 11 digits that keep a zero: one digit missing
    path = tmp_path / "m.csv"
    path.write_text(csv_text(header, rows))
    status, _out, errors = run_import("members", path)
    assert status == 1
    assert [e.split(":")[0] for e in errors[:2]] == ["row 2", "row 3"]
    assert "'61823395'" in errors[0] and "'01190000002'" in errors[1]


def test_the_header_may_name_the_columns_in_any_case_and_without_accents(world, tmp_path):
    header, rows = office_rows(world)
    # As typed without a Vietnamese keyboard: "ngay vao dang", "so  cccd".
    header = [
        unicodedata.normalize("NFD", t.replace("Đ", "D").replace("đ", "d"))
        .encode("ascii", "ignore")
        .decode()
        .lower()
        for t in header
    ]
    header[2] = "so  cccd"  # and with two spaces
    path = tmp_path / "m.csv"
    path.write_text(csv_text(header, rows))
    status, _out, errors = run_import("members", path)
    assert (status, errors) == (0, [])


def test_a_missing_column_or_a_key_like_unknown_one_is_named(world, tmp_path):
    header, rows = office_rows(world)
    without_gender = [[c for i, c in enumerate(row) if i != 4] for row in rows]
    path = tmp_path / "m.csv"
    path.write_text(
        csv_text([t for i, t in enumerate(header) if i != 4], without_gender, title_rows=TITLE_ROWS)
    )
    status, _out, errors = run_import("members", path)
    assert status == 1 and errors[0].startswith("row 4: header: ") and "gender" in errors[0]
    # Other columns are left out, but one written like a key is a misspelt column.
    path.write_text(csv_text([*header, "admission_date"], [[*row, ""] for row in rows]))
    status, _out, errors = run_import("members", path)
    assert status == 1 and "admission_date" in errors[0]
    assert not Member.objects.filter(citizen_id="006182339563").exists()


# --- Garbled files: refused with their row numbers, nothing written -------------------


def _registry_export_csv(world) -> str:
    out = io.StringIO()
    call_command("registry_export", "members", stdout=out)
    return out.getvalue()


def test_the_export_opened_in_a_western_code_page_is_refused_whole(world, tmp_path):
    text = _registry_export_csv(world)
    # LibreOffice's default: the UTF-8 bytes read as Windows-1252, saved again as UTF-8.
    garbled = text.encode("utf-8").decode("cp1252", errors="replace").encode("utf-8")
    path = tmp_path / "export.csv"
    path.write_bytes(garbled)
    before = snapshot()
    status, _out, errors = run_import("members", path)
    assert status == 1
    rows = sorted(
        {int(e.split(":")[0].removeprefix("row ")) for e in errors if e.startswith("row ")}
    )
    assert rows == [2, 3, 4]  # every member of the file, by its row
    assert any(": full_name: " in e and "á»" in e for e in errors)  # what it read, shown
    assert snapshot() == before


def test_letters_lost_as_question_marks_are_refused_whole(world, tmp_path):
    text = _registry_export_csv(world)
    lossy = text.encode("cp1252", errors="replace").decode("cp1252")  # "L? Th? Huy?n"
    path = tmp_path / "export.csv"
    path.write_text(lossy)
    before = snapshot()
    status, _out, errors = run_import("members", path)
    assert status == 1
    assert {e.split(":")[0] for e in errors if ": full_name: " in e} == {"row 2", "row 3", "row 4"}
    assert snapshot() == before


# --- What is said: the value read, capped; old -> new -------------------------------


def test_every_error_shows_the_value_it_read_capped(world, tmp_path):
    header, rows = office_rows(world)
    rows[0][3] = "31/02/1990"
    rows[1][4] = "không rõ"
    rows[2][1] = "X" * 5000  # a giant name
    path = tmp_path / "m.csv"
    path.write_text(csv_text(header, rows))
    status, _out, errors = run_import("members", path)
    assert status == 1
    by_row = {e.split(":")[0]: e for e in errors}
    assert "'31/02/1990'" in by_row["row 2"]
    assert "'không rõ'" in by_row["row 3"]
    assert "XXXX" in by_row["row 4"] and len(by_row["row 4"]) < 300


def test_the_errors_listed_are_capped_and_counted(world, tmp_path, settings):
    settings.IMPORT_MAX_ERRORS = 2
    header, rows = office_rows(world)
    for row in rows:
        row[3] = "mai"  # not a date
    path = tmp_path / "m.csv"
    path.write_text(csv_text(header, rows))
    status, _out, errors = run_import("members", path)
    assert status == 1
    assert len([e for e in errors if e.startswith("row ")]) == 2
    assert any("1" in e and ("more" in e or "nữa" in e) for e in errors)
    assert errors[-1].startswith("3 ")


def test_updates_are_listed_field_by_field_before_they_are_made(world, tmp_path):
    member = world.member
    line = {key: "" for key in KEYS} | {
        "citizen_id": member.citizen_id,
        "full_name": "Hoàng Văn Mạnh",
        "gender": "male",
        "birth_date": "1980-01-01",
        "ethnicity": "Tày",
        "residence_village_code": world.village2.code,
        "position": "Trưởng thôn",
        "is_commune_cadre": "no",
        "admitted_on": "2005-05-19",
        "full_on": "2006-05-19",
        "branch_code": world.branch.code,
    }
    path = tmp_path / "m.csv"
    path.write_text(csv_text(KEYS, [[line[key] for key in KEYS]]))
    status, out, errors = run_import("members", path, "--dry-run")
    assert status == 0, errors
    assert f"row 2: residence_village_code: '{world.village.code}' → '{world.village2.code}'" in out
    assert "row 2: position: '' → 'Trưởng thôn'" in out


# --- The mass-update guard -------------------------------------------------------------


def _renaming_file(tmp_path, members) -> str:
    rows = []
    for member in members:
        rows.append(
            [
                member.citizen_id,
                member.full_name + " Mới",
                member.gender,
                member.birth_date.isoformat(),
                member.ethnicity,
                member.residence_village.code,
                member.position,
                "yes" if member.is_commune_cadre else "no",
                member.admitted_on.isoformat(),
                member.full_on.isoformat() if member.full_on else "",
                member.card_number,
                member.branch.code,
                "",
            ]
        )
    path = tmp_path / "rename.csv"
    path.write_text(csv_text(KEYS, rows))
    return path


def test_renaming_more_than_a_few_members_needs_allow_mass_update(world, tmp_path, settings):
    settings.IMPORT_MASS_NAME_CHANGES = 2
    members = [
        world.member,
        world.cadre,
        *[make_member(world.branch, name=f"Lò Văn {n}") for n in range(2)],
    ]
    path = _renaming_file(tmp_path, members)
    before = snapshot()
    status, out, errors = run_import("members", path)
    assert status == 1
    assert "--allow-mass-update" in errors[-1] and "4" in errors[-1]
    assert sum(1 for line in out if ": full_name: " in line) == 4  # the changes are listed first
    assert snapshot() == before
    status, out, errors = run_import("members", path, "--allow-mass-update")
    assert (status, errors) == (0, [])
    assert Member.objects.filter(full_name__endswith=" Mới").count() == 4


def test_renaming_a_few_members_needs_no_flag(world, tmp_path, settings):
    settings.IMPORT_MASS_NAME_CHANGES = 2
    status, _out, errors = run_import(
        "members", _renaming_file(tmp_path, [world.member, world.cadre])
    )
    assert (status, errors) == (0, [])


# --- Scope inside the file ---------------------------------------------------------------


def test_a_secretarys_refusals_outside_the_commune_name_nothing(world):
    """Rows placing members in another commune's village or branch, or touching a
    member registered there, say "not in your commune" and nothing more."""
    from branches.access import scope_for

    other = world.other_member
    rows = [
        # Our member, but the other commune's village and branch.
        [
            "006190000011",
            "Lò Thị Một",
            "Nữ",
            "1990-01-01",
            "Tày",
            world.other_village.code,
            "",
            "",
            "2015-01-01",
            "",
            "",
            world.other_branch.code,
            "",
        ],
        # A citizen ID registered in the other commune, placed in our branch.
        [
            other.citizen_id,
            "Tên Khác",
            "Nam",
            "1980-01-01",
            "Dao",
            world.village.code,
            "",
            "",
            "2005-05-19",
            "2006-05-19",
            "",
            world.branch.code,
            "",
        ],
        # A branch code that exists nowhere.
        [
            "006190000012",
            "Lò Thị Hai",
            "Nữ",
            "1990-01-01",
            "Tày",
            world.village.code,
            "",
            "",
            "2015-01-01",
            "",
            "",
            "B-NOWHERE",
            "",
        ],
    ]
    plan = validate_table(kind="members", table=[KEYS, *rows], scope=scope_for(world.secretary))
    errors = {(e.row, e.column): e for e in plan.errors}
    assert set(errors) == {
        (2, "residence_village_code"),
        (2, "branch_code"),
        (3, "citizen_id"),
        (4, "branch_code"),
    }
    said = " ".join(e.text for e in plan.errors)
    for secret in (
        world.other_commune.name,
        world.other_branch.name,
        world.other_village.name,
        other.full_name,
    ):
        assert secret not in said
    # The same words whether the record exists elsewhere or nowhere.
    assert (
        errors[(2, "branch_code")].message
        == errors[(4, "branch_code")].message
        == errors[(3, "citizen_id")].message
    )


def test_a_district_officer_is_told_which_code_is_unknown(world):
    from branches.access import scope_for

    row = [
        "006190000012",
        "Lò Thị Hai",
        "Nữ",
        "1990-01-01",
        "Tày",
        world.village.code,
        "",
        "",
        "2015-01-01",
        "",
        "",
        "B-NOWHERE",
        "",
    ]
    plan = validate_table(kind="members", table=[KEYS, row], scope=scope_for(world.district))
    assert "B-NOWHERE" in plan.errors[0].message


def test_a_secretary_imports_villages_and_branches_only_in_the_commune(world):
    from branches.access import scope_for

    scope = scope_for(world.secretary)
    villages = [
        HEADERS["villages"],
        [world.other_commune.code, "V-NEW", "Thôn Mới", "", ""],
        [world.commune.code, world.other_village.code, "Đổi tên", "", ""],
    ]
    plan = validate_table(kind="villages", table=villages, scope=scope)
    assert [(e.row, e.column) for e in plan.errors] == [(2, "commune_code"), (3, "code")]
    assert all(
        world.other_village.name not in e.text and world.other_commune.name not in e.text
        for e in plan.errors
    )


# --- Codes looked up by date --------------------------------------------------------------


def test_a_code_borne_by_two_branches_in_turn_is_read_as_of_the_rows_day(world, tmp_path):
    old = make_branch(
        world.commune,
        code="CB-01",
        name="Chi bộ cũ",
        kind=BranchKind.SCHOOL,
        founded_on=D(1990, 1, 1),
        dissolved_on=D(2010, 1, 1),
        dissolution_decision="1-QĐ",
    )
    new = make_branch(
        world.commune,
        code="CB-01",
        name="Chi bộ mới",
        kind=BranchKind.SCHOOL,
        founded_on=D(2012, 1, 1),
    )
    row = {key: "" for key in KEYS} | {
        "full_name": "Lò Văn Ba",
        "gender": "male",
        "birth_date": "1980-01-01",
        "ethnicity": "Tày",
        "residence_village_code": world.village.code,
        "admitted_on": "2005-01-01",
        "branch_code": "CB-01",
    }
    table = [
        KEYS,
        [(row | {"citizen_id": "006190000021", "since": "2015-01-01"})[k] for k in KEYS],
        [(row | {"citizen_id": "006190000022", "since": "2005-01-01"})[k] for k in KEYS],
    ]
    plan = validate_table(kind="members", table=table)
    # 2015: the new branch; 2005: the old one, dissolved since: refused.
    assert [r.extra["branch"] for r in plan.rows] == [new]
    assert [(e.row, e.column) for e in plan.errors] == [(3, "branch_code")]
    assert old.name in plan.errors[0].message


def test_communes_with_province_and_dates_and_an_old_two_column_file(world, tmp_path):
    thai_nguyen = Province.objects.create(code="19", name="Thái Nguyên", valid_from=D(2025, 7, 1))
    path = tmp_path / "c.csv"
    path.write_text(
        "code,name,province_code,valid_from,valid_to\n"
        "01864,Bằng Thành,19,2025-07-01,\n"
        "01999,Xã Cũ,06,2000-01-01,2025-06-30\n"
    )
    status, _out, errors = run_import("communes", path)
    assert (status, errors) == (0, [])
    new = Commune.objects.get(code="01864", valid_from=D(2025, 7, 1))
    assert new.parent_periods.get().province == thai_nguyen
    old = Commune.objects.get(code="01999")
    period = old.parent_periods.get()
    assert (period.province.code, period.district.code, old.valid_to) == (
        "06",
        "060",
        D(2025, 6, 30),
    )
    # An old file of two columns still imports: the new commune joins the only province of today.
    Province.objects.filter(code="06").update(valid_to=D(2025, 6, 30))
    path.write_text("code,name\n01998,Xã Mới\n")
    status, _out, errors = run_import("communes", path)
    assert (status, errors) == (0, [])
    assert Commune.objects.get(code="01998").parent_periods.get().province == thai_nguyen
    # Imported again, the dated file changes nothing; other dates for a commune are refused.
    path.write_text(
        "code,name,province_code,valid_from,valid_to\n01864,Bằng Thành,19,2025-07-01,\n"
    )
    status, out, _ = run_import("communes", path)
    assert status == 0 and out[-1].startswith("0 ")
    path.write_text("code,name,valid_from\n01999,Xã Cũ,2001-01-01\n")
    assert run_import("communes", path)[0] == 1


def test_a_village_file_without_dates_names_a_ceased_village_by_its_code(world, tmp_path):
    Village.objects.filter(pk=world.village2.pk).update(valid_to=D(2025, 6, 30))
    path = tmp_path / "v.csv"
    path.write_text(
        f"commune_code,code,name,households,population\n{world.commune.code},{world.village2.code},Nà Khâu,,\n"
    )
    status, out, errors = run_import("villages", path)
    assert (status, errors) == (0, [])
    assert out[-1].startswith("0 ")  # the ceased village, unchanged; not a new one
    assert Village.objects.filter(code=world.village2.code).count() == 1


# --- Text stored right everywhere ------------------------------------------------------------


def test_names_typed_in_forms_and_models_are_stored_composed_with_the_right_d(world):
    member = make_member(
        world.branch,
        name=unicodedata.normalize("NFD", "  Ðặng  Thị Ước "),
        position=" Trưởng   thôn ",
    )
    member.refresh_from_db()
    assert member.full_name == "Đặng Thị Ước" and member.folded_name == "dang thi uoc"
    assert member.position == "Trưởng   thôn"  # trimmed, inner spaces of a position kept
    village = make_village(world.commune, unicodedata.normalize("NFD", "Ðồng Lạc"))
    assert Village.objects.get(pk=village.pk).name == "Đồng Lạc"


def test_the_member_form_reads_decomposed_text_as_it_will_be_stored(world):
    from branches.access import scope_for
    from members.forms.members import MemberForm

    name = unicodedata.normalize(
        "NFD", "Nguyễn Thị Ước Ðào Ngọc Quỳnh Hương Trần Lê Hoàng Phạm Vũ Đỗ Bùi Hồ Ngô Dương Lý"
    )
    assert len(name) > 100 >= len(unicodedata.normalize("NFC", name))
    data = {
        "citizen_id": "006190000031",
        "full_name": name,
        "gender": "male",
        "birth_date": "1990-01-01",
        "ethnicity": "Tày",
        "residence_village": world.village.pk,
        "admitted_on": "2015-01-01",
        "branch": world.branch.pk,
    }
    from django.http import QueryDict

    post = QueryDict(mutable=True)
    post.update(data)
    form = MemberForm(post, scope=scope_for(world.secretary))
    assert form.is_valid(), form.errors
    assert form.cleaned_data["full_name"] == unicodedata.normalize("NFC", name).replace("Ð", "Đ")


def test_the_migration_cleans_stored_names_and_folds_them_again(world):
    import importlib

    from django.apps import apps

    migration = importlib.import_module("members.migrations.0010_clean_stored_text")
    nfd = unicodedata.normalize("NFD", "Ðinh Thị Ước")
    Member.objects.filter(pk=world.member.pk).update(
        full_name=nfd, folded_name="?", ethnicity=" Tày "
    )
    migration.clean_stored_text(apps, None)
    member = Member.objects.get(pk=world.member.pk)
    assert (member.full_name, member.folded_name, member.ethnicity) == (
        "Đinh Thị Ước",
        "dinh thi uoc",
        "Tày",
    )
    assert Member.objects.search("dinh thi").filter(pk=member.pk).exists()


# --- The XLSX export in Vietnamese titles ------------------------------------------------------


def test_the_xlsx_export_with_vietnamese_titles_imports_back_unchanged(world, tmp_path):
    path = tmp_path / "m.xlsx"
    call_command(
        "registry_export", "members", "--format", "xlsx", "--titles", "vi", "-o", str(path)
    )
    header = [c.value for c in next(load_workbook(path, read_only=True).worksheets[0].iter_rows())]
    assert header == vietnamese_header("members") and header[:2] == ["Số CCCD", "Họ và tên"]
    status, out, errors = run_import("members", path)
    assert (status, errors) == (0, [])
    assert out[-1].startswith("0 created, 0 updated, 3 ") or out[-1].startswith("0 ")
    with pytest.raises(CommandError):
        call_command("registry_export", "members", "--titles", "vi", stdout=io.StringIO())


def test_every_kind_has_a_vietnamese_title_for_every_column():
    for kind, keys in HEADERS.items():
        assert set(keys) <= set(TITLES[kind]), kind
