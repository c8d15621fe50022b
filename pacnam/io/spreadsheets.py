"""Reading the lists offices really keep: CSV or XLSX bytes -> a table of text cells.

    read_spreadsheet(data, filename, is_header=..., encoding=...)  -> Table
    decode_text(data, encoding=None)                               -> (text, encoding)
    check_workbook_archive(data)                                   -> None, or SpreadsheetError
    header_key(title) / header_matcher(titles, minimum=...)        -> matching column titles
    match_columns(header, titles)                                  -> {key: column index}
    restore_leading_zeros(text, width=12)                          -> "006182339563"

What district offices have (DOMAIN.md): Excel on a Vietnamese Windows
saves "CSV" in Windows-1258 and, where the decimal separator is a comma, with
semicolons; "CSV UTF-8" starts with a BOM; "Unicode text" is UTF-16 with tabs;
workbooks have title rows above the column titles, an STT column, the list on
another sheet than the first, and citizen IDs typed as numbers. Everything here
is generic: which titles make a header is the caller's business (`is_header`).

Every cell comes back as text in the stored form (pacnam.lib.text.clean_text). A file
that cannot be read raises SpreadsheetError, whose `message` is a translated
sentence for the user that says what to do; nothing else escapes, whatever the
bytes. The bounds are checked before parsing, so a hostile upload costs
milliseconds: the byte size (IMPORT_MAX_BYTES), a workbook's unpacked size and
compression ratio from the ZIP central directory (IMPORT_MAX_UNPACKED_BYTES,
IMPORT_MAX_COMPRESSION_RATIO), and the number of rows (IMPORT_MAX_ROWS).
"""

from __future__ import annotations

import codecs
import csv
import datetime
import io
import re
import warnings
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from django.conf import settings
from django.utils.translation import gettext as _

from pacnam.lib.text import TONE_MARKS, VIETNAMESE_LETTERS, clean_text, excerpt, fold

# How far down a sheet the column titles may be: below title rows, a date line,
# blank rows. Real lists have a handful; a header further down is not one.
HEADER_SCAN_ROWS = 50
# Real lists have 10 to 30 columns; cells right of this column are not read. A
# workbook row reaching column XFD (16,384) would otherwise make every row that
# wide in memory.
MAX_COLUMNS = 200
# Entries smaller than this are not judged by their ratio: tiny XML parts
# (styles, relationships) compress at odd ratios and cannot hurt.
RATIO_GRACE_BYTES = 1024 * 1024
# A workbook has a dozen parts, a few hundred with many sheets and pictures.
MAX_ARCHIVE_ENTRIES = 10_000
CSV_DELIMITERS: tuple[str, ...] = (",", ";", "\t")

HeaderTest = Callable[[Sequence[str]], bool]


class SpreadsheetError(Exception):
    """The file as a whole cannot be read. `message` is for the user, translated."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return str(self.message)


class HeaderNotFound(SpreadsheetError):
    """No row of recognisable column titles; the caller may say which it expects."""


@dataclass(frozen=True)
class Row:
    number: int  # the row's number in the file or sheet, as Excel shows it (1 = first)
    cells: tuple[str, ...]
    # Indexes of the cells that were numbers in the workbook (never in a CSV):
    # a citizen ID typed as a number has lost its leading zeros.
    numbers: frozenset[int] = frozenset()


@dataclass(frozen=True)
class Table:
    header: tuple[str, ...]
    header_row: int  # the header's row number in the file or sheet
    rows: list[Row] = field(default_factory=list)  # below the header, blank rows left out
    format: str = "csv"  # "csv" or "xlsx"
    encoding: str | None = None  # CSV: the character set read
    delimiter: str | None = None  # CSV: ",", ";" or "\t"
    sheet: str | None = None  # XLSX: the sheet's name


# --- Titles ------------------------------------------------------------------------


_NOT_ALNUM = re.compile(r"[^a-z0-9]+")


def header_key(title: str) -> str:
    """A column title reduced to what a person means by it: no case, accents,
    spaces or punctuation. "Số CCCD" -> "socccd", "citizen_id" -> "citizenid",
    "Họ và tên" -> "hovaten", "NGÀY SINH" -> "ngaysinh"."""
    return _NOT_ALNUM.sub("", fold(title))


def header_matcher(titles: Iterable[str], *, minimum: int) -> HeaderTest:
    """A header test for read_spreadsheet: a row is the header when at least
    `minimum` of its cells are among `titles` (compared by header_key)."""
    keys = {header_key(title) for title in titles} - {""}

    def is_header(cells: Sequence[str]) -> bool:
        return len({header_key(cell) for cell in cells} & keys) >= minimum

    return is_header


def match_columns(header: Sequence[str], titles: Mapping[str, Iterable[str]]) -> dict[str, int]:
    """Which column holds each key: {key: index} for the keys of `titles` (each with
    the titles people write for it) found in `header`. A key whose titles appear in
    two columns takes the first; the caller decides what is required."""
    wanted = {header_key(title): key for key, names in titles.items() for title in [key, *names]}
    found: dict[str, int] = {}
    for index, cell in enumerate(header):
        key = wanted.get(header_key(cell))
        if key is not None and key not in found:
            found[key] = index
    return found


def restore_leading_zeros(text: str, width: int = 12) -> str:
    """A number that Excel stored without its leading zeros, given them back:
    "6182339563" -> "006182339563". Only for cells that were numbers (Row.numbers),
    only digits, only shorter than `width`; anything else comes back unchanged."""
    if text.isascii() and text.isdigit() and len(text) < width:
        return text.zfill(width)
    return text


# --- Entry point ---------------------------------------------------------------------


def read_spreadsheet(
    data: bytes,
    filename: str = "",
    *,
    is_header: HeaderTest | None = None,
    encoding: str | None = None,
) -> Table:
    """The list in a CSV or XLSX file, from its column titles down.

    `is_header(cells)` says whether a row is the header (see header_matcher);
    without it the first row that is not blank is. Rows above the header and blank
    rows are left out; every row keeps its number in the file. An XLSX file is read
    from the first sheet that has a header. `encoding` forces a CSV's character set.
    Raises SpreadsheetError (HeaderNotFound when no header is found).
    """
    max_bytes = settings.IMPORT_MAX_BYTES
    if len(data) > max_bytes:
        raise SpreadsheetError(
            _("The file is larger than %(size)d MB, the most the registry accepts.")
            % {"size": max(1, max_bytes // (1024 * 1024))}
        )
    name = (filename or "").lower()
    if data[:4] == b"PK\x03\x04":
        return _read_xlsx(data, is_header)
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        # The old binary format (.xls), and also a workbook saved with a password.
        raise SpreadsheetError(
            _(
                "This is an old Excel file (.xls) or a workbook with a password; the "
                "registry reads neither. Open it in Excel and save it, without a password, "
                "as 'CSV UTF-8' or as an Excel workbook (.xlsx)."
            )
        )
    if name.endswith((".xlsx", ".xlsm", ".ods")):
        raise SpreadsheetError(_unreadable_workbook())
    return _read_csv(data, is_header, encoding)


def _unreadable_workbook() -> str:
    return _(
        "The file is not a readable Excel workbook (it may be damaged, or another kind "
        "of file renamed). Open it in Excel and save it again as an Excel workbook "
        "(.xlsx) or as 'CSV UTF-8'."
    )


def _too_many_rows(limit: int) -> SpreadsheetError:
    return SpreadsheetError(
        _(
            "The file has more than %(n)d rows, the most the registry reads at once. Split it into smaller files."
        )
        % {"n": limit}
    )


def _trimmed(cells: list[str], keep: int = 0) -> list[str]:
    """Without the empty cells on the right beyond the first `keep`."""
    end = len(cells)
    while end > keep and not cells[end - 1]:
        end -= 1
    return cells[:end]


# --- CSV ----------------------------------------------------------------------------


def _vietnamese_utf8() -> re.Pattern:
    sequences = {c.encode("utf-8") for c in VIETNAMESE_LETTERS | TONE_MARKS if c >= "\x80"}
    return re.compile(b"|".join(re.escape(s) for s in sorted(sequences, key=len, reverse=True)))


_VIETNAMESE_UTF8 = _vietnamese_utf8()


def _mostly_utf8(data: bytes) -> bool:
    """Whether bytes that are not valid UTF-8 are still a UTF-8 file with a few bad
    bytes: more Vietnamese letters in UTF-8 than bytes that are not UTF-8. A
    Windows-1258 file has next to none of the first; random bytes have more of
    the second."""
    letters = len(_VIETNAMESE_UTF8.findall(data))
    if not letters:
        return False
    invalid = len(_UNDECODED.findall(data.decode("utf-8", errors="surrogateescape")))
    return letters > invalid


_UNDECODED = re.compile("[\udc80-\udcff]")  # what surrogateescape makes of a byte that is not UTF-8
# Control characters no spreadsheet writes into a CSV (tab, line feed and carriage
# return aside): a sign of a binary file.
_BINARY = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def decode_text(data: bytes, encoding: str | None = None) -> tuple[str, str]:
    """The text of a CSV file and the name of the character set it was read in.

    Found without asking: UTF-8 (with or without BOM), UTF-16 (with BOM) and
    Windows-1258. UTF-8 is tried strictly first, so a UTF-8 file is never read
    as Windows-1258 (which would turn every "ễ" into "á»…"). A file that fails
    UTF-8 but holds UTF-8 Vietnamese letters is a damaged UTF-8 file and is
    refused, not read as Windows-1258: Vietnamese in Windows-1258 is one byte
    per letter or tone mark and does not form those byte sequences. The text
    may hold decomposed letters (Windows-1258 writes tone marks apart);
    clean_text composes them.
    """
    if encoding:
        try:
            named = codecs.lookup(encoding)
        except LookupError:
            raise SpreadsheetError(
                _(
                    "'%(name)s' is not a character set the registry knows; try utf-8, utf-16 or cp1258."
                )
                % {"name": excerpt(encoding, 40)}
            ) from None
        name = "utf-8-sig" if named.name == "utf-8" else named.name
        try:
            return data.decode(name), named.name
        except UnicodeDecodeError as exc:
            raise SpreadsheetError(
                _(
                    "The file is not in the character set %(encoding)s (the problem is at byte %(position)d)."
                )
                % {"encoding": named.name, "position": exc.start + 1}
            ) from exc
    if data.startswith(codecs.BOM_UTF8):
        codec, label = "utf-8-sig", "utf-8"
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        codec, label = "utf-16", "utf-16"  # Excel's "Unicode text"
    elif b"\x00" in data:
        raise SpreadsheetError(
            _(
                "The file contains zero bytes: it is not a CSV text file. Save the list as "
                "'CSV UTF-8' or as an Excel workbook (.xlsx) and try again."
            )
        )
    else:
        try:
            return data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError as exc:
            if _mostly_utf8(data):
                raise SpreadsheetError(
                    _(
                        "The file is in UTF-8 but damaged at byte %(position)d. Save the list "
                        "again as 'CSV UTF-8' or as an Excel workbook (.xlsx) and try again."
                    )
                    % {"position": exc.start + 1}
                ) from exc
        codec, label = "cp1258", "windows-1258"
    try:
        return data.decode(codec), label
    except UnicodeDecodeError as exc:
        if codec == "cp1258":
            # A Western Windows (cp1252) writes Š, Ž, š, ž where Windows-1258 has
            # no letter; its Vietnamese letters are lost already, which the
            # import's check of names then says.
            try:
                return data.decode("cp1252"), "windows-1252"
            except UnicodeDecodeError:
                pass
        raise SpreadsheetError(
            _(
                "The file is not text in a character set the registry recognises (the problem "
                "is at byte %(position)d). Save the list as 'CSV UTF-8' or as an Excel "
                "workbook (.xlsx) and try again."
            )
            % {"position": exc.start + 1}
        ) from exc


def _records(text: str, delimiter: str) -> Iterator[list[str]]:
    return csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)


def _find_header(
    records: Iterator[list[str]], is_header: HeaderTest | None
) -> tuple[int, list[str]] | None:
    for number, record in enumerate(records, start=1):
        if number > HEADER_SCAN_ROWS:
            return None
        cells = [clean_text(cell) for cell in record[:MAX_COLUMNS]]
        if any(cells) and (is_header is None or is_header(cells)):
            return number, cells
    return None


_SEP_LINE = re.compile(r"\Asep=(.)\r?\n")


def _csv_error(exc: csv.Error) -> str:
    """What Python's CSV reader says, for a person: its messages are English."""
    text = str(exc)
    if "field larger than field limit" in text:
        return _("a cell is longer than any list's (a quote opened and never closed?)")
    if "NUL" in text:
        return _("the file holds zero bytes, which no spreadsheet writes into a CSV")
    if "new-line" in text or "unexpected end of data" in text:
        return _("a quote opened in a cell is not closed before the end of the line")
    if "expected after" in text:
        return _("a closing quote is followed by something other than the separator")
    return _("the text is not laid out as CSV (%(error)s)") % {"error": excerpt(text, 60)}


def _read_csv(data: bytes, is_header: HeaderTest | None, encoding: str | None) -> Table:
    text, charset = decode_text(data, encoding)
    text = text.removeprefix("\ufeff")
    if _BINARY.search(text):
        raise SpreadsheetError(
            _(
                "The file holds characters no spreadsheet writes into a CSV: it is not a list "
                "saved as CSV. Save the list as 'CSV UTF-8' or as an Excel workbook (.xlsx)."
            )
        )
    skip = 0
    delimiters = CSV_DELIMITERS
    sep = _SEP_LINE.match(text)
    if sep and sep.group(1) in CSV_DELIMITERS:
        # Excel's own hint on the first line ("sep=;"); the line is not data.
        delimiters, skip = (sep.group(1),), 1

    # The delimiter is the one with which a header is found; counting on the
    # first line fails when a title row above the header holds commas, and
    # csv.Sniffer guesses wrong on Vietnamese text. Several: the widest header.
    best = None
    for delimiter in delimiters:
        records = _records(text, delimiter)
        try:
            for _skipped in range(skip):
                next(records, None)
            found = _find_header(records, is_header)
        except csv.Error:
            continue
        if found is not None:
            score = (sum(1 for cell in found[1] if cell), -found[0])
            if best is None or score > best[0]:
                best = (score, delimiter, found[0] + skip)
    if best is None:
        raise HeaderNotFound(
            _(
                "No row of column titles was found in the first %(n)d rows. The list needs a "
                "row of column titles above the data."
            )
            % {"n": HEADER_SCAN_ROWS}
        )
    _score, delimiter, header_row = best
    max_rows = settings.IMPORT_MAX_ROWS
    header: list[str] = []
    rows: list[Row] = []
    number = 0
    try:
        for number, record in enumerate(_records(text, delimiter), start=1):
            if number > max_rows:
                raise _too_many_rows(max_rows)
            if number < header_row:
                continue
            cells = [clean_text(cell) for cell in record[:MAX_COLUMNS]]
            if number == header_row:
                header = _trimmed(cells)
                continue
            # A CSV row keeps its own width: a short line is a fact the caller may
            # report. Empty cells beyond the header are dropped.
            cells = _trimmed(cells, keep=min(len(cells), len(header)))
            if not any(cells):
                continue
            rows.append(Row(number, tuple(cells)))
    except csv.Error as exc:
        raise SpreadsheetError(
            _(
                "The CSV file cannot be read at row %(row)d: %(error)s. Save it again as 'CSV UTF-8' or as an Excel workbook (.xlsx)."
            )
            # The reader fails while fetching the row after the last one read.
            % {"row": number + 1, "error": _csv_error(exc)}
        ) from exc
    return Table(
        tuple(header), header_row, rows, format="csv", encoding=charset, delimiter=delimiter
    )


# --- XLSX ----------------------------------------------------------------------------


def check_workbook_archive(data: bytes) -> None:
    """Refuse a workbook whose ZIP would unpack to too much, before anything unpacks it.

    Reads only the ZIP's central directory: a 300 KB file that would unpack to
    300 MB is refused in milliseconds. The sizes it declares are a true bound:
    Python's zipfile never returns more bytes than an entry declares.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError) as exc:
        raise SpreadsheetError(_unreadable_workbook()) from exc
    names = {entry.filename for entry in entries}
    if "xl/workbook.xml" not in names:
        if "mimetype" in names or "content.xml" in names:
            raise SpreadsheetError(
                _(
                    "This is an OpenDocument spreadsheet (.ods); the registry does not read it. "
                    "Save it as an Excel workbook (.xlsx) or as 'CSV UTF-8'."
                )
            )
        raise SpreadsheetError(_unreadable_workbook())
    if len(entries) > MAX_ARCHIVE_ENTRIES or any(entry.flag_bits & 0x1 for entry in entries):
        raise SpreadsheetError(_unreadable_workbook())  # too many parts, or encrypted ones
    limit = settings.IMPORT_MAX_UNPACKED_BYTES
    unpacked = sum(entry.file_size for entry in entries)
    if unpacked > limit:
        raise SpreadsheetError(
            _(
                "The workbook would unpack to %(size)d MB, more than the %(limit)d MB the registry "
                "reads. Split the list into smaller files, or save it as 'CSV UTF-8'."
            )
            % {"size": unpacked // (1024 * 1024), "limit": limit // (1024 * 1024)}
        )
    max_ratio = settings.IMPORT_MAX_COMPRESSION_RATIO
    for entry in entries:
        if entry.file_size > RATIO_GRACE_BYTES and entry.file_size > max_ratio * max(
            entry.compress_size, 1
        ):
            raise SpreadsheetError(
                _(
                    "The workbook is packed far tighter than any real list (a part unpacks to "
                    "%(ratio)d times its size); the registry does not open it. Save the list "
                    "again from Excel as an Excel workbook (.xlsx) or as 'CSV UTF-8'."
                )
                % {"ratio": entry.file_size // max(entry.compress_size, 1)}
            )


def _cell_text(value) -> tuple[str, bool]:
    """A workbook value as text, and whether it was a number."""
    if value is None:
        return "", False
    if isinstance(value, bool):  # before int: bool is an int
        return ("yes" if value else "no"), False
    if isinstance(value, int):
        return str(value), True
    if isinstance(value, float):
        # 6182339563.0 is the citizen ID 6182339563, never "6.18E+09".
        if value.is_integer() and abs(value) < 1e16:
            return str(int(value)), True
        return repr(value), True
    if isinstance(value, datetime.datetime):
        return value.date().isoformat(), False
    if isinstance(value, datetime.date):
        return value.isoformat(), False
    if isinstance(value, datetime.time):
        return value.isoformat(), False
    return clean_text(value), False


def _sheet_rows(sheet) -> Iterator[tuple[int, list[str], frozenset[int]]]:
    # The sheet's declared size may be wrong or hostile ("A1:XFD1048576"); read
    # the rows that are there (a smaller one would cut the list short), at most
    # MAX_COLUMNS wide.
    sheet.reset_dimensions()
    for number, values in enumerate(
        sheet.iter_rows(max_col=MAX_COLUMNS, values_only=True), start=1
    ):
        cells, numbers = [], set()
        for index, value in enumerate(values):
            text, is_number = _cell_text(value)
            cells.append(text)
            if is_number:
                numbers.add(index)
        yield number, cells, frozenset(numbers)


def _read_sheet(sheet, is_header: HeaderTest | None, max_rows: int) -> Table | None:
    rows_iter = _sheet_rows(sheet)
    header: list[str] | None = None
    header_row = 0
    for number, cells, _numbers in rows_iter:
        if number > HEADER_SCAN_ROWS:
            return None
        if any(cells) and (is_header is None or is_header(cells)):
            header, header_row = _trimmed(cells), number
            break
    if header is None:
        return None
    width = len(header)
    rows: list[Row] = []
    for number, cells, numbers in rows_iter:
        if number > max_rows:
            raise _too_many_rows(max_rows)
        if not any(cells):
            continue
        # A sheet is a grid: a row is as wide as the header, plus any filled cell beyond.
        cells = _trimmed(cells, keep=width)
        cells += [""] * (width - len(cells))
        rows.append(Row(number, tuple(cells), frozenset(i for i in numbers if i < len(cells))))
    return Table(tuple(header), header_row, rows, format="xlsx", sheet=sheet.title)


def _read_xlsx(data: bytes, is_header: HeaderTest | None) -> Table:
    check_workbook_archive(data)
    from openpyxl import load_workbook

    max_rows = settings.IMPORT_MAX_ROWS
    # openpyxl raises whatever its parser meets in a malformed part (KeyError,
    # ValueError, TypeError, ElementTree.ParseError, zlib.error, ...): every one
    # of them means the same to the user, so all become SpreadsheetError.
    # Entity expansion ("billion laughs") is stopped by expat (2.4.1 and later),
    # which tests/test_spreadsheets.py checks.
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "no default style", unknown extensions
            book = load_workbook(io.BytesIO(data), read_only=True, data_only=True, keep_links=False)
    except Exception as exc:
        raise SpreadsheetError(_unreadable_workbook()) from exc
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if not book.worksheets:
                raise SpreadsheetError(_unreadable_workbook())
            for sheet in book.worksheets:
                table = _read_sheet(sheet, is_header, max_rows)
                if table is not None:
                    return table
            names = ", ".join(excerpt(sheet.title, 31) for sheet in book.worksheets[:10])
    except SpreadsheetError:
        raise
    except Exception as exc:
        raise SpreadsheetError(_unreadable_workbook()) from exc
    finally:
        book.close()
    raise HeaderNotFound(
        _(
            "No sheet has a row of column titles in its first %(n)d rows (sheets: %(sheets)s). "
            "The list needs a row of column titles above the data."
        )
        % {"n": HEADER_SCAN_ROWS, "sheets": names}
    )
