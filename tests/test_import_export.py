"""registry_import / registry_export: the contract of issue 2."""

import csv
import datetime
import io
import unicodedata

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from hypothesis import example, given
from hypothesis import strategies as st
from openpyxl import load_workbook

from branches.models import Branch, BranchKind, Commune, Role, Village
from members.io.read import CellError, parse_bool, parse_date, parse_gender
from members.models import Member, Membership, MembershipKind
from members.services.members import member_leave, membership_move
from tests.conftest import make_branch, make_member

D = datetime.date
MEMBER_HEADER = (
    "citizen_id,full_name,gender,birth_date,ethnicity,residence_village_code,position,"
    "is_commune_cadre,admitted_on,full_on,card_number,branch_code,since"
)


def run_import(kind, path, *args):
    """(exit status, stdout, stderr lines) of registry_import."""
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("registry_import", kind, str(path), *args, stdout=out, stderr=err)
        status = 0
    except CommandError:
        status = 1
    return status, out.getvalue(), [line for line in err.getvalue().splitlines() if line]


def run_export(kind, *args) -> str:
    out = io.StringIO()
    call_command("registry_export", kind, *args, stdout=out)
    return out.getvalue()


def write(tmp_path, text, name="file.csv", encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def snapshot():
    return (
        Commune.objects.count(),
        Village.objects.count(),
        Branch.objects.count(),
        Member.objects.count(),
        Membership.objects.count(),
        list(Member.objects.order_by("pk").values_list("full_name", "position", "card_number")),
    )


def member_line(world, **over):
    values = {
        "citizen_id": "006190000001",
        "full_name": "Triệu Thị Mây",
        "gender": "female",
        "birth_date": "1990-02-03",
        "ethnicity": "Dao",
        "residence_village_code": world.village.code,
        "position": "Nông dân",
        "is_commune_cadre": "no",
        "admitted_on": "2015-06-01",
        "full_on": "2016-06-01",
        "card_number": "99000001",
        "branch_code": world.branch.code,
        "since": "",
    }
    values.update(over)
    buffer = io.StringIO()
    csv.writer(buffer).writerow([values[c] for c in MEMBER_HEADER.split(",")])
    return buffer.getvalue().strip()


# --- Bad rows: each one refused with its row and column, and nothing written ---

TOMORROW = (timezone.localdate() + datetime.timedelta(days=1)).isoformat()

BAD_MEMBER_ROWS = [
    ("malformed citizen ID", {"citizen_id": "12345"}, "citizen_id"),
    ("letters in citizen ID", {"citizen_id": "00619000000A"}, "citizen_id"),
    ("bad date", {"birth_date": "31/02/1990"}, "birth_date"),
    ("not a date", {"admitted_on": "June 2015"}, "admitted_on"),
    ("future date", {"full_on": TOMORROW}, "full_on"),
    (
        "admission before 18",
        {"birth_date": "2000-01-01", "admitted_on": "2017-12-31", "full_on": "", "card_number": ""},
        "admitted_on",
    ),
    ("full before admission", {"full_on": "2015-01-01"}, "full_on"),
    ("card without full date", {"full_on": ""}, "card_number"),
    ("unknown village", {"residence_village_code": "NOPE"}, "residence_village_code"),
    ("unknown branch", {"branch_code": "NOPE"}, "branch_code"),
    ("bad gender", {"gender": "x"}, "gender"),
    ("bad boolean", {"is_commune_cadre": "maybe"}, "is_commune_cadre"),
    ("since before admission", {"since": "2014-01-01"}, "since"),
    ("missing name", {"full_name": ""}, "full_name"),
]


@pytest.mark.parametrize(
    "label, over, column", BAD_MEMBER_ROWS, ids=[r[0] for r in BAD_MEMBER_ROWS]
)
def test_each_bad_member_row_is_refused_and_nothing_is_written(
    world, tmp_path, label, over, column
):
    good = member_line(world, citizen_id="006190000002", card_number="99000002")
    path = write(tmp_path, "\n".join([MEMBER_HEADER, good, member_line(world, **over)]) + "\n")
    before = snapshot()
    status, out, errors = run_import("members", path)
    assert status == 1
    assert any(line.startswith(f"row 3: {column}: ") for line in errors), errors
    assert not any(line.startswith("row 2:") for line in errors)  # the good row is fine...
    assert snapshot() == before  # ...but nothing at all was written


def test_dissolved_branch_code_is_refused(world, tmp_path):
    closed = make_branch(world.commune, dissolved_on=D(2019, 4, 1), dissolution_decision="12-QĐ/ĐU")
    path = write(tmp_path, f"{MEMBER_HEADER}\n{member_line(world, branch_code=closed.code)}\n")
    status, _out, errors = run_import("members", path)
    assert status == 1 and errors[0].startswith("row 2: branch_code: ")
    assert not Member.objects.filter(citizen_id="006190000001").exists()


def test_duplicate_keys_in_one_file_are_refused(world, tmp_path):
    line = member_line(world)
    path = write(
        tmp_path, f"{MEMBER_HEADER}\n{line}\n{member_line(world, card_number='99000009')}\n"
    )
    status, _out, errors = run_import("members", path)
    assert status == 1
    assert errors[0].startswith("row 3: citizen_id: ")
    assert not Member.objects.filter(citizen_id="006190000001").exists()


def test_wrong_header_says_which_columns_are_expected(world, tmp_path):
    path = write(tmp_path, "code,name,extra\n01999,Xã Mới,x\n")
    status, _out, errors = run_import("communes", path)
    assert status == 1
    assert errors[0].startswith("row 1: header: ") and "Mã xã (code), Tên xã (name)" in errors[0]
    assert not Commune.objects.filter(code="01999").exists()
    _status, _out, errors = run_import(
        "communes", write(tmp_path, "\n,,\ncode,name,extra\n01999,Xã Mới,x\n")
    )
    assert errors[0].startswith("row 3: header: ")  # the row Excel shows, below two blank ones


def test_unknown_commune_code_and_bad_commune_code(world, tmp_path):
    path = write(
        tmp_path, "commune_code,code,name,households,population\n99999,V-NEW,Thôn Mới,10,50\n"
    )
    assert run_import("villages", path)[2][0].startswith("row 2: commune_code: ")
    path = write(tmp_path, "code,name\n1234,Xã Ngắn\n")
    assert run_import("communes", path)[2][0].startswith("row 2: code: ")
    assert Village.objects.filter(code="V-NEW").count() == 0


def test_branch_rows_are_checked(world, tmp_path):
    header = "commune_code,code,name,kind,village_code,founded_on"
    rows = [
        f"{world.commune.code},B-NEW1,Chi bộ mới,village,,2000-01-01",  # village branch without village
        f"{world.commune.code},B-NEW2,Chi bộ mới,club,,2000-01-01",  # unknown kind
        f"{world.commune.code},B-NEW3,Chi bộ mới,village,{world.other_village.code},2000-01-01",  # other commune's village
    ]
    status, _out, errors = run_import("branches", write(tmp_path, "\n".join([header, *rows])))
    assert status == 1
    assert [e.split(":")[0:2] for e in errors] == [
        ["row 2", " village_code"],
        ["row 3", " kind"],
        ["row 4", " village_code"],
    ]
    assert not Branch.objects.filter(code__startswith="B-NEW").exists()


def test_a_file_that_is_not_text_gets_a_clear_message(world, tmp_path):
    path = tmp_path / "members.csv"
    path.write_bytes(f"{MEMBER_HEADER}\n".encode() + bytes(range(0x80, 0x100)) * 4)
    status, _out, errors = run_import("members", path)
    assert status == 1
    assert errors[0].startswith("row 1: file: ") and "CSV UTF-8" in errors[0]
    assert not Member.objects.filter(citizen_id="006190000001").exists()


def test_a_broken_workbook_gets_a_clear_message(world, tmp_path):
    path = tmp_path / "members.xlsx"
    path.write_bytes(b"PK\x03\x04" + bytes(2000))
    status, _out, errors = run_import("members", path)
    assert status == 1 and errors[0].startswith("row 1: file: ") and ".xlsx" in errors[0]


# --- What offices have (issue 15): character sets, delimiters, title rows, sheets ---


def cp1258(text: str) -> bytes:
    """Windows-1258 as Excel writes it: a tone mark is a byte after its letter."""
    out = bytearray()
    for char in text:
        try:
            out += char.encode("cp1258")
        except UnicodeEncodeError:
            decomposed = unicodedata.normalize("NFD", char)
            tones = "".join(c for c in decomposed if c in "\u0300\u0301\u0303\u0309\u0323")
            base = unicodedata.normalize("NFC", "".join(c for c in decomposed if c not in tones))
            out += (base + tones).encode("cp1258")
    return bytes(out)


@pytest.mark.parametrize("form", ["utf-16 tabs", "cp1258 semicolons", "utf-8 bom semicolons"])
def test_office_csv_files_import(world, tmp_path, form):
    lines = [MEMBER_HEADER, member_line(world, full_name="Nguyễn Thị Ước")]
    if "semicolons" in form or "tabs" in form:
        lines = [line.replace(",", "\t" if "tabs" in form else ";") for line in lines]
    text = "\r\n".join(lines) + "\r\n"
    data = {
        "utf-16 tabs": lambda: text.encode("utf-16"),
        "cp1258 semicolons": lambda: cp1258(text),
        "utf-8 bom semicolons": lambda: b"\xef\xbb\xbf" + text.encode(),
    }[form]()
    path = tmp_path / "members.csv"
    path.write_bytes(data)
    status, _out, errors = run_import("members", path)
    assert (status, errors) == (0, [])
    assert Member.objects.get(citizen_id="006190000001").full_name == "Nguyễn Thị Ước"


def test_title_rows_above_the_header_are_skipped_and_row_numbers_stay_true(world, tmp_path):
    text = (
        "\r\n".join(
            [
                "DANH SÁCH ĐẢNG VIÊN, CHI BỘ KHÂU SLÔM",
                "",
                MEMBER_HEADER,
                member_line(world),
                "",
                member_line(world, citizen_id="006190000002", card_number="", gender="không rõ"),
            ]
        )
        + "\r\n"
    )
    status, _out, errors = run_import("members", write(tmp_path, text))
    assert status == 1
    assert [e.split(":")[0:2] for e in errors] == [["row 6", " gender"]]  # as Excel numbers it


def test_xlsx_list_on_the_second_sheet(world, tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    book.active.title = "Hướng dẫn"
    book.active.append(["Danh sách ở trang tính thứ hai"])
    sheet = book.create_sheet("Danh sách")
    sheet.append(MEMBER_HEADER.split(","))
    sheet.append(next(csv.reader([member_line(world)])))
    path = tmp_path / "members.xlsx"
    book.save(path)
    status, _out, errors = run_import("members", path)
    assert (status, errors) == (0, [])
    assert Member.objects.filter(citizen_id="006190000001").exists()


def test_text_is_stored_composed_trimmed_and_with_the_right_d(world, tmp_path):
    name = unicodedata.normalize("NFD", "  Ðặng Thị Ước ")
    status, _out, errors = run_import(
        "members", write(tmp_path, f"{MEMBER_HEADER}\n{member_line(world, full_name=name)}\n")
    )
    assert (status, errors) == (0, [])
    member = Member.objects.get(citizen_id="006190000001")
    assert member.full_name == "Đặng Thị Ước" and len(member.full_name) == 12
    assert Member.objects.search("dang thi").filter(pk=member.pk).exists()


def test_a_file_over_the_size_limit_is_refused(world, tmp_path, settings):
    settings.IMPORT_MAX_BYTES = 100
    path = write(tmp_path, f"{MEMBER_HEADER}\n{member_line(world)}\n")
    status, _out, errors = run_import("members", path)
    assert status == 1 and errors[0].startswith("row 1: file: ")
    assert not Member.objects.filter(citizen_id="006190000001").exists()


def test_errors_are_in_vietnamese_by_default(world, tmp_path):
    path = write(tmp_path, f"{MEMBER_HEADER}\n{member_line(world, citizen_id='1')}\n")
    _status, _out, errors = run_import("members", path)
    # The message shows the value it read (issue 15).
    assert errors[0] == "row 2: citizen_id: Số CCCD gồm đúng 12 chữ số. (đọc được: '1')"


# --- Success: counts, BOM, re-import by key, never a silent move ---


def test_import_creates_then_updates_by_key_and_never_resets_the_start(world, tmp_path):
    path = write(
        tmp_path, "\ufeff" + f"{MEMBER_HEADER}\n{member_line(world, since='2017-01-01')}\n"
    )
    status, out, errors = run_import("members", path)
    assert (status, errors) == (0, [])
    assert "1" in out.split(",")[0]  # 1 created
    member = Member.objects.get(citizen_id="006190000001")
    assert member.branch == world.branch and member.folded_name == "trieu thi may"
    assert Membership.objects.get(member=member).started_on == D(2017, 1, 1)

    status, out, _ = run_import("members", path)
    assert status == 0 and out.startswith("0 ") and "1" in out  # 1 unchanged

    changed = member_line(
        world,
        position="Trưởng thôn",
        since="2019-01-01",
        is_commune_cadre="có",
        gender="Nữ",
        birth_date="03/02/1990",
    )
    status, out, errors = run_import(
        "members", write(tmp_path, f"{MEMBER_HEADER}\n{changed}\n", "2.csv")
    )
    assert (status, errors) == (0, [])
    member.refresh_from_db()
    assert member.position == "Trưởng thôn" and member.is_commune_cadre
    # The change is in the history and bumps the version (open edit forms will warn).
    assert member.version == 2
    assert [h.history_type for h in member.history.order_by("history_date")] == ["+", "~"]
    assert Membership.objects.get(member=member).started_on == D(2017, 1, 1)  # not reset


def test_a_different_branch_is_an_error_not_a_move(world, tmp_path):
    line = member_line(
        world,
        citizen_id=world.member.citizen_id,
        full_name=world.member.full_name,
        card_number="",
        branch_code=world.branch2.code,
    )
    status, _out, errors = run_import("members", write(tmp_path, f"{MEMBER_HEADER}\n{line}\n"))
    assert status == 1 and errors[0].startswith("row 2: branch_code: ")
    assert "chuyển sinh hoạt đảng" in errors[0]  # "use a transfer", in Vietnamese
    world.member.refresh_from_db()
    assert world.member.branch == world.branch


def test_dry_run_counts_and_writes_nothing(world, tmp_path):
    path = write(tmp_path, f"{MEMBER_HEADER}\n{member_line(world)}\n")
    status, out, _ = run_import("members", path, "--dry-run")
    assert status == 0 and "1" in out
    assert not Member.objects.filter(citizen_id="006190000001").exists()


def test_xlsx_import(world, tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(MEMBER_HEADER.split(","))
    sheet.append(
        [
            "006190000001",
            "Triệu Thị Mây",
            "Nữ",
            D(1990, 2, 3),
            "Dao",
            world.village.code,
            "",
            "không",
            "01/06/2015",
            None,
            None,
            world.branch.code,
            None,
        ]
    )
    path = tmp_path / "members.xlsx"
    book.save(path)
    status, _out, errors = run_import("members", path)
    assert (status, errors) == (0, [])
    member = Member.objects.get(citizen_id="006190000001")
    assert (
        member.birth_date == D(1990, 2, 3) and member.full_on is None and member.gender == "female"
    )


# --- Export -> import -> export ---

KINDS = ["communes", "villages", "branches", "members", "memberships"]


def wipe_registry():
    from branches.models import BranchInCommune, CommuneInProvince, VillageInCommune

    Role.objects.all().delete()
    Membership.objects.all().delete()
    Member.objects.all().delete()
    # The dated periods protect their units (issue 13): they go first.
    BranchInCommune.objects.all().delete()
    VillageInCommune.objects.all().delete()
    CommuneInProvince.objects.all().delete()
    Branch.objects.all().delete()
    Village.objects.all().delete()
    Commune.objects.all().delete()


@pytest.fixture
def rich_world(world):
    """The world with a history: a move, a temporary attachment, a dissolved branch,
    a member who left, and text a spreadsheet would take for a formula."""
    mover = make_member(
        world.branch,
        name='=HYPERLINK("x")',
        since=D(2006, 1, 1),
        position="-Trưởng thôn",
        card_number="A-1",
    )
    membership_move(member=mover, to_branch=world.branch2, on=D(2019, 4, 1))
    Membership.objects.create(
        member=world.member,
        branch=world.other_branch,
        kind=MembershipKind.TEMPORARY,
        started_on=D(2020, 1, 1),
        ended_on=D(2020, 9, 1),
        end_reason="temporary_ended",
    )
    old = make_branch(
        world.commune, kind=BranchKind.SCHOOL, name="@Chi bộ trường cũ", founded_on=D(1990, 1, 1)
    )
    pupil = make_member(
        old, village=world.village, name="Ma Thị Lan", since=D(2005, 5, 19), full_on=None
    )
    membership_move(member=pupil, to_branch=world.branch, on=D(2015, 9, 1))
    Branch.objects.filter(pk=old.pk).update(
        dissolved_on=D(2016, 1, 1), dissolution_decision="5-QĐ/ĐU"
    )
    gone = make_member(world.branch2, name="Hoàng Văn Đi")
    member_leave(member=gone, on=D(2020, 1, 1), reason="died")
    return world


def test_export_import_export_gives_the_same_files(rich_world, tmp_path):
    first = {kind: run_export(kind) for kind in KINDS}
    assert "'=HYPERLINK" in first["members"] and "'-Trưởng thôn" in first["members"]
    assert "'@Chi bộ trường cũ" in first["branches"]
    assert "Hoàng Văn Đi" not in first["members"]  # who left is not on the rolls
    assert first["members"].splitlines()[0] == MEMBER_HEADER
    assert (
        first["memberships"].splitlines()[0]
        == "citizen_id,branch_code,kind,started_on,ended_on,end_reason"
    )

    wipe_registry()
    for kind in KINDS:
        status, out, errors = run_import(kind, write(tmp_path, first[kind], f"{kind}.csv"))
        assert (status, errors) == (0, []), kind
    assert Member.objects.get(full_name='=HYPERLINK("x")').position == "-Trưởng thôn"
    for kind in KINDS:
        assert run_export(kind) == first[kind], kind

    # A second import of the same files changes nothing.
    for kind in KINDS:
        status, out, _ = run_import(kind, tmp_path / f"{kind}.csv")
        assert status == 0 and out.startswith("0 ") and ", 0 " in out, (kind, out)


def test_xlsx_export_imports_back(rich_world, tmp_path):
    csv_before = {kind: run_export(kind) for kind in KINDS}
    for kind in KINDS:
        call_command(
            "registry_export", kind, "--format", "xlsx", "-o", str(tmp_path / f"{kind}.xlsx")
        )
    book = load_workbook(tmp_path / "members.xlsx", read_only=True)
    assert [c.value for c in next(book.worksheets[0].iter_rows())] == MEMBER_HEADER.split(",")
    wipe_registry()
    for kind in KINDS:
        status, _out, errors = run_import(kind, tmp_path / f"{kind}.xlsx")
        assert (status, errors) == (0, []), kind
    assert {kind: run_export(kind) for kind in KINDS} == csv_before


def test_export_as_of_gives_the_rosters_on_that_date(rich_world):
    mover = Member.objects.get(full_name='=HYPERLINK("x")')
    before = run_export("members", "--as-of", "2019-03-31")
    after = run_export("members", "--as-of", "2019-04-01")
    row_before = next(r for r in csv.reader(io.StringIO(before)) if r[0] == mover.citizen_id)
    row_after = next(r for r in csv.reader(io.StringIO(after)) if r[0] == mover.citizen_id)
    assert (row_before[11], row_before[12]) == (rich_world.branch.code, "2006-01-01")
    assert (row_after[11], row_after[12]) == (rich_world.branch2.code, "2019-04-01")
    # Who left in 2020 was still on the roll in 2019.
    assert "Hoàng Văn Đi" in before
    memberships = run_export("memberships", "--as-of", "2019-03-31")
    assert "temporary" not in memberships


def test_export_for_one_commune(rich_world):
    text = run_export("members", "--commune", rich_world.other_commune.code)
    assert rich_world.other_member.citizen_id in text
    assert rich_world.member.citizen_id not in text
    with pytest.raises(CommandError):
        run_export("members", "--commune", "00000")


# --- The parsers, for every date and word ---


@given(st.dates(min_value=D(1900, 1, 1), max_value=D(2100, 12, 31)))
def test_parse_date_reads_both_formats(day):
    assert parse_date(day.isoformat()) == day
    assert parse_date(day.strftime("%d/%m/%Y")) == day
    assert parse_date(f" {day.isoformat()} ") == day


@given(st.text(max_size=12))
def test_parse_date_never_crashes(text):
    try:
        result = parse_date(text)
    except CellError:
        return
    assert result is None or isinstance(result, datetime.date)


@given(st.sampled_from(["yes", "Yes", "TRUE", "true", "1", "có", "Có", "CÓ"]))
def test_parse_bool_true_words(word):
    assert parse_bool(word) is True


@given(st.sampled_from(["no", "No", "FALSE", "false", "0", "không", "Không", "KHÔNG"]))
def test_parse_bool_false_words(word):
    assert parse_bool(word) is False


# The accepted words, whatever their case, the spaces around them or how their
# accents are encoded (a precomposed "ó" or "o" + a combining acute accent).
BOOL_WORDS = {"yes", "true", "1", "có", "no", "false", "0", "không"}


def is_bool_word(text: str) -> bool:
    return unicodedata.normalize("NFC", text.strip()).casefold() in BOOL_WORDS


@given(st.text(max_size=8).filter(lambda t: t.strip() and not is_bool_word(t)))
@example("co")  # "có" without its accent is not a word of the file format
@example("y")
@example("n")
@example("2")
@example("yes!")
@example("có không")
@example("ja")
def test_parse_bool_refuses_anything_else(text):
    with pytest.raises(CellError):
        parse_bool(text)


@pytest.mark.parametrize(
    "text, value",
    [
        (" yes ", True),
        ("TRUE", True),
        ("co\u0301", True),
        ("KHO\u0302NG", False),
        ("\tNo", False),
    ],
)
def test_parse_bool_accepts_other_spellings_of_the_words(text, value):
    assert parse_bool(text) is value


def test_parse_gender():
    assert parse_gender("Nữ") == parse_gender("female") == "female"
    assert parse_gender("nam") == parse_gender("Male") == "male"
    assert parse_gender("") is None
    with pytest.raises(CellError):
        parse_gender("khác")


def test_creating_many_members_checks_their_branches_in_one_query_whatever_their_number(world):
    # Issue 13's rule (a branch takes no one on a day it did not exist) was checked
    # with a query per member: an import of 100,000 rows ran 100,000 of them.
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from members.services.members import member_create_many

    def checks(n):
        rows = [
            (
                Member(
                    citizen_id=f"0099{n:02d}{i:06d}",
                    full_name=f"Người Mới {i}",
                    gender="male",
                    birth_date=D(1980, 1, 1),
                    ethnicity="Tày",
                    residence_village=world.village,
                    admitted_on=D(2010, 1, 1),
                ),
                world.branch if i % 2 else world.branch2,
                None,
            )
            for i in range(n)
        ]
        with CaptureQueriesContext(connection) as queries:
            member_create_many(rows=rows)
        return sum("branches_branchincommune" in q["sql"] for q in queries.captured_queries)

    assert checks(3) == checks(30) == 1


def test_creating_many_members_refuses_them_all_when_one_branch_was_dissolved_by_then(world):
    # The batched check keeps the one-by-one rule: a dissolved branch takes no one,
    # and nothing of the batch is written.
    from branches.models import Branch
    from members.services.members import member_create_many
    from pacnam.lib.errors import DomainError

    Branch.objects.filter(pk=world.branch2.pk).update(
        dissolved_on=D(2015, 1, 1), dissolution_decision="1-QĐ/ĐU"
    )
    world.branch2.refresh_from_db()
    rows = [
        (
            Member(
                citizen_id=f"00980000000{i}",
                full_name=f"Người Mới {i}",
                gender="male",
                birth_date=D(1980, 1, 1),
                ethnicity="Tày",
                residence_village=world.village,
                admitted_on=D(2016, 1, 1),
            ),
            branch,
            None,
        )
        for i, branch in enumerate([world.branch, world.branch2])
    ]
    before = Member.objects.count()
    with pytest.raises(DomainError, match="đã giải thể ngày 01/01/2015"):
        member_create_many(rows=rows)
    assert Member.objects.count() == before
