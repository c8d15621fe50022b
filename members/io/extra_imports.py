"""Import kinds that apps above members add (the dues of a branch's past book,
from meetings): the import itself (reading, preview, the all-or-nothing write,
the job and its page) lives here; a kind's rules live in the app that owns its
rows, registered in its AppConfig.ready() as extra_exports are, so that members
never imports upward.

This module is also the surface such a validator uses: the import's context
(codes read once, who imports), its row (cells by key, errors and notices),
the duplicate guard and the plan's actions.

A kind's rows are written with save(), one by one, in the import's one
transaction (members.io.apply): a refused row writes none of them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .context import _changes as changes
from .context import _Context as ImportContext
from .context import _Keys as Keys
from .context import _Row as ImportRow
from .plan import CREATE, UNCHANGED, UPDATE, RowPlan, chunks
from .rows import _file_citizen_id as file_citizen_id

__all__ = [
    "CREATE",
    "EXTRA_IMPORTS",
    "UNCHANGED",
    "UPDATE",
    "ImportContext",
    "ImportKind",
    "ImportRow",
    "Keys",
    "RowPlan",
    "changes",
    "chunks",
    "file_citizen_id",
    "register_import",
]


@dataclass(frozen=True)
class ImportKind:
    label: Any  # a lazy translation: the import page's choice
    model: type  # whose fields the preview's changes name


EXTRA_IMPORTS: dict[str, ImportKind] = {}


def register_import(
    kind: str,
    *,
    label,
    model: type,
    headers: Sequence[str],
    titles: dict[str, list[str]],
    required: Sequence[str],
    validator: Callable[[ImportContext], Any],
) -> None:
    """Add `kind` to the import: `headers` are its contract (the export's columns,
    in order), `titles` what offices write for them, `required` the columns a file
    cannot do without, `validator(ctx)` an object with `row(row) -> RowPlan | None`
    (and, to read only what the file names, `prefetch(columns, rows)`)."""
    from . import read, validate

    if kind in read.HEADERS and kind not in EXTRA_IMPORTS:
        raise ValueError(f"import kind {kind!r} is the registry's own")
    read.HEADERS[kind] = list(headers)
    read.TITLES[kind] = titles
    read.REQUIRED_COLUMNS[kind] = list(required)
    if kind not in read.KINDS:
        read.KINDS.append(kind)
    validate._VALIDATORS[kind] = validator
    EXTRA_IMPORTS[kind] = ImportKind(label, model)
