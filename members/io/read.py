"""Reading import files: CSV or XLSX bytes into rows of text, and the cells' parsers.

The contract other tools rely on (issue 2): the headers of each kind below,
dates as YYYY-MM-DD or DD/MM/YYYY, yes/no in English or Vietnamese.
"""

from __future__ import annotations

import csv
import datetime
import io
import re
import unicodedata

from django.conf import settings
from django.utils.translation import gettext as _

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


# Characters a spreadsheet reads as the start of a formula (CSV injection).
# Exports prefix such text with a single quote; the import takes it off again.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class ImportFileError(Exception):
    """The file as a whole cannot be read (too large, not UTF-8, not CSV/XLSX)."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return str(self.message)


# --- Reading files -----------------------------------------------------------


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        return value.date().isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def read_table(data: bytes, filename: str = "") -> list[list[str]]:
    """The rows of a CSV (UTF-8, with or without BOM) or XLSX file, as stripped strings.

    Raises ImportFileError with a message for the user when the file is too large,
    not UTF-8, or not a readable spreadsheet.
    """
    if len(data) > settings.IMPORT_MAX_BYTES:
        raise ImportFileError(
            _("The file is larger than %(size)d MB, the most the registry accepts.")
            % {"size": max(1, settings.IMPORT_MAX_BYTES // (1024 * 1024))}
        )
    if data[:4] == b"PK\x03\x04" or filename.lower().endswith(".xlsx"):
        return _read_xlsx(data)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportFileError(
            _(
                "The file is not in UTF-8 (the problem is at byte %(position)d). "
                "Save it as 'CSV UTF-8' or as an Excel workbook (.xlsx) and try again."
            )
            % {"position": exc.start + 1}
        ) from exc
    try:
        return [[cell.strip() for cell in row] for row in csv.reader(io.StringIO(text, newline=""))]
    except csv.Error as exc:
        raise ImportFileError(_("The CSV file cannot be read: %(error)s") % {"error": exc}) from exc


def _read_xlsx(data: bytes) -> list[list[str]]:
    import zipfile

    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise ImportFileError(_("The Excel file cannot be read; save it again as .xlsx.")) from exc
    try:
        sheet = workbook.worksheets[0]
        return [[_cell_text(value).strip() for value in row] for row in sheet.iter_rows(values_only=True)]
    finally:
        workbook.close()


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
