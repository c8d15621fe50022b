"""Reorganising communes in the browser, for a district or province officer: fill
in or upload the plan, see what it does, confirm, and undo while nothing has
changed since. The same service as `reorganize_units` (branches.services.
reorganizations); these pages sit on the top floor because the preview counts
the members each new commune will have.
"""

import csv
import datetime
import io
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from branches.access import get_in_scope_or_404, scope_for
from branches.models import Reorganization
from branches.services.reorganizations import (
    PLAN_HEADER,
    PlanError,
    lines_from_rows,
    plan_header_test,
    reorganization_apply,
    reorganization_plan,
    reorganization_undo,
    reorganization_undo_refusal,
)
from pacnam.io.spreadsheets import HeaderNotFound, SpreadsheetError, read_spreadsheet
from pacnam.lib.errors import DomainError
from pacnam.lib.forms import date_field, report_outcome
from pacnam.lib.requests import signed_in_user

from ..selectors.reorganizations import plan_summary

# A plan has a row per old commune: a province's is a few thousand rows at most.
MAX_PLAN_BYTES = 1024 * 1024


class PlanForm(forms.Form):
    on = date_field(gettext_lazy("First day of the new communes"))
    decision = forms.CharField(label=gettext_lazy("Decision number"), max_length=100)
    plan = forms.CharField(
        label=gettext_lazy("Plan"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false"}),
        help_text=gettext_lazy("One row per old commune, under the header %(header)s.")
        % {"header": ",".join(PLAN_HEADER)},
    )
    file = forms.FileField(label=gettext_lazy("or the plan as a CSV or Excel file"), required=False)

    def clean(self):
        cleaned = super().clean()
        upload = cleaned.get("file")
        if upload is not None:
            if upload.size > MAX_PLAN_BYTES:
                raise forms.ValidationError(
                    _("The file is larger than 1 MB; a plan is one row per commune.")
                )
            data = upload.read()
            try:
                try:
                    table = read_spreadsheet(data, upload.name, is_header=plan_header_test())
                except HeaderNotFound:
                    # The first row, for lines() to say which columns it lacks.
                    table = read_spreadsheet(data, upload.name)
            except SpreadsheetError as exc:
                raise forms.ValidationError(exc.message) from exc
            cleaned["plan"] = _as_text(
                [list(table.header), *(list(row.cells) for row in table.rows)]
            )
            # The rows as the file numbers them (below its title rows), for the messages.
            cleaned["numbered"] = (
                table.header_row,
                list(table.header),
                [(row.number, list(row.cells)) for row in table.rows],
            )
        if not (cleaned.get("plan") or "").strip():
            raise forms.ValidationError(_("Fill in the plan or choose its file."))
        return cleaned

    def lines(self):
        """The plan's lines (row numbers as in the text) and the header's error, if any."""
        numbered = self.cleaned_data.get("numbered")
        if numbered is not None:
            header_row, header, rows = numbered
            return lines_from_rows(header, rows, header_row=header_row)
        rows = [
            (n, cells)
            for n, cells in enumerate(csv.reader(io.StringIO(self.cleaned_data["plan"].strip())), 1)
        ]
        if not rows:
            return [], [PlanError(1, "header", _("The plan is empty."))]
        return lines_from_rows(rows[0][1], rows[1:])


def _as_text(rows: list[list[str]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


def _officer_scope(request: HttpRequest):
    """A district or province officer's (or an administrator's); anyone else, a 404."""
    scope = scope_for(request.user)
    if not scope.is_officer:
        raise Http404
    return scope


@login_required
def reorganization_list(request: HttpRequest) -> HttpResponse:
    _officer_scope(request)
    reorganizations = Reorganization.objects.select_related("performed_by", "undone_by")[:50]
    return render(
        request, "overview/reorganization_list.html", {"reorganizations": reorganizations}
    )


@login_required
def reorganization_new(request: HttpRequest) -> HttpResponse:
    """The plan, then its preview (POST "preview"), then the confirmation (POST
    "apply"). Nothing changes until it is confirmed; the plan is checked again
    then, as the registry may have changed since the preview."""
    scope = _officer_scope(request)
    form = PlanForm(request.POST or None, request.FILES or None)
    context: dict[str, Any] = {"form": form}
    if request.method == "POST" and form.is_valid():
        lines, errors = form.lines()
        on: datetime.date = form.cleaned_data["on"]
        plan = None
        if not errors:
            plan = reorganization_plan(lines=lines, on=on, scope=scope)
            errors = plan.errors
        context.update(errors=errors, plan_text=form.cleaned_data["plan"])
        if not errors:
            assert plan is not None  # no errors in the lines: the plan was made
            context["summary"] = plan_summary(plan)
            if "apply" in request.POST:
                try:
                    reorganization = reorganization_apply(
                        plan=plan,
                        decision=form.cleaned_data["decision"],
                        by=signed_in_user(request),
                    )
                except DomainError as exc:
                    context["errors"] = [exc.message]
                else:
                    return redirect("reorganization_detail", reorganization.pk)
    # For a person: "Dòng 3, Mã xã cũ: …", the row as the spreadsheet shows it.
    context["error_lines"] = [getattr(e, "shown", e) for e in context.get("errors") or []]
    status = 400 if context.get("errors") else 200
    return render(request, "overview/reorganization_new.html", context, status=status)


@login_required
def reorganization_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _officer_scope(request)
    reorganization = get_in_scope_or_404(
        Reorganization.objects.select_related("performed_by", "undone_by"), pk=pk
    )
    return render(
        request,
        "overview/reorganization_detail.html",
        {
            "reorganization": reorganization,
            "undo_refusal": reorganization_undo_refusal(reorganization),
        },
    )


@login_required
def reorganization_undo_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    """Undo asks first, and says what it puts back."""
    _officer_scope(request)
    reorganization = get_in_scope_or_404(Reorganization.objects.all(), pk=pk)
    return render(
        request,
        "overview/reorganization_undo.html",
        {
            "reorganization": reorganization,
            "undo_refusal": reorganization_undo_refusal(reorganization),
        },
    )


@require_POST
@login_required
def reorganization_undo_view(request: HttpRequest, pk: int) -> HttpResponse:
    _officer_scope(request)
    reorganization = get_in_scope_or_404(Reorganization.objects.all(), pk=pk)
    report_outcome(
        request,
        lambda: reorganization_undo(reorganization=reorganization, by=signed_in_user(request)),
        success=_("The reorganisation was undone: the communes are as they were before it."),
    )
    return redirect("reorganization_detail", reorganization.pk)
