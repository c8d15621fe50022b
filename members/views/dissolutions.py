"""Pages for dissolving a branch (plan, confirm, review, undo) and the policy report."""

import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from branches.access import Scope, editor_scope_or_404, get_in_scope_or_404, scope_for
from branches.models import Branch
from pacnam.lib.dates import day_asked
from pacnam.lib.errors import DomainError, NotAllowed
from pacnam.lib.forms import report_outcome

from ..forms.dissolutions import DissolutionForm
from ..models import DissolutionBatch, TransferStatus
from ..selectors.dissolutions import (
    branch_dissolution_plan,
    dissolution_destinations,
    policy_progress,
    with_assignments,
)
from ..services.dissolutions import branch_dissolve, dissolution_undo

# --- Dissolving a branch ------------------------------------------------------------


@login_required
def dissolution_choose(request: HttpRequest) -> HttpResponse:
    scope = editor_scope_or_404(request.user)
    branches = (
        scope.branches(Branch.objects.active())
        .select_related("commune")
        .order_by("commune__code", "kind", "name")
    )
    batches = (
        DissolutionBatch.objects.filter(branch__in=scope.branches())
        .select_related("branch__commune", "performed_by", "undone_by")
        .order_by("-performed_at")[:50]
    )
    return render(
        request, "members/dissolution_choose.html", {"branches": branches, "batches": batches}
    )


def _dissolving_branch(request: HttpRequest, pk: int) -> tuple[Scope, Branch]:
    scope = editor_scope_or_404(request.user)
    branch = get_in_scope_or_404(scope.branches().select_related("commune"), pk=pk)
    return scope, branch


def _plan_date(data) -> datetime.date:
    """The dissolution date typed so far (today until a valid one is): the plan
    proposes the branches active on it."""
    try:
        return (
            DissolutionForm.base_fields["on"].clean((data or {}).get("on")) or timezone.localdate()
        )
    except ValidationError:
        return timezone.localdate()


@login_required
def dissolution_plan(request: HttpRequest, pk: int) -> HttpResponse:
    """Steps 2 and 3 of the wizard: the plan (where each member goes, each one's
    branch can be changed; the decision and its date), then, when everything is
    placed, the confirmation page. Nothing changes until the confirmation is
    posted. `?all=1` offers every branch the user may send members to, not only
    the commune's village branches; the choices typed so far are kept."""
    scope, branch = _dissolving_branch(request, pk)
    if branch.is_dissolved:
        messages.error(request, _("This branch is already dissolved."))
        return redirect("transfers:dissolution_choose")
    reviewing = "review" in request.GET
    show_all = request.GET.get("all") == "1"
    on = _plan_date(request.GET)
    # The plan is built once: the choices made in the form are applied to it
    # without another query.
    rows = branch_dissolution_plan(branch=branch, on=on)
    destinations = dissolution_destinations(scope=scope, branch=branch, on=on, show_all=show_all)
    if reviewing:
        form = DissolutionForm(request.GET, rows=rows, destinations=destinations)
    else:
        # Asking for all branches redisplays the plan with what was typed, unchecked.
        form = DissolutionForm(initial=request.GET.dict(), rows=rows, destinations=destinations)
    if reviewing and form.is_valid():
        rows = with_assignments(rows, form.assignments())
        unplaced = [row for row in rows if row.needs_decision]
        if not unplaced:
            return render(
                request,
                "members/dissolution_confirm.html",
                {"branch": branch, "rows": rows, "form": form, "data": request.GET},
            )
        form.add_error(None, _("Choose a branch for every member marked “needs a decision”."))
    return render(
        request,
        "members/dissolution_plan.html",
        {"branch": branch, "rows": rows, "form": form, "show_all": show_all},
    )


@require_POST
@login_required
def dissolution_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    scope, branch = _dissolving_branch(request, pk)
    # No plan here: the service builds it once, under its lock. Every branch the
    # plan page could offer is a valid choice; the service checks the rights.
    destinations = dissolution_destinations(
        scope=scope, branch=branch, on=_plan_date(request.POST), show_all=True
    )
    form = DissolutionForm(request.POST, destinations=destinations)
    if not form.is_valid():
        messages.error(request, _("The plan was incomplete: nothing was changed."))
        return redirect("transfers:dissolution_plan", branch.pk)
    try:
        batch = branch_dissolve(
            branch=branch,
            decision=form.cleaned_data["decision"],
            on=form.cleaned_data["on"],
            by=request.user,
            assignments=form.assignments(),
        )
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("transfers:dissolution_plan", branch.pk)
    messages.success(request, _("The branch was dissolved and its members moved."))
    return redirect("transfers:dissolution_detail", batch.pk)


def _batch_in_scope(scope: Scope, pk: int) -> DissolutionBatch:
    return get_in_scope_or_404(
        DissolutionBatch.objects.filter(branch__in=scope.branches()).select_related(
            "branch__commune", "performed_by", "undone_by"
        ),
        pk=pk,
    )


@login_required
def dissolution_detail(request: HttpRequest, pk: int) -> HttpResponse:
    scope = scope_for(request.user)
    batch = _batch_in_scope(scope, pk)
    moves = batch.moves.select_related("member", "to_branch", "from_membership", "new_membership")
    return render(
        request,
        "members/dissolution_detail.html",
        {"batch": batch, "moves": moves, "can_undo": scope.is_officer and not batch.is_undone},
    )


@login_required
def dissolution_undo_view(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: what the undo would do (how many members go back), and a button; POST:
    undo it. Only officers undo; the page is not offered to anyone else."""
    scope = scope_for(request.user)
    batch = _batch_in_scope(scope, pk)
    if request.method == "POST":
        report_outcome(
            request,
            lambda: dissolution_undo(batch=batch, by=request.user),
            success=_("The dissolution was undone."),
        )
        return redirect(reverse("transfers:dissolution_detail", args=[batch.pk]))
    if not scope.is_officer:
        raise NotAllowed(
            _(
                "Only an officer of the province (before 1 July 2025, of the district) may undo a dissolution."
            )
        )
    if batch.is_undone:
        messages.error(request, _("This dissolution was already undone."))
        return redirect(reverse("transfers:dissolution_detail", args=[batch.pk]))
    return render(
        request, "members/dissolution_undo.html", {"batch": batch, "count": batch.moves.count()}
    )


# --- Reports -------------------------------------------------------------------------


@login_required
def policy_report(request: HttpRequest) -> HttpResponse:
    """Conclusion 38-KL/TW in figures: the district sees every commune, a commune
    secretary their own."""
    scope = editor_scope_or_404(request.user)
    # A district that ceased in 2025 sees its communes as they were on its last day.
    as_of, as_of_error = day_asked(
        request.GET.get("as_of", ""), default=scope.last_day(timezone.localdate())
    )
    if as_of_error:
        messages.warning(request, as_of_error)
    communes, village_branches = policy_progress(scope, as_of)
    return render(
        request,
        "members/policy_report.html",
        {
            "communes": communes,
            "village_branches": village_branches,
            "as_of": as_of,
            "is_today": as_of == timezone.localdate(),
            "status": TransferStatus,
        },
    )
