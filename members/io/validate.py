"""Validating an import: every row checked against the registry before anything
is written (an ImportPlan). Codes and citizen IDs are read once, into dicts, so
validating 100,000 rows costs a fixed number of queries.

Codes are looked up by date (issue 13): a code passes from one unit to another,
so each row's codes are those of its day: a member's branch and village on the
day they joined it (`since`, else the admission), a membership's branch on its
first day, a commune, village or branch on its own first day (else today).

A commune secretary's rows may only touch their commune (issue 15): a code or
citizen ID outside it is refused with "not in your commune" and nothing more,
whether or not it exists elsewhere, as a page outside one's scope is a 404.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Sequence

from django.utils import timezone
from django.utils.translation import gettext as _

from pacnam.io.spreadsheets import Row, Table

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
    map_columns,
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
    columns, problem = map_columns(kind, sheet.header)
    if problem:
        plan.errors.append(RowError(sheet.header_row, "header", problem))
        return plan
    ctx = _Context(kind, scope, today or timezone.localdate())
    validator = _VALIDATORS[kind](ctx)
    if hasattr(validator, "prefetch"):
        validator.prefetch(columns, sheet.rows)
    width = len(sheet.header)
    total = len(sheet.rows)
    for done, source in enumerate(sheet.rows, start=1):
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


_VALIDATORS = {
    "communes": _CommuneRows,
    "villages": _VillageRows,
    "branches": _BranchRows,
    "members": _MemberRows,
    "memberships": _MembershipRows,
}
