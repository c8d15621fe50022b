"""Pages for transfers, branch dissolutions and the policy report.

Each view scopes through branches.access (outsiders get 404), calls one
service and renders; a DomainError becomes a form error or a message and
nothing is half-saved (the services are atomic).
"""

import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from branches.access import Scope, get_in_scope_or_404, scope_for
from branches.models import Branch
from pacnam.errors import DomainError, NotAllowed
from pacnam.forms import flash_form_errors

from .models import DissolutionBatch, Member, Transfer, TransferScope, TransferStatus
from .selectors import overdue_transfers, policy_progress, transfers_in_progress
from .services import (
    branch_dissolution_plan,
    branch_dissolve,
    dissolution_undo,
    transfer_actions,
    transfer_cancel,
    transfer_issue_letter,
    transfer_receive,
    transfer_refuse,
    transfer_request,
)
from .transfer_forms import (
    DissolutionForm,
    IncomingTransferForm,
    ReasonForm,
    StepForm,
    TransferStartForm,
)


def _editor_scope(request: HttpRequest) -> Scope:
    """District and commune level only: a branch secretary or a user without a
    role gets the same 404 as for a record outside their scope."""
    scope = scope_for(request.user)
    if not scope.can_edit_registry():
        raise Http404
    return scope


def _transfers(scope: Scope):
    return Transfer.objects.visible_to(scope).select_related(
        "member", "from_branch__commune", "to_branch__commune", "letter_commune",
        "requested_by", "letter_issued_by", "received_by", "closed_by",
    )


def _active_branches():
    return Branch.objects.active().select_related("commune").order_by("commune__code", "name")


# --- Transfers ------------------------------------------------------------------


@login_required
def transfer_list(request: HttpRequest) -> HttpResponse:
    scope = scope_for(request.user)
    in_progress = list(transfers_in_progress(scope))
    overdue = list(overdue_transfers(scope))
    overdue_ids = {t.pk for t in overdue}
    return render(
        request,
        "members/transfer_list.html",
        {"in_progress": in_progress, "overdue": overdue, "overdue_ids": overdue_ids,
         "can_start": scope.can_edit_registry()},
    )


@login_required
def transfer_start(request: HttpRequest, member_id: int) -> HttpResponse:
    scope = _editor_scope(request)
    member = get_in_scope_or_404(
        Member.objects.filter(branch__in=scope.branches()).select_related("branch__commune"), pk=member_id
    )
    branches = _active_branches().exclude(pk=member.branch_id)
    form = TransferStartForm(request.POST or None, branches=branches)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            transfer = transfer_request(
                by=request.user, member=member, kind=data["kind"], to_branch=data["to_branch"],
                other_organisation=data["other_organisation"], other_address=data["other_address"],
                reason=data["reason"], planned_end=data["planned_end"], on=data["requested_on"],
                moved_on=data["moved_on"],
            )
        except NotAllowed as exc:
            raise PermissionDenied(exc.message) from exc
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, _("The transfer was requested."))
            return redirect("transfers:detail", transfer.pk)
    return render(request, "members/transfer_form.html", {"form": form, "member": member})


@login_required
def transfer_incoming(request: HttpRequest) -> HttpResponse:
    scope = _editor_scope(request)
    branches = scope.branches(_active_branches())
    villages = scope.villages().select_related("commune").order_by("commune__code", "name")
    form = IncomingTransferForm(request.POST or None, branches=branches, villages=villages)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            transfer = transfer_request(
                by=request.user, to_branch=data["to_branch"], other_organisation=data["other_organisation"],
                other_address=data["other_address"], incoming=form.incoming(), on=data["requested_on"],
            )
        except NotAllowed as exc:
            raise PermissionDenied(exc.message) from exc
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, _("The incoming transfer was recorded."))
            return redirect("transfers:detail", transfer.pk)
    return render(request, "members/transfer_incoming.html", {"form": form})


@login_required
def transfer_detail(request: HttpRequest, pk: int) -> HttpResponse:
    scope = scope_for(request.user)
    transfer = get_in_scope_or_404(_transfers(scope), pk=pk)
    actions = transfer_actions(transfer=transfer, scope=scope)
    return render(
        request,
        "members/transfer_detail.html",
        {
            "transfer": transfer,
            "actions": actions,
            "step_form": StepForm(initial={"signer_title": scope.title}),
            "reason_form": ReasonForm(),
            "overdue": transfer.is_overdue(),
        },
    )


def _step(request: HttpRequest, pk: int, run, form_class) -> HttpResponse:
    scope = scope_for(request.user)
    transfer = get_in_scope_or_404(_transfers(scope), pk=pk)
    if not scope.can_edit_registry():
        # A branch secretary sees the transfer but takes no step of it.
        raise PermissionDenied
    form = form_class(request.POST)
    if not form.is_valid():
        flash_form_errors(request, form)
        return redirect("transfers:detail", transfer.pk)
    try:
        run(transfer, form.cleaned_data)
    except NotAllowed as exc:
        raise PermissionDenied(exc.message) from exc
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Saved."))
    return redirect("transfers:detail", transfer.pk)


@require_POST
@login_required
def transfer_issue_letter_view(request: HttpRequest, pk: int) -> HttpResponse:
    return _step(
        request, pk,
        lambda t, data: transfer_issue_letter(
            transfer=t, by=request.user, on=data["on"], signer_title=data["signer_title"]
        ),
        StepForm,
    )


@require_POST
@login_required
def transfer_receive_view(request: HttpRequest, pk: int) -> HttpResponse:
    return _step(request, pk, lambda t, data: transfer_receive(transfer=t, by=request.user, on=data["on"]), StepForm)


@require_POST
@login_required
def transfer_cancel_view(request: HttpRequest, pk: int) -> HttpResponse:
    return _step(
        request, pk, lambda t, data: transfer_cancel(transfer=t, by=request.user, reason=data["reason"]), ReasonForm
    )


@require_POST
@login_required
def transfer_refuse_view(request: HttpRequest, pk: int) -> HttpResponse:
    return _step(
        request, pk, lambda t, data: transfer_refuse(transfer=t, by=request.user, reason=data["reason"]), ReasonForm
    )


@login_required
def transfer_letter(request: HttpRequest, pk: int) -> HttpResponse:
    """The introduction letter, for printing on A4 from the browser."""
    scope = scope_for(request.user)
    transfer = get_in_scope_or_404(_transfers(scope).filter(letter_number__isnull=False), pk=pk)
    leaves_commune = transfer.scope != TransferScope.WITHIN_COMMUNE
    return render(
        request,
        "members/transfer_letter.html",
        {
            "transfer": transfer,
            "member": transfer.member,
            "by_district": leaves_commune,
            "valid_until": transfer.letter_deadline,
        },
    )


# --- Dissolving a branch ------------------------------------------------------------


@login_required
def dissolution_choose(request: HttpRequest) -> HttpResponse:
    scope = _editor_scope(request)
    branches = scope.branches(Branch.objects.active()).select_related("commune").order_by("commune__code", "kind", "name")
    batches = (
        DissolutionBatch.objects.filter(branch__in=scope.branches())
        .select_related("branch__commune", "performed_by", "undone_by")
        .order_by("-performed_at")[:50]
    )
    return render(request, "members/dissolution_choose.html", {"branches": branches, "batches": batches})


def _dissolving_branch(request: HttpRequest, pk: int) -> tuple[Scope, Branch]:
    scope = _editor_scope(request)
    branch = get_in_scope_or_404(scope.branches().select_related("commune"), pk=pk)
    return scope, branch


def _plan_form(scope: Scope, branch: Branch, data, on: datetime.date | None = None):
    destinations = list(
        scope.branches(Branch.objects.active()).exclude(pk=branch.pk).select_related("commune").order_by("name")
    )
    rows = branch_dissolution_plan(branch=branch, on=on or timezone.localdate())
    form = DissolutionForm(data, rows=rows, branches=destinations)
    return rows, form


@login_required
def dissolution_plan(request: HttpRequest, pk: int) -> HttpResponse:
    """Steps 2 and 3 of the wizard: the plan (a select for each member who needs a
    decision, the decision and its date), then, when everything is placed, the
    confirmation page. Nothing changes until the confirmation is posted."""
    scope, branch = _dissolving_branch(request, pk)
    if branch.is_dissolved:
        messages.error(request, _("This branch is already dissolved."))
        return redirect("transfers:dissolution_choose")
    submitted = "review" in request.GET
    rows, form = _plan_form(scope, branch, request.GET if submitted else None)
    if submitted and form.is_valid():
        assignments = form.assignments()
        rows = branch_dissolution_plan(branch=branch, assignments=assignments, on=form.cleaned_data["on"])
        unplaced = [row for row in rows if row.needs_decision]
        if not unplaced:
            return render(
                request,
                "members/dissolution_confirm.html",
                {"branch": branch, "rows": rows, "form": form, "data": request.GET},
            )
        form.add_error(None, _("Choose a branch for every member marked “needs a decision”."))
    return render(request, "members/dissolution_plan.html", {"branch": branch, "rows": rows, "form": form})


@require_POST
@login_required
def dissolution_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    scope, branch = _dissolving_branch(request, pk)
    rows, form = _plan_form(scope, branch, request.POST)
    if not form.is_valid():
        messages.error(request, _("The plan was incomplete: nothing was changed."))
        return redirect("transfers:dissolution_plan", branch.pk)
    try:
        batch = branch_dissolve(
            branch=branch, decision=form.cleaned_data["decision"], on=form.cleaned_data["on"],
            by=request.user, assignments=form.assignments(),
        )
    except NotAllowed as exc:
        raise PermissionDenied(exc.message) from exc
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("transfers:dissolution_plan", branch.pk)
    messages.success(request, _("The branch was dissolved and its members moved."))
    return redirect("transfers:dissolution_detail", batch.pk)


@login_required
def dissolution_detail(request: HttpRequest, pk: int) -> HttpResponse:
    scope = scope_for(request.user)
    batch = get_in_scope_or_404(
        DissolutionBatch.objects.filter(branch__in=scope.branches()).select_related(
            "branch__commune", "performed_by", "undone_by"
        ),
        pk=pk,
    )
    moves = batch.moves.select_related("member", "to_branch", "from_membership", "new_membership")
    return render(
        request,
        "members/dissolution_detail.html",
        {"batch": batch, "moves": moves, "can_undo": scope.is_district and not batch.is_undone},
    )


@require_POST
@login_required
def dissolution_undo_view(request: HttpRequest, pk: int) -> HttpResponse:
    scope = scope_for(request.user)
    batch = get_in_scope_or_404(DissolutionBatch.objects.filter(branch__in=scope.branches()), pk=pk)
    try:
        dissolution_undo(batch=batch, by=request.user)
    except NotAllowed as exc:
        raise PermissionDenied(exc.message) from exc
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The dissolution was undone."))
    return redirect(reverse("transfers:dissolution_detail", args=[batch.pk]))


# --- Reports -------------------------------------------------------------------------


@login_required
def policy_report(request: HttpRequest) -> HttpResponse:
    """Conclusion 38-KL/TW in figures: the district sees every commune, a commune
    secretary their own."""
    scope = _editor_scope(request)
    communes, village_branches = policy_progress(scope)
    return render(
        request,
        "members/policy_report.html",
        {"communes": communes, "village_branches": village_branches, "status": TransferStatus},
    )
