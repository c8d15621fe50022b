"""The pages of a commune, a village and a branch: they draw on every app
(rosters, meetings, dissolutions), so they live on the top floor."""

import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone

from branches.access import BRANCH, COMMUNE, get_in_scope_or_404, scope_for
from branches.models import (
    Branch,
    BranchInCommune,
    BranchKind,
    CommuneInProvince,
    Village,
    VillageInCommune,
)
from meetings.selectors import branch_recent_meetings
from members.models import Member, Membership, MembershipKind
from members.selectors.dissolutions import branch_dissolutions
from pacnam.audit.trail import audit_for_branch
from pacnam.lib.dates import day_asked


def _as_of(request: HttpRequest) -> tuple[datetime.date, str | None]:
    return day_asked(request.GET.get("as_of", ""))


@login_required
def my_unit(request: HttpRequest) -> HttpResponse:
    """The menu's "My commune" / "My branch": the page of the user's own unit, found
    here so that the menu on every page costs no query. A commune that has ceased
    opens on its last day: its code may stand for another commune today."""
    scope = scope_for(request.user)
    if scope.level == BRANCH:
        return redirect("places:branch", pk=scope.branch_id)
    if scope.level != COMMUNE:
        raise Http404
    commune = get_in_scope_or_404(scope.communes(), pk=scope.commune_id)
    url = reverse("places:commune", args=[commune.code])
    if commune.valid_to is not None and commune.valid_to < timezone.localdate():
        url += f"?as_of={commune.valid_to.isoformat()}"
    return redirect(url)


@login_required
def commune_detail(request: HttpRequest, code: str) -> HttpResponse:
    """A commune as it was on ?as_of (today by default): the commune that bore the
    code that day (01864 is Bộc Bố in 2019, Bằng Thành in 2026), its branches and
    villages of that day with their rosters' figures, and where it came from and
    went. A code no commune bears that day opens the last commune that bore it,
    on its last day."""
    scope = scope_for(request.user)
    as_of, as_of_error = _as_of(request)
    if as_of_error:
        messages.warning(request, as_of_error)
    communes = scope.communes().select_related("merged_into")
    commune = communes.by_code(code, as_of) or communes.last_by_code(code, as_of)
    if commune is None:
        raise Http404
    day = as_of if commune.is_valid_on(as_of) else commune.valid_to
    running = Q(memberships__kind=MembershipKind.OFFICIAL, memberships__started_on__lte=day) & (
        Q(memberships__ended_on__isnull=True) | Q(memberships__ended_on__gt=day)
    )
    branches = list(
        Branch.objects.in_commune_on(commune, day)
        .select_related("village")
        .annotate(
            member_count=Count("memberships", filter=running),
            cadre_count=Count(
                "memberships", filter=running & Q(memberships__member__is_commune_cadre=True)
            ),
        )
        .order_by("dissolved_on", "kind", "name")
    )
    for branch in branches:
        branch.active_then = branch.is_active_on(day)
    villages = list(
        Village.objects.filter(
            pk__in=VillageInCommune.objects.filter(commune=commune)
            .valid_on(day)
            .values("village_id")
        )
        .annotate(
            branch_count=Count(
                "branches", filter=Q(branches__dissolved_on__isnull=True), distinct=True
            )
        )
        .order_by("name")
    )
    office = [b for b in branches if b.kind == BranchKind.COMMUNE_OFFICE]
    return render(
        request,
        "overview/commune_detail.html",
        {
            "commune": commune,
            "as_of": day,
            "is_today": day == timezone.localdate(),
            "parent": CommuneInProvince.objects.filter(commune=commune)
            .valid_on(day)
            .select_related("province", "district")
            .first(),
            "predecessors": list(commune.merged_from.order_by("code")),
            "branches": branches,
            "villages": villages,
            "office_branches": office,
            "active_count": sum(1 for b in branches if b.active_then),
            "member_total": sum(b.member_count for b in branches),
            "can_edit": scope.can_edit_commune(commune.pk) and not commune.has_ceased,
        },
    )


@login_required
def branch_detail(request: HttpRequest, pk: int) -> HttpResponse:
    scope = scope_for(request.user)
    branch = get_in_scope_or_404(scope.branches().select_related("commune", "village"), pk=pk)
    as_of, as_of_error = _as_of(request)
    if as_of_error:
        messages.warning(request, as_of_error)
    roster = list(
        Membership.objects.roster(branch, as_of)
        .select_related("member")
        .order_by("kind", "member__folded_name")
    )
    for membership in roster:
        membership.probationary = membership.member.is_probationary_on(as_of)
    past = list(
        Membership.objects.filter(branch=branch, ended_on__lte=as_of)
        .select_related("member")
        .order_by("-ended_on", "member__folded_name")[:100]
    )
    context = {
        "branch": branch,
        # The commune the branch was in that day: a merger does not move 2019.
        "commune_then": BranchInCommune.objects.filter(branch=branch)
        .valid_on(as_of)
        .select_related("commune")
        .first(),
        "as_of": as_of,
        "is_today": as_of == timezone.localdate(),
        "roster": roster,
        "official_count": sum(1 for m in roster if m.kind == "official"),
        "full_count": sum(1 for m in roster if not m.probationary),
        "cadre_count": sum(1 for m in roster if m.member.is_commune_cadre),
        "past": past,
        "audit_entries": audit_for_branch(branch, limit=20),
        "can_edit": scope.can_edit_commune(branch.commune_id),
    }
    context.update(_branch_page_extras(request, branch, scope))
    return render(request, "overview/branch_detail.html", context)


def _branch_page_extras(request, branch, scope) -> dict:
    """The sections the other apps add to the branch page (meetings, dissolutions),
    each a fixed number of queries."""
    return {
        "recent_meetings": list(branch_recent_meetings(branch, 6)),
        "can_record_meetings": scope.can_edit_branch(branch),
        "dissolutions": list(branch_dissolutions(branch)),
    }


@login_required
def village_detail(request: HttpRequest, pk: int) -> HttpResponse:
    scope = scope_for(request.user)
    village = get_in_scope_or_404(scope.villages().select_related("commune"), pk=pk)
    residents = list(
        Member.objects.visible_to(scope)
        .current()
        .filter(residence_village=village)
        .select_related("branch")
        .order_by("folded_name")[:500]
    )
    return render(
        request,
        "overview/village_detail.html",
        {
            "village": village,
            "branches": list(village.branches.order_by("dissolved_on", "name")),
            "residents": residents,
            "cadre_count": sum(1 for m in residents if m.is_commune_cadre),
            "can_edit": scope.can_edit_commune(village.commune_id),
        },
    )
