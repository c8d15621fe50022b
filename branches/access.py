"""Who may see which place: one helper per kind of record, as healthchecks does.

Every view, form, export and service asks the user's `Scope` for its
querysets, so a record outside one's scope simply is not found: a 404, never
a hint that it exists. The big tables (members, meetings, transfers) filter on
the scope's branch ids as values (`Scope.branch_ids`, `Scope.by_branch`), the
others through `Scope.branches()`.

Scopes are in time. A user's role is the one valid today. A province
officer sees the communes that were ever in the province or in a province merged
into it; a district officer those ever in the district (the district keeps its
years); a commune secretary their commune and the communes merged into it. Each
sees every branch and village that was ever in one of those communes, with its
whole history: the secretary of a merged commune sees the branches that are in
it now, and their rosters of the years before the merger.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Protocol

from django.contrib.auth.backends import BaseBackend
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Exists, Model, OuterRef, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from pacnam.lib.errors import NotAllowed
from pacnam.security.second_factor import REQUIRED_PERMISSION, REVIEW_READS_PERMISSION

from .models import (
    Branch,
    BranchInCommune,
    Commune,
    CommuneInProvince,
    District,
    Province,
    Role,
    RoleKind,
    Village,
    VillageInCommune,
)
from .models.units import BranchQuerySet, ValidityQuerySet


class OnBranch(Protocol):
    """A record judged by its official branch (a member; the members app is a floor up)."""

    branch_id: int | None


ALL = "all"  # administrators and the system (the management commands)
PROVINCE = "province"
DISTRICT = "district"
COMMUNE = "commune"
BRANCH = "branch"
NONE = "none"

# The levels that do the district committee's work: approving transfers between
# communes, undoing dissolutions and reorganisations (the province's from 2025).
OFFICER_LEVELS = (ALL, PROVINCE, DISTRICT)


@dataclass(frozen=True)
class Scope:
    level: str
    province_id: int | None = None
    district_id: int | None = None
    # COMMUNE: the secretary's commune; BRANCH: the branch's commune now.
    commune_id: int | None = None
    branch_id: int | None = None
    title: str = ""
    is_admin: bool = False

    # --- What the user sees ---
    def communes(self, qs: ValidityQuerySet | None = None) -> ValidityQuerySet:
        qs = Commune.objects.all() if qs is None else qs
        if self.level == ALL:
            return qs
        if self.level == PROVINCE:
            provinces = Province.objects.filter(_with_merged(_given(self.province_id)))
            periods = CommuneInProvince.objects.filter(province__in=provinces)
            return qs.filter(pk__in=periods.values("commune_id"))
        if self.level == DISTRICT:
            periods = CommuneInProvince.objects.filter(district_id=_given(self.district_id))
            return qs.filter(pk__in=periods.values("commune_id"))
        if self.level == COMMUNE:
            return qs.filter(_with_merged(_given(self.commune_id)))
        return qs.none()

    def villages(self, qs: ValidityQuerySet | None = None) -> ValidityQuerySet:
        qs = Village.objects.all() if qs is None else qs
        if self.level == ALL:
            return qs
        if self.level == BRANCH:
            return qs.filter(branches__pk=_given(self.branch_id))
        if self.level == NONE:
            return qs.none()
        periods = VillageInCommune.objects.filter(commune__in=self.communes())
        return qs.filter(pk__in=periods.values("village_id"))

    def branches(self, qs: BranchQuerySet | None = None) -> BranchQuerySet:
        qs = Branch.objects.all() if qs is None else qs
        if self.sees_all:
            return qs
        if self.level == BRANCH:
            return qs.filter(pk=_given(self.branch_id))
        if self.level == NONE:
            return qs.none()
        return qs.filter(pk__in=self._branch_periods().values("branch_id"))

    def _branch_periods(self) -> QuerySet:
        return BranchInCommune.objects.filter(commune__in=self.communes())

    def by_branch(self, qs: QuerySet, field: str = "branch") -> QuerySet:
        """`qs` (rows with a branch `field`) narrowed to the scope's branches: not at
        all when the scope sees everything, else by the branch ids as values, which
        PostgreSQL matches on the rows' branch index."""
        if self.sees_all:
            return qs
        return qs.filter(**{f"{field}_id__in": sorted(self.branch_ids)})

    @cached_property
    def _officer_communes(self) -> tuple[bool, frozenset[int]]:
        """For a province or district officer, in one query (once per request):
        whether every commune registered is theirs, and the communes they may change."""
        if self.level == PROVINCE:
            editable = CommuneInProvince.objects.filter(
                province_id=_given(self.province_id)
            ).valid_on(timezone.localdate())
        else:
            editable = CommuneInProvince.objects.filter(district_id=_given(self.district_id))
        flags = Commune.objects.annotate(
            mine=Exists(self.communes(Commune.objects.filter(pk=OuterRef("pk")))),
            editable=Exists(editable.filter(commune=OuterRef("pk"))),
        ).values_list("pk", "mine", "editable")
        rows = list(flags)
        return all(mine for _pk, mine, _e in rows), frozenset(
            pk for pk, _m, editable in rows if editable
        )

    @cached_property
    def sees_all(self) -> bool:
        """Whether nothing in the registry is outside the scope: an administrator, or
        an officer whose province (or district) holds every commune registered.
        Lists then need no filter at all, which keeps a province's pages on their
        indexes."""
        if self.level == ALL:
            return True
        if self.level not in (PROVINCE, DISTRICT):
            return False
        return self._officer_communes[0]

    # --- What the pages link to (menus, breadcrumbs, buttons) ---
    @cached_property
    def _seen_commune_ids(self) -> frozenset[int]:
        return frozenset(self.communes().values_list("pk", flat=True))

    @cached_property
    def _seen_village_ids(self) -> frozenset[int]:
        return frozenset(self.villages().values_list("pk", flat=True))

    def sees_commune(self, commune_id: int | None) -> bool:
        """Whether the commune's page opens for the user: a page links it only then
        (a branch secretary's breadcrumb names their commune without a link).
        At most one query per request: none for an administrator, an officer who
        sees every commune, or a secretary's own commune."""
        if commune_id is None or self.level in (BRANCH, NONE):
            return False
        if self.level == ALL or (self.level == COMMUNE and commune_id == self.commune_id):
            return True
        if self.level != COMMUNE and self.sees_all:
            return True
        return commune_id in self._seen_commune_ids

    @cached_property
    def branch_ids(self) -> frozenset[int]:
        """The ids of the branches the scope sees (not meant for sees_all), in one
        query per request: a Scope lives for one request (scope_for) and is never
        kept across a change of the units, which would leave these stale. The scoped reads filter on these values rather than on
        a subquery: PostgreSQL then estimates a commune's few hundred members from
        its statistics instead of guessing, and keeps to the indexes."""
        if self.level == BRANCH:
            return frozenset([_given(self.branch_id)])
        if self.level == NONE:
            return frozenset()
        return frozenset(self._branch_periods().values_list("branch_id", flat=True))

    def sees_branch(self, branch_id: int | None) -> bool:
        """Whether the branch's page opens for the user (as sees_commune)."""
        if branch_id is None or self.level == NONE:
            return False
        if self.level == BRANCH:
            return branch_id == self.branch_id
        return self.sees_all or branch_id in self.branch_ids

    def sees_member(self, member: OnBranch) -> bool:
        """Whether the member's page opens for the user, judged by their official
        branch: a member who has moved on since (a past member of a branch page)
        is linked only where their new branch is seen."""
        return self.sees_branch(member.branch_id)

    def sees_village(self, village: Village | None) -> bool:
        """Whether the village's page opens for the user (as sees_commune)."""
        if village is None or self.level == NONE:
            return False
        if self.level == BRANCH:
            return village.pk in self._seen_village_ids
        return self.sees_commune(village.commune_id)

    @cached_property
    def ended_on(self) -> datetime.date | None:
        """The last day of the unit the role is over, when it has ceased: Pác Nặm
        district on 30/06/2025, a commune merged then. Such a user keeps the unit's
        history, and the pages about a day or a month (the dashboard, the policy
        report) default to that last day, when the communes were still theirs; None
        for a unit that goes on. One query, once per request."""
        model, pk = {
            PROVINCE: (Province, self.province_id),
            DISTRICT: (District, self.district_id),
            COMMUNE: (Commune, self.commune_id),
        }.get(self.level, (None, None))
        if model is None or pk is None:
            return None
        return model.objects.filter(pk=pk).values_list("valid_to", flat=True).first()

    def last_day(self, today: datetime.date) -> datetime.date:
        """`today`, or the unit's last day when it ceased before."""
        ended = self.ended_on
        return ended if ended is not None and ended < today else today

    # --- What the user may change ---
    @property
    def is_officer(self) -> bool:
        """A district or province officer (or an administrator): the district
        committee's rights, which pass to the province's from 2025."""
        return self.level in OFFICER_LEVELS

    @cached_property
    def editable_commune_ids(self) -> frozenset[int] | None:
        """The communes whose records the user may change (None: all of them). A
        province officer: the province's communes of today; a district officer: the
        district's (a ceased commune still refuses anything dated after it ceased);
        a commune secretary: their own commune, not those merged into it."""
        if self.level == ALL:
            return None
        if self.level in (PROVINCE, DISTRICT):
            return self._officer_communes[1]
        if self.level == COMMUNE:
            return frozenset([_given(self.commune_id)])
        return frozenset()

    def can_edit_commune(self, commune_id: int | None) -> bool:
        """May change the commune's records: rosters, villages, branches, candidates,
        ratings, transfers and dissolutions inside it. The one answer to "may edit
        this commune"."""
        if commune_id is None or self.level in (BRANCH, NONE):
            return False
        ids = self.editable_commune_ids
        return ids is None or commune_id in ids

    def can_edit_branch(self, branch: Branch) -> bool:
        """May record the branch's meetings, attendance and tasks: the commune's
        rights, or the branch's own secretary."""
        if self.can_edit_commune(branch.commune_id):
            return True
        return self.level == BRANCH and branch.pk == self.branch_id

    def can_edit_registry(self) -> bool:
        """May change some commune's records at all (the "new ..." pages, before a
        commune is chosen): officers and commune secretaries."""
        return self.level in (*OFFICER_LEVELS, COMMUNE)

    def require_commune(self, commune_id: int | None, message: str) -> None:
        """Refuse (a 403, through NotAllowed) unless the user may edit the commune."""
        if not self.can_edit_commune(commune_id):
            raise NotAllowed(message)

    def require_branch(self, branch: Branch, message: str) -> None:
        """Refuse (a 403, through NotAllowed) unless the user may record the branch's meetings."""
        if not self.can_edit_branch(branch):
            raise NotAllowed(message)


NO_SCOPE = Scope(level=NONE)

# The scope of the management commands: they act for the whole registry and are
# recorded as done by the system (no user).
SYSTEM_SCOPE = Scope(level=ALL)


def _given(pk: int | None) -> int:
    """The unit of a scope's level (a province scope's province...), which
    scope_of_role always sets: a scope without it is a bug, not an empty scope."""
    if pk is None:
        raise ValueError("a scope of this level needs its unit")
    return pk


def _with_merged(pk: int) -> Q:
    """The unit `pk` and those merged into it, and into those: a condition in the
    same query, no query of its own. Two generations of mergers (2025's, and one
    more) are as far back as a registry reaches."""
    return Q(pk=pk) | Q(merged_into=pk) | Q(merged_into__merged_into=pk)


def scope_of_role(role: Role | None, *, is_superuser: bool = False) -> Scope:
    if role is None:
        return Scope(level=ALL, is_admin=True) if is_superuser else NO_SCOPE
    title, is_admin = role.title, is_superuser
    if role.kind == RoleKind.PROVINCE_OFFICER:
        return Scope(PROVINCE, province_id=role.province_id, title=title, is_admin=is_admin)
    if role.kind == RoleKind.DISTRICT_OFFICER:
        return Scope(DISTRICT, district_id=role.district_id, title=title, is_admin=is_admin)
    if role.kind == RoleKind.COMMUNE_SECRETARY:
        return Scope(COMMUNE, commune_id=role.commune_id, title=title, is_admin=is_admin)
    # A branch secretary's role has its branch (the role's check constraint).
    branch = role.branch
    assert branch is not None
    return Scope(
        BRANCH, branch_id=branch.pk, commune_id=branch.commune_id, title=title, is_admin=is_admin
    )


def scope_for(user: AbstractBaseUser | AnonymousUser | None) -> Scope:
    """The user's scope today, computed once per request object and cached on it."""
    if not user or not user.is_authenticated or not user.is_active:
        return NO_SCOPE
    cached = getattr(user, "_registry_scope", None)
    if cached is not None:
        return cached
    role = Role.objects.for_user_on(user).select_related("branch").first()
    scope = scope_of_role(role, is_superuser=getattr(user, "is_superuser", False))
    # Cached on the request's user object: one role query per request.
    user._registry_scope = scope  # type: ignore[attr-defined]
    return scope


def acting_scope(by: AbstractBaseUser | None) -> Scope:
    """The scope of the user acting in a service; `None` is the system (a command)."""
    return SYSTEM_SCOPE if by is None else scope_for(by)


def editor_scope_or_404(user: AbstractBaseUser | AnonymousUser) -> Scope:
    """The scope of a page only editors use (transfers, dissolutions): officers and
    commune secretaries. A branch secretary or a user without a role gets the
    same 404 as for a record outside their scope."""
    scope = scope_for(user)
    if not scope.can_edit_registry():
        raise Http404
    return scope


def get_in_scope_or_404[R: Model](qs: QuerySet[R], **lookup: Any) -> R:
    """Fetch one record from an already scoped queryset, or 404."""
    try:
        return qs.get(**lookup)
    except (ObjectDoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc


class RolePermissionBackend(BaseBackend):
    """Django permissions that come with a role rather than with a group.

    The base (pacnam) asks `user.has_perm(...)` and knows nothing of roles; the
    roles live here. A district or province officer reviews the read log and
    must sign in with a second factor. The role's query (cached on the user) when asked.
    """

    OFFICER_PERMISSIONS = frozenset({REVIEW_READS_PERMISSION, REQUIRED_PERMISSION})

    def get_all_permissions(
        self, user_obj: AbstractBaseUser | AnonymousUser, obj: object = None
    ) -> set[str]:
        if obj is not None or not user_obj.is_active or user_obj.is_anonymous:
            return set()
        if scope_for(user_obj).level in (PROVINCE, DISTRICT):
            return set(self.OFFICER_PERMISSIONS)
        return set()
