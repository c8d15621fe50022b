"""Regularity and attendance for a month or a year, by branch, member and commune."""

import datetime
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from branches.access import scope_for
from pacnam.lib.dates import add_months

from ..forms import (
    PeriodForm,
)
from ..reports import member_attendance, regularity, regularity_by_commune, summarise_by_commune
from ..selectors import (
    month_bounds,
)


@login_required
def reports(request: HttpRequest) -> HttpResponse:
    """Regularity for a month or a year, attendance per branch and member, commune cadres."""
    scope = scope_for(request.user)
    today = timezone.localdate()
    # The last month that has ended, as the dashboard: the current month's meetings
    # are still to come, and a report of it reads as every branch missing its meeting.
    last_month = add_months(today.replace(day=1), -1)
    month_date: datetime.date | None = last_month
    year: int | None = None
    commune = None
    form = PeriodForm(
        request.GET or None,
        communes=scope.communes(),
        initial={"month": last_month.strftime("%m/%Y")},
    )
    if form.is_bound and form.is_valid():
        commune = form.cleaned_data["commune"]
        if form.cleaned_data["month"]:
            month_date = form.cleaned_data["month"]
        elif form.cleaned_data["year"]:
            year, month_date = form.cleaned_data["year"], None
    period = (month_date.year, month_date.month) if month_date is not None else (year, None)
    branches = scope.branches()
    if commune is not None:
        # The commune's branches of the period (a merged commune's, after the merger).
        if month_date is not None:
            last = month_bounds(month_date.year, month_date.month)[1]
        else:
            assert year is not None  # no month chosen: the form gave a year
            last = datetime.date(year, 12, 31)
        branches = branches.in_commune_on(commune, last)
    context: dict[str, Any] = {
        "form": form,
        "month_date": month_date,
        "year": year,
        "months": range(1, 13),
    }
    if commune is None and summarise_by_commune(scope):
        # A province: a line per commune; its branches and members once it is chosen.
        communes = regularity_by_commune(branches, *period)
        context.update(
            by_commune=communes,
            active=sum(c.branches for c in communes),
            without=sum(c.without for c in communes),
        )
        return render(request, "meetings/reports.html", context)
    rows = regularity(branches, *period)
    if month_date is not None:
        first, last = month_bounds(month_date.year, month_date.month)
    else:
        assert year is not None  # no month chosen: the form gave a year
        first, last = datetime.date(year, 1, 1), datetime.date(year, 12, 31)
    context.update(
        rows=rows,
        active=len(rows),
        without=sum(1 for r in rows if r.months_without),
        members=member_attendance(branches, first, last),
        cadres=member_attendance(branches, first, last, cadres_in_villages=True),
    )
    return render(request, "meetings/reports.html", context)
