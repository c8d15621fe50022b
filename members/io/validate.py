"""Validating an import: every row checked against the registry before anything
is written (an ImportPlan). Codes and citizen IDs are read once, into dicts, so
validating 100,000 rows costs a fixed number of queries.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from branches.models import Branch, BranchKind, Commune, Province, Village
from pacnam.dates import add_years

from ..models import (
    EndReason,
    Member,
    Membership,
    MembershipKind,
    MemberStatus,
)
from .read import HEADERS, CellError, parse_bool, parse_count, parse_date, parse_gender, unquote

CREATE, UPDATE, UNCHANGED = "create", "update", "unchanged"

# Other headers a kind accepts: the communes export's, which adds each commune's
# province and validity (issue 13), imports too.
ALTERNATIVE_HEADERS = {"communes": [["code", "name", "province_code", "valid_from", "valid_to"]]}


@dataclass
class RowError:
    row: int
    column: str
    message: str

    def __str__(self) -> str:
        # The prefix is the machine-readable contract; the message is translated.
        return f"row {self.row}: {self.column}: {self.message}"


@dataclass
class RowPlan:
    row: int
    action: str  # CREATE, UPDATE or UNCHANGED
    key: str
    label: str
    changes: list[str] = field(default_factory=list)
    obj: object = None
    extra: dict = field(default_factory=dict)


@dataclass
class ImportPlan:
    kind: str
    rows: list[RowPlan] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    def count(self, action: str) -> int:
        return sum(1 for plan in self.rows if plan.action == action)

    @property
    def counts(self) -> dict[str, int]:
        return {"created": self.count(CREATE), "updated": self.count(UPDATE), "unchanged": self.count(UNCHANGED)}


def chunks(items: list, size: int = 500) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


class _Row:
    """One data row: its cells by column name, and the errors found in it."""

    def __init__(self, number: int, header: list[str], cells: list[str], errors: list[RowError]):
        self.number = number
        self.cells = dict(zip(header, (unquote(c) for c in cells), strict=True))
        self.errors = errors
        self.failed = False

    def error(self, column: str, message) -> None:
        self.failed = True
        self.errors.append(RowError(self.number, column, str(message)))

    def text(self, column: str, *, required: bool = False, max_length: int | None = None) -> str:
        value = self.cells.get(column, "")
        if required and not value:
            self.error(column, _("This value is required."))
        elif max_length and len(value) > max_length:
            self.error(column, _("At most %(n)d characters.") % {"n": max_length})
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
            self.error(column, _("This date is in the future."))
            return None
        return value


def _by_code(units, preference) -> dict:
    """{code: unit}, keeping for each code the unit `preference` ranks highest."""
    return {unit.code: unit for unit in sorted(units, key=preference)}


class _Context:
    """Codes read once from the database, and who is importing."""

    def __init__(self, kind: str, scope, today: datetime.date):
        self.kind = kind
        self.scope = scope
        self.today = today
        # A code may have meant other units in the past: a code names the unit
        # that bears it today, else the last one that bore it.
        communes = list(Commune.objects.all())
        self.communes = _by_code(communes, lambda c: (c.is_valid_on(today), c.valid_from or datetime.date.min))
        self.communes_by_start = {(c.code, c.valid_from): c for c in communes}
        self.communes_by_id = {c.pk: c for c in communes}
        if kind in ("villages", "branches", "members", "memberships"):
            self.villages = _by_code(Village.objects.all(), lambda v: (v.is_valid_on(today), v.valid_from or datetime.date.min))
        if kind in ("branches", "members", "memberships"):
            branches = list(Branch.objects.all())
            self.branches = _by_code(branches, lambda b: (b.is_active_on(today), b.founded_on or datetime.date.min))
            self.branches_by_id = {b.pk: b for b in branches}

    def covers(self, commune_id: int | None) -> bool:
        return self.scope is None or self.scope.can_edit_commune(commune_id)

    def commune(self, row: _Row, column: str = "commune_code") -> Commune | None:
        code = row.text(column, required=True)
        if not code:
            return None
        commune = self.communes.get(code)
        if commune is None:
            row.error(column, _("No commune has the code '%(code)s'.") % {"code": code})
        elif not self.covers(commune.pk):
            row.error(column, _("Commune %(name)s is outside your commune.") % {"name": commune.name})
            return None
        return commune

    def village(self, row: _Row, column: str, *, required: bool) -> Village | None:
        code = row.text(column, required=required)
        if not code:
            return None
        village = self.villages.get(code)
        if village is None:
            row.error(column, _("No village has the code '%(code)s'.") % {"code": code})
        return village

    def branch(self, row: _Row, column: str = "branch_code") -> Branch | None:
        code = row.text(column, required=True)
        if not code:
            return None
        branch = self.branches.get(code)
        if branch is None:
            row.error(column, _("No branch has the code '%(code)s'.") % {"code": code})
        elif not self.covers(branch.commune_id):
            row.error(column, _("Branch %(name)s is outside your commune.") % {"name": branch.name})
            return None
        return branch


def validate_table(*, kind: str, table: list[list[str]], scope=None, today: datetime.date | None = None) -> ImportPlan:
    """Check every row of `table` (header first) and say what importing it would do.

    `scope` (branches.access.Scope) limits the rows to the communes the importer
    covers; None is the command line, which may import anything. Nothing is written.
    """
    if kind not in HEADERS:
        raise ValueError(f"unknown import kind {kind!r}")
    plan = ImportPlan(kind=kind)
    expected = HEADERS[kind]
    alternatives = [expected, *ALTERNATIVE_HEADERS.get(kind, [])]
    # read_table keeps every row at its place: the header is the first row that
    # is not blank, and row numbers are those of the file.
    start = next((index for index, cells in enumerate(table) if any(cells)), None)
    if start is None:
        plan.errors.append(RowError(1, "header", _("The file is empty: the first row must be the header %(header)s.") % {"header": ",".join(expected)}))
        return plan
    header = [unquote(cell).strip() for cell in table[start]]
    while header and not header[-1]:
        header.pop()  # spreadsheets often carry empty columns on the right
    if header in alternatives:
        expected = header
    else:
        plan.errors.append(
            RowError(start + 1, "header", _("The columns must be, in this order: %(expected)s (found: %(found)s).")
                     % {"expected": ",".join(expected), "found": ",".join(header)})
        )
    if plan.errors:
        return plan
    ctx = _Context(kind, scope, today or timezone.localdate())
    validator = _VALIDATORS[kind](ctx)
    if hasattr(validator, "prefetch"):
        validator.prefetch(expected, table[start + 1:])
    width = len(expected)
    for index, cells in enumerate(table[start + 1:], start=start + 2):
        if not any(cells):
            continue  # blank lines between or after the rows
        extra = cells[width:]
        if any(extra) or len(cells) < width:
            plan.errors.append(RowError(index, "row", _("Expected %(n)d cells, found %(found)d.") % {"n": width, "found": len(cells)}))
            continue
        row = _Row(index, expected, list(cells[:width]), plan.errors)
        result = validator.row(row)
        if result is not None and not row.failed:
            plan.rows.append(result)
    return plan


def _changes(obj, values: dict) -> list[str]:
    changed = []
    for name, value in values.items():
        if getattr(obj, name) != value:
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


class _CommuneRows:
    def __init__(self, ctx: _Context):
        self.ctx = ctx
        self.keys = _Keys()

    def row(self, row: _Row) -> RowPlan | None:
        code = row.text("code", required=True, max_length=5)
        name = row.text("name", required=True, max_length=100)
        if code and not re.fullmatch(r"[0-9]{5}", code):
            row.error("code", _("A commune code has exactly 5 digits."))
        dated = "valid_from" in row.cells
        valid_from = row.parsed("valid_from", parse_date) if dated else None
        valid_to = row.parsed("valid_to", parse_date) if dated else None
        province = None
        if dated and row.cells.get("province_code"):
            day = valid_from or self.ctx.today
            province = Province.objects.by_code(row.cells["province_code"], day)
            if province is None:
                row.error("province_code", _("No province bears the code '%(code)s' on %(date)s.")
                          % {"code": row.cells["province_code"], "date": day.strftime("%d/%m/%Y")})
        if row.failed or not self.keys.check(row, "code", (code, valid_from)):
            return None
        commune = self.ctx.communes_by_start.get((code, valid_from)) if dated else self.ctx.communes.get(code)
        if not self.ctx.covers(commune.pk if commune else None):
            row.error("code", _("You may only change your own commune."))
            return None
        if commune is None:
            obj = Commune(code=code, name=name, valid_from=valid_from, valid_to=valid_to)
            if province is not None:
                districts = list(province.districts.valid_on(valid_from or self.ctx.today)[:2])
                obj.place_in = (province, districts[0] if len(districts) == 1 else None)
            return RowPlan(row.number, CREATE, code, name, obj=obj)
        values = {"name": name, "valid_to": valid_to} if dated else {"name": name}
        changes = _changes(commune, values)
        return RowPlan(row.number, UPDATE if changes else UNCHANGED, code, name, changes, obj=commune)


class _VillageRows:
    def __init__(self, ctx: _Context):
        self.ctx = ctx
        self.keys = _Keys()

    def row(self, row: _Row) -> RowPlan | None:
        commune = self.ctx.commune(row)
        code = row.text("code", required=True, max_length=20)
        name = row.text("name", required=True, max_length=100)
        households = row.parsed("households", parse_count)
        population = row.parsed("population", parse_count)
        if households is not None and population is not None and population < households:
            row.error("population", _("The population cannot be smaller than the number of households."))
        if row.failed or not self.keys.check(row, "code", code):
            return None
        village = self.ctx.villages.get(code)
        if village is None:
            obj = Village(commune=commune, code=code, name=name, households=households, population=population)
            return RowPlan(row.number, CREATE, code, name, obj=obj)
        if village.commune_id != commune.pk:
            row.error("commune_code", _("Village %(code)s belongs to another commune; a village cannot change commune by import.") % {"code": code})
            return None
        changes = _changes(village, {"name": name, "households": households, "population": population})
        return RowPlan(row.number, UPDATE if changes else UNCHANGED, code, name, changes, obj=village)


class _BranchRows:
    def __init__(self, ctx: _Context):
        self.ctx = ctx
        self.keys = _Keys()

    def row(self, row: _Row) -> RowPlan | None:
        ctx = self.ctx
        commune = ctx.commune(row)
        code = row.text("code", required=True, max_length=20)
        name = row.text("name", required=True, max_length=150)
        kind = row.text("kind", required=True)
        if kind and kind not in BranchKind.values:
            row.error("kind", _("'%(value)s' is not a branch kind; use one of %(kinds)s.") % {"value": kind, "kinds": ", ".join(BranchKind.values)})
        village = ctx.village(row, "village_code", required=kind == BranchKind.VILLAGE)
        if village is not None and commune is not None and village.commune_id != commune.pk:
            row.error("village_code", _("Village %(name)s belongs to another commune.") % {"name": village.name})
        founded_on = row.date("founded_on", today=ctx.today)
        if row.failed or not self.keys.check(row, "code", code):
            return None
        branch = ctx.branches.get(code)
        if branch is None:
            obj = Branch(commune=commune, code=code, name=name, kind=kind, village=village, founded_on=founded_on)
            return RowPlan(row.number, CREATE, code, name, obj=obj)
        if branch.commune_id != commune.pk:
            row.error("commune_code", _("Branch %(code)s belongs to another commune; a branch cannot change commune by import.") % {"code": code})
            return None
        if branch.dissolved_on and founded_on and founded_on > branch.dissolved_on:
            row.error("founded_on", _("The branch was dissolved before this date."))
            return None
        changes = _changes(branch, {"name": name, "kind": kind, "village_id": village.pk if village else None, "founded_on": founded_on})
        return RowPlan(row.number, UPDATE if changes else UNCHANGED, code, name, changes, obj=branch)


# Below SQLite's oldest limit of 999 parameters per query.
PREFETCH_CHUNK = 900

MEMBER_FIELDS = [
    "full_name", "gender", "birth_date", "ethnicity", "residence_village_id", "position",
    "is_commune_cadre", "admitted_on", "full_on", "card_number",
]


class _MemberRows:
    def __init__(self, ctx: _Context):
        self.ctx = ctx
        self.keys = _Keys()
        self.cards = _Keys()
        self.existing: dict[str, tuple] = {}
        self.card_owner: dict[str, str] = {}
        self.open_official: dict[int, datetime.date] = {}

    def prefetch(self, header: list[str], rows: list[list[str]]) -> None:
        """Read the members the file names (by citizen ID or card number), not the
        whole registry: a province holds a million members (issue 7). A query per
        thousand rows of the file, whatever the size of the registry."""
        cid_at, card_at = header.index("citizen_id"), header.index("card_number")
        citizen_ids = sorted({unquote(r[cid_at]).strip() for r in rows if len(r) > cid_at} - {""})
        cards = sorted({unquote(r[card_at]).strip() for r in rows if len(r) > card_at} - {""})
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

    def row(self, row: _Row) -> RowPlan | None:
        ctx = self.ctx
        today = ctx.today
        citizen_id = row.text("citizen_id", required=True)
        if citizen_id and not re.fullmatch(r"[0-9]{12}", citizen_id):
            row.error("citizen_id", _("A citizen ID has exactly 12 digits."))
        full_name = " ".join(row.text("full_name", required=True, max_length=100).split())
        gender = row.parsed("gender", parse_gender, required=True)
        birth_date = row.date("birth_date", required=True, today=today)
        ethnicity = row.text("ethnicity", required=True, max_length=50)
        village = ctx.village(row, "residence_village_code", required=True)
        position = row.text("position", max_length=150)
        is_cadre = row.parsed("is_commune_cadre", parse_bool) or False
        admitted_on = row.date("admitted_on", required=True, today=today)
        full_on = row.date("full_on", today=today)
        card_number = row.text("card_number", max_length=20)
        branch = ctx.branch(row)
        since = row.date("since", today=today)
        if birth_date and admitted_on:
            if admitted_on < add_years(birth_date, settings.MINIMUM_ADMISSION_AGE):
                row.error("admitted_on", _("A member must be at least %(age)d years old at admission.") % {"age": settings.MINIMUM_ADMISSION_AGE})
        if admitted_on and full_on and full_on < admitted_on:
            row.error("full_on", _("A member cannot become full before being admitted."))
        if card_number and not full_on and not row.failed:
            row.error("card_number", _("Only full members have a Party card number."))
        if since and admitted_on and since < admitted_on:
            row.error("since", _("A membership cannot start before the admission date."))
        if branch is not None and branch.dissolved_on is not None:
            row.error("branch_code", _("Branch %(name)s was dissolved on %(date)s and accepts no new members.") % {"name": branch.name, "date": branch.dissolved_on.strftime("%d/%m/%Y")})
        if row.failed or not self.keys.check(row, "citizen_id", citizen_id):
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
        existing = self.existing.get(citizen_id)
        if existing is None:
            since = since or admitted_on
            if branch.founded_on and branch.founded_on > since:
                row.error("since", _("Branch %(name)s was founded only on %(date)s.") % {"name": branch.name, "date": branch.founded_on.strftime("%d/%m/%Y")})
                return None
            member = Member(citizen_id=citizen_id, **values)
            return RowPlan(row.number, CREATE, citizen_id, full_name, obj=member, extra={"branch": branch, "since": since})
        pk, status, branch_id = existing[1], existing[2], existing[-1]
        if not ctx.covers(ctx.branches_by_id[branch_id].commune_id):
            row.error("citizen_id", _("This citizen ID is registered to a member outside your commune."))
            return None
        if status == MemberStatus.LEFT or pk not in self.open_official:
            row.error("citizen_id", _("This member has left the Party; they cannot be changed by import."))
            return None
        if branch_id != branch.pk:
            row.error("branch_code", _("The member is in branch %(current)s, not %(branch)s: use a transfer to move a member.") % {"current": ctx.branches_by_id[branch_id].code, "branch": branch.code})
            return None
        if admitted_on > self.open_official[pk]:
            row.error("admitted_on", _("The member's current membership started on %(date)s, before this admission date.") % {"date": self.open_official[pk].strftime("%d/%m/%Y")})
            return None
        # `since` of an existing member is ignored: a re-import never resets the start.
        old = dict(zip(MEMBER_FIELDS, existing[3:-1], strict=True))
        changes = [name for name, value in values.items() if old[name] != value]
        return RowPlan(row.number, UPDATE if changes else UNCHANGED, citizen_id, full_name, changes, extra={"pk": pk, "values": values})


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
        citizen_id = row.text("citizen_id", required=True)
        member = None
        if citizen_id:
            if not re.fullmatch(r"[0-9]{12}", citizen_id):
                row.error("citizen_id", _("A citizen ID has exactly 12 digits."))
            else:
                member = self.members.get(citizen_id)
                if member is None:
                    row.error("citizen_id", _("No member has this citizen ID: import the members first."))
        branch = ctx.branch(row)
        kind = row.text("kind", required=True)
        if kind and kind not in MembershipKind.values:
            row.error("kind", _("'%(value)s' is not a membership kind; use official or temporary.") % {"value": kind})
        started_on = row.date("started_on", required=True, today=ctx.today)
        ended_on = row.parsed("ended_on", parse_date)
        end_reason = row.text("end_reason")
        if end_reason and end_reason not in EndReason.values:
            row.error("end_reason", _("'%(value)s' is not a reason; use one of %(reasons)s.") % {"value": end_reason, "reasons": ", ".join(EndReason.values)})
        if started_on and ended_on and ended_on < started_on:
            row.error("ended_on", _("A membership cannot end before it starts."))
        if member and started_on and started_on < member[1]:
            row.error("started_on", _("A membership cannot start before the admission date."))
        if branch is not None and branch.dissolved_on and (ended_on is None or ended_on > branch.dissolved_on):
            row.error("branch_code", _("Branch %(name)s was dissolved on %(date)s and accepts no new members.") % {"name": branch.name, "date": branch.dissolved_on.strftime("%d/%m/%Y")})
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
            changes = _changes(existing, {"ended_on": ended_on, "end_reason": end_reason})
            return RowPlan(row.number, UPDATE, label, label, changes, obj=existing)
        if kind == MembershipKind.OFFICIAL:
            if ended_on is None:
                row.error("ended_on", _("A new current membership is a move: use a transfer."))
                return None
            for start, end, _pk in self.periods.get(member_pk, []):
                if start < ended_on and (end is None or started_on < end):
                    row.error("started_on", _("This period overlaps another official membership of the member (from %(date)s).") % {"date": start.strftime("%d/%m/%Y")})
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
