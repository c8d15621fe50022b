"""Reading import files: CSV or XLSX bytes into rows of text, and the cells' parsers.

The contract other tools rely on (issue 2): the headers of each kind below,
dates as YYYY-MM-DD or DD/MM/YYYY, yes/no in English or Vietnamese.
"""

from __future__ import annotations

import datetime
import re
import unicodedata

from django.utils.translation import gettext as _

from pacnam.csv_writer import FORMULA_STARTS
from pacnam.spreadsheets import HeaderNotFound, SpreadsheetError, read_spreadsheet

from ..models import (
    Gender,
)

HEADERS: dict[str, list[str]] = {
    "communes": ["code", "name"],
    "villages": ["commune_code", "code", "name", "households", "population"],
    "branches": ["commune_code", "code", "name", "kind", "village_code", "founded_on"],
    "members": [
        "citizen_id", "full_name", "gender", "birth_date", "ethnicity",
        "residence_village_code", "position", "is_commune_cadre", "admitted_on", "full_on",
        "card_number", "branch_code", "since",
    ],
    "memberships": ["citizen_id", "branch_code", "kind", "started_on", "ended_on", "end_reason"],
}
KINDS = list(HEADERS)


# FORMULA_STARTS (pacnam.csv_writer): exports prefix such text with a single
# quote; the import takes it off again (unquote).


class ImportFileError(Exception):
    """The file as a whole cannot be read (too large, not text, not CSV/XLSX)."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return str(self.message)


# --- Reading files -----------------------------------------------------------


def _is_contract_header(cells) -> bool:
    while cells and not cells[-1]:
        cells = cells[:-1]
    return list(cells) in HEADERS.values()


def read_table(data: bytes, filename: str = "", *, encoding: str | None = None) -> list[list[str]]:
    """The rows of a CSV or XLSX file as text (pacnam.spreadsheets), each at its
    place: table[i] is row i + 1 of the file or sheet, blank rows and rows above
    the header as []. Windows-1258, UTF-16, semicolons and tabs, the list on
    another sheet are found without asking; `encoding` forces a CSV's character set.

    Raises ImportFileError with a message for the user when the file is too large,
    not readable text, or not a readable spreadsheet.
    """
    try:
        try:
            sheet = read_spreadsheet(data, filename, is_header=_is_contract_header, encoding=encoding)
        except HeaderNotFound:
            # No header of the contract: the first row that is not blank, for
            # validate_table to say which columns it expected.
            sheet = read_spreadsheet(data, filename, encoding=encoding)
    except SpreadsheetError as exc:
        raise ImportFileError(exc.message) from exc
    table: list[list[str]] = [[] for _ in range(sheet.header_row - 1)]
    table.append(list(sheet.header))
    for row in sheet.rows:
        table.extend([] for _ in range(row.number - len(table) - 1))
        table.append(list(row.cells))
    return table


# --- Parsing cells ---------------------------------------------------------------

_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_DMY = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")

TRUE_WORDS = {"yes", "true", "1", "có"}
FALSE_WORDS = {"no", "false", "0", "không"}
GENDER_WORDS = {"male": Gender.MALE, "nam": Gender.MALE, "female": Gender.FEMALE, "nữ": Gender.FEMALE}


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
            raise CellError(_("'%(value)s' is not a date: write YYYY-MM-DD or DD/MM/YYYY.") % {"value": text})
        day, month, year = (int(g) for g in match.groups())
    try:
        return datetime.date(year, month, day)
    except ValueError as exc:
        raise CellError(_("'%(value)s' is not a real date.") % {"value": text}) from exc


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
    raise CellError(_("'%(value)s' is not yes or no (write yes/no, true/false, 1/0 or có/không).") % {"value": text})


def parse_gender(text: str) -> str | None:
    """male/female or Nam/Nữ (any case); empty is None. Raises CellError otherwise."""
    word = _normal(text)
    if not word:
        return None
    try:
        return GENDER_WORDS[word]
    except KeyError:
        raise CellError(_("'%(value)s' is not a gender: write male/female or Nam/Nữ.") % {"value": text}) from None


def parse_count(text: str) -> int | None:
    text = (text or "").strip()
    if not text:
        return None
    if not text.isdigit():
        raise CellError(_("'%(value)s' is not a whole number of zero or more.") % {"value": text})
    return int(text)


def unquote(text: str) -> str:
    """Take off the single quote an export put before formula-like text."""
    if len(text) > 1 and text[0] == "'" and text[1] in FORMULA_STARTS:
        return text[1:]
    return text
