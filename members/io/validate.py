"""Validating an import: every row checked against the registry before anything
is written (an ImportPlan). Codes and citizen IDs are read once, into dicts, so
validating 100,000 rows costs a fixed number of queries.

Codes are looked up by date: a code passes from one unit to another,
so each row's codes are those of its day: a member's branch and village on the
day they joined it (`since`, else the admission), a membership's branch on its
first day, a commune, village or branch on its own first day (else today).

A commune secretary's rows may only touch their commune: a code or
citizen ID outside it is refused with "not in your commune" and nothing more,
whether or not it exists elsewhere, as a page outside one's scope is a 404.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable, Sequence
from typing import Protocol

from django.utils import timezone
from django.utils.translation import gettext as _

from pacnam.io.spreadsheets import Row, Table
from pacnam.lib.text import fold

from .plan import (
    CREATE,
    PROGRESS_EVERY,
    UNCHANGED,
    UPDATE,
    ImportPlan,
    RowError,
    RowPlan,
    chunks,
    shown,
)
from .read import (
    HEADERS,
    header_test,
    read_columns,
    required_columns,
)
from .rows import (
    _BranchRows,
    _CommuneRows,
    _Context,
    _MemberRows,
    _MembershipRows,
    _Row,
    _VillageRows,
)

__all__ = [
    "CREATE",
    "UNCHANGED",
    "UPDATE",
    "ImportPlan",
    "RowError",
    "RowPlan",
    "as_table",
    "chunks",
    "shown",
    "validate_table",
]


def as_table(kind: str, table: Table | Sequence[Sequence[str]]) -> Table | None:
    """A Table from read_table, or one made of plain rows of text (the benchmark's,
    the tests'): the header is the first row that names the kind's columns, else
    the first that is not blank; row numbers count from 1. None when all is blank."""
    if isinstance(table, Table):
        return table
    is_header = header_test(kind)
    rows = [list(cells) for cells in table]
    filled = [index for index, cells in enumerate(rows) if any(cells)]
    if not filled:
        return None
    start = next((index for index in filled[:50] if is_header(rows[index])), filled[0])
    header = list(rows[start])
    while header and not header[-1]:
        header.pop()  # spreadsheets often carry empty columns on the right
    body = [
        Row(index + 1, tuple(cells))
        for index, cells in enumerate(rows[start + 1 :], start=start + 1)
        if any(cells)
    ]
    return Table(tuple(header), start + 1, body)


def validate_table(
    *,
    kind: str,
    table: Table | Sequence[Sequence[str]],
    scope=None,
    today: datetime.date | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ImportPlan:
    """Check every row of `table` and say what importing it would do.

    `scope` (branches.access.Scope) limits the rows to the communes the importer
    may change; None is the command line, which may import anything.
    `progress(done, total)` is called every few thousand rows. Nothing is written.
    """
    if kind not in HEADERS:
        raise ValueError(f"unknown import kind {kind!r}")
    plan = ImportPlan(kind=kind)
    sheet = as_table(kind, table)
    if sheet is None or not any(sheet.header):
        plan.errors.append(
            RowError(
                1,
                "header",
                _("The file is empty: it needs a row of column titles, %(header)s.")
                % {"header": ",".join(HEADERS[kind])},
            )
        )
        return plan
    read = read_columns(kind, sheet.header)
    plan.columns = read
    if read.problem:
        plan.errors.append(RowError(sheet.header_row, "header", read.problem))
        return plan
    columns = read.at
    rows = _without_total_rows(sheet.rows, columns[required_columns(kind)[0]], plan)
    ctx = _Context(kind, scope, today or timezone.localdate())
    validator = _VALIDATORS[kind](ctx)
    if hasattr(validator, "prefetch"):
        validator.prefetch(columns, rows)
    width = len(sheet.header)
    total = len(rows)
    for done, source in enumerate(rows, start=1):
        if progress is not None and done % PROGRESS_EVERY == 0:
            progress(done, total)
        cells = source.cells
        if any(cells[width:]) or len(cells) < width:
            plan.errors.append(
                RowError(
                    source.number,
                    "row",
                    _("Expected %(n)d cells, found %(found)d.") % {"n": width, "found": len(cells)},
                )
            )
            continue
        row = _Row(source, columns, plan)
        result = validator.row(row)
        if result is not None and not row.failed:
            plan.rows.append(result)
    if progress is not None:
        progress(total, total)
    return plan


# "Tổng cộng", "Tổng số: 25 đồng chí", "Cộng": the line an office list ends with.
# A name ("Công Văn Tú") is no total: "tổng cộng"/"tổng số" begin one, "tổng"/"cộng"
# only alone or before a figure.
_TOTAL_WORDS = re.compile(r"^(?:tong cong|tong so)\b|^(?:tong|cong)\s*:?\s*(?:[0-9][0-9., ]*)?$")


# How far above the end of a list its total row may be: below it only a date and
# signature lines.
TOTAL_ROW_SCAN = 10


def _without_total_rows(rows: list[Row], key_at: int, plan: ImportPlan) -> list[Row]:
    """The rows without the total a list ends with and what is below it (a date,
    signature lines): the last row of the list's final few whose key cell is empty
    and which says "Tổng cộng" or "Cộng". Said in the notes; a total higher up is a
    row like any other, and is refused."""
    cut = None
    for index in range(len(rows) - 1, max(len(rows) - TOTAL_ROW_SCAN, 0) - 1, -1):
        cells = rows[index].cells
        if key_at < len(cells) and cells[key_at]:
            continue
        if any(_TOTAL_WORDS.match(fold(cell)) for cell in cells if cell):
            cut = index
    if cut is None:
        return rows
    plan.notices.append(
        RowError(rows[cut].number, "row", _("a total row at the end of the list, left out"))
    )
    return rows[:cut]


class _Validator(Protocol):
    """What validate_table asks of each kind's rows (some also have a prefetch)."""

    def row(self, row: _Row) -> RowPlan | None: ...


_VALIDATORS: dict[str, Callable[[_Context], _Validator]] = {
    "communes": _CommuneRows,
    "villages": _VillageRows,
    "branches": _BranchRows,
    "members": _MemberRows,
    "memberships": _MembershipRows,
}
