"""What a unit accepts on a date (issue 13): a commune, village or branch that has
ceased, or does not exist yet, accepts nothing dated then — no village, branch,
member, membership, meeting or transfer. Every service that writes something
dated into a unit asks here first: a clear error, nothing written.
"""

import datetime

from django.utils.translation import gettext as _

from pacnam.dates import dmy
from pacnam.errors import DomainError

from ..models import Branch, BranchInCommune, Commune, Village, VillageInCommune


def _ceased(name: str, unit: Commune | Village, on: datetime.date, field: str | None) -> DomainError:
    if unit.valid_to is not None and unit.valid_to < on:
        merged = getattr(unit, "merged_into", None)
        if merged is not None:
            return DomainError(
                _("%(name)s ceased on %(date)s (merged into %(into)s) and accepts nothing dated after it.")
                % {"name": name, "date": dmy(unit.valid_to), "into": merged.name},
                field=field,
            )
        return DomainError(
            _("%(name)s ceased on %(date)s and accepts nothing dated after it.")
            % {"name": name, "date": dmy(unit.valid_to)},
            field=field,
        )
    return DomainError(
        _("%(name)s exists only from %(date)s.") % {"name": name, "date": dmy(unit.valid_from)}, field=field
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
    period = VillageInCommune.objects.filter(village=village).valid_on(on).select_related("commune").first()
    if period is None:
        raise _ceased(village.commune.name, village.commune, on, field)
    commune_check_accepts(period.commune, on, field=field)


def branch_check_accepts(branch: Branch, on: datetime.date, *, field: str | None = None) -> None:
    """Refuse anything dated `on` in a branch not active that day (founded later,
    dissolved by then) or whose commune of that day has ceased."""
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
    period = BranchInCommune.objects.filter(branch=branch).valid_on(on).select_related("commune__merged_into").first()
    if period is None:
        commune = Commune.objects.select_related("merged_into").get(pk=branch.commune_id)
        raise _ceased(_("Commune %(name)s") % {"name": commune.name}, commune, on, field)
    commune_check_accepts(period.commune, on, field=field)
