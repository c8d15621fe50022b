"""Who may see which place: one helper per kind of record, as healthchecks does.

Every view, form, export and service asks the user's `Scope` for its
querysets, so a record outside one's scope simply is not found: a 404, never
a hint that it exists. Members and meetings filter through `Scope.branches()`.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.backends import BaseBackend
from django.db.models import QuerySet
from django.http import Http404

from pacnam.second_factor import REQUIRED_PERMISSION, REVIEW_READS_PERMISSION

from .models import Branch, Commune, Role, RoleKind, Village

DISTRICT = "district"
COMMUNE = "commune"
BRANCH = "branch"
NONE = "none"


@dataclass(frozen=True)
class Scope:
    level: str
    commune_id: int | None = None
    branch_id: int | None = None
    title: str = ""
    is_admin: bool = False

    # --- What the user sees ---
    def communes(self, qs: QuerySet | None = None) -> QuerySet:
        qs = Commune.objects.all() if qs is None else qs
        if self.level == DISTRICT:
            return qs
        if self.level == COMMUNE:
            return qs.filter(pk=self.commune_id)
        return qs.none()

    def villages(self, qs: QuerySet | None = None) -> QuerySet:
        qs = Village.objects.all() if qs is None else qs
        if self.level == DISTRICT:
            return qs
        if self.level == COMMUNE:
            return qs.filter(commune_id=self.commune_id)
        if self.level == BRANCH:
            return qs.filter(branches__pk=self.branch_id)
        return qs.none()

    def branches(self, qs: QuerySet | None = None) -> QuerySet:
        qs = Branch.objects.all() if qs is None else qs
        if self.level == DISTRICT:
            return qs
        if self.level == COMMUNE:
            return qs.filter(commune_id=self.commune_id)
        if self.level == BRANCH:
            return qs.filter(pk=self.branch_id)
        return qs.none()

    # --- What the user may change ---
    @property
    def is_district(self) -> bool:
        return self.level == DISTRICT

    def covers_commune(self, commune_id: int | None) -> bool:
        """Commune-level write rights: rosters, villages, branches, transfers inside it."""
        if self.level == DISTRICT:
            return True
        return self.level == COMMUNE and commune_id is not None and commune_id == self.commune_id

    def covers_branch(self, branch: Branch) -> bool:
        """Branch-level rights (meetings, attendance, tasks)."""
        if self.covers_commune(branch.commune_id):
            return True
        return self.level == BRANCH and branch.pk == self.branch_id

    def can_edit_registry(self) -> bool:
        """Rosters, members, villages and branches: district and commune level."""
        return self.level in (DISTRICT, COMMUNE)


NO_SCOPE = Scope(level=NONE)


def scope_for(user) -> Scope:
    """The user's scope, computed once per request object and cached on it."""
    if not user or not user.is_authenticated or not user.is_active:
        return NO_SCOPE
    cached = getattr(user, "_registry_scope", None)
    if cached is not None:
        return cached
    role = Role.objects.filter(user=user).select_related("branch").first()
    if role is None:
        scope = Scope(level=DISTRICT, is_admin=True) if user.is_superuser else NO_SCOPE
    elif role.kind == RoleKind.DISTRICT_OFFICER:
        scope = Scope(level=DISTRICT, title=role.title, is_admin=user.is_superuser)
    elif role.kind == RoleKind.COMMUNE_SECRETARY:
        scope = Scope(level=COMMUNE, commune_id=role.commune_id, title=role.title)
    else:
        scope = Scope(
            level=BRANCH,
            branch_id=role.branch_id,
            commune_id=role.branch.commune_id,
            title=role.title,
        )
    user._registry_scope = scope
    return scope


def get_in_scope_or_404(qs: QuerySet, **lookup):
    """Fetch one record from an already scoped queryset, or 404."""
    try:
        return qs.get(**lookup)
    except (qs.model.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc


class RolePermissionBackend(BaseBackend):
    """Django permissions that come with a role rather than with a group.

    The base (pacnam) asks `user.has_perm(...)` and knows nothing of roles; the
    roles live here. A district officer reviews the read log and must sign in
    with a second factor. One query (the role, cached on the user) when asked.
    """

    DISTRICT_PERMISSIONS = frozenset({REVIEW_READS_PERMISSION, REQUIRED_PERMISSION})

    def get_all_permissions(self, user_obj, obj=None) -> set[str]:
        if obj is not None or not user_obj.is_active or user_obj.is_anonymous:
            return set()
        if scope_for(user_obj).level == DISTRICT:
            return set(self.DISTRICT_PERMISSIONS)
        return set()
