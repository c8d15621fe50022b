"""The roll of a meeting, taken on a phone: one row per member, one tap to mark."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from branches.access import scope_for
from pacnam.lib.errors import DomainError

from ..forms import parse_marks
from ..models import Presence
from ..selectors import (
    meeting_roll_sheet,
)
from ..services import attendance as roll_services
from .lookups import writable_meeting_or_404


@login_required
def meeting_roll(request: HttpRequest, pk: int) -> HttpResponse:
    """The phone attendance form: one row per member, one tap to mark."""
    scope = scope_for(request.user)
    meeting = writable_meeting_or_404(request, pk)
    if meeting.is_adopted:
        messages.error(request, _("The minutes are adopted: attendance can no longer change."))
        return redirect("meetings:detail", pk=meeting.pk)
    if request.method == "POST" and "open" in request.POST:
        try:
            roll_services.meeting_open_roll(scope=scope, meeting=meeting)
        except DomainError as exc:
            messages.error(request, exc.message)
        return redirect("meetings:roll", pk=meeting.pk)
    sheet = meeting_roll_sheet(meeting)
    if request.method == "POST":
        marks, errors = parse_marks(request.POST, [a.member_id for a in sheet["counted"]])
        try:
            if errors:
                raise DomainError(errors[0])
            roll_services.meeting_mark_attendance(scope=scope, meeting=meeting, marks=marks)
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
