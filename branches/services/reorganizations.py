"""Reorganising communes (sắp xếp đơn vị hành chính), as on 1 July 2025: one dated
decision that ends the old communes and begins the new ones, and moves every
village and branch of an old commune into its new commune.

    reorganization_plan(lines=, on=)     -> ReorganizationPlan (no writes; every row checked)
    reorganization_apply(plan=, decision=, by=)   -> Reorganization (one transaction, one audit entry)
    reorganization_undo(reorganization=, by=)     -> back as it was, while nothing changed since

Members and memberships are not touched: members did not move, their communes
did. A village or branch keeps its code and its history; its period in the old
commune ends the day before and its period in the new one begins on the date,
so a roster of any earlier date is exactly what it was.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from pacnam.audit.trail import audit_batch
from pacnam.io.spreadsheets import HeaderTest, header_key, header_matcher
from pacnam.lib.dates import dmy
from pacnam.lib.errors import DomainError, NotAllowed

from ..access import Scope, acting_scope
from ..models import (
    Branch,
    BranchInCommune,
    Commune,
    CommuneInProvince,
    District,
    Province,
    Reorganization,
    Role,
    Village,
    VillageInCommune,
)

PLAN_HEADER = ["old_code", "new_code", "new_name", "province_code", "province_name"]
# The titles an office gives the plan's columns; the first is the one messages use.
# A column of the old communes' names, as decisions list them, is left out.
PLAN_TITLES = {
    "old_code": ["Mã xã cũ", "Mã đơn vị cũ", "Mã xã trước sắp xếp"],
    "new_code": ["Mã xã mới", "Mã đơn vị mới", "Mã xã sau sắp xếp"],
    "new_name": ["Tên xã mới", "Tên đơn vị mới", "Tên xã sau sắp xếp"],
    "province_code": ["Mã tỉnh"],
    "province_name": ["Tên tỉnh"],
}


def plan_column_title(column: str) -> str:
    """The Vietnamese title of a plan's column, for messages ("Mã xã cũ")."""
    if column == "header":
        return _("the row of column titles")
    titles = PLAN_TITLES.get(column)
    return titles[0] if titles else column


def plan_header_test() -> HeaderTest:
    """Whether a row of a plan's file is its header: three of its columns named (by
    key or title), so title rows above it are passed over."""
    return header_matcher(
        [title for key, titles in PLAN_TITLES.items() for title in [key, *titles]], minimum=3
    )


ONE_DAY = datetime.timedelta(days=1)


@dataclass
class PlanLine:
    row: int
    old_code: str
    new_code: str
    new_name: str
    province_code: str
    province_name: str


@dataclass
class PlanError:
    row: int
    column: str
    message: str

    def __str__(self) -> str:
        # The prefix is the contract; the message is translated.
        return f"row {self.row}: {self.column}: {self.message}"

    @property
    def shown(self) -> str:
        """For a person: the row as the spreadsheet numbers it, the column by its title."""
        return _("Row %(row)d, %(column)s: %(message)s") % {
            "row": self.row,
            "column": plan_column_title(self.column),
            "message": self.message,
        }


@dataclass
class NewCommune:
    code: str
    name: str
    province_code: str
    province_name: str
    olds: list[Commune] = field(default_factory=list)
    # The units that move into it (valid on the date): filled by the plan.
    villages: list[Village] = field(default_factory=list)
    branches: list[Branch] = field(default_factory=list)


@dataclass
class ReorganizationPlan:
    on: datetime.date
    lines: list[PlanLine]
    news: dict[str, NewCommune] = field(default_factory=dict)
    errors: list[PlanError] = field(default_factory=list)

    @property
    def old_communes(self) -> list[Commune]:
        return [old for new in self.news.values() for old in new.olds]


def lines_from_rows(
    header: list[str], rows: list[tuple[int, list[str]]], *, header_row: int = 1
) -> tuple[list[PlanLine], list[PlanError]]:
    """The plan's lines from a table whose header names PLAN_HEADER's columns, by
    their keys or their Vietnamese titles (PLAN_TITLES), in any order; other
    columns (STT, the old communes' names) are left out. Each line keeps the row
    number of its file (`rows` are (number, cells); the header is `header_row`)."""
    wanted = {
        header_key(title): key for key, titles in PLAN_TITLES.items() for title in [key, *titles]
    }
    at: dict[str, int] = {}
    for index, cell in enumerate(header):
        key = wanted.get(header_key(cell))
        if key is not None and key not in at:
            at[key] = index
    missing = [key for key in PLAN_HEADER if key not in at]
    if missing:
        return [], [
            PlanError(
                header_row,
                "header",
                _(
                    "The plan needs the columns %(columns)s (or the keys %(header)s), in any "
                    "order; missing: %(missing)s."
                )
                % {
                    "columns": ", ".join(plan_column_title(key) for key in PLAN_HEADER),
                    "header": ",".join(PLAN_HEADER),
                    "missing": ", ".join(plan_column_title(key) for key in missing),
                },
            )
        ]
    lines = []
    for number, cells in rows:
        values = [(cells[at[key]] if at[key] < len(cells) else "").strip() for key in PLAN_HEADER]
        if not any(values):
            continue
        lines.append(PlanLine(number, *values))
    if not lines:
        return [], [PlanError(header_row + 1, "old_code", _("The plan has no rows."))]
    return lines, []


def reorganization_plan(
    *, lines: list[PlanLine], on: datetime.date, scope: Scope | None = None
) -> ReorganizationPlan:
    """Check every row of a plan against the registry as it is; write nothing.

    Refused, each with its row: an unknown old code, or one that already ended
    (the same plan applied twice); an old commune with a change dated on or after
    `on` (the reorganisation must come after it); a new code still borne on `on`
    by a commune that is not in the plan; rows of one new commune that disagree
    on its name or province; malformed codes; with a `scope` (an officer's), an
    old commune they may not change ("not in your district" and no more). A fixed
    number of queries for the communes, and one per old commune for its villages
    and branches.
    """
    plan = ReorganizationPlan(on=on, lines=lines)
    seen: set[str] = set()
    for line in lines:
        line_error = _line_error(line, seen)
        if line_error:
            plan.errors.append(PlanError(line.row, *line_error))
            continue
        seen.add(line.old_code)
        old, error = _old_commune(line.old_code, on)
        if old is not None and scope is not None and not scope.can_edit_commune(old.pk):
            old, error = None, _("Not in your district or province.")
        if old is None or error:
            # _old_commune gives a commune or the reason there is none.
            plan.errors.append(PlanError(line.row, "old_code", error or ""))
            continue
        new = plan.news.setdefault(
            line.new_code,
            NewCommune(line.new_code, line.new_name, line.province_code, line.province_name),
        )
        if (new.name, new.province_code, new.province_name) != (
            line.new_name,
            line.province_code,
            line.province_name,
        ):
            plan.errors.append(
                PlanError(
                    line.row,
                    "new_name",
                    _(
                        "Another row names commune %(code)s differently or puts it in another province."
                    )
                    % {"code": line.new_code},
                )
            )
            continue
        new.olds.append(old)
    plan_old_ids = [old.pk for old in plan.old_communes]
    first_row: dict[str, int] = {}
    for line in lines:
        first_row.setdefault(line.new_code, line.row)
    for code, new in plan.news.items():
        # Any commune but the plan's old ones (which end the day before) that bears
        # the code on the date or later would share it with the new commune.
        bearer = (
            Commune.objects.filter(code=code)
            .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=on))
            .exclude(pk__in=plan_old_ids)
            .first()
        )
        if bearer is not None:
            plan.errors.append(
                PlanError(
                    first_row[code],
                    "new_code",
                    _("Code %(code)s is borne on %(date)s by %(name)s, which is not in the plan.")
                    % {"code": code, "date": dmy(on), "name": bearer.name},
                )
            )
        province = Province.objects.by_code(new.province_code, on)
        if province is not None and province.name != new.province_name:
            plan.errors.append(
                PlanError(
                    first_row[code],
                    "province_name",
                    _("Province %(code)s is %(name)s on %(date)s.")
                    % {"code": new.province_code, "name": province.name, "date": dmy(on)},
                )
            )
    if not plan.errors:
        _find_units(plan)
    return plan


def _line_error(line: PlanLine, seen: set[str]) -> tuple[str, str] | None:
    for column, pattern, what in (
        ("old_code", r"[0-9]{5}", _("a commune code has five digits")),
        ("new_code", r"[0-9]{5}", _("a commune code has five digits")),
        ("province_code", r"[0-9]{2}", _("a province code has two digits")),
    ):
        value = getattr(line, column)
        if not re.fullmatch(pattern, value):
            return column, _("'%(value)s' is not a code: %(what)s.") % {
                "value": value[:20],
                "what": what,
            }
    for column in ("new_name", "province_name"):
        if not getattr(line, column) or len(getattr(line, column)) > 100:
            return column, _("Give the name (at most 100 characters).")
    if line.old_code in seen:
        return "old_code", _("Commune %(code)s is in the plan twice.") % {"code": line.old_code}
    return None


def _old_commune(code: str, on: datetime.date) -> tuple[Commune | None, str | None]:
    """The commune that bears `code` on the eve of `on`, and why it cannot be
    reorganised on `on` if it cannot."""
    eve = on - ONE_DAY
    commune = Commune.objects.by_code(code, eve)
    if commune is None:
        last = Commune.objects.last_by_code(code, eve)
        if last is not None and last.valid_to is not None:
            return None, _ended(last)
        return None, _("No commune bears code %(code)s on %(date)s.") % {
            "code": code,
            "date": dmy(eve),
        }
    if commune.valid_to is not None:
        return None, _ended(commune) if commune.valid_to <= eve else _(
            "%(name)s has a change dated after %(date)s; the reorganisation must come after it."
        ) % {"name": commune.name, "date": dmy(eve)}
    latest = max(
        (
            d
            for d in (
                commune.valid_from,
                CommuneInProvince.objects.filter(commune=commune).aggregate(d=Max("valid_from"))[
                    "d"
                ],
                VillageInCommune.objects.filter(commune=commune).aggregate(d=Max("valid_from"))[
                    "d"
                ],
                BranchInCommune.objects.filter(commune=commune).aggregate(d=Max("valid_from"))["d"],
            )
            if d is not None
        ),
        default=None,
    )
    if latest is not None and latest >= on:
        return None, _(
            "%(name)s has a change dated %(date)s; the reorganisation must come after it."
        ) % {"name": commune.name, "date": dmy(latest)}
    return commune, None


def _ended(commune: Commune) -> str:
    """Why an ended commune (valid_to set) cannot be reorganised again."""
    assert commune.valid_to is not None
    if commune.merged_into is not None:
        return _("%(name)s already ended on %(date)s (merged into %(into)s).") % {
            "name": commune.name,
            "date": dmy(commune.valid_to),
            "into": commune.merged_into.name,
        }
    return _("%(name)s already ended on %(date)s.") % {
        "name": commune.name,
        "date": dmy(commune.valid_to),
    }


def _find_units(plan: ReorganizationPlan) -> None:
    """The villages and branches of each old commune that live on into the new one:
    those valid (active) on the date, by their open period in the old commune."""
    for new in plan.news.values():
        olds = [o.pk for o in new.olds]
        village_ids = VillageInCommune.objects.filter(
            commune_id__in=olds, valid_to__isnull=True
        ).values("village_id")
        new.villages = list(
            Village.objects.valid_on(plan.on).filter(pk__in=village_ids).order_by("code")
        )
        branch_ids = BranchInCommune.objects.filter(
            commune_id__in=olds, valid_to__isnull=True
        ).values("branch_id")
        new.branches = list(
            Branch.objects.active_on(plan.on).filter(pk__in=branch_ids).order_by("code")
        )


def reorganization_apply(
    *, plan: ReorganizationPlan, decision: str, by: User | None, via_command: bool = False
) -> Reorganization:
    """Carry out a checked plan as ONE batch: the old communes end the day before
    the date (merged into their new commune), the new ones begin on it in their
    province, and every village and branch that lives on opens its period in the
    new commune. Districts and provinces left with no commune end too. One
    transaction, one audit entry; refused if the plan has errors or the registry
    changed since it was checked."""
    decision = (decision or "").strip()
    if not decision:
        raise DomainError(_("Give the number of the decision."), field="decision")
    scope = acting_scope(by)
    if not scope.is_officer:
        raise NotAllowed(_("Only a district or province officer reorganises communes."))
    if plan.errors:
        raise DomainError(_("The plan has errors: nothing was changed."))
    with audit_batch(
        "units_reorganize", actor=by, description=f"{decision} · {plan.on.isoformat()}"
    ):
        return _apply(plan=plan, decision=decision, by=by, via_command=via_command)


@transaction.atomic
def _apply(
    *, plan: ReorganizationPlan, decision: str, by: User | None, via_command: bool
) -> Reorganization:
    on, eve = plan.on, plan.on - ONE_DAY
    # Race: two officers applying the same plan (or an undo meeting an apply).
    # Locking the old communes makes the second wait and then find them ended.
    old_ids = [old.pk for old in plan.old_communes]
    list(Commune.objects.select_for_update().filter(pk__in=old_ids).order_by("pk"))
    fresh = reorganization_plan(
        lines=plan.lines, on=on, scope=None if by is None else acting_scope(by)
    )
    if fresh.errors:
        raise DomainError(
            _("The registry changed since the plan was checked: %(error)s")
            % {"error": fresh.errors[0]}
        )
    changes: dict = {"created": {}, "ended": {}, "moved": {}}

    def note(kind: str, label: str, value: int | str) -> None:
        changes[kind].setdefault(label, []).append(value)

    # The old communes end first: a new commune may carry on one of their codes,
    # and a code is open in one commune at a time.
    for old in fresh.old_communes:
        old.valid_to = eve
        old.save(update_fields=["valid_to"])
        note("ended", "commune", old.pk)
        for period in CommuneInProvince.objects.filter(commune=old, valid_to__isnull=True):
            period.valid_to = eve
            period.save(update_fields=["valid_to"])
            note("ended", "commune_period", period.pk)
    provinces: dict[str, Province] = {}
    for new in fresh.news.values():
        province = provinces.get(new.province_code) or Province.objects.by_code(
            new.province_code, on
        )
        if province is None:
            province = Province.objects.create(
                code=new.province_code, name=new.province_name, valid_from=on
            )
            note("created", "province", province.pk)
        provinces[new.province_code] = province
        commune = Commune(code=new.code, name=new.name, valid_from=on)
        commune.place_in = (province, None)
        commune.save()
        note("created", "commune", commune.pk)
        note("created", "commune_period", commune.parent_periods.get().pk)
        for old in new.olds:
            old.merged_into = commune
            old.save(update_fields=["merged_into"])
        units: list[
            tuple[Village | Branch, type[VillageInCommune] | type[BranchInCommune], str]
        ] = [
            *((v, VillageInCommune, "village") for v in new.villages),
            *((b, BranchInCommune, "branch") for b in new.branches),
        ]
        for unit, periods, label in units:
            current = periods.objects.get(**{label: unit}, valid_to__isnull=True)
            current.valid_to = eve
            current.save(update_fields=["valid_to"])
            note("ended", f"{label}_period", current.pk)
            opened = periods.objects.create(**{label: unit, "commune": commune, "valid_from": on})
            note("created", f"{label}_period", opened.pk)
            changes["moved"].setdefault(label, {})[str(unit.pk)] = unit.commune_id
            unit.commune = commune
            unit.version += 1
            unit.save(update_fields=["commune", "version"])
    _end_emptied_parents(on, provinces, note)
    reorganization = Reorganization.objects.create(
        decision=decision,
        on=on,
        performed_by=by,
        via_command=via_command,
        merges=[
            {
                "old_code": old.code,
                "old_name": old.name,
                "new_code": new.code,
                "new_name": new.name,
                "province_code": new.province_code,
                "province_name": new.province_name,
            }
            for new in fresh.news.values()
            for old in new.olds
        ],
        changes=changes,
    )
    return reorganization


def _end_emptied_parents(
    on: datetime.date, provinces: dict[str, Province], note: Callable[[str, str, int | str], None]
) -> None:
    """A district or province with no commune left on `on` ends the day before; a
    province whose communes all went to one new province is merged into it (Bắc
    Kạn into Thái Nguyên)."""
    eve = on - ONE_DAY
    alive = CommuneInProvince.objects.valid_on(on)
    for district in District.objects.valid_on(eve).filter(valid_to__isnull=True):
        if not alive.filter(district=district).exists() and district.commune_periods.exists():
            district.valid_to = eve
            district.save(update_fields=["valid_to"])
            note("ended", "district", district.pk)
    targets = {p.pk for p in provinces.values()}
    for province in (
        Province.objects.valid_on(eve).filter(valid_to__isnull=True).exclude(pk__in=targets)
    ):
        if alive.filter(province=province).exists() or not province.commune_periods.exists():
            continue
        successors = set(
            CommuneInProvince.objects.valid_on(on)
            .filter(commune__merged_from__parent_periods__province=province)
            .values_list("province_id", flat=True)
        )
        province.valid_to = eve
        province.merged_into_id = successors.pop() if len(successors) == 1 else None
        province.save(update_fields=["valid_to", "merged_into"])
        note("ended", "province", province.pk)


# --- Undo ---------------------------------------------------------------------------

_MODELS = {
    "province": Province,
    "district": District,
    "commune": Commune,
    "commune_period": CommuneInProvince,
    "village_period": VillageInCommune,
    "branch_period": BranchInCommune,
}


def reorganization_undo_refusal(reorganization: Reorganization) -> str | None:
    """Why the reorganisation can no longer be undone, or None: something changed
    since (a unit created in a new commune, a role given on one, a unit moved
    again, a new commune renamed or ended)."""
    if reorganization.is_undone:
        return _("This reorganisation is already undone.")
    created, ended, moved = (
        reorganization.changes.get(k, {}) for k in ("created", "ended", "moved")
    )
    new_communes = created.get("commune", [])
    since = reorganization.performed_at
    for label in ("village_period", "branch_period", "commune_period"):
        if (
            _MODELS[label]
            .objects.filter(pk__in=created.get(label, ()))
            .exclude(valid_to=None)
            .exists()
        ):
            return _("A village or branch moved again since; that must be undone first.")
    changed_since = (
        # A unit placed in a new commune, or a role given on one, by anything else.
        CommuneInProvince.objects.filter(commune_id__in=new_communes).exclude(
            pk__in=created.get("commune_period", ())
        ),
        VillageInCommune.objects.filter(commune_id__in=new_communes).exclude(
            pk__in=created.get("village_period", ())
        ),
        BranchInCommune.objects.filter(commune_id__in=new_communes).exclude(
            pk__in=created.get("branch_period", ())
        ),
        Role.objects.filter(commune_id__in=new_communes),
        # An edit of a new or ended commune, or of a moved village or branch.
        Commune.history.filter(
            id__in=[*new_communes, *ended.get("commune", ())], history_date__gt=since
        ),
        Village.history.filter(
            id__in=[int(k) for k in moved.get("village", {})], history_date__gt=since
        ),
        Branch.history.filter(
            id__in=[int(k) for k in moved.get("branch", {})], history_date__gt=since
        ),
    )
    if any(qs.exists() for qs in changed_since):
        return _(
            "Something changed in these communes since; the reorganisation can no longer be undone."
        )
    return None


def reorganization_undo(*, reorganization: Reorganization, by: User | None) -> Reorganization:
    """Put everything back as it was before the reorganisation: the new communes and
    periods it created are removed, the ones it ended reopened, the villages and
    branches back in their old communes. Only while nothing changed since; an
    officer's decision, as one audit entry."""
    if not acting_scope(by).is_officer:
        raise NotAllowed(_("Only a district or province officer undoes a reorganisation."))
    with audit_batch(
        "units_reorganize_undo",
        actor=by,
        subject=reorganization,
        description=reorganization.decision,
    ):
        return _undo(reorganization=reorganization, by=by)


@transaction.atomic
def _undo(*, reorganization: Reorganization, by: User | None) -> Reorganization:
    # Race: an undo meeting a new change in the new communes. The lock on the
    # reorganisation makes two undos queue; the check runs under it.
    reorganization = Reorganization.objects.select_for_update().get(pk=reorganization.pk)
    refusal = reorganization_undo_refusal(reorganization)
    if refusal:
        raise DomainError(refusal)
    created, ended, moved = (
        reorganization.changes.get(k, {}) for k in ("created", "ended", "moved")
    )
    moved_models: tuple[tuple[str, type[Village] | type[Branch]], ...] = (
        ("village", Village),
        ("branch", Branch),
    )
    for label, model in moved_models:
        for unit in model.objects.filter(pk__in=[int(k) for k in moved.get(label, {})]):
            unit.commune_id = moved[label][str(unit.pk)]
            unit.version += 1
            unit.save(update_fields=["commune", "version"])
    for label in ("branch_period", "village_period", "commune_period"):
        for period in _MODELS[label].objects.filter(pk__in=created.get(label, ())):
            period.delete()
    for label in ("branch_period", "village_period", "commune_period", "district"):
        for ended_unit in _MODELS[label].objects.filter(pk__in=ended.get(label, ())):
            ended_unit.valid_to = None
            ended_unit.save(update_fields=["valid_to"])
    ended_communes = list(Commune.objects.filter(pk__in=ended.get("commune", ())))
    for commune in ended_communes:
        commune.merged_into = None
        commune.save(update_fields=["merged_into"])
    # The new communes go before the old reopen: a code is open in one commune at a time.
    for commune in Commune.objects.filter(pk__in=created.get("commune", ())):
        commune.delete()
    for commune in ended_communes:
        commune.valid_to = None
        commune.save(update_fields=["valid_to"])
    for province in Province.objects.filter(pk__in=ended.get("province", ())):
        province.valid_to, province.merged_into = None, None
        province.save(update_fields=["valid_to", "merged_into"])
    for province in Province.objects.filter(pk__in=created.get("province", ())):
        province.delete()
    reorganization.undone_at = timezone.now()
    reorganization.undone_by = by
    reorganization.save(update_fields=["undone_at", "undone_by"])
    return reorganization
