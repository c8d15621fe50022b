"""Tasks set at a meeting, and their review at the next one."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from branches.access import scope_for
from pacnam.lib.errors import DomainError
from pacnam.lib.forms import flash_form_errors

from ..forms import TaskForm, parse_outcomes
from ..services import tasks as task_services
from .lookups import field_error, writable_meeting_or_404
from .meetings import detail_page, roll_members


@login_required
@require_POST
def task_add(request: HttpRequest, pk: int) -> HttpResponse:
    meeting = writable_meeting_or_404(request, pk)
    form = TaskForm(request.POST, meeting=meeting, members=roll_members(meeting))
    if form.is_valid():
        data = form.cleaned_data
        try:
            task_services.task_create(
                scope=scope_for(request.user),
                meeting=meeting,
                description=data["description"],
                due_on=data["due_on"],
                assignees=data["assignees"],
                household_head=data["household_head"],
                household_village=data["household_village"],
            )
        except DomainError as exc:
            field_error(form, exc)
        else:
            messages.success(request, _("Task added."))
            return redirect("meetings:detail", pk=meeting.pk)
    # The page again with what was typed, each error beside its field.
    flash_form_errors(request, form)
    return detail_page(request, meeting, task_form=form)


@login_required
@require_POST
def task_review(request: HttpRequest, pk: int) -> HttpResponse:
    meeting = writable_meeting_or_404(request, pk)
    ids = [
        int(key.removeprefix("outcome-"))
        for key in request.POST
        if key.startswith("outcome-") and key.removeprefix("outcome-").isdigit()
    ]
    try:
        task_services.task_review(
            scope=scope_for(request.user),
            meeting=meeting,
            outcomes=parse_outcomes(request.POST, ids),
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Review of last month's tasks saved."))
    return redirect("meetings:detail", pk=meeting.pk)
