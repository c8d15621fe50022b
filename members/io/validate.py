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
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from branches.access import COMMUNE
from branches.models import Branch, BranchKind, Commune, Province, Village
from pacnam.dates import add_years, dmy
from pacnam.spreadsheets import Row, Table
from pacnam.text import clean_text, excerpt, garbled_reason

from ..models import (
    EndReason,
    Gender,
    Member,
    Membership,
    MembershipKind,
    MemberStatus,
)
from .read import (
    HEADERS,
    CellError,
    header_test,
    map_columns,
    parse_count,
    parse_date,
    parse_gender,
    parse_mark,
    unquote,
)

CREATE, UPDATE, UNCHANGED = "create", "update", "unchanged"
PROGRESS_EVERY = 2000  # rows between two calls of validate_table's `progress`


@dataclass
class RowError:
    """A problem with a row (or a note about it): where, what, and the value read."""

    row: int
    column: str
    message: str
    value: str = ""

    @property
    def text(self) -> str:
        """The message, and the value it read unless the message quotes it already."""
        if self.value and f"'{self.value}'" not in self.message:
            return _("%(message)s (read: '%(value)s')") % {"message": self.message, "value": self.value}
        return self.message

    def __str__(self) -> str:
        # The prefix is the machine-readable contract; the message is translated.
        return f"row {self.row}: {self.column}: {self.text}"

    def as_list(self) -> list:
        return [self.row, self.column, str(self.message), self.value]


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
    obj: object = None
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

    def count(self, action: str) -> int:
        return sum(1 for plan in self.rows if plan.action == action)

    @property
    def counts(self) -> dict[str, int]:
        return {"created": self.count(CREATE), "updated": self.count(UPDATE), "unchanged": self.count(UNCHANGED)}

    @property
    def name_changes(self) -> int:
        """Existing members whose name the import would change (the mass-update guard)."""
        if self.kind != "members":
            return 0
        return sum(1 for plan in self.rows if plan.action == UPDATE and "full_name" in plan.changes)


def chunks(items: list, size: int = 500) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def shown(value) -> str:
    """A value as a person reads it in a list of changes."""
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, datetime.date):
        return dmy(value)
    return str(value)


# A number Excel wrote in its short form ("6.18234E+11"): the digits are gone.
_SHORT_FORM = re.compile(r"[0-9]+(?:[.,][0-9]+)?[eE][+]?[0-9]+")
_CITIZEN_ID = re.compile(r"[0-9]{12}")


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

    def text(self, column: str, *, required: bool = False, max_length: int | None = None,
             garbled: bool = False) -> str:
        value = self.cells.get(column, "")
        if required and not value:
            self.error(column, _("This value is required."))
        elif max_length and len(value) > max_length:
            self.error(column, _("At most %(n)d characters; this has %(length)d.") % {"n": max_length, "length": len(value)})
        elif garbled and value:
            # Names, positions and ethnicities garbled by a wrong character set are
            # refused, never stored (issue 15): one such file once renamed 1,741 members.
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

    def date(self, column: str, *, required: bool = False, today: datetime.date) -> datetime.date | None:
        value = self.parsed(column, parse_date, required=required)
        if value is not None and value > today:
            self.error(column, _("%(date)s is in the future.") % {"date": dmy(value)})
            return None
        return value

    def citizen_id(self, column: str = "citizen_id") -> str:
        """The 12-digit citizen ID of the row, its leading zeros given back when Excel
        dropped them, which the preview then says (issue 15)."""
        value = self.text(column, required=True)
        if not value:
            return value
        if _SHORT_FORM.fullmatch(value):
            self.error(column, _(
                "Excel wrote this citizen ID as a number in short form: its digits are lost. "
                "Format the column as Text in the original list and type the IDs again."
            ))
            return value
        # Every citizen ID begins with its province's code, 001 to 096: one or two
        # zeros. A number of 10 or 11 digits with no zero in front is such an ID
        # whose zeros Excel dropped (a number cell, or a CSV Excel wrote from one);
        # a shorter one, or one that keeps a zero, is mistyped and refused.
        if value.isascii() and value.isdigit() and len(value) in (10, 11) and value[0] != "0":
            restored = value.zfill(12)
            self.notice(column, _("%(read)s read as %(restored)s") % {"read": value, "restored": restored})
            return restored
        if not _CITIZEN_ID.fullmatch(value):
            self.error(column, _("A citizen ID has exactly 12 digits."))
        return value


class _Units:
    """Communes, villages or branches by code, each code with every unit that bore it."""

    def __init__(self, units: Iterable, *, active: Callable, commune_of: Callable, last_day: Callable):
        self.by_code: dict[str, list] = defaultdict(list)
        self.by_id: dict[int, object] = {}
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
        before = [u for u in self.by_code.get(code, ()) if self.last_day(u) is not None and self.last_day(u) < day]
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
            Commune.objects.all(), active=Commune.is_valid_on, commune_of=lambda c: c.pk, last_day=lambda c: c.valid_to
        )
        if kind == "communes":
            self.provinces = _Units(
                Province.objects.all(), active=Province.is_valid_on, commune_of=lambda p: None, last_day=lambda p: p.valid_to
            )
        if kind in ("villages", "branches", "members", "memberships"):
            self.villages = _Units(
                Village.objects.all(), active=Village.is_valid_on, commune_of=lambda v: v.commune_id,
                last_day=lambda v: v.valid_to,
            )
        if kind in ("branches", "members", "memberships"):
            self.branches = _Units(
                Branch.objects.all(), active=Branch.is_active_on, commune_of=lambda b: b.commune_id,
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

    def _unit(self, row: _Row, column: str, units: _Units, day: datetime.date, *, required: bool,
              unknown: str, fallback: datetime.date | None = None):
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

    def commune(self, row: _Row, day: datetime.date, column: str = "commune_code") -> Commune | None:
        return self._unit(row, column, self.communes, day, required=True,
                          unknown=gettext_noop("No commune had the code '%(code)s' on %(date)s."))

    def village(self, row: _Row, column: str, day: datetime.date, *, required: bool,
                fallback: datetime.date | None = None) -> Village | None:
        return self._unit(row, column, self.villages, day, required=required, fallback=fallback,
                          unknown=gettext_noop("No village had the code '%(code)s' on %(date)s."))

    def branch(self, row: _Row, day: datetime.date, column: str = "branch_code") -> Branch | None:
        return self._unit(row, column, self.branches, day, required=True,
                          unknown=gettext_noop("No branch had the code '%(code)s' on %(date)s."))


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
    body = [Row(index + 1, tuple(cells)) for index, cells in enumerate(rows[start + 1:], start=start + 1) if any(cells)]
    return Table(tuple(header), start + 1, body)


def validate_table(*, kind: str, table: Table | Sequence[Sequence[str]], scope=None,
                   today: datetime.date | None = None,
                   progress: Callable[[int, int], None] | None = None) -> ImportPlan:
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
        plan.errors.append(RowError(1, "header", _("The file is empty: it needs a row of column titles, %(header)s.") % {"header": ",".join(HEADERS[kind])}))
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
            plan.errors.append(RowError(source.number, "row", _("Expected %(n)d cells, found %(found)d.") % {"n": width, "found": len(cells)}))
            continue
        row = _Row(source, columns, plan)
        result = validator.row(row)
        if result is not None and not row.failed:
            plan.rows.append(result)
    if progress is not None:
        progress(total, total)
    return plan


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
            row.error(column, _("Duplicate: the same key is already on row %(row)d.") % {"row": first})
            return False
        return True


def _overlaps(unit, valid_from, valid_to) -> bool:
    starts_before_end = valid_to is None or unit.valid_from is None or unit.valid_from <= valid_to
    ends_after_start = valid_from is None or unit.valid_to is None or unit.valid_to >= valid_from
    return starts_before_end and ends_after_start


class _CommuneRows:
    def __init__(self, ctx: _Context):
        self.ctx = ctx
        self.keys = _Keys()

    def row(self, row: _Row) -> RowPlan | None:
        ctx = self.ctx
        code = row.text("code", required=True, max_length=5)
        name = row.text("name", required=True, max_length=100, garbled=True)
        if code and not re.fullmatch(r"[0-9]{5}", code):
            row.error("code", _("A commune code has exactly 5 digits."))
        valid_from = row.parsed("valid_from", parse_date)
        valid_to = row.parsed("valid_to", parse_date)
        if valid_from and valid_to and valid_to < valid_from:
            row.error("valid_to", _("A commune cannot end before it begins."))
        dated = row.present("valid_from") or row.present("valid_to")
        day = valid_from or valid_to or ctx.today
        province = None
        province_code = row.text("province_code")
        if province_code:
            province = ctx.provinces.on(province_code, day)
            if province is None:
                row.error("province_code", _("No province had the code '%(code)s' on %(date)s.") % {"code": excerpt(province_code), "date": dmy(day)})
        if row.failed or not self.keys.check(row, "code", (code, valid_from)):
            return None
        # A dated file names each commune by its code and first day (the export's
        # five columns, issue 13); a file of two columns by the code of today, else
        # the last commune that bore it.
        if dated:
            commune = next((c for c in ctx.communes.bearing(code) if c.valid_from == valid_from), None)
        else:
            commune = ctx.communes.last(code, day)
        if not ctx.covers(commune.pk if commune else None):
            ctx.outside(row, "code")
            return None
        if commune is None:
            clash = next((c for c in ctx.communes.bearing(code) if _overlaps(c, valid_from, valid_to)), None)
            if clash is not None:
                row.error("code", _("Another commune bears the code %(code)s on some of these days.") % {"code": code})
                return None
            obj = Commune(code=code, name=name, valid_from=valid_from, valid_to=valid_to)
            if province is not None:
                # Commune.save opens its first period in this province (and its only
                # district of that day, before 2025); else in the only province of its day.
                districts = list(province.districts.valid_on(day)[:2])
                obj.place_in = (province, districts[0] if len(districts) == 1 else None)
            return RowPlan(row.number, CREATE, code, name, obj=obj)
        diffs: list = []
        values = {"name": name, "valid_to": valid_to} if row.present("valid_to") else {"name": name}
        changes = _changes(commune, values, diffs)
        return RowPlan(row.number, UPDATE if changes else UNCHANGED, code, name, changes, obj=commune, diffs=diffs)


class _VillageRows:
    def __init__(self, ctx: _Context):
        self.ctx = ctx
        self.keys = _Keys()

    def row(self, row: _Row) -> RowPlan | None:
        ctx = self.ctx
        # A village has no dates in the file: its codes are today's.
        commune = ctx.commune(row, ctx.today)
        code = row.text("code", required=True, max_length=20)
        name = row.text("name", required=True, max_length=100, garbled=True)
        households = row.parsed("households", parse_count)
        population = row.parsed("population", parse_count)
        if households is not None and population is not None and population < households:
            row.error("population", _("The population cannot be smaller than the number of households (%(n)d).") % {"n": households})
        if row.failed or not self.keys.check(row, "code", code):
            return None
        village = ctx.villages.last(code, ctx.today)
        if village is None:
            obj = Village(commune=commune, code=code, name=name, households=households, population=population)
            return RowPlan(row.number, CREATE, code, name, obj=obj)
        if not ctx.covers(village.commune_id):
            ctx.outside(row, "code")
            return None
        if village.commune_id != commune.pk:
            row.error("commune_code", _("Village %(code)s belongs to another commune; a village cannot change commune by import.") % {"code": code})
            return None
        diffs: list = []
        changes = _changes(village, {"name": name, "households": households, "population": population}, diffs)
        return RowPlan(row.number, UPDATE if changes else UNCHANGED, code, name, changes, obj=village, diffs=diffs)


class _BranchRows:
    def __init__(self, ctx: _Context):
        self.ctx = ctx
        self.keys = _Keys()

    def row(self, row: _Row) -> RowPlan | None:
        ctx = self.ctx
        founded_on = row.date("founded_on", today=ctx.today)
        day = founded_on or ctx.today
        commune = ctx.commune(row, day)
        code = row.text("code", required=True, max_length=20)
        name = row.text("name", required=True, max_length=150, garbled=True)
        kind = row.text("kind", required=True)
        if kind and kind not in BranchKind.values:
            row.error("kind", _("'%(value)s' is not a branch kind; use one of %(kinds)s.") % {"value": excerpt(kind), "kinds": ", ".join(BranchKind.values)})
        village = ctx.village(row, "village_code", day, required=kind == BranchKind.VILLAGE, fallback=ctx.today)
        if village is not None and commune is not None and village.commune_id != commune.pk:
            row.error("village_code", _("The village belongs to another commune than the branch."))
        if row.failed or not self.keys.check(row, "code", (code, founded_on)):
            return None
        branch = ctx.branches.on(code, day) if founded_on else ctx.branches.last(code, day)
        if branch is None:
            obj = Branch(commune=commune, code=code, name=name, kind=kind, village=village, founded_on=founded_on)
            return RowPlan(row.number, CREATE, code, name, obj=obj)
        if not ctx.covers(branch.commune_id):
            ctx.outside(row, "code")
            return None
        if branch.commune_id != commune.pk:
            row.error("commune_code", _("Branch %(code)s belongs to another commune; a branch cannot change commune by import.") % {"code": code})
            return None
        if branch.dissolved_on and founded_on and founded_on > branch.dissolved_on:
            row.error("founded_on", _("The branch was dissolved before this date."))
            return None
        old_village = ctx.villages.by_id.get(branch.village_id)
        diffs: list = []
        changes = _changes(branch, {"name": name, "kind": kind, "village_id": village.pk if village else None, "founded_on": founded_on}, diffs)
        # The village as its code, as in the file.
        diffs = [
            ("village_code", old_village.code if old_village else "", village.code if village else "")
            if column == "village_id" else (column, old, new)
            for column, old, new in diffs
        ]
        return RowPlan(row.number, UPDATE if changes else UNCHANGED, code, name, changes, obj=branch, diffs=diffs)


# Below SQLite's oldest limit of 999 parameters per query.
PREFETCH_CHUNK = 900

MEMBER_FIELDS = [
    "full_name", "gender", "birth_date", "ethnicity", "residence_village_id", "position",
    "is_commune_cadre", "admitted_on", "full_on", "card_number",
]
# The file's column for each field, in the list of changes.
MEMBER_COLUMNS = {name: name for name in MEMBER_FIELDS} | {"residence_village_id": "residence_village_code"}


def _file_citizen_id(text: str) -> str:
    """A citizen ID as _Row.citizen_id will read it, for the prefetch."""
    text = unquote(clean_text(text))
    if text.isascii() and text.isdigit() and len(text) in (10, 11) and text[0] != "0":
        return text.zfill(12)
    return text


class _MemberRows:
    def __init__(self, ctx: _Context):
        self.ctx = ctx
        self.keys = _Keys()
        self.cards = _Keys()
        self.existing: dict[str, tuple] = {}
        self.card_owner: dict[str, str] = {}
        self.open_official: dict[int, datetime.date] = {}

    def prefetch(self, columns: dict[str, int], rows: list[Row]) -> None:
        """Read the members the file names (by citizen ID or card number), not the
        whole registry: a province holds a million members (issue 7). A query per
        thousand rows of the file, whatever the size of the registry."""
        cid_at, card_at = columns["citizen_id"], columns["card_number"]
        citizen_ids = sorted({_file_citizen_id(r.cells[cid_at]) for r in rows if len(r.cells) > cid_at} - {""})
        cards = sorted({unquote(clean_text(r.cells[card_at])) for r in rows if len(r.cells) > card_at} - {""})
        for chunk in chunks(citizen_ids, PREFETCH_CHUNK):
            for values in Member.objects.filter(citizen_id__in=chunk).values_list(
                "citizen_id", "pk", "status", *MEMBER_FIELDS, "branch_id"
            ):
                self.existing[values[0]] = values
        for chunk in chunks(cards, PREFETCH_CHUNK):
            self.card_owner.update(
                # The card numbers are unique through a partial index (not ''): saying
                # so lets PostgreSQL use it instead of scanning every member (80 ms
                # per chunk at a million members; under 2 ms with it).
                Member.objects.filter(card_number__in=chunk).exclude(card_number="")
                .values_list("card_number", "citizen_id")
            )
        pks = sorted(values[1] for values in self.existing.values())
        for chunk in chunks(pks, PREFETCH_CHUNK):
            self.open_official.update(
                Membership.objects.official().open().filter(member_id__in=chunk)
                .values_list("member_id", "started_on")
            )

    def _shown(self, name: str, value) -> str:
        if name == "residence_village_id":
            village = self.ctx.villages.by_id.get(value)
            return village.code if village else ""
        if name == "gender" and value in Gender.values:
            return str(Gender(value).label)
        return shown(value)

    def row(self, row: _Row) -> RowPlan | None:
        ctx = self.ctx
        today = ctx.today
        citizen_id = row.citizen_id()
        full_name = " ".join(row.text("full_name", required=True, max_length=100, garbled=True).split())
        gender = row.parsed("gender", parse_gender, required=True)
        birth_date = row.date("birth_date", required=True, today=today)
        ethnicity = row.text("ethnicity", required=True, max_length=50, garbled=True)
        position = row.text("position", max_length=150, garbled=True)
        is_cadre = row.parsed("is_commune_cadre", parse_mark) or False
        admitted_on = row.date("admitted_on", required=True, today=today)
        full_on = row.date("full_on", today=today)
        card_number = row.text("card_number", max_length=20)
        since = row.date("since", today=today)
        # The codes of the day the member joined the branch (issue 13); where they
        # live is today's fact too, for a village made since.
        day = since or admitted_on or today
        village = ctx.village(row, "residence_village_code", day, required=True, fallback=today)
        branch = ctx.branch(row, day)
        if birth_date and admitted_on:
            if admitted_on < add_years(birth_date, settings.MINIMUM_ADMISSION_AGE):
                row.error("admitted_on", _("A member must be at least %(age)d years old at admission.") % {"age": settings.MINIMUM_ADMISSION_AGE})
        if admitted_on and full_on and full_on < admitted_on:
            row.error("full_on", _("A member cannot become full before being admitted (%(date)s).") % {"date": dmy(admitted_on)})
        if card_number and not full_on and not row.failed:
            row.error("card_number", _("Only full members have a Party card number."))
        if since and admitted_on and since < admitted_on:
            row.error("since", _("A membership cannot start before the admission date (%(date)s).") % {"date": dmy(admitted_on)})
        if branch is not None and branch.dissolved_on is not None:
            row.error("branch_code", _("Branch %(name)s was dissolved on %(date)s and accepts no new members.") % {"name": branch.name, "date": dmy(branch.dissolved_on)})
        if row.failed or not self.keys.check(row, "citizen_id", citizen_id):
            return None
        existing = self.existing.get(citizen_id)
        if existing is not None and not ctx.covers(ctx.branches.by_id[existing[-1]].commune_id):
            # Registered elsewhere: said as for any record outside one's communes.
            ctx.outside(row, "citizen_id", citizen_id)
            return None
        if card_number:
            owner = self.card_owner.get(card_number)
            if owner not in (None, citizen_id):
                row.error("card_number", _("This card number belongs to another member."))
                return None
            if not self.cards.check(row, "card_number", card_number):
                return None
        values = {
            "full_name": full_name, "gender": gender, "birth_date": birth_date, "ethnicity": ethnicity,
            "residence_village_id": village.pk, "position": position, "is_commune_cadre": is_cadre,
            "admitted_on": admitted_on, "full_on": full_on, "card_number": card_number,
        }
        if existing is None:
            since = since or admitted_on
            if branch.founded_on and branch.founded_on > since:
                row.error("since", _("Branch %(name)s was founded only on %(date)s.") % {"name": branch.name, "date": dmy(branch.founded_on)}, dmy(since))
                return None
            member = Member(citizen_id=citizen_id, **values)
            return RowPlan(row.number, CREATE, citizen_id, full_name, obj=member, extra={"branch": branch, "since": since})
        pk, status, branch_id = existing[1], existing[2], existing[-1]
        if status == MemberStatus.LEFT or pk not in self.open_official:
            row.error("citizen_id", _("This member has left the Party; they cannot be changed by import."), citizen_id)
            return None
        if branch_id != branch.pk:
            row.error("branch_code", _("The member is in branch %(current)s, not %(branch)s: use a transfer to move a member.") % {"current": ctx.branches.by_id[branch_id].code, "branch": branch.code})
            return None
        if admitted_on > self.open_official[pk]:
            row.error("admitted_on", _("The member's current membership started on %(date)s, before this admission date.") % {"date": dmy(self.open_official[pk])})
            return None
        # `since` of an existing member is ignored: a re-import never resets the start.
        old = dict(zip(MEMBER_FIELDS, existing[3:-1], strict=True))
        changes = [name for name, value in values.items() if old[name] != value]
        diffs = [(MEMBER_COLUMNS[name], self._shown(name, old[name]), self._shown(name, values[name])) for name in changes]
        return RowPlan(row.number, UPDATE if changes else UNCHANGED, citizen_id, full_name, changes,
                       extra={"pk": pk, "values": values}, diffs=diffs)


class _MembershipRows:
    def __init__(self, ctx: _Context):
        self.ctx = ctx
        self.keys = _Keys()
        self.members = {
            cid: (pk, admitted_on, status, branch_id)
            for cid, pk, admitted_on, status, branch_id in Member.objects.values_list("citizen_id", "pk", "admitted_on", "status", "branch_id")
        }
        self.existing: dict[tuple, Membership] = {}
        self.periods: dict[int, list[tuple]] = {}  # official periods per member, for overlaps
        for membership in Membership.objects.all():
            self.existing[(membership.member_id, membership.branch_id, membership.kind, membership.started_on)] = membership
            if membership.kind == MembershipKind.OFFICIAL:
                self.periods.setdefault(membership.member_id, []).append((membership.started_on, membership.ended_on, membership.pk))

    def row(self, row: _Row) -> RowPlan | None:
        ctx = self.ctx
        citizen_id = row.citizen_id()
        member = None
        if citizen_id and not row.failed:
            member = self.members.get(citizen_id)
            if member is not None and not ctx.covers(ctx.branches.by_id[member[3]].commune_id):
                ctx.outside(row, "citizen_id", citizen_id)
                member = None
            elif member is None:
                if ctx.scoped:
                    ctx.outside(row, "citizen_id", citizen_id)
                else:
                    row.error("citizen_id", _("No member has this citizen ID: import the members first."), citizen_id)
        kind = row.text("kind", required=True)
        if kind and kind not in MembershipKind.values:
            row.error("kind", _("'%(value)s' is not a membership kind; use official or temporary.") % {"value": excerpt(kind)})
        started_on = row.date("started_on", required=True, today=ctx.today)
        branch = ctx.branch(row, started_on or ctx.today)
        ended_on = row.parsed("ended_on", parse_date)
        end_reason = row.text("end_reason")
        if end_reason and end_reason not in EndReason.values:
            row.error("end_reason", _("'%(value)s' is not a reason; use one of %(reasons)s.") % {"value": excerpt(end_reason), "reasons": ", ".join(EndReason.values)})
        if started_on and ended_on and ended_on < started_on:
            row.error("ended_on", _("A membership cannot end before it starts (%(date)s).") % {"date": dmy(started_on)})
        if member and started_on and started_on < member[1]:
            row.error("started_on", _("A membership cannot start before the admission date (%(date)s).") % {"date": dmy(member[1])})
        if branch is not None and branch.dissolved_on and (ended_on is None or ended_on > branch.dissolved_on):
            row.error("branch_code", _("Branch %(name)s was dissolved on %(date)s and accepts no new members.") % {"name": branch.name, "date": dmy(branch.dissolved_on)})
        if row.failed:
            return None
        member_pk = member[0]
        key = (member_pk, branch.pk, kind, started_on)
        if not self.keys.check(row, "started_on", key):
            return None
        label = f"{citizen_id} {branch.code} {started_on.isoformat()}"
        existing = self.existing.get(key)
        if existing is not None:
            if (existing.ended_on, existing.end_reason) == (ended_on, end_reason):
                return RowPlan(row.number, UNCHANGED, label, label, obj=existing)
            if kind == MembershipKind.OFFICIAL and (existing.ended_on is None or ended_on is None):
                row.error("ended_on", _("Opening or closing a member's current membership is a move: use a transfer."))
                return None
            diffs: list = []
            changes = _changes(existing, {"ended_on": ended_on, "end_reason": end_reason}, diffs)
            return RowPlan(row.number, UPDATE, label, label, changes, obj=existing, diffs=diffs)
        if kind == MembershipKind.OFFICIAL:
            if ended_on is None:
                row.error("ended_on", _("A new current membership is a move: use a transfer."))
                return None
            for start, end, _pk in self.periods.get(member_pk, []):
                if start < ended_on and (end is None or started_on < end):
                    row.error("started_on", _("This period overlaps another official membership of the member (from %(date)s).") % {"date": dmy(start)})
                    return None
            self.periods.setdefault(member_pk, []).append((started_on, ended_on, None))
        obj = Membership(member_id=member_pk, branch=branch, kind=kind, started_on=started_on, ended_on=ended_on, end_reason=end_reason)
        return RowPlan(row.number, CREATE, label, label, obj=obj)


_VALIDATORS = {
    "communes": _CommuneRows,
    "villages": _VillageRows,
    "branches": _BranchRows,
    "members": _MemberRows,
    "memberships": _MembershipRows,
}
