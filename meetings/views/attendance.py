"""The roll of a meeting, taken on a phone: one row per member, one tap to mark."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from branches.access import scope_for
from pacnam.lib.errors import DomainError
from pacnam.lib.rowstamps import RowsChanged, read_stamps, row_stamp

from ..forms import parse_marks
from ..models import Presence
from ..selectors import (
    meeting_roll_sheet,
)
from ..services import attendance as roll_services
from ..services.attendance import line_values
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
    conflicts = []
    if request.method == "POST":
        member_ids = [a.member_id for a in sheet["counted"]]
        marks, errors = parse_marks(request.POST, member_ids)
        opened = read_stamps(request.POST, member_ids)
        try:
            if errors:
                raise DomainError(errors[0])
            roll_services.meeting_mark_attendance(
                scope=scope, meeting=meeting, marks=marks, opened=opened
            )
        except RowsChanged as exc:
            messages.error(request, exc.message)
            # Shown as the other person saved them, with fresh stamps: saving
            # again writes the user's other taps and keeps theirs unless re-tapped.
            conflicts = keep_taps(sheet["counted"], marks, exc.conflicts)
        except DomainError as exc:
            messages.error(request, exc.message)
            # Keep what was tapped: nobody should mark 60 members twice.
            # The stamps stay those the form was opened with.
            keep_taps(sheet["counted"], marks, [], opened)
        else:
            messages.success(request, _("Attendance saved."))
            return redirect("meetings:detail", pk=meeting.pk)
    else:
        keep_taps(sheet["counted"], {}, [])
    return render(
        request,
        "meetings/meeting_roll.html",
        {"meeting": meeting, "sheet": sheet, "presences": Presence.choices, "conflicts": conflicts},
    )


def keep_taps(lines, marks, conflicts, opened=None) -> list:
    """Put the user's taps back on the lines (not on conflicting ones) and each
    line's stamp; return the conflicting lines with the user's mark beside."""
    labels = dict(Presence.choices)
    clashing = {c.key: c for c in conflicts}
    shown = []
    for line in lines:
        line.stamp = (opened or {}).get(line.member_id) or row_stamp(line_values(line))
        conflict = clashing.get(line.member_id)
        if conflict is not None:
            line.conflict = True
            line.mine = labels.get(conflict.wanted[0], _("not marked"))
            shown.append(line)
        elif line.member_id in marks:
            line.presence, line.reason = marks[line.member_id]
    return shown
