"""What a unit accepts on a date: a commune, village or branch that has
ceased, or does not exist yet, accepts nothing dated then — no village, branch,
member, membership, meeting or transfer. Every service that writes something
dated into a unit asks here first: a clear error, nothing written.
"""

import datetime

from django.utils.translation import gettext as _

from pacnam.lib.dates import dmy
from pacnam.lib.errors import DomainError

from ..models import Branch, BranchInCommune, Commune, Village, VillageInCommune


def _ceased(
    name: str, unit: Commune | Village, on: datetime.date, field: str | None
) -> DomainError:
    if unit.valid_to is not None and unit.valid_to < on:
        merged = getattr(unit, "merged_into", None)
        if merged is not None:
            return DomainError(
                _(
                    "%(name)s ceased on %(date)s (merged into %(into)s) and accepts nothing dated after it."
                )
                % {"name": name, "date": dmy(unit.valid_to), "into": merged.name},
                field=field,
            )
        return DomainError(
            _("%(name)s ceased on %(date)s and accepts nothing dated after it.")
            % {"name": name, "date": dmy(unit.valid_to)},
            field=field,
        )
    # Not ceased by `on`, so not begun yet: it has a first day.
    assert unit.valid_from is not None
    return DomainError(
        _("%(name)s exists only from %(date)s.") % {"name": name, "date": dmy(unit.valid_from)},
        field=field,
    )


def commune_check_accepts(commune: Commune, on: datetime.date, *, field: str | None = None) -> None:
    """Refuse anything dated `on` in a commune not valid that day."""
    if not commune.is_valid_on(on):
        raise _ceased(_("Commune %(name)s") % {"name": commune.name}, commune, on, field)


def village_check_accepts(village: Village, on: datetime.date, *, field: str | None = None) -> None:
    """Refuse anything dated `on` in a village not valid that day, or whose commune
    of that day has ceased."""
    if not village.is_valid_on(on):
        raise _ceased(village.name, village, on, field)
    period = (
        VillageInCommune.objects.filter(village=village)
        .valid_on(on)
        .select_related("commune")
        .first()
    )
    if period is None:
        raise _ceased(village.commune.name, village.commune, on, field)
    commune_check_accepts(period.commune, on, field=field)


def branch_check_accepts(branch: Branch, on: datetime.date, *, field: str | None = None) -> None:
    """Refuse anything dated `on` in a branch not active that day (founded later,
    dissolved by then) or whose commune of that day has ceased."""
    _branch_dates_check(branch, on, field)
    period = (
        BranchInCommune.objects.filter(branch=branch)
        .valid_on(on)
        .select_related("commune__merged_into")
        .first()
    )
    _branch_period_check(branch, period, on, field)


def branch_check_accepts_many(
    pairs: list[tuple[Branch, datetime.date]], *, field: str | None = None
) -> None:
    """branch_check_accepts for many (branch, day) pairs at once, as an import of
    100,000 members needs: the branches' periods in one query, then the same
    checks in memory. (One query per member made such an import ten times slower.)"""
    periods: dict[int, list[BranchInCommune]] = {}
    branch_ids = {branch.pk for branch, _on in pairs}
    for row in BranchInCommune.objects.filter(branch_id__in=branch_ids).select_related(
        "commune__merged_into"
    ):
        periods.setdefault(row.branch_id, []).append(row)
    for branch, on in pairs:
        _branch_dates_check(branch, on, field)
        period = next((p for p in periods.get(branch.pk, ()) if p.is_valid_on(on)), None)
        _branch_period_check(branch, period, on, field)


def _branch_dates_check(branch: Branch, on: datetime.date, field: str | None) -> None:
    if branch.dissolved_on is not None and branch.dissolved_on <= on:
        raise DomainError(
            _("Branch %(branch)s was dissolved on %(date)s and accepts nothing dated after it.")
            % {"branch": branch.name, "date": dmy(branch.dissolved_on)},
            field=field,
        )
    if branch.founded_on is not None and branch.founded_on > on:
        raise DomainError(
            _("Branch %(branch)s was founded only on %(date)s.")
            % {"branch": branch.name, "date": dmy(branch.founded_on)},
            field=field,
        )


def _branch_period_check(
    branch: Branch, period: BranchInCommune | None, on: datetime.date, field: str | None
) -> None:
    """The branch's commune of that day (its period) must exist and accept the day."""
    if period is None:
        commune = Commune.objects.select_related("merged_into").get(pk=branch.commune_id)
        raise _ceased(_("Commune %(name)s") % {"name": commune.name}, commune, on, field)
    commune_check_accepts(period.commune, on, field=field)
