"""The roll of a meeting, taken on a phone: one row per member, one tap to mark
the attendance and one for the month's dues."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from branches.access import scope_for
from pacnam.lib.errors import DomainError
from pacnam.lib.rowstamps import RowsChanged, read_stamps, row_stamp

from ..dues_selectors import meeting_dues_sheet
from ..forms import DUES_PAID, DUES_UNPAID, parse_marks, parse_roll_dues
from ..models import Presence
from ..selectors import meeting_roll_sheet
from ..services import attendance as roll_services
from ..services.attendance import line_values
from ..services.dues import DuesChanged
from ..services.roll import meeting_roll_save
from .lookups import writable_meeting_or_404

DUES_STAMP_PREFIX = "duesstamp-"


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
    dues_rows = meeting_dues_sheet(meeting) if meeting.roll_opened else []
    conflicts: list = []
    dues_conflicts: list[str] = []
    sent_dues: dict = {}
    if request.method == "POST":
        member_ids = [a.member_id for a in sheet["counted"]]
        marks, errors = parse_marks(request.POST, member_ids)
        opened = read_stamps(request.POST, member_ids)
        dues, dues_errors = parse_roll_dues(request.POST, dues_rows)
        dues_opened = read_stamps(
            request.POST, [r["member"].pk for r in dues_rows], prefix=DUES_STAMP_PREFIX
        )
        sent_dues = {k: request.POST.get(f"dues-{k}", "") for k in dues}
        try:
            if errors or dues_errors:
                raise DomainError((errors + dues_errors)[0])
            _marked, paid = meeting_roll_save(
                scope=scope,
                meeting=meeting,
                marks=marks,
                opened=opened,
                dues=dues,
                dues_opened=dues_opened,
                by=request.user,
            )
        except DuesChanged as exc:
            messages.error(request, exc.message)
            # Shown as the other person recorded them, with fresh stamps; the
            # user's taps on the marks and on the other members' dues are kept.
            clashing = {c.key for c in exc.conflicts}
            for key in clashing:
                sent_dues.pop(key, None)
            keep_taps(sheet["counted"], marks, [], opened)
            keep_dues(dues_rows, request.POST, dues_opened, skip=clashing)
            names = {r["member"].pk: r["member"].full_name for r in dues_rows}
            dues_conflicts = [names[key] for key in clashing]
        except RowsChanged as exc:
            messages.error(request, exc.message)
            # Shown as the other person saved them, with fresh stamps: saving
            # again writes the user's other taps and keeps theirs unless re-tapped.
            conflicts = keep_taps(sheet["counted"], marks, exc.conflicts)
            keep_dues(dues_rows, request.POST, dues_opened)
        except DomainError as exc:
            messages.error(request, exc.message)
            # Keep what was tapped: nobody should mark 60 members twice.
            # The stamps stay those the form was opened with.
            keep_taps(sheet["counted"], marks, [], opened)
            keep_dues(dues_rows, request.POST, dues_opened)
        else:
            messages.success(
                request, _("Attendance and dues saved.") if paid else _("Attendance saved.")
            )
            return redirect("meetings:detail", pk=meeting.pk)
    else:
        keep_taps(sheet["counted"], {}, [])
    attach_dues(sheet, dues_rows, sent_dues)
    return render(
        request,
        "meetings/meeting_roll.html",
        {
            "meeting": meeting,
            "sheet": sheet,
            "presences": Presence.choices,
            "conflicts": conflicts,
            "dues_conflicts": dues_conflicts,
            "dues_choices": [(DUES_PAID, _("paid")), (DUES_UNPAID, _("not paid"))],
            "dues_stamp_prefix": DUES_STAMP_PREFIX,
        },
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


def keep_dues(rows, data, opened, skip=frozenset()) -> None:
    """A refused save shows the dues as the user typed them, with the stamps the
    form was opened with (but for the rows in `skip`, shown as recorded)."""
    for row in rows:
        key = row["member"].pk
        if key in skip:
            continue
        row["stamp"] = opened.get(key, row["stamp"])
        row["reason_sent"] = data.get(f"duesreason-{key}")
        row["ahead_sent"] = data.get(f"duesahead-{key}")


def attach_dues(sheet, rows, sent) -> None:
    """Each roll line gets its dues row (None when the member pays elsewhere) and
    the tap to show: the user's, else what is recorded."""
    by_member = {row["member"].pk: row for row in rows}
    for line in [*sheet["counted"], *sheet["away"], *sheet["exempt"]]:
        row = by_member.get(line.member_id)
        line.dues = row
        if row is None:
            continue
        payment = row["payment"]
        choice = sent.get(line.member_id, "")
        if not choice and payment is not None:
            if payment.paid >= row["due"]:
                choice = DUES_PAID
            elif payment.paid == 0:
                choice = DUES_UNPAID
        row["choice"] = choice
        row["part"] = payment is not None and 0 < payment.paid < row["due"]
        row.setdefault("reason_sent", None)
        row.setdefault("ahead_sent", None)
