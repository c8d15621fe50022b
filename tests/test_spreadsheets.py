"""pacnam.io.spreadsheets: the files district offices really have, read exactly or
refused with a message (issue 15). Every file is built here, as Excel or
LibreOffice would write it."""

import datetime
import io
import random
import time
import unicodedata
import zipfile

import pytest
from django.utils import translation
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from pacnam.io.spreadsheets import (
    HEADER_SCAN_ROWS,
    MAX_COLUMNS,
    HeaderNotFound,
    SpreadsheetError,
    decode_text,
    header_key,
    header_matcher,
    match_columns,
    read_spreadsheet,
    restore_leading_zeros,
)
from pacnam.lib.text import garbled_reason

D = datetime.date
TITLES = ["Số CCCD", "Họ và tên", "Giới tính", "Ngày sinh", "Dân tộc", "citizen_id", "full_name"]
is_member_header = header_matcher(TITLES, minimum=2)

HEADER = ["STT", "Số CCCD", "Họ và tên", "Ngày sinh", "Dân tộc"]
PEOPLE = [
    ["1", "006190000001", "Nguyễn Thị Mỷ", "03/02/1990", "Tày"],
    ["2", "006190000002", "Đặng Văn Ước", "01/01/1980", "Nùng"],
    ["3", "006190000003", "Hứa Văn Cường", "15/11/1975", "H'Mông"],
    ["4", "006190000004", "Lý Thị Huyền", "30/04/1985", "Dao"],
]
TITLE = "DANH SÁCH ĐẢNG VIÊN, CHI BỘ KHÂU SLÔM, XÃ GIÁO HIỆU"


def lines(rows, delimiter):
    return "".join(delimiter.join(row) + "\r\n" for row in rows)


def to_cp1258(text: str) -> bytes:
    """Text as Excel on a Vietnamese Windows saves "CSV": Windows-1258, where a
    tone mark is a byte of its own after the letter ("ễ" is "ê" + 0xDE)."""
    out = bytearray()
    for char in unicodedata.normalize("NFC", text):
        decomposed = unicodedata.normalize("NFD", char)
        tones = "".join(c for c in decomposed if c in "\u0300\u0301\u0303\u0309\u0323")
        base = unicodedata.normalize("NFC", "".join(c for c in decomposed if c not in tones))
        try:
            out += char.encode("cp1258")
        except UnicodeEncodeError:
            out += (base + tones).encode("cp1258")
    return bytes(out)


def workbook(sheets: dict[str, list[list]]) -> bytes:
    book = Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def rezip(data: bytes, replace: dict[str, bytes | None]) -> bytes:
    """A copy of the ZIP `data` with some parts replaced (None: left out)."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for entry in source.infolist():
            if entry.filename in replace:
                if replace[entry.filename] is not None:
                    target.writestr(entry.filename, replace[entry.filename])
            else:
                target.writestr(entry, source.read(entry))
    return out.getvalue()


def simple_workbook() -> bytes:
    return workbook({"Danh sách": [HEADER, *PEOPLE]})


def english_message(call) -> str:
    with translation.override("en"), pytest.raises(SpreadsheetError) as caught:
        call()
    return str(caught.value.message)


# --- CSV: character sets --------------------------------------------------------------


def test_semicolon_windows_1258_with_a_title_row_and_an_stt_column():
    text = f"{TITLE}\r\n;;;;\r\n" + lines([HEADER, *PEOPLE], ";")
    data = to_cp1258(text)
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    assert b"\xea\xde" in data  # "ễ" as "ê" + the tilde byte, as Excel writes it
    table = read_spreadsheet(data, "danh-sach.csv", is_header=is_member_header)
    assert (table.format, table.encoding, table.delimiter) == ("csv", "windows-1258", ";")
    assert table.header_row == 3 and table.header == tuple(HEADER)
    assert [row.number for row in table.rows] == [4, 5, 6, 7]
    assert [list(row.cells) for row in table.rows] == PEOPLE  # composed (NFC), as typed
    assert table.rows[0].cells[2] == "Nguyễn Thị Mỷ" and len(table.rows[0].cells[2]) == 13
    assert all(not row.numbers for row in table.rows)


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_tab_separated_unicode_text(codec):
    text = lines([HEADER, *PEOPLE], "\t")
    bom = {"utf-16": b"", "utf-16-le": b"\xff\xfe", "utf-16-be": b"\xfe\xff"}[codec]
    data = bom + text.encode(codec)
    table = read_spreadsheet(data, "danh-sach.txt", is_header=is_member_header)
    assert (table.encoding, table.delimiter, table.header_row) == ("utf-16", "\t", 1)
    assert [list(row.cells) for row in table.rows] == PEOPLE


def test_utf8_with_bom_comma_separated_and_decomposed_names_composed():
    text = lines([HEADER, *PEOPLE], ",")
    data = b"\xef\xbb\xbf" + unicodedata.normalize("NFD", text).encode("utf-8")
    table = read_spreadsheet(data, "danh-sach.csv", is_header=is_member_header)
    assert (table.encoding, table.delimiter) == ("utf-8", ",")
    assert table.header[0] == "STT"  # no BOM left on the first title
    assert [list(row.cells) for row in table.rows] == PEOPLE


def test_utf8_without_bom_is_never_read_as_windows_1258():
    data = lines(
        [
            ["citizen_id", "full_name"],
            ["006190000001", "Nông Thị Mỷ"],
            ["006190000002", "Lò Văn Pấu"],
        ],
        ",",
    ).encode()
    assert "NĂ´ng" in data.decode("cp1258")  # these bytes are also valid Windows-1258 ...
    table = read_spreadsheet(data, is_header=is_member_header)
    assert (
        table.encoding == "utf-8" and table.rows[0].cells[1] == "Nông Thị Mỷ"
    )  # ... but are UTF-8


def test_damaged_utf8_is_refused_not_read_as_windows_1258():
    data = lines([HEADER, *PEOPLE], ",").encode("utf-8")
    damaged = data[:60] + b"\xff" + data[60:]
    message = english_message(lambda: read_spreadsheet(damaged, is_header=is_member_header))
    assert "UTF-8 but damaged at byte 61" in message and "CSV UTF-8" in message


def test_an_encoding_given_overrides_the_guess():
    cp1258 = to_cp1258(lines([HEADER, *PEOPLE], ";"))
    table = read_spreadsheet(cp1258, is_header=is_member_header, encoding="cp1258")
    assert table.encoding == "cp1258" and table.rows[1].cells[2] == "Đặng Văn Ước"
    # Obeyed even when wrong: UTF-8 read as Western gives the mojibake the issue saw.
    utf8 = lines([HEADER, *PEOPLE], ";").encode("utf-8")
    western = read_spreadsheet(utf8, encoding="latin-1")  # its titles are garbled too
    assert western.rows[2].cells[2] != "Hứa Văn Cường" and garbled_reason(western.rows[2].cells[2])
    assert "not in the character set utf-8 (the problem is at byte" in english_message(
        lambda: read_spreadsheet(cp1258, is_header=is_member_header, encoding="utf-8")
    )
    message = english_message(lambda: read_spreadsheet(utf8, encoding="x" * 500))
    assert "not a character set the registry knows" in message and len(message) < 200


def test_decode_text_names_the_character_set():
    assert decode_text("Lý".encode()) == ("Lý", "utf-8")
    assert decode_text(b"\xef\xbb\xbfL\xc3\xbd") == ("Lý", "utf-8")
    assert decode_text("Lý".encode("utf-16")) == ("Lý", "utf-16")
    assert decode_text(to_cp1258("Hồ")) == ("H\u00f4\u0300", "windows-1258")  # composed later


# --- CSV: delimiter, header, blank rows -----------------------------------------------


def test_the_delimiter_is_found_from_the_header_not_the_title_row():
    # The title holds commas, the list semicolons: counting on the first line would pick ",".
    text = f"{TITLE}\r\n" + lines([HEADER, *PEOPLE], ";")
    table = read_spreadsheet(text.encode(), is_header=is_member_header)
    assert table.delimiter == ";" and table.header_row == 2 and len(table.rows) == 4


def test_without_a_header_test_the_widest_first_row_decides_the_delimiter():
    table = read_spreadsheet(lines([HEADER, *PEOPLE], ";").encode())
    assert (table.delimiter, table.header) == (";", tuple(HEADER))
    table = read_spreadsheet(lines([HEADER, *PEOPLE], "\t").encode())
    assert (table.delimiter, table.header) == ("\t", tuple(HEADER))


def test_excel_sep_line_sets_the_delimiter():
    text = "sep=;\r\n" + lines([HEADER, *PEOPLE], ";")
    table = read_spreadsheet(text.encode(), is_header=is_member_header)
    assert (table.delimiter, table.header_row, table.rows[0].number) == (";", 2, 3)
    table = read_spreadsheet(text.encode())  # no header test: the line is still not the header
    assert table.header == tuple(HEADER)


def test_blank_rows_anywhere_are_skipped_and_rows_keep_their_numbers():
    text = (
        "\r\n,,,\r\n"
        + lines([HEADER, PEOPLE[0]], ",")
        + "\r\n , , \r\n"
        + lines(PEOPLE[1:2], ",")
        + ",,,,\r\n"
    )
    table = read_spreadsheet(text.encode(), is_header=is_member_header)
    assert table.header_row == 3
    assert [(row.number, row.cells[2]) for row in table.rows] == [
        (4, "Nguyễn Thị Mỷ"),
        (7, "Đặng Văn Ước"),
    ]


def test_without_a_header_test_the_first_row_that_is_not_blank_is_the_header():
    text = "\r\n" + lines([["code", "name"], ["01858", "Bằng Thành"]], ",")
    table = read_spreadsheet(text.encode())
    assert (table.header, table.header_row, table.rows[0].cells) == (
        ("code", "name"),
        2,
        ("01858", "Bằng Thành"),
    )


def test_no_header_in_the_first_rows_is_a_clear_error():
    text = "".join(f"{TITLE}\r\n" for _ in range(HEADER_SCAN_ROWS)) + lines([HEADER, *PEOPLE], ",")
    with pytest.raises(HeaderNotFound):
        read_spreadsheet(text.encode(), is_header=is_member_header)
    with pytest.raises(HeaderNotFound):
        read_spreadsheet(lines(PEOPLE, ",").encode(), is_header=is_member_header)


def test_a_short_csv_line_keeps_its_width_and_trailing_empty_cells_go():
    text = lines([HEADER, ["1", "006190000001"], [*PEOPLE[1], "", "", ""]], ",")
    table = read_spreadsheet(text.encode(), is_header=is_member_header)
    assert [len(row.cells) for row in table.rows] == [2, 5]


# --- Titles ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "key"),
    [
        ("Số CCCD", "socccd"),
        ("SỐ  CCCD ", "socccd"),
        ("số_cccd", "socccd"),
        ("citizen_id", "citizenid"),
        ("Họ và tên", "hovaten"),
        ("HỌ VÀ TÊN", "hovaten"),
        ("Ngày vào Đảng", "ngayvaodang"),
        ("Ngày vào Ðảng", "ngayvaodang"),
        ("Mã thôn (cư trú)", "mathoncutru"),
        ("STT", "stt"),
    ],
)
def test_header_key_ignores_case_spaces_accents_and_punctuation(title, key):
    assert header_key(title) == key


def test_header_matcher_counts_known_titles():
    assert is_member_header(["STT", "SỐ CCCD", "Họ và tên"])
    assert not is_member_header(["STT", "Số CCCD", "Ghi chú"])  # one known title is not a header
    assert not is_member_header([TITLE])


def test_match_columns_finds_each_key_in_any_order():
    titles = {"citizen_id": ["Số CCCD"], "full_name": ["Họ và tên"], "gender": ["Giới tính"]}
    assert match_columns(["STT", "Họ và tên", "SỐ CCCD", "Ghi chú"], titles) == {
        "full_name": 1,
        "citizen_id": 2,
    }
    assert match_columns(["citizen_id", "full_name"], titles) == {"citizen_id": 0, "full_name": 1}


def test_restore_leading_zeros():
    assert restore_leading_zeros("6182339563") == "006182339563"
    assert restore_leading_zeros("006182339563") == "006182339563"
    assert restore_leading_zeros("6.18E+09") == "6.18E+09"  # not digits: nothing to restore
    assert (
        restore_leading_zeros("") == ""
        and restore_leading_zeros("1234567890123") == "1234567890123"
    )
    assert restore_leading_zeros("7", width=5) == "00007"


# --- XLSX -----------------------------------------------------------------------------


def office_workbook() -> bytes:
    """A cover sheet first; the list on the second sheet below a title row and a
    blank row; IDs typed as numbers (Excel dropped their zeros), dates as dates."""
    return workbook(
        {
            "Hướng dẫn": [["Danh sách đảng viên"], ["Xem trang tính thứ hai"]],
            "Danh sách": [
                [TITLE],
                [],
                ["STT", "Số CCCD", "Họ và tên", "Ngày sinh", "Cán bộ xã", "Ghi chú"],
                [1, 6182339563, "Nguyễn Thị Mỷ", datetime.datetime(1990, 2, 3), True, None],
                [2, 6182339564.0, "Đặng Văn Ước", D(1980, 1, 1), False, "chuyển về"],
                [],
                [
                    3,
                    "006190000003",
                    unicodedata.normalize("NFD", " Hứa Văn Cường "),
                    "15/11/1975",
                    None,
                    0.5,
                ],
            ],
        }
    )


def test_xlsx_list_on_the_second_sheet_below_a_title_row():
    table = read_spreadsheet(office_workbook(), "danh-sach.xlsx", is_header=is_member_header)
    assert (table.format, table.sheet, table.header_row) == ("xlsx", "Danh sách", 3)
    assert [row.number for row in table.rows] == [4, 5, 7]
    assert table.rows[0].cells == ("1", "6182339563", "Nguyễn Thị Mỷ", "1990-02-03", "yes", "")
    assert table.rows[1].cells == (
        "2",
        "6182339564",
        "Đặng Văn Ước",
        "1980-01-01",
        "no",
        "chuyển về",
    )
    assert table.rows[2].cells == ("3", "006190000003", "Hứa Văn Cường", "15/11/1975", "", "0.5")


def test_xlsx_number_cells_are_reported_so_that_ids_get_their_zeros_back():
    table = read_spreadsheet(office_workbook(), is_header=is_member_header)
    assert [row.numbers for row in table.rows] == [
        frozenset({0, 1}),
        frozenset({0, 1}),
        frozenset({0, 5}),
    ]
    column = table.header.index("Số CCCD")
    ids = [
        restore_leading_zeros(row.cells[column]) if column in row.numbers else row.cells[column]
        for row in table.rows
    ]
    assert ids == ["006182339563", "006182339564", "006190000003"]


def test_xlsx_numbers_stored_as_floats_are_whole_numbers():
    # Excel may store a typed ID as "6.182339563E9"; it is the integer all the same.
    data = workbook({"Danh sách": [HEADER, [1, 6182339563, "Nguyễn Thị Mỷ", "03/02/1990", "Tày"]]})
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        sheet = archive.read("xl/worksheets/sheet1.xml").decode()
    assert "<v>6182339563</v>" in sheet
    for stored in ("6.182339563E9", "6182339563.0", "6.182339563e+09"):
        table = read_spreadsheet(
            rezip(
                data,
                {
                    "xl/worksheets/sheet1.xml": sheet.replace(
                        "<v>6182339563</v>", f"<v>{stored}</v>"
                    ).encode()
                },
            ),
            is_header=is_member_header,
        )
        assert table.rows[0].cells[1] == "6182339563" and 1 in table.rows[0].numbers, stored


def test_xlsx_without_a_header_test_reads_the_first_sheet():
    table = read_spreadsheet(office_workbook())
    assert (table.sheet, table.header, table.header_row) == (
        "Hướng dẫn",
        ("Danh sách đảng viên",),
        1,
    )


def test_xlsx_without_a_header_names_its_sheets():
    data = workbook({"Bìa": [[TITLE]], "Trang 2": [["1", "2"]]})
    with translation.override("en"), pytest.raises(HeaderNotFound) as caught:
        read_spreadsheet(data, is_header=is_member_header)
    assert "sheets: Bìa, Trang 2" in str(caught.value)


def test_xlsx_whose_declared_size_is_wrong_is_read_whole():
    data = simple_workbook()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        sheet = archive.read("xl/worksheets/sheet1.xml").decode()
    assert '<dimension ref="A1:E5"' in sheet
    for wrong in ("A1:B2", "A1:XFD1048576"):
        lying = rezip(data, {"xl/worksheets/sheet1.xml": sheet.replace("A1:E5", wrong).encode()})
        table = read_spreadsheet(lying, is_header=is_member_header)
        assert [list(row.cells) for row in table.rows] == PEOPLE, wrong


# --- Bounds ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bomb() -> bytes:
    """A 300 KB workbook whose sheet unpacks to 300 MB."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        with archive.open("xl/worksheets/sheet1.xml", "w") as part:
            for _ in range(300):
                part.write(b"0" * (1024 * 1024))
    return buffer.getvalue()


def test_a_zip_bomb_is_refused_at_once_without_unpacking(bomb, monkeypatch):
    assert len(bomb) < 400 * 1024
    unpacked = []
    monkeypatch.setattr(zipfile.ZipExtFile, "read", lambda self, *a: unpacked.append(1) or b"")
    started = time.perf_counter()
    message = english_message(lambda: read_spreadsheet(bomb, "bomb.xlsx"))
    assert time.perf_counter() - started < 0.5
    assert "would unpack to 300 MB, more than the 200 MB" in message and not unpacked


def test_a_workbook_packed_tighter_than_any_list_is_refused(settings):
    # 20 MB unpacked (under the size limit) from 20 KB: a ratio no real list has.
    sheet = (
        b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><!--'
        + b" " * (20 * 1024 * 1024)
        + b"--><sheetData/></worksheet>"
    )
    data = rezip(simple_workbook(), {"xl/worksheets/sheet1.xml": sheet})
    message = english_message(lambda: read_spreadsheet(data))
    assert "packed far tighter than any real list (a part unpacks to 10" in message
    settings.IMPORT_MAX_COMPRESSION_RATIO = 10_000
    with pytest.raises(HeaderNotFound):
        read_spreadsheet(data)


def test_a_real_list_passes_the_bounds():
    rng = random.Random(15)
    rows = [
        [
            i,
            f"0061{rng.randrange(10**8):08d}",
            f"Nguyễn Văn {rng.randrange(10**6)}",
            D(1990, 1, 1),
            "Tày",
        ]
        for i in range(1, 8_001)
    ]
    data = workbook({"Danh sách": [HEADER, *rows]})
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        sheet = archive.getinfo("xl/worksheets/sheet1.xml")
    assert sheet.file_size > 1024 * 1024  # big enough for its ratio to be judged
    table = read_spreadsheet(data, is_header=is_member_header)
    assert len(table.rows) == 8_000 and table.rows[-1].number == 8_001


def test_the_unpacked_size_limit_is_a_setting(settings):
    rows = [[i, "006190000001", "Nguyễn Thị Mỷ", "03/02/1990", "Tày"] for i in range(8_000)]
    data = workbook({"Danh sách": [HEADER, *rows]})
    settings.IMPORT_MAX_UNPACKED_BYTES = 1024 * 1024
    assert "more than the 1 MB the registry reads" in english_message(
        lambda: read_spreadsheet(data)
    )


def test_the_byte_size_is_checked_first(settings):
    settings.IMPORT_MAX_BYTES = 1024 * 1024
    data = lines([HEADER], ",").encode() + b"x" * (1024 * 1024)
    assert "larger than 1 MB" in english_message(lambda: read_spreadsheet(data))


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_the_row_limit(kind, settings):
    settings.IMPORT_MAX_ROWS = 10
    people = [["1", "006190000001", "Nguyễn Thị Mỷ", "03/02/1990", "Tày"]] * 10
    if kind == "csv":
        data = lines([HEADER, *people], ",").encode()
    else:
        data = workbook({"Danh sách": [HEADER, *people]})
    assert "more than 10 rows" in english_message(
        lambda: read_spreadsheet(data, is_header=is_member_header)
    )
    settings.IMPORT_MAX_ROWS = 11
    assert len(read_spreadsheet(data, is_header=is_member_header).rows) == 10


def test_cells_right_of_column_200_are_not_read():
    wide = lines([HEADER, [*PEOPLE[0], *(["x"] * 300)]], ",").encode()
    assert len(read_spreadsheet(wide, is_header=is_member_header).rows[0].cells) == MAX_COLUMNS
    book = Workbook()
    book.active.append(HEADER)
    book.active.append(PEOPLE[0])
    book.active.cell(row=2, column=16_384, value="x")  # XFD, the last column
    buffer = io.BytesIO()
    book.save(buffer)
    table = read_spreadsheet(buffer.getvalue(), is_header=is_member_header)
    assert table.rows[0].cells == tuple(PEOPLE[0])


def test_a_giant_cell_is_refused_and_not_echoed():
    data = lines([HEADER], ",").encode() + b'1,"' + b"x" * 200_000 + b'"\r\n'
    message = english_message(lambda: read_spreadsheet(data, is_header=is_member_header))
    assert "cannot be read" in message and len(message) < 300


# --- Malformed files ------------------------------------------------------------------


def test_malformed_sheet_xml_inside_a_valid_zip():
    data = rezip(
        simple_workbook(), {"xl/worksheets/sheet1.xml": b"<worksheet><sheetData><row><c r="}
    )
    assert "not a readable Excel workbook" in english_message(
        lambda: read_spreadsheet(data, "a.xlsx")
    )


def test_malformed_rows_after_a_good_start():
    # The sheet's size is read when the workbook opens; the rows only while reading.
    data = simple_workbook()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        sheet = archive.read("xl/worksheets/sheet1.xml").decode()
    broken = sheet[: sheet.index('<row r="3"')] + '<row r="3"><c r="A3" t="n"><v>1</v></c><c r='
    data = rezip(data, {"xl/worksheets/sheet1.xml": broken.encode()})
    assert "not a readable Excel workbook" in english_message(
        lambda: read_spreadsheet(data, is_header=is_member_header)
    )


@pytest.mark.parametrize(
    "part",
    ["xl/workbook.xml", "xl/styles.xml", "xl/_rels/workbook.xml.rels", "[Content_Types].xml"],
)
def test_malformed_workbook_parts(part):
    data = rezip(simple_workbook(), {part: b"\x00\xffnot xml at all<<<"})
    assert "not a readable Excel workbook" in english_message(
        lambda: read_spreadsheet(data, "a.xlsx")
    )


def test_a_missing_sheet_part():
    data = rezip(simple_workbook(), {"xl/worksheets/sheet1.xml": None})
    assert "not a readable Excel workbook" in english_message(
        lambda: read_spreadsheet(data, "a.xlsx")
    )


def test_entity_expansion_in_a_sheet_is_refused_fast():
    # "Billion laughs": refused by expat's amplification limit (2.4.1 and later).
    entities = '<!ENTITY a0 "laughlaughlaughlaugh">' + "".join(
        f'<!ENTITY a{i} "{f"&a{i - 1};" * 10}">' for i in range(1, 10)
    )
    sheet = (
        f'<?xml version="1.0"?><!DOCTYPE worksheet [{entities}]>'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
        '<row r="1"><c r="A1" t="inlineStr"><is><t>&a9;</t></is></c></row></sheetData></worksheet>'
    )
    data = rezip(simple_workbook(), {"xl/worksheets/sheet1.xml": sheet.encode()})
    started = time.perf_counter()
    assert "not a readable Excel workbook" in english_message(lambda: read_spreadsheet(data))
    assert time.perf_counter() - started < 2


def test_a_truncated_workbook():
    data = simple_workbook()
    assert "not a readable Excel workbook" in english_message(
        lambda: read_spreadsheet(data[: len(data) // 2])
    )


def test_other_kinds_of_file_are_named():
    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("content.xml", "<office:document-content/>")
    assert "OpenDocument spreadsheet (.ods)" in english_message(
        lambda: read_spreadsheet(zipped.getvalue(), "a.ods")
    )
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512)
    assert "old Excel file (.xls)" in english_message(lambda: read_spreadsheet(ole, "a.xls"))
    csv_named_xlsx = lines([HEADER], ",").encode()
    assert "not a readable Excel workbook" in english_message(
        lambda: read_spreadsheet(csv_named_xlsx, "a.xlsx")
    )


def test_garbage_bytes_are_a_clear_error():
    garbage = random.Random(15).randbytes(4096)
    assert "not text in a character set the registry recognises" in english_message(
        lambda: read_spreadsheet(garbage.replace(b"\x00", b"\x01"))
    )
    assert "zero bytes" in english_message(lambda: read_spreadsheet(b"abc\x00def\r\n"))
    assert "no spreadsheet writes into a CSV" in english_message(
        lambda: read_spreadsheet(b"a,b\r\n\x01\x02,c\r\n")
    )
    assert "not a readable Excel workbook" in english_message(
        lambda: read_spreadsheet(b"PK\x03\x04" + garbage)
    )


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from([b"", b"PK\x03\x04", b"\xef\xbb\xbf", b"\xff\xfe", b"sep=;\n"]),
    st.binary(max_size=2048),
)
def test_any_bytes_give_a_table_or_a_spreadsheet_error(prefix, data):
    try:
        read_spreadsheet(prefix + data, is_header=is_member_header)
    except SpreadsheetError as exc:
        assert str(exc.message)


def test_messages_are_in_vietnamese_by_default(bomb):
    with translation.override("vi"), pytest.raises(SpreadsheetError) as caught:
        read_spreadsheet(bomb)
    assert "giải nén" in str(caught.value) and "CSV UTF-8" in str(caught.value)


# --- Garbled text passes through the reader, for the import to refuse ------------------


def test_the_registrys_export_opened_in_a_western_code_page_is_read_as_it_is():
    # Opened in LibreOffice with "Western Europe (Windows-1252)", saved again as UTF-8.
    export = lines(
        [["citizen_id", "full_name", "ethnicity"], ["006190000003", "Hứa Văn Cường", "Tày"]], ","
    )
    garbled = export.encode("utf-8").decode("cp1252", errors="ignore").encode("utf-8")
    table = read_spreadsheet(garbled, is_header=is_member_header)
    name, ethnicity = table.rows[0].cells[1:]
    assert name.startswith("Há»©a VÄƒn") and garbled_reason(name) and garbled_reason(ethnicity)


def test_letters_lost_as_question_marks_are_read_as_they_are():
    data = lines([["citizen_id", "full_name"], ["006190000001", "??ng Th? L??ng"]], ",").encode(
        "ascii"
    )
    table = read_spreadsheet(data, is_header=is_member_header)
    assert table.rows[0].cells[1] == "??ng Th? L??ng" and garbled_reason(table.rows[0].cells[1])


def test_the_csv_readers_complaints_are_said_in_vietnamese_with_the_row():
    from django.utils import translation

    data = lines([HEADER], ",").encode() + b'1,"' + b"x" * 200_000 + b'"\r\n'
    with translation.override("vi"):
        with pytest.raises(SpreadsheetError) as caught:
            read_spreadsheet(data, is_header=is_member_header)
    message = str(caught.value.message)
    assert "dòng 2" in message and "field limit" not in message, message


def test_an_overlong_csv_cell_is_reported_in_the_registrys_words():
    from django.utils import translation

    from pacnam.io import spreadsheets

    data = ('ho_ten\n"' + "a" * 200_000 + '"\n').encode()
    with translation.override("vi"), pytest.raises(spreadsheets.SpreadsheetError) as raised:
        spreadsheets.read_spreadsheet(data, "x.csv")
    assert "field limit" not in str(raised.value) and "một ô dài bất thường" in str(raised.value)
    assert "dòng 2" in str(raised.value)
