"""A branch's meetings, a meeting's page and its edits, the minutes and the sheet."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from branches.access import get_in_scope_or_404, scope_for
from members.models import Member
from pacnam.lib.errors import DomainError
from pacnam.lib.forms import flash_form_errors, report_outcome

from ..forms import AddendumForm, AdoptForm, MeetingForm, TaskForm
from ..models import Meeting, ReviewOutcome
from ..selectors import (
    meeting_review,
    meeting_roll_sheet,
    meeting_tasks,
    with_attendance_counts,
)
from ..services import meetings as meeting_services
from .lookups import field_error, meeting_or_404, writable_meeting_or_404


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
            meeting = meeting_services.meeting_create(
                scope=scope, user=request.user, meeting=form.instance
            )
        except DomainError as exc:
            field_error(form, exc)
        else:
            messages.success(request, _("Meeting recorded."))
            return redirect("meetings:detail", pk=meeting.pk)
    return render(request, "meetings/meeting_new.html", {"branch": branch, "form": form})


@login_required
def meeting_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return detail_page(request, meeting_or_404(request, pk))


def detail_page(request: HttpRequest, meeting: Meeting, **bound) -> HttpResponse:
    """The meeting's page; `bound` holds a form posted with errors (form, adopt_form,
    task_form, addendum_form), shown again as typed beside its errors, where a
    redirect would have wiped the description, the assignees and the household."""
    scope = scope_for(request.user)
    can_write = scope.can_edit_branch(meeting.branch)
    editable = can_write and not meeting.is_adopted
    sheet = meeting_roll_sheet(meeting)
    context = {
        "meeting": meeting,
        "sheet": sheet,
        "tasks": meeting_tasks(meeting),
        "review": meeting_review(meeting),
        "addenda": list(meeting.addenda.all()),
        "can_write": can_write,
        "editable": editable,
        "outcomes": ReviewOutcome.choices,
    }
    if editable:
        context["form"] = bound.get("form") or MeetingForm(instance=meeting, branch=meeting.branch)
        # The meeting's own day, never a day still to come that the service refuses.
        context["adopt_form"] = bound.get("adopt_form") or AdoptForm(
            initial={"on": min(meeting.date, timezone.localdate())}
        )
        context["task_form"] = bound.get("task_form") or TaskForm(
            meeting=meeting, members=roll_members(meeting, sheet)
        )
    elif can_write:
        context["addendum_form"] = bound.get("addendum_form") or AddendumForm(
            initial={"dated": timezone.localdate()}
        )
    return render(request, "meetings/meeting_detail.html", context)


def roll_members(meeting: Meeting, sheet=None):
    """Who may take a task: once the roll is taken, the members counted on it; before,
    the branch's roster on the meeting's date (None: TaskForm's default)."""
    if not meeting.roll_opened:
        return None
    sheet = sheet or meeting_roll_sheet(meeting)
    return Member.objects.filter(pk__in=[line.member_id for line in sheet["counted"]])


@login_required
@require_POST
def meeting_edit(request: HttpRequest, pk: int) -> HttpResponse:
    meeting = writable_meeting_or_404(request, pk)
    form = MeetingForm(
        request.POST, instance=Meeting.objects.get(pk=meeting.pk), branch=meeting.branch
    )
    if form.is_valid():
        changes = {name: form.cleaned_data[name] for name in form.changed_data}
        try:
            meeting_services.meeting_update(
                scope=scope_for(request.user), meeting=meeting, changes=changes
            )
        except DomainError as exc:
            field_error(form, exc)
        else:
            messages.success(request, _("Meeting saved."))
            return redirect("meetings:detail", pk=meeting.pk)
    flash_form_errors(request, form)
    return detail_page(request, meeting, form=form)


@login_required
@require_POST
def meeting_hold(request: HttpRequest, pk: int) -> HttpResponse:
    meeting = writable_meeting_or_404(request, pk)
    report_outcome(
        request,
        lambda: meeting_services.meeting_hold(scope=scope_for(request.user), meeting=meeting),
        success=_("The meeting is recorded as held."),
    )
    return redirect("meetings:detail", pk=meeting.pk)


@login_required
@require_POST
def meeting_adopt(request: HttpRequest, pk: int) -> HttpResponse:
    meeting = writable_meeting_or_404(request, pk)
    form = AdoptForm(request.POST)
    if form.is_valid():
        # Minutes are read and adopted at the end of the meeting: its day, not the
        # day someone pressed the button, unless another day is given.
        on = form.cleaned_data["on"] or meeting.date
        try:
            meeting_services.meeting_adopt_minutes(
                scope=scope_for(request.user), meeting=meeting, on=on
            )
        except DomainError as exc:
            field_error(form, exc)
        else:
            messages.success(request, _("The minutes are adopted."))
            return redirect("meetings:detail", pk=meeting.pk)
    flash_form_errors(request, form)
    return detail_page(request, meeting, adopt_form=form)


@login_required
@require_POST
def addendum_add(request: HttpRequest, pk: int) -> HttpResponse:
    meeting = writable_meeting_or_404(request, pk)
    form = AddendumForm(request.POST)
    if form.is_valid():
        try:
            meeting_services.meeting_add_addendum(
                scope=scope_for(request.user),
                user=request.user,
                meeting=meeting,
                dated=form.cleaned_data["dated"],
                text=form.cleaned_data["text"],
            )
        except DomainError as exc:
            field_error(form, exc)
        else:
            messages.success(request, _("Addendum added."))
            return redirect("meetings:detail", pk=meeting.pk)
    else:
        messages.error(request, _("Give the date and the text of the correction."))
    return detail_page(request, meeting, addendum_form=form)


@login_required
def meeting_minutes(request: HttpRequest, pk: int) -> HttpResponse:
    """The minutes (biên bản sinh hoạt chi bộ), printable on A4."""
    meeting = meeting_or_404(request, pk)
    return render(
        request,
        "meetings/meeting_minutes.html",
        {
            "meeting": meeting,
            "sheet": meeting_roll_sheet(meeting),
            "tasks": meeting_tasks(meeting),
            "review": meeting_review(meeting),
            "addenda": list(meeting.addenda.all()),
        },
    )


@login_required
def meeting_sheet(request: HttpRequest, pk: int) -> HttpResponse:
    """The attendance sheet, printable on A4, with a column for signatures."""
    meeting = meeting_or_404(request, pk)
    return render(
        request,
        "meetings/meeting_sheet.html",
        {"meeting": meeting, "sheet": meeting_roll_sheet(meeting)},
    )
