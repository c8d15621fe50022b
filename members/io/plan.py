"""What an import would do: its plan (one RowPlan a row: create, update or
unchanged, with the changes) and its errors (one RowError a row and column).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _

from pacnam.lib.dates import dmy

from .read import Columns, column_title

CREATE, UPDATE, UNCHANGED = "create", "update", "unchanged"
PROGRESS_EVERY = 2000  # rows between two calls of validate_table's `progress`


@dataclass
class RowError:
    """A problem with a row (or a note about it): where, what, and the value read."""

    row: int
    column: str
    message: str
    value: str = ""
    # The column as the user reads it: the file's title and the registry's
    # ("Tên CB (Tên chi bộ)"); set when the plan is summarised for a page.
    title: str = ""

    @property
    def text(self) -> str:
        """The message, and the value it read unless the message quotes it already."""
        if self.value and f"'{self.value}'" not in self.message:
            return _("%(message)s (read: '%(value)s')") % {
                "message": self.message,
                "value": self.value,
            }
        return self.message

    def __str__(self) -> str:
        # The prefix is the machine-readable contract; the message is translated.
        return f"row {self.row}: {self.column}: {self.text}"

    def as_list(self, title: str = "") -> list:
        return [self.row, self.column, str(self.message), self.value, title or self.title]

    @property
    def shown_column(self) -> str:
        return self.title or self.column


class Problems(list):
    """A list that keeps at most `limit` items and counts them all: 200,000 bad rows
    must not make 200,000 messages, in memory or on a page."""

    def __init__(self, limit: int | None = None):
        super().__init__()
        self.limit = settings.IMPORT_MAX_ERRORS if limit is None else limit
        self.total = 0

    def append(self, item) -> None:
        self.total += 1
        if len(self) < self.limit:
            super().append(item)

    @property
    def left_out(self) -> int:
        return self.total - len(self)


@dataclass
class RowPlan:
    row: int
    action: str  # CREATE, UPDATE or UNCHANGED
    key: str
    label: str
    changes: list[str] = field(default_factory=list)  # the model fields written
    # The row's instance of the plan's kind (a Member, a Branch, ...), unsaved for a create.
    obj: Any = None
    extra: dict = field(default_factory=dict)
    # What an update changes, for people: (column, old, new), as text.
    diffs: list[tuple[str, str, str]] = field(default_factory=list)


@dataclass
class ImportPlan:
    kind: str
    rows: list[RowPlan] = field(default_factory=list)
    errors: Problems = field(default_factory=Problems)
    # Values read otherwise than written, said in the preview: a citizen ID whose
    # leading zeros Excel dropped.
    notices: Problems = field(default_factory=Problems)
    # What garbled_reason said of each text of the file, asked once each.
    garbled: dict = field(default_factory=dict, repr=False)
    # The file's header read (members.io.read.Columns): its titles, for the messages.
    columns: Columns | None = None

    def column_label(self, column: str) -> str:
        """A message's column as the user reads it: the file's own title and the
        registry's, or what a message about the whole file or row is about."""
        special = {
            "header": _("the row of column titles"),
            "row": _("the whole row"),
            "file": _("the file"),
        }
        if column in special:
            return str(special[column])
        if self.columns is not None:
            return self.columns.title(column)
        return column_title(self.kind, column)

    def count(self, action: str) -> int:
        return sum(1 for plan in self.rows if plan.action == action)

    @property
    def counts(self) -> dict[str, int]:
        return {
            "created": self.count(CREATE),
            "updated": self.count(UPDATE),
            "unchanged": self.count(UNCHANGED),
        }

    @property
    def name_changes(self) -> int:
        """Existing members whose name the import would change (the mass-update guard)."""
        if self.kind != "members":
            return 0
        return sum(1 for plan in self.rows if plan.action == UPDATE and "full_name" in plan.changes)


def chunks(items: list, size: int = 500) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def shown(value) -> str:
    """A value as a person reads it in a list of changes."""
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, datetime.date):
        return dmy(value)
    return str(value)
