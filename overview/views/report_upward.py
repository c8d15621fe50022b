"""The "Báo cáo" page: the report upward of one of the user's units for a period, its
figures previewed, and the document to download (.docx, or .odt)."""

import datetime
import tempfile
from pathlib import Path

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from branches.access import ALL, BRANCH, COMMUNE, NONE, PROVINCE, Scope, scope_for
from branches.models import Branch, Commune, Province
from meetings.selectors import month_bounds
from pacnam.lib.dates import add_months

from ..documents.report_upward import DocumentError
from ..documents.report_upward import render as render_document
from ..forms import ReportUpwardForm
from ..selectors.report_upward import (
    ReportUnit,
    month_rows,
    period_label,
    report_figures,
    section_rows,
    unit_by_code,
)

CONTENT_TYPES = {
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "odt": "application/vnd.oasis.opendocument.text",
}


def sees_unit(scope: Scope, unit: ReportUnit) -> bool:
    """Whether the user may have the unit's report: the one access question of the page."""
    if unit.level == BRANCH:
        return scope.sees_branch(unit.unit.pk)
    if unit.level == COMMUNE:
        return scope.sees_commune(unit.unit.pk)
    if scope.level == ALL:
        return True
    province = unit.unit
    assert isinstance(province, Province)
    return scope.level == PROVINCE and scope.province_id in (province.pk, province.merged_into_id)


def report_unit_or_404(scope: Scope, code: str, on: datetime.date) -> ReportUnit:
    unit = unit_by_code(code, on)
    if unit is None or not sees_unit(scope, unit):
        raise Http404
    return unit


def _own_unit_code(scope: Scope) -> str | None:
    """The unit a user reports for, filled in for them (officers of a district and
    administrators type one). A scope of a level always names its unit."""
    if scope.level == BRANCH:
        assert scope.branch_id is not None
        return Branch.objects.filter(pk=scope.branch_id).values_list("code", flat=True).first()
    if scope.level == COMMUNE:
        assert scope.commune_id is not None
        return Commune.objects.filter(pk=scope.commune_id).values_list("code", flat=True).first()
    if scope.level == PROVINCE:
        assert scope.province_id is not None
        return Province.objects.filter(pk=scope.province_id).values_list("code", flat=True).first()
    return ""


@login_required
def report_upward(request: HttpRequest) -> HttpResponse:
    scope = scope_for(request.user)
    if scope.level == NONE:
        raise Http404
    if "unit" in request.GET:
        form = ReportUpwardForm(request.GET)
    else:
        last_month = add_months(timezone.localdate().replace(day=1), -1)
        first, last = month_bounds(last_month.year, last_month.month)
        form = ReportUpwardForm(
            initial={"unit": _own_unit_code(scope), "first": first, "last": last}
        )
    context: dict[str, object] = {"form": form}
    if form.is_bound and form.is_valid():
        first, last = form.cleaned_data["first"], form.cleaned_data["last"]
        unit = report_unit_or_404(scope, form.cleaned_data["unit"], last)
        fmt = request.GET.get("download")
        if fmt in CONTENT_TYPES:
            return _download(request, unit, first, last, fmt)
        report = report_figures(unit, first, last)
        context.update(
            unit=unit,
            period=period_label(first, last),
            sections=section_rows(report),
            months=month_rows(report),
            query=request.GET.urlencode(),
        )
    return render(request, "overview/report_upward.html", context)


def _download(request, unit: ReportUnit, first, last, fmt: str) -> HttpResponse:
    name = f"bao-cao-{unit.code}-{first:%Y%m%d}-{last:%Y%m%d}.{fmt}"
    with tempfile.TemporaryDirectory(prefix="report-upward-") as tmp:
        try:
            path = render_document(unit, first, last, Path(tmp) / name)
        except DocumentError as exc:
            return render(
                request,
                "overview/report_upward.html",
                {"form": ReportUpwardForm(request.GET), "error": str(exc)},
                status=503,
            )
        data = path.read_bytes()
    response = HttpResponse(data, content_type=CONTENT_TYPES[fmt])
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
