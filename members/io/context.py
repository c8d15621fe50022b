"""What the row checks share: a data row and its cells' parsers, the registry's
codes read once into dicts, who is importing, and the duplicate keys of a file."""

from __future__ import annotations

import datetime
import difflib
import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from branches.access import COMMUNE
from branches.models import Branch, Commune, Province, Village
from pacnam.io.spreadsheets import Row
from pacnam.lib.dates import dmy
from pacnam.lib.text import clean_text, excerpt, fold, garbled_reason

from .plan import ImportPlan, RowError, shown
from .read import (
    CellError,
    parse_date,
    unquote,
)

# A number Excel wrote in its short form ("6.18234E+11"): the digits are gone.


_SHORT_FORM = re.compile(r"[0-9]+(?:[.,][0-9]+)?[eE][+]?[0-9]+")
_CITIZEN_ID = re.compile(r"[0-9]{12}")
# "006 182 339 563": an ID typed in groups, as on the card. Only spaces between digits.
_GROUPED_ID = re.compile(r"[0-9]{3}(?:[ \u00a0][0-9]{3}){3}")


def _spaceless_id(text: str) -> str:
    """A citizen ID typed in groups of three, without its spaces; anything else unchanged."""
    if _GROUPED_ID.fullmatch(text):
        return re.sub(r"[ \u00a0]", "", text)
    return text


class _Row:
    """One data row: its cells by column key, and the errors found in it."""

    def __init__(self, row: Row, columns: dict[str, int], plan: ImportPlan):
        self.number = row.number
        cells = row.cells
        self.cells = {
            key: unquote(clean_text(cells[index])) if index < len(cells) else ""
            for key, index in columns.items()
        }
        self.numbers = {key for key, index in columns.items() if index in row.numbers}
        self.plan = plan
        self.failed = False

    def error(self, column: str, message, value: str | None = None) -> None:
        self.failed = True
        if value is None:
            value = self.cells.get(column, "")
        self.plan.errors.append(RowError(self.number, column, str(message), excerpt(value)))

    def notice(self, column: str, message) -> None:
        self.plan.notices.append(RowError(self.number, column, str(message)))

    def present(self, column: str) -> bool:
        return column in self.cells

    def text(
        self,
        column: str,
        *,
        required: bool = False,
        max_length: int | None = None,
        garbled: bool = False,
    ) -> str:
        value = self.cells.get(column, "")
        if required and not value:
            self.error(column, _("This value is required."))
        elif max_length and len(value) > max_length:
            self.error(
                column,
                _("At most %(n)d characters; this has %(length)d.")
                % {"n": max_length, "length": len(value)},
            )
        elif garbled and value:
            # Names, positions and ethnicities garbled by a wrong character set are
            # refused, never stored: one such file once renamed 1,741 members.
            # Positions and ethnicities repeat: each is judged once per file.
            cache = self.plan.garbled
            if value not in cache:
                cache[value] = garbled_reason(value)
            reason = cache[value]
            if reason:
                self.error(column, reason)
        return value

    def parsed(self, column: str, parser, *, required: bool = False):
        try:
            value = parser(self.cells.get(column, ""))
        except CellError as exc:
            self.error(column, exc)
            return None
        if value is None and required:
            self.error(column, _("This value is required."))
        return value

    def date(
        self, column: str, *, required: bool = False, today: datetime.date
    ) -> datetime.date | None:
        value = self.parsed(column, parse_date, required=required)
        if value is not None and value > today:
            self.error(column, _("%(date)s is in the future.") % {"date": dmy(value)})
            return None
        return value

    def citizen_id(self, column: str = "citizen_id") -> str:
        """The 12-digit citizen ID of the row, its leading zeros given back when Excel
        dropped them, which the preview then says."""
        value = _spaceless_id(self.text(column, required=True))
        if not value:
            return value
        if _SHORT_FORM.fullmatch(value):
            self.error(
                column,
                _(
                    "Excel wrote this citizen ID as a number in short form: its digits are lost. "
                    "Format the column as Text in the original list and type the IDs again."
                ),
            )
            return value
        # Every citizen ID begins with its province's code, 001 to 096: one or two
        # zeros. A number of 10 or 11 digits with no zero in front is such an ID
        # whose zeros Excel dropped (a number cell, or a CSV Excel wrote from one);
        # a shorter one, or one that keeps a zero, is mistyped and refused.
        if value.isascii() and value.isdigit() and len(value) in (10, 11) and value[0] != "0":
            restored = value.zfill(12)
            self.notice(
                column, _("%(read)s read as %(restored)s") % {"read": value, "restored": restored}
            )
            return restored
        if not _CITIZEN_ID.fullmatch(value):
            self.error(column, _("A citizen ID has exactly 12 digits."))
        return value


class _Units:
    """Communes, villages or branches by code, each code with every unit that bore it."""

    def __init__(
        self, units: Iterable, *, active: Callable, commune_of: Callable, last_day: Callable
    ):
        self.by_code: dict[str, list] = defaultdict(list)
        self.by_id: dict[int, Any] = {}  # the units (Commune, Village, ...) by pk
        for unit in units:
            self.by_code[unit.code].append(unit)
            self.by_id[unit.pk] = unit
        self.active = active
        self.commune_of = commune_of
        self.last_day = last_day

    def on(self, code: str, day: datetime.date):
        """The unit that bore `code` on `day`, or None."""
        return next((unit for unit in self.by_code.get(code, ()) if self.active(unit, day)), None)

    def last(self, code: str, day: datetime.date):
        """The unit that bore `code` on `day`, else the last that bore it before: a file
        without dates names a ceased unit by its code, as its page does."""
        unit = self.on(code, day)
        if unit is not None:
            return unit
        before = [
            u
            for u in self.by_code.get(code, ())
            if self.last_day(u) is not None and self.last_day(u) < day
        ]
        return max(before, key=self.last_day, default=None)

    def bearing(self, code: str) -> list:
        return self.by_code.get(code, [])


class _Context:
    """Codes read once from the database, and who is importing."""

    def __init__(self, kind: str, scope, today: datetime.date):
        self.kind = kind
        self.scope = scope
        self.today = today
        self.communes = _Units(
            Commune.objects.all(),
            active=Commune.is_valid_on,
            commune_of=lambda c: c.pk,
            last_day=lambda c: c.valid_to,
        )
        if kind == "communes":
            self.provinces = _Units(
                Province.objects.all(),
                active=Province.is_valid_on,
                commune_of=lambda p: None,
                last_day=lambda p: p.valid_to,
            )
        # Every kind but the communes' names villages or branches (an app's kind,
        # members.io.extra_imports, its branches).
        if kind != "communes":
            self.villages = _Units(
                Village.objects.all(),
                active=Village.is_valid_on,
                commune_of=lambda v: v.commune_id,
                last_day=lambda v: v.valid_to,
            )
        if kind not in ("communes", "villages"):
            self.branches = _Units(
                Branch.objects.all(),
                active=Branch.is_active_on,
                commune_of=lambda b: b.commune_id,
                last_day=lambda b: b.dissolved_on,
            )

    @property
    def scoped(self) -> bool:
        """Whether the importer is a commune secretary, who is told nothing of the
        registry beyond their commune, not even whether a code exists elsewhere."""
        return self.scope is not None and self.scope.level == COMMUNE

    def covers(self, commune_id: int | None) -> bool:
        return self.scope is None or self.scope.can_edit_commune(commune_id)

    def outside(self, row: _Row, column: str, value: str | None = None) -> None:
        """Refuse a record outside the importer's communes, saying no more than that:
        not its name, not its branch, not whether it exists elsewhere."""
        if self.scoped:
            row.error(column, _("Not in your commune."), value)
        else:
            row.error(column, _("Not in the communes you may change."), value)

    def _unit(
        self,
        row: _Row,
        column: str,
        units: _Units,
        day: datetime.date,
        *,
        required: bool,
        unknown: str,
        fallback: datetime.date | None = None,
    ):
        code = row.text(column, required=required)
        if not code:
            return None
        unit = units.on(code, day)
        if unit is None and fallback is not None:
            unit = units.on(code, fallback)
        if unit is not None and not self.covers(units.commune_of(unit)):
            self.outside(row, column)
            return None
        if unit is None:
            if self.scoped:
                self.outside(row, column)
            else:
                row.error(column, _(unknown) % {"code": excerpt(code), "date": dmy(day)})
        return unit

    def commune(
        self, row: _Row, day: datetime.date, column: str = "commune_code"
    ) -> Commune | None:
        return self._unit(
            row,
            column,
            self.communes,
            day,
            required=True,
            unknown=gettext_noop("No commune had the code '%(code)s' on %(date)s."),
        )

    def village(
        self,
        row: _Row,
        column: str,
        day: datetime.date,
        *,
        required: bool,
        fallback: datetime.date | None = None,
    ) -> Village | None:
        return self._unit(
            row,
            column,
            self.villages,
            day,
            required=required,
            fallback=fallback,
            unknown=gettext_noop("No village had the code '%(code)s' on %(date)s."),
        )

    def _branches_by_name(self) -> dict[str, list]:
        names = getattr(self, "_names", None)
        if names is None:
            names = defaultdict(list)
            for branch in self.branches.by_id.values():
                names[branch_name_key(branch.name)].append(branch)
            self._names = names
        return names

    def _branch_label(self, branch) -> str:
        commune = self.communes.by_id.get(branch.commune_id)
        return _("%(name)s (code %(code)s, %(commune)s)") % {
            "name": branch.name,
            "code": branch.code,
            "commune": commune.name if commune else "",
        }

    def branch_by_name(
        self, row: _Row, day: datetime.date, column: str = "branch_name"
    ) -> Branch | None:
        """The branch an office list names ("Chi bộ thôn Cốc Lải", "Cốc Lải"): among the
        branches active on `day` in the importer's communes, the one of that name. Two
        of that name, or none, refuse the row with the candidates listed, so that the
        office writes the code; branches outside the importer's communes are never
        candidates, nor named."""
        name = row.text(column, required=True)
        if not name:
            return None
        key = branch_name_key(name)
        candidates = [
            b
            for b in self._branches_by_name().get(key, [])
            if self.branches.active(b, day) and self.covers(b.commune_id)
        ]
        exact = [b for b in candidates if fold(b.name) == fold(name)]
        matches = exact if len(exact) == 1 else candidates
        if len(matches) == 1:
            return matches[0]
        if matches:
            row.error(
                column,
                _(
                    "%(n)d branches bear this name on %(date)s: write the code of one of them: %(list)s."
                )
                % {
                    "n": len(matches),
                    "date": dmy(day),
                    "list": "; ".join(self._branch_label(b) for b in matches[:8]),
                },
            )
            return None
        close = self._close_branches(key, day)
        if close:
            row.error(
                column,
                _("No branch of your communes bears this name on %(date)s. Did you mean: %(list)s?")
                % {"date": dmy(day), "list": "; ".join(self._branch_label(b) for b in close)},
            )
        else:
            row.error(
                column,
                _(
                    "No branch of your communes bears this name on %(date)s: write its name as the "
                    "registry does, or its code."
                )
                % {"date": dmy(day)},
            )
        return None

    def _close_branches(self, key: str, day: datetime.date) -> list:
        """At most five branches of the importer's communes active on `day` whose names
        are near `key` (a letter off, a word more or less)."""
        cache = self.__dict__.setdefault("_close", {})
        if (key, day) not in cache:
            names = self._branches_by_name()
            keys = [
                k
                for k, branches in names.items()
                if any(self.branches.active(b, day) and self.covers(b.commune_id) for b in branches)
            ]
            near = difflib.get_close_matches(key, keys, n=5, cutoff=0.75)
            near += [k for k in keys if key and (key in k or k in key) and k not in near]
            found = [
                b
                for k in near[:5]
                for b in names[k]
                if self.branches.active(b, day) and self.covers(b.commune_id)
            ]
            cache[(key, day)] = found[:5]
        return cache[(key, day)]

    def branch(self, row: _Row, day: datetime.date, column: str = "branch_code") -> Branch | None:
        return self._unit(
            row,
            column,
            self.branches,
            day,
            required=True,
            unknown=gettext_noop("No branch had the code '%(code)s' on %(date)s."),
        )


_BRANCH_WORDS = re.compile(r"^(?:chi bo\s+)?(?:thon|ban|xom|to dan pho|khu)?\s*")


def branch_name_key(name: str) -> str:
    """A branch's name as an office may write it: "Chi bộ thôn Cốc Lải", "Thôn Cốc
    Lải", "Cốc Lải" and "coc lai" are the same branch; "Chi bộ cơ quan xã Cao Tân"
    is "co quan xa cao tan"."""
    folded = " ".join(re.sub(r"[^a-z0-9]+", " ", fold(name)).split())
    return _BRANCH_WORDS.sub("", folded, count=1).strip() or folded


def _changes(obj, values: dict, diffs: list | None = None) -> list[str]:
    """Set the changed `values` on `obj`; their names, and (column, old, new) in `diffs`."""
    changed = []
    for name, value in values.items():
        old = getattr(obj, name)
        if old != value:
            if diffs is not None:
                diffs.append((name, shown(old), shown(value)))
            setattr(obj, name, value)
            changed.append(name)
    return changed


class _Keys:
    """Remembers the row where each key was first seen, to refuse duplicates in one file."""

    def __init__(self):
        self.seen: dict = {}

    def check(self, row: _Row, column: str, key) -> bool:
        first = self.seen.setdefault(key, row.number)
        if first != row.number:
            row.error(
                column, _("Duplicate: the same key is already on row %(row)d.") % {"row": first}
            )
            return False
        return True


def _overlaps(unit, valid_from, valid_to) -> bool:
    starts_before_end = valid_to is None or unit.valid_from is None or unit.valid_from <= valid_to
    ends_after_start = valid_from is None or unit.valid_to is None or unit.valid_to >= valid_from
    return starts_before_end and ends_after_start
