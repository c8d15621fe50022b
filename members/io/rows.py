"""Each kind's rows checked against the registry: one class per kind (communes,
villages, branches, members, memberships) over the codes and citizen IDs read
once, into dicts, so validating 100,000 rows costs a fixed number of queries.
"""

from __future__ import annotations

import datetime
import re

from django.conf import settings
from django.utils.translation import gettext as _

from branches.models import Branch, BranchKind, Commune, Village
from pacnam.io.spreadsheets import Row
from pacnam.lib.dates import add_years, dmy
from pacnam.lib.text import clean_text, excerpt

from ..models import (
    EndReason,
    Gender,
    Member,
    Membership,
    MembershipKind,
    MemberStatus,
)

# A number Excel wrote in its short form ("6.18234E+11"): the digits are gone.
from .context import _changes, _Context, _Keys, _overlaps, _Row, _spaceless_id
from .plan import CREATE, UNCHANGED, UPDATE, RowPlan, chunks, shown
from .read import (
    column_title,
    parse_count,
    parse_date,
    parse_gender,
    parse_mark,
    unquote,
)


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
                row.error(
                    "province_code",
                    _("No province had the code '%(code)s' on %(date)s.")
                    % {"code": excerpt(province_code), "date": dmy(day)},
                )
        if row.failed or not self.keys.check(row, "code", (code, valid_from)):
            return None
        # A dated file names each commune by its code and first day (the export's
        # five columns); a file of two columns by the code of today, else
        # the last commune that bore it.
        if dated:
            commune = next(
                (c for c in ctx.communes.bearing(code) if c.valid_from == valid_from), None
            )
        else:
            commune = ctx.communes.last(code, day)
        if not ctx.covers(commune.pk if commune else None):
            ctx.outside(row, "code")
            return None
        if commune is None:
            clash = next(
                (c for c in ctx.communes.bearing(code) if _overlaps(c, valid_from, valid_to)), None
            )
            if clash is not None:
                row.error(
                    "code",
                    _("Another commune bears the code %(code)s on some of these days.")
                    % {"code": code},
                )
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
        return RowPlan(
            row.number,
            UPDATE if changes else UNCHANGED,
            code,
            name,
            changes,
            obj=commune,
            diffs=diffs,
        )


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
            row.error(
                "population",
                _("The population cannot be smaller than the number of households (%(n)d).")
                % {"n": households},
            )
        if row.failed or not self.keys.check(row, "code", code):
            return None
        assert commune is not None  # a row whose commune is not found has failed
        village = ctx.villages.last(code, ctx.today)
        if village is None:
            obj = Village(
                commune=commune, code=code, name=name, households=households, population=population
            )
            return RowPlan(row.number, CREATE, code, name, obj=obj)
        if not ctx.covers(village.commune_id):
            ctx.outside(row, "code")
            return None
        if village.commune_id != commune.pk:
            row.error(
                "commune_code",
                _(
                    "Village %(code)s belongs to another commune; a village cannot change commune by import."
                )
                % {"code": code},
            )
            return None
        diffs: list = []
        changes = _changes(
            village, {"name": name, "households": households, "population": population}, diffs
        )
        return RowPlan(
            row.number,
            UPDATE if changes else UNCHANGED,
            code,
            name,
            changes,
            obj=village,
            diffs=diffs,
        )


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
            row.error(
                "kind",
                _("'%(value)s' is not a branch kind; use one of %(kinds)s.")
                % {"value": excerpt(kind), "kinds": ", ".join(BranchKind.values)},
            )
        village = ctx.village(
            row, "village_code", day, required=kind == BranchKind.VILLAGE, fallback=ctx.today
        )
        if village is not None and commune is not None and village.commune_id != commune.pk:
            row.error("village_code", _("The village belongs to another commune than the branch."))
        if row.failed or not self.keys.check(row, "code", (code, founded_on)):
            return None
        assert commune is not None  # a row whose commune is not found has failed
        branch = ctx.branches.on(code, day) if founded_on else ctx.branches.last(code, day)
        if branch is None:
            obj = Branch(
                commune=commune,
                code=code,
                name=name,
                kind=kind,
                village=village,
                founded_on=founded_on,
            )
            return RowPlan(row.number, CREATE, code, name, obj=obj)
        if not ctx.covers(branch.commune_id):
            ctx.outside(row, "code")
            return None
        if branch.commune_id != commune.pk:
            row.error(
                "commune_code",
                _(
                    "Branch %(code)s belongs to another commune; a branch cannot change commune by import."
                )
                % {"code": code},
            )
            return None
        if branch.dissolved_on and founded_on and founded_on > branch.dissolved_on:
            row.error("founded_on", _("The branch was dissolved before this date."))
            return None
        old_village = ctx.villages.by_id.get(branch.village_id)
        diffs: list = []
        changes = _changes(
            branch,
            {
                "name": name,
                "kind": kind,
                "village_id": village.pk if village else None,
                "founded_on": founded_on,
            },
            diffs,
        )
        # The village as its code, as in the file.
        diffs = [
            (
                "village_code",
                old_village.code if old_village else "",
                village.code if village else "",
            )
            if column == "village_id"
            else (column, old, new)
            for column, old, new in diffs
        ]
        return RowPlan(
            row.number,
            UPDATE if changes else UNCHANGED,
            code,
            name,
            changes,
            obj=branch,
            diffs=diffs,
        )


# Below SQLite's oldest limit of 999 parameters per query.
PREFETCH_CHUNK = 900

MEMBER_FIELDS = [
    "full_name",
    "gender",
    "birth_date",
    "ethnicity",
    "residence_village_id",
    "position",
    "is_commune_cadre",
    "admitted_on",
    "full_on",
    "card_number",
]
# The file's column for each field, in the list of changes.
MEMBER_COLUMNS = {name: name for name in MEMBER_FIELDS} | {
    "residence_village_id": "residence_village_code"
}


def _file_citizen_id(text: str) -> str:
    """A citizen ID as _Row.citizen_id will read it, for the prefetch."""
    text = _spaceless_id(unquote(clean_text(text)))
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
        whole registry: a province holds a million members. A query per
        thousand rows of the file, whatever the size of the registry."""
        cid_at, card_at = columns["citizen_id"], columns.get("card_number")
        citizen_ids = sorted(
            {_file_citizen_id(r.cells[cid_at]) for r in rows if len(r.cells) > cid_at} - {""}
        )
        cards = sorted(
            {
                unquote(clean_text(r.cells[card_at]))
                for r in rows
                if card_at is not None and len(r.cells) > card_at
            }
            - {""}
        )
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
                Member.objects.filter(card_number__in=chunk)
                .exclude(card_number="")
                .values_list("card_number", "citizen_id")
            )
        pks = sorted(values[1] for values in self.existing.values())
        for chunk in chunks(pks, PREFETCH_CHUNK):
            self.open_official.update(
                Membership.objects.official()
                .open()
                .filter(member_id__in=chunk)
                .values_list("member_id", "started_on")
            )

    def _shown(self, name: str, value) -> str:
        if name == "residence_village_id":
            village = self.ctx.villages.by_id.get(value)
            return village.code if village else ""
        if name == "gender" and value in Gender.values:
            return str(Gender(value).label)
        return shown(value)

    def _given(self, row: _Row) -> dict:
        """The member's fields the file has a column for, read and checked; a column
        the file lacks is absent, and keeps the registry's value."""
        today = self.ctx.today
        given: dict = {
            "full_name": " ".join(
                row.text("full_name", required=True, max_length=100, garbled=True).split()
            ),
            "gender": row.parsed("gender", parse_gender, required=True),
            "birth_date": row.date("birth_date", required=True, today=today),
        }
        if row.present("ethnicity"):
            given["ethnicity"] = row.text("ethnicity", required=True, max_length=50, garbled=True)
        if row.present("position"):
            given["position"] = row.text("position", max_length=150, garbled=True)
        if row.present("is_commune_cadre"):
            given["is_commune_cadre"] = row.parsed("is_commune_cadre", parse_mark) or False
        if row.present("admitted_on"):
            given["admitted_on"] = row.date("admitted_on", required=True, today=today)
        if row.present("full_on"):
            given["full_on"] = row.date("full_on", today=today)
        if row.present("card_number"):
            given["card_number"] = row.text("card_number", max_length=20)
        return given

    def row(self, row: _Row) -> RowPlan | None:
        ctx = self.ctx
        today = ctx.today
        citizen_id = row.citizen_id()
        given = self._given(row)
        since = row.date("since", today=today)
        existing = self.existing.get(citizen_id) if citizen_id else None
        if existing is not None and not ctx.covers(ctx.branches.by_id[existing[-1]].commune_id):
            # Registered elsewhere: said as for any record outside one's communes,
            # before anything of theirs is compared (no message tells of them).
            ctx.outside(row, "citizen_id", citizen_id)
            return None
        old = dict(zip(MEMBER_FIELDS, existing[3:-1], strict=True)) if existing else {}
        admitted_on = given.get("admitted_on", old.get("admitted_on"))
        # The codes (and names) of the day the member joined the branch;
        # where they live is today's fact too, for a village made since.
        day = since or given.get("admitted_on") or today
        if row.present("branch_code"):
            branch = ctx.branch(row, day)
        else:
            branch = ctx.branch_by_name(row, day)
        if row.present("residence_village_code"):
            village = ctx.village(row, "residence_village_code", day, required=True, fallback=today)
            given["residence_village_id"] = village.pk if village else None
        if existing is None and not row.failed:
            self._new_member_defaults(row, given, branch)
        values = {**old, **given}
        full_on = values.get("full_on")
        birth_date = values.get("birth_date")
        if birth_date and admitted_on:
            if admitted_on < add_years(birth_date, settings.MINIMUM_ADMISSION_AGE):
                row.error(
                    "admitted_on",
                    _("A member must be at least %(age)d years old at admission.")
                    % {"age": settings.MINIMUM_ADMISSION_AGE},
                    dmy(admitted_on),
                )
        if admitted_on and full_on and full_on < admitted_on:
            row.error(
                "full_on",
                _("A member cannot become full before being admitted (%(date)s).")
                % {"date": dmy(admitted_on)},
                dmy(full_on),
            )
        card_number = values.get("card_number", "")
        if card_number and not full_on and not row.failed:
            row.error("card_number", _("Only full members have a Party card number."), card_number)
        if since and admitted_on and since < admitted_on:
            row.error(
                "since",
                _("A membership cannot start before the admission date (%(date)s).")
                % {"date": dmy(admitted_on)},
            )
        branch_column = "branch_code" if row.present("branch_code") else "branch_name"
        if branch is not None and branch.dissolved_on is not None:
            row.error(
                branch_column,
                _("Branch %(name)s was dissolved on %(date)s and accepts no new members.")
                % {"name": branch.name, "date": dmy(branch.dissolved_on)},
            )
        if row.failed or not self.keys.check(row, "citizen_id", citizen_id):
            return None
        # A row that names no branch, or lacks an admission date, has failed above.
        assert branch is not None and admitted_on is not None
        full_name = values["full_name"]
        if row.present("card_number") and card_number:
            owner = self.card_owner.get(card_number)
            if owner not in (None, citizen_id):
                row.error("card_number", _("This card number belongs to another member."))
                return None
            if not self.cards.check(row, "card_number", card_number):
                return None
        if existing is None:
            since = since or admitted_on
            if branch.founded_on and branch.founded_on > since:
                row.error(
                    "since",
                    _("Branch %(name)s was founded only on %(date)s.")
                    % {"name": branch.name, "date": dmy(branch.founded_on)},
                    dmy(since),
                )
                return None
            member = Member(citizen_id=citizen_id, **values)
            return RowPlan(
                row.number,
                CREATE,
                citizen_id,
                full_name,
                obj=member,
                extra={"branch": branch, "since": since},
            )
        pk, status, branch_id = existing[1], existing[2], existing[-1]
        if status == MemberStatus.LEFT or pk not in self.open_official:
            row.error(
                "citizen_id",
                _("This member has left the Party; they cannot be changed by import."),
                citizen_id,
            )
            return None
        if branch_id != branch.pk:
            current = ctx.branches.by_id[branch_id]
            row.error(
                branch_column,
                _(
                    "The member is in branch %(current)s, not %(branch)s: use a transfer to move a member."
                )
                % {
                    "current": f"{current.name} ({current.code})",
                    "branch": f"{branch.name} ({branch.code})",
                },
            )
            return None
        if admitted_on > self.open_official[pk]:
            row.error(
                "admitted_on",
                _(
                    "The member's current membership started on %(date)s, before this admission date."
                )
                % {"date": dmy(self.open_official[pk])},
            )
            return None
        # `since` of an existing member is ignored: a re-import never resets the start.
        changes = [name for name in MEMBER_FIELDS if old[name] != values[name]]
        diffs = [
            (MEMBER_COLUMNS[name], self._shown(name, old[name]), self._shown(name, values[name]))
            for name in changes
        ]
        return RowPlan(
            row.number,
            UPDATE if changes else UNCHANGED,
            citizen_id,
            full_name,
            changes,
            extra={"pk": pk, "values": values},
            diffs=diffs,
        )

    def _new_member_defaults(self, row: _Row, given: dict, branch) -> None:
        """A member new to the registry has no values to keep: the columns that a
        member cannot be without must be in the file, or be found (where they live:
        the village of a village branch, said in the preview)."""
        for column in ("admitted_on", "ethnicity"):
            if column not in given:
                row.error(
                    column,
                    _(
                        "%(name)s is not in the registry yet: a new member needs this column "
                        "(%(title)s) in the file."
                    )
                    % {
                        "name": given.get("full_name") or row.cells.get("citizen_id", ""),
                        "title": column_title("members", column),
                    },
                    "",
                )
        if "residence_village_id" not in given:
            if branch is not None and branch.village_id is not None:
                given["residence_village_id"] = branch.village_id
                village = self.ctx.villages.by_id.get(branch.village_id)
                row.notice(
                    "residence_village_code",
                    _("taken as the village of the branch, %(village)s")
                    % {"village": village.name if village else branch.village_id},
                )
            elif branch is not None:
                row.error(
                    "residence_village_code",
                    _(
                        "%(name)s is not in the registry yet and branch %(branch)s is no village's: "
                        "a new member needs this column (%(title)s) in the file."
                    )
                    % {
                        "name": given.get("full_name") or "",
                        "branch": branch.name,
                        "title": column_title("members", "residence_village_code"),
                    },
                    "",
                )
        given.setdefault("position", "")
        given.setdefault("is_commune_cadre", False)
        given.setdefault("full_on", None)
        given.setdefault("card_number", "")


class _MembershipRows:
    def __init__(self, ctx: _Context):
        self.ctx = ctx
        self.keys = _Keys()
        self.members = {
            cid: (pk, admitted_on, status, branch_id)
            for cid, pk, admitted_on, status, branch_id in Member.objects.values_list(
                "citizen_id", "pk", "admitted_on", "status", "branch_id"
            )
        }
        self.existing: dict[tuple, Membership] = {}
        self.periods: dict[int, list[tuple]] = {}  # official periods per member, for overlaps
        for membership in Membership.objects.all():
            self.existing[
                (membership.member_id, membership.branch_id, membership.kind, membership.started_on)
            ] = membership
            if membership.kind == MembershipKind.OFFICIAL:
                self.periods.setdefault(membership.member_id, []).append(
                    (membership.started_on, membership.ended_on, membership.pk)
                )

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
                    row.error(
                        "citizen_id",
                        _("No member has this citizen ID: import the members first."),
                        citizen_id,
                    )
        kind = row.text("kind", required=True)
        if kind and kind not in MembershipKind.values:
            row.error(
                "kind",
                _("'%(value)s' is not a membership kind; use official or temporary.")
                % {"value": excerpt(kind)},
            )
        started_on = row.date("started_on", required=True, today=ctx.today)
        branch = ctx.branch(row, started_on or ctx.today)
        ended_on = row.parsed("ended_on", parse_date)
        end_reason = row.text("end_reason")
        if end_reason and end_reason not in EndReason.values:
            row.error(
                "end_reason",
                _("'%(value)s' is not a reason; use one of %(reasons)s.")
                % {"value": excerpt(end_reason), "reasons": ", ".join(EndReason.values)},
            )
        if started_on and ended_on and ended_on < started_on:
            row.error(
                "ended_on",
                _("A membership cannot end before it starts (%(date)s).")
                % {"date": dmy(started_on)},
            )
        if member and started_on and started_on < member[1]:
            row.error(
                "started_on",
                _("A membership cannot start before the admission date (%(date)s).")
                % {"date": dmy(member[1])},
            )
        if (
            branch is not None
            and branch.dissolved_on
            and (ended_on is None or ended_on > branch.dissolved_on)
        ):
            row.error(
                "branch_code",
                _("Branch %(name)s was dissolved on %(date)s and accepts no new members.")
                % {"name": branch.name, "date": dmy(branch.dissolved_on)},
            )
        if row.failed:
            return None
        # A row without the member, the branch or the start has failed above.
        assert member is not None and branch is not None and started_on is not None
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
                row.error(
                    "ended_on",
                    _(
                        "Opening or closing a member's current membership is a move: use a transfer."
                    ),
                )
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
                    row.error(
                        "started_on",
                        _(
                            "This period overlaps another official membership of the member (from %(date)s)."
                        )
                        % {"date": dmy(start)},
                    )
                    return None
            self.periods.setdefault(member_pk, []).append((started_on, ended_on, None))
        obj = Membership(
            member_id=member_pk,
            branch=branch,
            kind=kind,
            started_on=started_on,
            ended_on=ended_on,
            end_reason=end_reason,
        )
        return RowPlan(row.number, CREATE, label, label, obj=obj)
