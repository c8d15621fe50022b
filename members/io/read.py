"""Reading import files: CSV or XLSX bytes into a table of text cells, the columns
people write, and the cells' parsers.

The contract other tools rely on: the headers of each kind below, as
the export writes them. Issue 15 widened what is read: the same keys or their
Vietnamese titles (`TITLES`), matched without regard to case, spaces or accents
(pacnam.io.spreadsheets.header_key), in any order, with other columns (STT, notes)
left out; dates as YYYY-MM-DD or DD/MM/YYYY; yes/no in English or Vietnamese.
"""

from __future__ import annotations

import datetime
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from pacnam.io.csv_writer import FORMULA_STARTS
from pacnam.io.spreadsheets import (
    HeaderNotFound,
    SpreadsheetError,
    Table,
    header_key,
    read_spreadsheet,
)
from pacnam.lib.text import excerpt

from ..models import (
    Gender,
)

# What the export writes and an import needs, in the export's order.
HEADERS: dict[str, list[str]] = {
    "communes": ["code", "name"],
    "villages": ["commune_code", "code", "name", "households", "population"],
    "branches": ["commune_code", "code", "name", "kind", "village_code", "founded_on"],
    "members": [
        "citizen_id",
        "full_name",
        "gender",
        "birth_date",
        "ethnicity",
        "residence_village_code",
        "position",
        "is_commune_cadre",
        "admitted_on",
        "full_on",
        "card_number",
        "branch_code",
        "since",
    ],
    "memberships": ["citizen_id", "branch_code", "kind", "started_on", "ended_on", "end_reason"],
}
KINDS = list(HEADERS)
# Columns a file may have after those: a commune's province and validity.
# An old two-column communes file still imports.
OPTIONAL_COLUMNS: dict[str, list[str]] = {
    "communes": ["province_code", "valid_from", "valid_to"],
    # The branch by its name, where an office list has no codes.
    "members": ["branch_name"],
}
# What an import cannot do without: the columns that identify and place a row. A
# members file needs who the member is and their branch (its code or its name);
# every other column, missing, keeps the registry's value. The other kinds are
# lists of units, all of whose columns are needed.
REQUIRED_COLUMNS: dict[str, list[str]] = {
    "members": ["citizen_id", "full_name", "gender", "birth_date"],
}
# Columns of which one is enough: {kind: [(one, other), ...]}.
EITHER_COLUMNS: dict[str, list[tuple[str, str]]] = {"members": [("branch_code", "branch_name")]}
# Columns the people's export writes beside the codes, for reading: the import
# leaves them out (the code says which unit), and the preview says so.
INFO_COLUMNS: dict[str, dict[str, list[str]]] = {
    "members": {
        "residence_village_name": ["Thôn cư trú", "Tên thôn cư trú"],
        "commune_code": ["Mã xã"],
        "commune_name": ["Xã", "Tên xã", "Đảng bộ xã"],
        "status": ["Tình trạng"],
    },
}


def columns_of(kind: str) -> list[str]:
    """Every column an import of `kind` reads: the export's, then the optional."""
    return HEADERS[kind] + OPTIONAL_COLUMNS.get(kind, [])


def required_columns(kind: str) -> list[str]:
    """The columns a file of `kind` must have (one of each EITHER_COLUMNS pair aside)."""
    if kind in REQUIRED_COLUMNS:
        return list(REQUIRED_COLUMNS[kind])
    return list(HEADERS[kind])


# The titles district offices give these columns. The first is the one the XLSX
# export writes when asked for Vietnamese titles; the others are read as well.
# Issue 15 names the members' titles; the other kinds' follow the same words.
TITLES: dict[str, dict[str, list[str]]] = {
    "communes": {
        "code": ["Mã xã"],
        "name": ["Tên xã"],
        "province_code": ["Mã tỉnh"],
        "valid_from": ["Hiệu lực từ ngày"],
        "valid_to": ["Hiệu lực đến ngày"],
    },
    "villages": {
        "commune_code": ["Mã xã"],
        "code": ["Mã thôn"],
        "name": ["Tên thôn", "Tên thôn, bản"],
        "households": ["Số hộ"],
        "population": ["Số khẩu", "Số nhân khẩu"],
    },
    "branches": {
        "commune_code": ["Mã xã"],
        "code": ["Mã chi bộ"],
        "name": ["Tên chi bộ"],
        "kind": ["Loại chi bộ"],
        "village_code": ["Mã thôn"],
        "founded_on": ["Ngày thành lập"],
    },
    "members": {
        "citizen_id": [
            "Số CCCD",
            "Số căn cước công dân",
            "Số căn cước",
            "CCCD",
            "Căn cước công dân",
            "Số định danh cá nhân",
            "Số định danh",
            "Số CCCD/CMND",
            "CCCD/CMND",
        ],
        "full_name": ["Họ và tên", "Họ tên", "Họ và tên đảng viên", "Họ tên đảng viên"],
        "gender": ["Giới tính", "Nam/Nữ", "Giới"],
        "birth_date": ["Ngày sinh", "Ngày tháng năm sinh", "Sinh ngày"],
        "ethnicity": ["Dân tộc"],
        "residence_village_code": ["Mã thôn cư trú"],
        "position": ["Chức vụ", "Chức vụ hiện nay"],
        "is_commune_cadre": ["Cán bộ xã", "Cán bộ, công chức xã"],
        "admitted_on": ["Ngày vào Đảng", "Ngày kết nạp"],
        "full_on": ["Ngày chính thức", "Ngày công nhận chính thức"],
        "card_number": ["Số thẻ đảng viên", "Số thẻ Đảng viên", "Số thẻ"],
        "branch_code": ["Mã chi bộ"],
        "branch_name": ["Chi bộ", "Tên chi bộ", "Sinh hoạt tại chi bộ"],
        "since": ["Sinh hoạt từ ngày"],
    },
    "memberships": {
        "citizen_id": ["Số CCCD", "Số căn cước công dân", "Số căn cước", "CCCD"],
        "branch_code": ["Mã chi bộ"],
        "kind": ["Loại sinh hoạt"],
        "started_on": ["Từ ngày"],
        "ended_on": ["Đến ngày"],
        "end_reason": ["Lý do kết thúc"],
    },
}


def vietnamese_header(kind: str) -> list[str]:
    """The export's header in the Vietnamese titles (the XLSX export's choice)."""
    return [TITLES[kind][key][0] for key in HEADERS[kind]]


def column_title(kind: str, key: str) -> str:
    """The registry's Vietnamese title of a column ("Họ và tên"), else the key."""
    titles = TITLES.get(kind, {}).get(key) or INFO_COLUMNS.get(kind, {}).get(key)
    return titles[0] if titles else key


# Columns people add that the import leaves out: the row number, notes.
IGNORED_TITLES = {
    header_key(t) for t in ["STT", "TT", "Số TT", "Số thứ tự", "No", "Ghi chú", "Note", "Notes"]
}
# A title written like a key (lower case, digits, underscores) that is no key of
# the kind is refused, not left out: it is a misspelt column of the contract or
# another kind's, and leaving it out would import the file without it.
_KEY_LIKE = re.compile(r"[a-z_][a-z0-9_]*")


def _known_keys(kind: str) -> dict[str, str]:
    """{header_key(title): column} for every key and title of `kind`."""
    known: dict[str, str] = {}
    for key in columns_of(kind):
        for title in [key, *TITLES[kind].get(key, [])]:
            known.setdefault(header_key(title), key)
    return known


def _info_keys(kind: str) -> set[str]:
    return {
        header_key(title)
        for key, titles in INFO_COLUMNS.get(kind, {}).items()
        for title in [key, *titles]
    }


def header_test(kind: str):
    """Whether a row is `kind`'s header: it names at least three of its columns (both
    of a communes file's), so a title row above the list is never taken for it."""
    known = _known_keys(kind)
    minimum = min(3, len(HEADERS[kind]))

    def is_header(cells: Sequence[str]) -> bool:
        return len({known[k] for k in map(header_key, cells) if k in known}) >= minimum

    return is_header


@dataclass
class Columns:
    """How a file's header maps to an import's columns, for the checks and for the
    preview: which key each column holds, under which title the file names it,
    the file's columns left out, and the registry's columns the file lacks."""

    kind: str
    at: dict[str, int] = field(default_factory=dict)  # key -> index in the row
    titles: dict[str, str] = field(default_factory=dict)  # key -> the file's title
    ignored: list[str] = field(default_factory=list)  # the file's titles, left out
    missing: list[str] = field(default_factory=list)  # optional keys the file lacks
    problem: str | None = None  # why the header cannot be imported, for the user

    def title(self, key: str) -> str:
        """A column as the user reads it: the file's title and, when the registry
        calls it otherwise, the registry's ("Tên CB (Tên chi bộ)")."""
        registry = column_title(self.kind, key)
        own = self.titles.get(key)
        if not own or header_key(own) == header_key(registry):
            return registry
        if header_key(own) == header_key(key):
            # A file of the export's keys: the registry's title, then the key it wrote.
            return f"{registry} ({own})"
        return f"{own} ({registry})"

    def summary(self) -> dict:
        return {
            "found": [self.title(key) for key in sorted(self.at, key=self.at.__getitem__)],
            "ignored": list(self.ignored),
            "missing": [column_title(self.kind, key) for key in self.missing],
            "titles": {key: self.title(key) for key in self.at},
        }


def _listed(kind: str, keys: Sequence[str]) -> str:
    """'Họ và tên (full_name), Giới tính (gender)': what the user reads, and the key a
    tool or the export writes."""
    return ", ".join(f"{column_title(kind, key)} ({key})" for key in keys)


def read_columns(kind: str, header: Sequence[str]) -> Columns:
    """Which column of `header` holds each key of `kind`, and what is wrong with the
    header if anything (a translated sentence): a required column missing, one
    named twice, or a title written like a key that is none."""
    known = _known_keys(kind)
    info = _info_keys(kind)
    columns = Columns(kind)
    twice, unknown = [], []
    for index, title in enumerate(header):
        title = unquote(title).strip()
        key = known.get(header_key(title))
        if key is None:
            if not title:
                continue
            hkey = header_key(title)
            if hkey not in IGNORED_TITLES and hkey not in info and _KEY_LIKE.fullmatch(title):
                unknown.append(title)
            else:
                columns.ignored.append(title)
            continue
        if key in columns.at:
            twice.append(title)
        else:
            columns.at[key] = index
            columns.titles[key] = title
    required = required_columns(kind)
    missing: list[str | tuple[str, str]] = [key for key in required if key not in columns.at]
    for pair in EITHER_COLUMNS.get(kind, []):
        if not any(key in columns.at for key in pair):
            missing.append(pair)
    columns.missing = [
        key
        for key in columns_of(kind)
        if key not in columns.at
        and key not in required
        and not any(
            key in pair and any(k in columns.at for k in pair)
            for pair in EITHER_COLUMNS.get(kind, [])
        )
    ]
    if missing or unknown or twice:
        problems = []
        if missing:
            names = [
                _("%(one)s or %(other)s")
                % {"one": _listed(kind, [k[0]]), "other": _listed(kind, [k[1]])}
                if isinstance(k, tuple)
                else _listed(kind, [k])
                for k in missing
            ]
            problems.append(_("missing: %(columns)s") % {"columns": ", ".join(names)})
        if unknown:
            problems.append(
                _("unknown: %(columns)s")
                % {"columns": ", ".join(excerpt(t, 40) for t in unknown[:5])}
            )
        if twice:
            problems.append(
                _("twice: %(columns)s") % {"columns": ", ".join(excerpt(t, 40) for t in twice[:5])}
            )
        needed = [_listed(kind, [k]) for k in required] + [
            _("%(one)s or %(other)s") % {"one": _listed(kind, [a]), "other": _listed(kind, [b])}
            for a, b in EITHER_COLUMNS.get(kind, [])
        ]
        columns.problem = _(
            "The file needs the columns %(needed)s, in any order, under these titles or the "
            "export's keys; other columns are optional, and columns such as STT are left out "
            "(%(problems)s)."
        ) % {"needed": ", ".join(needed), "problems": "; ".join(problems)}
    return columns


def map_columns(kind: str, header: Sequence[str]) -> tuple[dict[str, int], str | None]:
    """read_columns' {key: index} and problem (the older callers' shape)."""
    columns = read_columns(kind, header)
    return columns.at, columns.problem


# FORMULA_STARTS (pacnam.io.csv_writer): exports prefix such text with a single
# quote; the import takes it off again (unquote).


class ImportFileError(Exception):
    """The file as a whole cannot be read (too large, not text, not CSV/XLSX)."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return str(self.message)


# --- Reading files -----------------------------------------------------------


def read_table(
    data: bytes, filename: str = "", *, kind: str = "members", encoding: str | None = None
) -> Table:
    """The list in a CSV or XLSX file (pacnam.io.spreadsheets.Table), from the header of
    `kind` down, every row with its number in the file or sheet. Windows-1258,
    UTF-16, semicolons and tabs, title rows, the list on another sheet are found
    without asking; `encoding` forces a CSV's character set.

    Raises ImportFileError with a message for the user when the file is too large,
    not readable text, or not a readable spreadsheet.
    """
    try:
        try:
            return read_spreadsheet(data, filename, is_header=header_test(kind), encoding=encoding)
        except HeaderNotFound:
            # No header of this kind: the first row that is not blank, for
            # validate_table to say which columns it expected.
            return read_spreadsheet(data, filename, encoding=encoding)
    except SpreadsheetError as exc:
        raise ImportFileError(exc.message) from exc


# --- Parsing cells ---------------------------------------------------------------

_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_DMY = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")

TRUE_WORDS = {"yes", "true", "1", "có"}
FALSE_WORDS = {"no", "false", "0", "không"}
GENDER_WORDS = {
    "male": Gender.MALE,
    "nam": Gender.MALE,
    "female": Gender.FEMALE,
    "nữ": Gender.FEMALE,
}


class CellError(ValueError):
    pass


def parse_date(text: str) -> datetime.date | None:
    """YYYY-MM-DD or DD/MM/YYYY; empty is None. Raises CellError otherwise."""
    text = (text or "").strip()
    if not text:
        return None
    match = _ISO.match(text)
    if match:
        year, month, day = (int(g) for g in match.groups())
    else:
        match = _DMY.match(text)
        if not match:
            raise CellError(
                _("'%(value)s' is not a date: write YYYY-MM-DD or DD/MM/YYYY.")
                % {"value": excerpt(text)}
            )
        day, month, year = (int(g) for g in match.groups())
    try:
        return datetime.date(year, month, day)
    except ValueError as exc:
        raise CellError(_("'%(value)s' is not a real date.") % {"value": excerpt(text)}) from exc


def _normal(text: str) -> str:
    return unicodedata.normalize("NFC", (text or "").strip()).casefold()


def parse_bool(text: str) -> bool | None:
    """yes/no, true/false, 1/0, có/không (any case); empty is None. Raises CellError otherwise."""
    word = _normal(text)
    if not word:
        return None
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise CellError(
        _("'%(value)s' is not yes or no (write yes/no, true/false, 1/0 or có/không).")
        % {"value": excerpt(text)}
    )


# A cross in a column of ticks ("x" for yes, the cell left empty for no): how a
# list marks the commune cadres. Only for such columns: parse_bool stays the
# contract's words.
MARK_WORDS = {"x", "✓", "✔"}


def parse_mark(text: str) -> bool | None:
    """parse_bool's words, or a cross (x) for yes; empty is None."""
    if _normal(text) in MARK_WORDS:
        return True
    try:
        return parse_bool(text)
    except CellError:
        raise CellError(
            _("'%(value)s' is not yes or no (write có/không, x or leave it empty, yes/no).")
            % {"value": excerpt(text)}
        ) from None


def parse_gender(text: str) -> str | None:
    """male/female or Nam/Nữ (any case); empty is None. Raises CellError otherwise."""
    word = _normal(text)
    if not word:
        return None
    try:
        return GENDER_WORDS[word]
    except KeyError:
        raise CellError(
            _("'%(value)s' is not a gender: write male/female or Nam/Nữ.")
            % {"value": excerpt(text)}
        ) from None


def parse_count(text: str) -> int | None:
    text = (text or "").strip()
    if not text:
        return None
    if not text.isdigit():
        raise CellError(
            _("'%(value)s' is not a whole number of zero or more.") % {"value": excerpt(text)}
        )
    return int(text)


def unquote(text: str) -> str:
    """Take off the single quote an export put before formula-like text."""
    if len(text) > 1 and text[0] == "'" and text[1] in FORMULA_STARTS:
        return text[1:]
    return text
