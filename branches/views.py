"""Commune, branch and village pages, and the forms for villages and branches."""

import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _

from pacnam.errors import DomainError
from pacnam.versioning import save_if_unchanged

from .access import NONE, get_in_scope_or_404, scope_for
from .forms import BranchForm, VillageForm
from .models import Branch, BranchKind


def _as_of(request: HttpRequest) -> tuple[datetime.date, str | None]:
    """The ?as_of=YYYY-MM-DD date of a roster (today if absent), and an error if unreadable."""
    today = timezone.localdate()
    raw = request.GET.get("as_of", "").strip()
    if not raw:
        return today, None
    try:
        value = parse_date(raw)
    except ValueError:
        value = None
    if value is None:
        return today, _("“%(value)s” is not a date (YYYY-MM-DD); showing today.") % {"value": raw}
    if value > today:
        return today, _("Rosters of future dates are not known; showing today.")
    return value, None


@login_required
def commune_detail(request: HttpRequest, code: str) -> HttpResponse:
    scope = scope_for(request.user)
    commune = get_in_scope_or_404(scope.communes(), code=code)
    # Imported here: branches does not import members at module level (STYLE.md).
    from members.models import MemberStatus

    current = ~Q(members__status=MemberStatus.LEFT)
    branches = list(
        commune.branches.select_related("village")
        .annotate(
            member_count=Count("members", filter=current),
            cadre_count=Count("members", filter=current & Q(members__is_commune_cadre=True)),
        )
        .order_by("dissolved_on", "kind", "name")
    )
    villages = list(
        commune.villages.annotate(
            branch_count=Count("branches", filter=Q(branches__dissolved_on__isnull=True), distinct=True)
        ).order_by("name")
    )
    office = [b for b in branches if b.kind == BranchKind.COMMUNE_OFFICE]
    return render(
        request,
        "branches/commune_detail.html",
        {
            "commune": commune,
            "branches": branches,
            "villages": villages,
            "office_branches": office,
            "active_count": sum(1 for b in branches if not b.is_dissolved),
            "member_total": sum(b.member_count for b in branches),
            "can_edit": scope.covers_commune(commune.pk),
        },
    )


@login_required
def branch_detail(request: HttpRequest, pk: int) -> HttpResponse:
    scope = scope_for(request.user)
    branch = get_in_scope_or_404(scope.branches().select_related("commune", "village"), pk=pk)
    from members.models import Membership

    as_of, as_of_error = _as_of(request)
    if as_of_error:
        messages.warning(request, as_of_error)
    roster = list(
        Membership.objects.roster(branch, as_of)
        .select_related("member")
        .order_by("kind", "member__folded_name")
    )
    past = list(
        Membership.objects.filter(branch=branch, ended_on__lte=as_of)
        .select_related("member")
        .order_by("-ended_on", "member__folded_name")[:100]
    )
    from pacnam.audit import audit_for_branch

    context = {
        "branch": branch,
        "as_of": as_of,
        "is_today": as_of == timezone.localdate(),
        "roster": roster,
        "official_count": sum(1 for m in roster if m.kind == "official"),
        "full_count": sum(1 for m in roster if m.member.full_on and m.member.full_on <= as_of),
        "cadre_count": sum(1 for m in roster if m.member.is_commune_cadre),
        "past": past,
        "audit_entries": audit_for_branch(branch, limit=20),
        "can_edit": scope.covers_commune(branch.commune_id),
    }
    context.update(_branch_page_extras(request, branch, scope))
    return render(request, "branches/branch_detail.html", context)


def _branch_page_extras(request, branch, scope) -> dict:
    """The sections the other apps add to the branch page (meetings, dissolutions),
    each a fixed number of queries. Imported here: branches sits below members and
    meetings and imports neither at module level (STYLE.md)."""
    from meetings.selectors import branch_recent_meetings
    from members.selectors import branch_dissolutions

    return {
        "recent_meetings": list(branch_recent_meetings(branch, 6)),
        "can_record_meetings": scope.covers_branch(branch),
        "dissolutions": list(branch_dissolutions(branch)),
    }


@login_required
def village_detail(request: HttpRequest, pk: int) -> HttpResponse:
    scope = scope_for(request.user)
    village = get_in_scope_or_404(scope.villages().select_related("commune"), pk=pk)
    from members.models import Member

    residents = list(
        Member.objects.visible_to(scope)
        .current()
        .filter(residence_village=village)
        .select_related("branch")
        .order_by("folded_name")[:500]
    )
    return render(
        request,
        "branches/village_detail.html",
        {
            "village": village,
            "branches": list(village.branches.order_by("dissolved_on", "name")),
            "residents": residents,
            "cadre_count": sum(1 for m in residents if m.is_commune_cadre),
            "can_edit": scope.covers_commune(village.commune_id),
        },
    )


def _edit(request, *, form_class, instance, template, scope, success_message):
    """Create or edit a village or branch: scope checked by the caller, version checked here."""
    form = form_class(request.POST or None, instance=instance, scope=scope)
    if request.method == "POST" and form.is_valid():
        obj = form.save(commit=False)
        if not scope.covers_commune(obj.commune_id):
            raise Http404
        try:
            if obj.pk:
                save_if_unchanged(obj, expected_version=form.opened_version)
            else:
                obj.save()
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, success_message)
            return redirect(obj.get_absolute_url())
    return render(request, template, {"form": form, "object": instance if instance.pk else None})


@login_required
def village_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    scope = scope_for(request.user)
    if scope.level == NONE:
        raise Http404
    from .models import Village

    # Outside the scope: 404. Inside it but read-only (a branch secretary): 403.
    village = get_in_scope_or_404(scope.villages(), pk=pk) if pk else Village()
    if not scope.can_edit_registry() or (pk and not scope.covers_commune(village.commune_id)):
        raise PermissionDenied
    return _edit(
        request, form_class=VillageForm, instance=village, template="branches/village_form.html",
        scope=scope, success_message=_("The village was saved."),
    )


@login_required
def branch_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    scope = scope_for(request.user)
    if scope.level == NONE:
        raise Http404
    branch = get_in_scope_or_404(scope.branches(), pk=pk) if pk else Branch()
    if not scope.can_edit_registry() or (pk and not scope.covers_commune(branch.commune_id)):
        raise PermissionDenied
    return _edit(
        request, form_class=BranchForm, instance=branch, template="branches/branch_form.html",
        scope=scope, success_message=_("The branch was saved."),
    )
