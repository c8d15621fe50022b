"""Party dues pages: a meeting's dues (a plain form, kept apart from the roll),
the branch's dues book (A4 and XLSX), who is behind, the three-month review,
a member's year, and the communes' totals. Outside one's scope: a 404."""

from io import BytesIO

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from branches.access import get_in_scope_or_404, scope_for
from members.models import Member
from pacnam.lib.errors import DomainError
from pacnam.lib.rowstamps import read_stamps

from ..dues_selectors import (
    branch_dues_book,
    commune_dues_totals,
    meeting_dues_sheet,
    member_dues_year,
    members_behind,
    three_month_review,
)
from ..forms import parse_amount
from ..services.dues import DuesEntry, dues_collect
from .lookups import writable_meeting_or_404


def _year(request: HttpRequest) -> int:
    try:
        year = int(request.GET.get("year", ""))
    except ValueError:
        return timezone.localdate().year
    return year if 2000 <= year <= 2100 else timezone.localdate().year


@login_required
def meeting_dues(request: HttpRequest, pk: int) -> HttpResponse:
    """The dues of the meeting's month: paid (default the amount due), a reason
    when not in full, months paid ahead, arrears settled."""
    scope = scope_for(request.user)
    meeting = writable_meeting_or_404(request, pk)
    if meeting.is_adopted:
        messages.error(
            request, _("The minutes are adopted: the dues of this meeting can no longer change.")
        )
        return redirect("meetings:detail", pk=meeting.pk)
    if request.method == "POST":
        rows = meeting_dues_sheet(meeting)
        entries = {}
        try:
            for row in rows:
                member = row["member"]
                if row["elsewhere"]:
                    continue
                paid = parse_amount(request.POST.get(f"paid-{member.pk}", ""))
                ahead = parse_amount(request.POST.get(f"ahead-{member.pk}", ""))
                if paid is None or ahead is None:
                    raise DomainError(
                        _("Dues of %(name)s: type the amount in đồng.") % {"name": member.full_name}
                    )
                entries[member.pk] = DuesEntry(
                    paid=paid,
                    reason=request.POST.get(f"reason-{member.pk}", ""),
                    ahead=ahead,
                    settle=bool(request.POST.get(f"settle-{member.pk}")),
                )
            opened = read_stamps(request.POST, [row["member"].pk for row in rows])
            dues_collect(
                scope=scope, meeting=meeting, entries=entries, opened=opened, by=request.user
            )
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Dues saved."))
            return redirect("meetings:detail", pk=meeting.pk)
    rows = meeting_dues_sheet(meeting) if meeting.roll_opened else []
    return render(request, "meetings/meeting_dues.html", {"meeting": meeting, "rows": rows})


def _book(request: HttpRequest, pk: int, year: int):
    scope = scope_for(request.user)
    branch = get_in_scope_or_404(scope.branches().select_related("commune"), pk=pk)
    return branch, branch_dues_book(branch, year)


@login_required
def dues_book(request: HttpRequest, pk: int, year: int) -> HttpResponse:
    branch, book = _book(request, pk, year)
    return render(
        request, "meetings/dues_book.html", {"branch": branch, "year": year, "book": book}
    )


@login_required
def dues_book_xlsx(request: HttpRequest, pk: int, year: int) -> HttpResponse:
    from openpyxl import Workbook

    branch, book = _book(request, pk, year)
    wb = Workbook()
    ws = wb.active
    ws.title = str(year)
    ws.append([f"SỔ THU ĐẢNG PHÍ NĂM {year}", branch.name])
    ws.append(
        [
            "STT",
            "Họ và tên",
            "Số CCCD",
            "Tháng",
            "Phải đóng",
            "Đã đóng",
            "Còn nợ",
            "Ngày đóng",
            "Lý do",
        ]
    )
    n = 0
    for row in book["rows"]:
        n += 1
        for cell in row["months"]:
            if cell is None:
                continue
            ws.append(
                [
                    n,
                    row["member"].full_name,
                    row["member"].citizen_id,
                    cell.month.strftime("%m/%Y"),
                    cell.due,
                    cell.paid,
                    cell.owed,
                    cell.paid_on.strftime("%d/%m/%Y") if cell.paid_on else "",
                    cell.reason,
                ]
            )
    ws.append([])
    ws.append(
        ["", "Tháng", "", "", "Phải đóng", "Đã đóng", "Còn nợ", "Chi bộ giữ lại", "Nộp cấp trên"]
    )
    for month, t in zip(book["months"], book["totals"], strict=True):
        ws.append(
            [
                "",
                month.strftime("%m/%Y"),
                "",
                "",
                t["due"],
                t["paid"],
                t["owed"],
                t["kept"],
                t["sent_up"],
            ]
        )
    out = BytesIO()
    wb.save(out)
    response = HttpResponse(
        out.getvalue(),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = (
        f'attachment; filename="so-thu-dang-phi-{branch.code}-{year}.xlsx"'
    )
    return response


@login_required
def dues_behind(request: HttpRequest) -> HttpResponse:
    scope = scope_for(request.user)
    year = _year(request)
    rows, total = members_behind(scope, year)
    return render(
        request, "meetings/dues_behind.html", {"year": year, "rows": rows, "total": total}
    )


@login_required
def dues_review(request: HttpRequest) -> HttpResponse:
    scope = scope_for(request.user)
    year = _year(request)
    rows = three_month_review(scope, year)
    return render(request, "meetings/dues_review.html", {"year": year, "rows": rows})


@login_required
def dues_totals(request: HttpRequest) -> HttpResponse:
    scope = scope_for(request.user)
    year = _year(request)
    return render(
        request,
        "meetings/dues_totals.html",
        {"year": year, "rows": commune_dues_totals(scope, year)},
    )


@login_required
def member_dues(request: HttpRequest, pk: int, year: int) -> HttpResponse:
    scope = scope_for(request.user)
    member = get_in_scope_or_404(Member.objects.visible_to(scope).select_related("branch"), pk=pk)
    statement = member_dues_year(member, year)
    return render(
        request,
        "meetings/member_dues.html",
        {"member": member, "year": year, "statement": statement},
    )
