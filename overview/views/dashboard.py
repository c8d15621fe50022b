"""The dashboard and its charts: where things stand, for the user's scope."""

import datetime
from typing import Any

from django.contrib.auth.decorators import login_required
from django.db.models import Max
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.csp import csp_override

from branches.access import NONE, PROVINCE, scope_for
from branches.models import Province
from meetings.dues_selectors import dues_last_month
from meetings.models import Meeting
from meetings.selectors import (
    TOOK_PLACE,
    first_branches_without_regular_meeting,
    meetings_per_month,
    month_bounds,
)
from members.selectors.growth import growth_dashboard
from members.selectors.transfers import overdue_transfers, transfers_in_progress
from pacnam.lib.dates import add_months

from .. import charts
from ..selectors import dashboard as stats

# The dashboard names at most this many branches that missed last month's meeting;
# the tile counts them all, and the meetings report lists them all.
NO_MEETING_LIST_LIMIT = 20


def _month(request: HttpRequest, scope, today: datetime.date) -> datetime.date:
    """The first day of the month the dashboard is about: ?month=YYYY-MM (not after
    this month), else the latest month that has ended with meetings recorded in the
    scope (a registry whose recent data is older still shows figures), else last
    month. For a unit that ceased (Pác Nặm district, a commune merged in 2025) "this
    month" is its last month: its communes are not the ones of today. One query
    when no month is asked for (and one for the unit's end)."""
    raw = request.GET.get("month", "")
    try:
        asked = datetime.datetime.strptime(raw, "%Y-%m").date()
    except ValueError:
        asked = None
    last_day = scope.last_day(today)
    this_month = last_day.replace(day=1)
    if asked is not None:
        return min(asked, this_month)
    # Meetings of months that have ended: before this month, or through the unit's
    # last day when it ceased.
    before = this_month if last_day == today else last_day + datetime.timedelta(days=1)
    latest = scope.by_branch(
        Meeting.objects.filter(status__in=TOOK_PLACE, date__lt=before)
    ).aggregate(latest=Max("date"))["latest"]
    if latest:
        return latest.replace(day=1)
    return this_month if last_day < today else add_months(this_month, -1)


def dashboard_extras(scope, today, month: datetime.date) -> dict:
    """Tiles from the other apps (transfers, meetings) for `month` and the month
    after it (so far): a fixed number of queries."""
    no_meeting, no_meeting_total = first_branches_without_regular_meeting(
        scope.branches().active(), month.year, month.month, limit=NO_MEETING_LIST_LIMIT
    )
    (_month_then, held_in_month), (_next, held_next_month) = meetings_per_month(
        scope, add_months(month, 1), 2
    )
    return {
        # Named for the default: the latest month that has ended, and the month after it.
        "meetings_this_month": held_next_month,
        "meetings_last_month": held_in_month,
        "next_month": add_months(month, 1),
        "transfers_in_progress": transfers_in_progress(scope).count(),
        "overdue_transfers": overdue_transfers(scope).count(),
        "no_meeting_month": month,
        "no_meeting_branches": no_meeting,
        "no_meeting_total": no_meeting_total,
        "no_meeting_more": no_meeting_total - len(no_meeting),
        # The dues collected at the month's meetings against the dues due (one query).
        "dues": dues_last_month(scope, month),
    }


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    scope = scope_for(request.user)
    today = timezone.localdate()
    context: dict[str, Any] = {"scope": scope, "today": today}
    month = _month(request, scope, today) if scope.level != NONE else today.replace(day=1)
    context.update(
        month=month,
        previous_month=add_months(month, -1),
        following_month=(
            add_months(month, 1) if add_months(month, 1) <= scope.last_day(today) else None
        ),
    )
    if scope.level == PROVINCE and scope.province_id is not None:
        context["scope_unit"] = Province.objects.get(pk=scope.province_id).name
    if scope.level != NONE:
        context.update(
            totals=stats.member_totals(scope),
            branch_kinds=stats.branches_by_kind(scope),
            growth=growth_dashboard(scope, today),
        )
        probations = context["growth"]["probations"]
        context["due_full"] = probations["due"] + probations["overdue"]
        offices, context["offices_total"], context["offices_dissolved"] = stats.office_branches(
            scope
        )
        context["offices"] = offices
        context["offices_more"] = context["offices_total"] - len(offices)
        context.update(dashboard_extras(scope, today, month))
        context["charts"] = _charts_for(scope)
        if scope.is_officer:
            sort = request.GET.get("sort", "name")
            context["communes"], context["communes_total"] = stats.commune_table(
                scope, month, month_bounds(month.year, month.month)[1], sort=sort
            )
            context["commune_sort"] = sort
            context["commune_columns"] = [
                ("name", _("Commune"), False),
                ("members", _("Members"), True),
                ("branches", _("Active branches"), True),
                ("missed", _("Without a regular meeting"), True),
            ]
    return render(request, "overview/dashboard.html", context)


def _charts_for(scope) -> list[tuple[str, str]]:
    names = [
        "members_by_commune",
        "branch_kinds",
        "age",
        "gender",
        "ethnicity",
        "policy",
        "meetings",
    ]
    if not scope.is_officer:
        names.remove("members_by_commune")
    titles = {
        "members_by_commune": _("Members by commune"),
        "branch_kinds": _("Branches by kind"),
        "age": _("Members by age"),
        "gender": _("Members by gender"),
        "ethnicity": _("Members by ethnicity"),
        "policy": _("Cadres moved to village branches"),
        "meetings": _("Meetings held per month"),
    }
    return [(name, titles[name]) for name in names]


# The chart is an image: its own inline <style> is allowed in its own response
# (scripts in an <img> never run), while pages keep the strict policy.
@login_required
@csp_override({"default-src": ["'none'"], "style-src": ["'unsafe-inline'"]})
def chart(request: HttpRequest, name: str) -> HttpResponse:
    scope = scope_for(request.user)
    if scope.level == NONE:
        raise Http404
    today = timezone.localdate()
    if name == "members_by_commune" and scope.is_officer:
        svg = charts.bar(_("Members by commune"), stats.members_by_commune(scope), horizontal=True)
    elif name == "branch_kinds":
        svg = charts.pie(_("Branches by kind"), stats.branches_by_kind(scope))
    elif name == "age":
        svg = charts.bar(_("Members by age"), stats.age_profile(scope, today))
    elif name == "gender":
        svg = charts.pie(_("Members by gender"), stats.gender_profile(scope))
    elif name == "ethnicity":
        svg = charts.pie(_("Members by ethnicity"), stats.ethnicity_profile(scope))
    elif name == "policy":
        rows = [(month.strftime("%m/%Y"), n) for month, n in stats.policy_progress(scope)]
        svg = charts.line(_("Cadres moved to village branches"), rows)
    elif name == "meetings":
        end = _month(request, scope, today)
        rows = [
            (m.strftime("%m/%Y"), n) for m, n in meetings_per_month(scope, add_months(end, 1), 12)
        ]
        svg = charts.bar(_("Meetings held per month"), rows)
    else:
        raise Http404
    response = HttpResponse(svg, content_type="image/svg+xml")
    response["Cache-Control"] = "private, max-age=60"
    return response
