"""Pages for transfers: the list, starting one, the steps, the letter.

Each view scopes through branches.access (outsiders get 404), calls one
service and renders; a DomainError becomes a form error or a message and
nothing is half-saved (the services are atomic).
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from branches.access import Scope, editor_scope_or_404, get_in_scope_or_404, scope_for
from branches.models import Branch, CommuneInProvince
from pacnam.lib.errors import DomainError, NotAllowed
from pacnam.lib.forms import flash_form_errors, report_outcome

from ..forms.transfers import IncomingTransferForm, ReasonForm, StepForm, TransferStartForm
from ..models import Member, Transfer, TransferScope
from ..selectors.transfers import overdue_transfers, transfers_in_progress
from ..services.transfers import (
    transfer_actions,
    transfer_cancel,
    transfer_issue_letter,
    transfer_receive,
    transfer_refuse,
    transfer_request,
)


def _transfers(scope: Scope):
    return Transfer.objects.visible_to(scope).select_related(
        "member",
        "from_branch__commune",
        "to_branch__commune",
        "letter_commune",
        "requested_by",
        "letter_issued_by",
        "received_by",
        "closed_by",
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
        {
            "in_progress": in_progress,
            "overdue": overdue,
            "overdue_ids": overdue_ids,
            "can_start": scope.can_edit_registry(),
        },
    )


@login_required
def transfer_start(request: HttpRequest, member_id: int) -> HttpResponse:
    scope = editor_scope_or_404(request.user)
    member = get_in_scope_or_404(
        Member.objects.filter(branch__in=scope.branches()).select_related("branch__commune"),
        pk=member_id,
    )
    branches = _active_branches().exclude(pk=member.branch_id)
    form = TransferStartForm(request.POST or None, branches=branches)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            transfer = transfer_request(
                by=request.user,
                member=member,
                kind=data["kind"],
                to_branch=data["to_branch"],
                other_organisation=data["other_organisation"],
                other_address=data["other_address"],
                reason=data["reason"],
                planned_end=data["planned_end"],
                on=data["requested_on"],
                moved_on=data["moved_on"],
            )
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, _("The transfer was requested."))
            return redirect("transfers:detail", transfer.pk)
    return render(request, "members/transfer_form.html", {"form": form, "member": member})


@login_required
def transfer_incoming(request: HttpRequest) -> HttpResponse:
    scope = editor_scope_or_404(request.user)
    branches = scope.branches(_active_branches())
    villages = (
        scope.villages().valid_on().select_related("commune").order_by("commune__code", "name")
    )
    form = IncomingTransferForm(request.POST or None, branches=branches, villages=villages)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            transfer = transfer_request(
                by=request.user,
                to_branch=data["to_branch"],
                other_organisation=data["other_organisation"],
                other_address=data["other_address"],
                incoming=form.incoming(),
                on=data["requested_on"],
            )
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
        raise NotAllowed
    form = form_class(request.POST)
    if not form.is_valid():
        flash_form_errors(request, form)
        return redirect("transfers:detail", transfer.pk)
    report_outcome(request, lambda: run(transfer, form.cleaned_data), success=_("Saved."))
    return redirect("transfers:detail", transfer.pk)


@require_POST
@login_required
def transfer_issue_letter_view(request: HttpRequest, pk: int) -> HttpResponse:
    return _step(
        request,
        pk,
        lambda t, data: transfer_issue_letter(
            transfer=t, by=request.user, on=data["on"], signer_title=data["signer_title"]
        ),
        StepForm,
    )


@require_POST
@login_required
def transfer_receive_view(request: HttpRequest, pk: int) -> HttpResponse:
    return _step(
        request,
        pk,
        lambda t, data: transfer_receive(transfer=t, by=request.user, on=data["on"]),
        StepForm,
    )


@require_POST
@login_required
def transfer_cancel_view(request: HttpRequest, pk: int) -> HttpResponse:
    return _step(
        request,
        pk,
        lambda t, data: transfer_cancel(transfer=t, by=request.user, reason=data["reason"]),
        ReasonForm,
    )


@require_POST
@login_required
def transfer_refuse_view(request: HttpRequest, pk: int) -> HttpResponse:
    return _step(
        request,
        pk,
        lambda t, data: transfer_refuse(transfer=t, by=request.user, reason=data["reason"]),
        ReasonForm,
    )


@login_required
def transfer_letter(request: HttpRequest, pk: int) -> HttpResponse:
    """The introduction letter, for printing on A4 from the browser."""
    scope = scope_for(request.user)
    transfer = get_in_scope_or_404(_transfers(scope).filter(letter_number__isnull=False), pk=pk)
    leaves_commune = transfer.scope != TransferScope.WITHIN_COMMUNE
    title = (transfer.letter_signer_title or "").strip().lower()
    # The issuing bodies of the letter's day: before 1 July 2025 the district's
    # (Huyện ủy Pác Nặm), from then on the province's (Tỉnh ủy Thái Nguyên): the
    # province the sending commune was in that day.
    parent = (
        CommuneInProvince.objects.filter(commune_id=transfer.from_branch.commune_id)
        .valid_on(transfer.letter_date)
        .select_related("province")
        .first()
    )
    province = parent.province.name if parent is not None and parent.district_id is None else ""
    seat = province or "Pác Nặm"
    return render(
        request,
        "members/transfer_letter.html",
        {
            "transfer": transfer,
            "member": transfer.member,
            "by_district": leaves_commune,
            "province": province,
            "valid_until": transfer.letter_deadline,
            # The place line names the issuer's seat: the district's or province's, or the commune's.
            "issuer_seat": seat if leaves_commune else transfer.from_branch.commune.name,
            # A deputy head signs "K/T TRƯỞNG BAN" (for the head of the board).
            "signs_for_head": title.startswith("phó"),
        },
    )
