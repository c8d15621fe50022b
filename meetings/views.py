"""Pages of the meetings app. Each view scopes through branches.access, calls one
service and renders; a DomainError becomes a form error or a message."""

import datetime

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from branches.access import get_in_scope_or_404, scope_for
from members.models import Member
from pacnam.lib.errors import DomainError
from pacnam.lib.forms import flash_form_errors, report_outcome

from . import services
from .forms import (
    AddendumForm,
    AdoptForm,
    MeetingForm,
    PeriodForm,
    TaskForm,
    parse_marks,
    parse_outcomes,
)
from .models import (
    Attendance,
    Meeting,
    MeetingKind,
    Presence,
    ReviewOutcome,
    Standing,
    Task,
)
from .reports import member_attendance, regularity, regularity_by_commune, summarise_by_commune
from .selectors import month_bounds, tasks_to_review, with_attendance_counts


def _meetings(scope):
    return Meeting.objects.filter(branch__in=scope.branches())


def _meeting_or_404(request: HttpRequest, pk: int) -> Meeting:
    scope = scope_for(request.user)
    return get_in_scope_or_404(
        _meetings(scope).select_related("branch__commune", "chair", "secretary"), pk=pk
    )


def _writable_meeting_or_404(request: HttpRequest, pk: int) -> Meeting:
    meeting = _meeting_or_404(request, pk)
    if not scope_for(request.user).can_edit_branch(meeting.branch):
        raise Http404
    return meeting


def _field_error(form, exc: DomainError) -> None:
    form.add_error(exc.field if exc.field in form.fields else None, exc.message)


@login_required
def branch_meetings(request: HttpRequest, pk: int) -> HttpResponse:
    scope = scope_for(request.user)
    branch = get_in_scope_or_404(scope.branches().select_related("commune"), pk=pk)
    meetings = with_attendance_counts(
        Meeting.objects.filter(branch=branch).select_related("chair")
    ).order_by("-date", "-pk")
    return render(
        request,
        "meetings/branch_meetings.html",
        {"branch": branch, "meetings": meetings, "can_write": scope.can_edit_branch(branch)},
    )


@login_required
def meeting_new(request: HttpRequest, pk: int) -> HttpResponse:
    scope = scope_for(request.user)
    branch = get_in_scope_or_404(scope.branches().select_related("commune"), pk=pk)
    if not scope.can_edit_branch(branch):
        raise Http404
    form = MeetingForm(request.POST or None, branch=branch, instance=Meeting(branch=branch))
    if request.method == "POST" and form.is_valid():
        try:
            meeting = services.meeting_create(scope=scope, user=request.user, meeting=form.instance)
        except DomainError as exc:
            _field_error(form, exc)
        else:
            messages.success(request, _("Meeting recorded."))
            return redirect("meetings:detail", pk=meeting.pk)
    return render(request, "meetings/meeting_new.html", {"branch": branch, "form": form})


def _sheet(meeting: Meeting) -> dict:
    """The attendance sheet, split as the minutes state it, with the counts. One query."""
    lines = list(
        Attendance.objects.filter(meeting=meeting)
        .select_related("member")
        .order_by("member__folded_name", "pk")
    )
    counted = [a for a in lines if a.standing == Standing.COUNTED]

    def count(presence=None, full=None):
        return sum(
            1
            for a in counted
            if (presence is None or a.presence == presence) and (full is None or a.is_full == full)
        )

    present = count(Presence.PRESENT)
    quorum = settings.MEETING_QUORUM
    return {
        "counted": counted,
        "away": [a for a in lines if a.standing == Standing.AWAY],
        "exempt": [a for a in lines if a.standing in (Standing.EXEMPT, Standing.SUSPENDED)],
        "n_counted": len(counted),
        "n_full": sum(1 for a in counted if a.is_full),
        "n_probationary": sum(1 for a in counted if not a.is_full),
        "n_present": present,
        "n_present_full": count(Presence.PRESENT, True),
        "n_present_probationary": count(Presence.PRESENT, False),
        "n_excused": count(Presence.EXCUSED),
        "n_absent": count(Presence.ABSENT),
        "n_unmarked": count(""),
        # Flagged once everyone is marked: a half-taken roll is not a failed quorum.
        "below_quorum": bool(counted) and not count("") and present < quorum * len(counted),
        "quorum_percent": round(quorum * 100),
    }


def _tasks(meeting: Meeting) -> list[Task]:
    return list(
        Task.objects.filter(meeting=meeting)
        .select_related("household_village")
        .prefetch_related(Prefetch("assignees", queryset=Member.objects.only("pk", "full_name")))
    )


def _review(meeting: Meeting) -> list[dict]:
    """Review of last month: tasks this meeting reviewed, then open ones it has not."""
    if meeting.kind != MeetingKind.REGULAR:
        return []
    reviewed = list(meeting.reviews.select_related("task__meeting", "task__household_village"))
    seen = {r.task_id for r in reviewed}
    rows = [{"task": r.task, "review": r} for r in reviewed]
    if not meeting.is_adopted:
        pending = tasks_to_review(meeting).select_related("meeting", "household_village")
        rows += [{"task": t, "review": None} for t in pending if t.pk not in seen]
    return rows


@login_required
def meeting_detail(request: HttpRequest, pk: int) -> HttpResponse:
    scope = scope_for(request.user)
    meeting = _meeting_or_404(request, pk)
    can_write = scope.can_edit_branch(meeting.branch)
    editable = can_write and not meeting.is_adopted
    sheet = _sheet(meeting)
    context = {
        "meeting": meeting,
        "sheet": sheet,
        "tasks": _tasks(meeting),
        "review": _review(meeting),
        "addenda": list(meeting.addenda.all()),
        "can_write": can_write,
        "editable": editable,
        "outcomes": ReviewOutcome.choices,
    }
    if editable:
        roll_members = [a.member for a in sheet["counted"]]
        context["form"] = MeetingForm(instance=meeting, branch=meeting.branch)
        context["adopt_form"] = AdoptForm(initial={"on": meeting.date})
        context["task_form"] = TaskForm(
            meeting=meeting,
            members=Member.objects.filter(pk__in=[m.pk for m in roll_members])
            if meeting.roll_opened
            else None,
        )
    elif can_write:
        context["addendum_form"] = AddendumForm(initial={"dated": timezone.localdate()})
    return render(request, "meetings/meeting_detail.html", context)


@login_required
@require_POST
def meeting_edit(request: HttpRequest, pk: int) -> HttpResponse:
    meeting = _writable_meeting_or_404(request, pk)
    form = MeetingForm(
        request.POST, instance=Meeting.objects.get(pk=meeting.pk), branch=meeting.branch
    )
    if form.is_valid():
        changes = {name: form.cleaned_data[name] for name in form.changed_data}
        report_outcome(
            request,
            lambda: services.meeting_update(
                scope=scope_for(request.user), meeting=meeting, changes=changes
            ),
            success=_("Meeting saved."),
        )
    else:
        flash_form_errors(request, form)
    return redirect("meetings:detail", pk=meeting.pk)


@login_required
def meeting_roll(request: HttpRequest, pk: int) -> HttpResponse:
    """The phone attendance form: one row per member, one tap to mark."""
    scope = scope_for(request.user)
    meeting = _writable_meeting_or_404(request, pk)
    if meeting.is_adopted:
        messages.error(request, _("The minutes are adopted: attendance can no longer change."))
        return redirect("meetings:detail", pk=meeting.pk)
    if request.method == "POST" and "open" in request.POST:
        try:
            services.meeting_open_roll(scope=scope, meeting=meeting)
        except DomainError as exc:
            messages.error(request, exc.message)
        return redirect("meetings:roll", pk=meeting.pk)
    sheet = _sheet(meeting)
    if request.method == "POST":
        marks, errors = parse_marks(request.POST, [a.member_id for a in sheet["counted"]])
        try:
            if errors:
                raise DomainError(errors[0])
            services.meeting_mark_attendance(scope=scope, meeting=meeting, marks=marks)
        except DomainError as exc:
            messages.error(request, exc.message)
            # Keep what was tapped: nobody should mark 60 members twice.
            for line in sheet["counted"]:
                line.presence, line.reason = marks.get(line.member_id, (line.presence, line.reason))
        else:
            messages.success(request, _("Attendance saved."))
            return redirect("meetings:detail", pk=meeting.pk)
    return render(
        request,
        "meetings/meeting_roll.html",
        {"meeting": meeting, "sheet": sheet, "presences": Presence.choices},
    )


@login_required
@require_POST
def meeting_hold(request: HttpRequest, pk: int) -> HttpResponse:
    meeting = _writable_meeting_or_404(request, pk)
    report_outcome(
        request,
        lambda: services.meeting_hold(scope=scope_for(request.user), meeting=meeting),
        success=_("The meeting is recorded as held."),
    )
    return redirect("meetings:detail", pk=meeting.pk)


@login_required
@require_POST
def meeting_adopt(request: HttpRequest, pk: int) -> HttpResponse:
    meeting = _writable_meeting_or_404(request, pk)
    form = AdoptForm(request.POST)
    if not form.is_valid():
        flash_form_errors(request, form)
        return redirect("meetings:detail", pk=meeting.pk)
    # Minutes are read and adopted at the end of the meeting: its day, not the
    # day someone pressed the button, unless another day is given.
    on = form.cleaned_data["on"] or meeting.date
    report_outcome(
        request,
        lambda: services.meeting_adopt_minutes(
            scope=scope_for(request.user), meeting=meeting, on=on
        ),
        success=_("The minutes are adopted."),
    )
    return redirect("meetings:detail", pk=meeting.pk)


@login_required
@require_POST
def task_add(request: HttpRequest, pk: int) -> HttpResponse:
    meeting = _writable_meeting_or_404(request, pk)
    form = TaskForm(request.POST, meeting=meeting)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.task_create(
                scope=scope_for(request.user),
                meeting=meeting,
                description=data["description"],
                due_on=data["due_on"],
                assignees=data["assignees"],
                household_head=data["household_head"],
                household_village=data["household_village"],
            )
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Task added."))
    else:
        flash_form_errors(request, form)
    return redirect("meetings:detail", pk=meeting.pk)


@login_required
@require_POST
def task_review(request: HttpRequest, pk: int) -> HttpResponse:
    meeting = _writable_meeting_or_404(request, pk)
    ids = [
        int(key.removeprefix("outcome-"))
        for key in request.POST
        if key.startswith("outcome-") and key.removeprefix("outcome-").isdigit()
    ]
    try:
        services.task_review(
            scope=scope_for(request.user),
            meeting=meeting,
            outcomes=parse_outcomes(request.POST, ids),
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Review of last month's tasks saved."))
    return redirect("meetings:detail", pk=meeting.pk)


@login_required
@require_POST
def addendum_add(request: HttpRequest, pk: int) -> HttpResponse:
    meeting = _writable_meeting_or_404(request, pk)
    form = AddendumForm(request.POST)
    if form.is_valid():
        try:
            services.meeting_add_addendum(
                scope=scope_for(request.user),
                user=request.user,
                meeting=meeting,
                dated=form.cleaned_data["dated"],
                text=form.cleaned_data["text"],
            )
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Addendum added."))
    else:
        messages.error(request, _("Give the date and the text of the correction."))
    return redirect("meetings:detail", pk=meeting.pk)


@login_required
def meeting_minutes(request: HttpRequest, pk: int) -> HttpResponse:
    """The minutes (biên bản sinh hoạt chi bộ), printable on A4."""
    meeting = _meeting_or_404(request, pk)
    return render(
        request,
        "meetings/meeting_minutes.html",
        {
            "meeting": meeting,
            "sheet": _sheet(meeting),
            "tasks": _tasks(meeting),
            "review": _review(meeting),
            "addenda": list(meeting.addenda.all()),
        },
    )


@login_required
def meeting_sheet(request: HttpRequest, pk: int) -> HttpResponse:
    """The attendance sheet, printable on A4, with a column for signatures."""
    meeting = _meeting_or_404(request, pk)
    return render(
        request, "meetings/meeting_sheet.html", {"meeting": meeting, "sheet": _sheet(meeting)}
    )


@login_required
def reports(request: HttpRequest) -> HttpResponse:
    """Regularity for a month or a year, attendance per branch and member, commune cadres."""
    scope = scope_for(request.user)
    form = PeriodForm(request.GET or None, communes=scope.communes())
    today = timezone.localdate()
    month_date, year, commune = today.replace(day=1), None, None
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
        last = (
            month_bounds(month_date.year, month_date.month)[1]
            if month_date
            else datetime.date(year, 12, 31)
        )
        branches = branches.in_commune_on(commune, last)
    context = {"form": form, "month_date": month_date, "year": year, "months": range(1, 13)}
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
        first, last = datetime.date(year, 1, 1), datetime.date(year, 12, 31)
    context.update(
        rows=rows,
        active=len(rows),
        without=sum(1 for r in rows if r.months_without),
        members=member_attendance(branches, first, last),
        cadres=member_attendance(branches, first, last, cadres_in_villages=True),
    )
    return render(request, "meetings/reports.html", context)
