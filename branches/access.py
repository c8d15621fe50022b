"""Who may see which place: one helper per kind of record, as healthchecks does.

Every view, form, export and service asks the user's `Scope` for its
querysets, so a record outside one's scope simply is not found: a 404, never
a hint that it exists. Members and meetings filter through `Scope.branches()`.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet
from django.http import Http404

from pacnam.errors import NotAllowed

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

    def can_edit_commune(self, commune_id: int | None) -> bool:
        """May change the commune's records: rosters, villages, branches, candidates,
        ratings, transfers and dissolutions inside it. The one answer to "may edit
        this commune"."""
        if self.level == DISTRICT:
            return True
        return self.level == COMMUNE and commune_id is not None and commune_id == self.commune_id

    def can_edit_branch(self, branch: Branch) -> bool:
        """May record the branch's meetings, attendance and tasks: the commune's
        rights, or the branch's own secretary."""
        if self.can_edit_commune(branch.commune_id):
            return True
        return self.level == BRANCH and branch.pk == self.branch_id

    def can_edit_registry(self) -> bool:
        """May change some commune's records at all (the "new ..." pages, before a
        commune is chosen): district and commune level."""
        return self.level in (DISTRICT, COMMUNE)


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
SYSTEM_SCOPE = Scope(level=DISTRICT)


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


def acting_scope(by) -> Scope:
    """The scope of the user acting in a service; `None` is the system (a command)."""
    return SYSTEM_SCOPE if by is None else scope_for(by)


def editor_scope_or_404(user) -> Scope:
    """The scope of a page only editors use (transfers, dissolutions): district
    and commune level. A branch secretary or a user without a role gets the same
    404 as for a record outside their scope."""
    scope = scope_for(user)
    if not scope.can_edit_registry():
        raise Http404
    return scope


def get_in_scope_or_404(qs: QuerySet, **lookup):
    """Fetch one record from an already scoped queryset, or 404."""
    try:
        return qs.get(**lookup)
    except (qs.model.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc
