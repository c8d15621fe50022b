"""Importing a dues list (a branch's past book, or `registry_export dues`' file)
through the members' import: the same preview, the same all-or-nothing write.

The contract: the export's headers, `citizen_id,full_name,branch_code,month,
due,paid,paid_on,reason`; a month as YYYY-MM (or MM/YYYY, or any day of it).

The rules each row is held to, the collection's own:
- the member was in that branch (officially or attached) in that month, the
  branch's code looked up on the month's first day; a commune secretary's rows
  are their commune's branches;
- the amount due is computed from the member's dues profile and the rates of
  the month, never typed: a file that says otherwise is refused, with both
  amounts, unless it repeats what the registry holds already;
- paid at most what was due (a month paid ahead is its own row), with the day
  it was paid, which is no more than a year before the month;
- a month recorded at a meeting is that meeting's: the file may repeat it,
  never change it (its dues page does).
"""

from __future__ import annotations

import datetime
import re
from collections import defaultdict

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from members.io.extra_imports import (
    CREATE,
    UNCHANGED,
    UPDATE,
    ImportContext,
    ImportRow,
    Keys,
    RowPlan,
    changes,
    chunks,
    file_citizen_id,
)
from members.io.read import CellError, parse_date
from members.models import Member, Membership
from pacnam.lib.dates import add_months, dmy, parse_month
from pacnam.lib.text import excerpt, fold

from .dues_selectors import DUES_EXPORT_HEADERS, RateBook, due_for, month_of
from .models import DuesPayment, DuesProfile

# As the dues column and page allow: a month paid at most a year ahead.
MAX_AHEAD = 12
PREFETCH_CHUNK = 900  # under SQLite's default limit of bound parameters

TITLES = {
    "citizen_id": [
        "Số CCCD",
        "Số căn cước công dân",
        "Số căn cước",
        "CCCD",
        "Số định danh cá nhân",
    ],
    "full_name": ["Họ và tên", "Họ tên", "Họ và tên đảng viên"],
    "branch_code": ["Mã chi bộ"],
    "month": ["Tháng", "Tháng đóng", "Đảng phí tháng"],
    "due": ["Số phải đóng", "Phải đóng", "Mức đóng", "Số phải nộp"],
    "paid": ["Số đã đóng", "Đã đóng", "Số tiền đã đóng", "Đã nộp"],
    "paid_on": ["Ngày đóng", "Ngày nộp"],
    "reason": ["Lý do chưa đóng", "Lý do"],
}
# A file must say who, where, which month and what was paid; the amount due is
# the registry's, the day is needed only for a payment, the name is checked.
REQUIRED = ["citizen_id", "branch_code", "month", "paid"]

_GROUPED = re.compile(r"[0-9]{1,3}(?:[., \u00a0][0-9]{3})+")
_CURRENCY = re.compile(r"\s*(?:đồng|đ|d|vnđ|vnd)\.?$", re.IGNORECASE)


def parse_dong(text: str) -> int | None:
    """An amount in đồng: "25000", "25.000", "25,000 đ"; empty is None."""
    text = _CURRENCY.sub("", (text or "").strip()).strip()
    if not text:
        return None
    if text.isdigit():
        return int(text)
    if _GROUPED.fullmatch(text):
        return int(re.sub(r"[., \u00a0]", "", text))
    raise CellError(
        _("'%(value)s' is not an amount in đồng (write it as 25000 or 25.000).")
        % {"value": excerpt(text)}
    )


def parse_dues_month(text: str) -> datetime.date | None:
    """The first day of the month: YYYY-MM, MM/YYYY, or a day of it."""
    text = (text or "").strip()
    if not text:
        return None
    month = parse_month(text)
    if month is None:
        try:
            day = parse_date(text)
        except CellError:
            day = None
        if day is None:
            raise CellError(
                _("'%(value)s' is not a month: write it as 2019-03 or 03/2019.")
                % {"value": excerpt(text)}
            )
        month = day
    return month_of(month)


def _name_key(name: str) -> str:
    return " ".join(fold(name).split())


def _money(amount: int) -> str:
    return f"{amount:,}".replace(",", ".")


class DuesRows:
    """The rows of a dues list, over the members it names (read once, in chunks)."""

    def __init__(self, ctx: ImportContext):
        self.ctx = ctx
        self.keys = Keys()
        self.book = RateBook.load()
        self.members: dict[str, tuple[int, str, int]] = {}  # cid -> (pk, name, branch)
        self.periods: dict[int, list[tuple[int, datetime.date, datetime.date | None]]] = (
            defaultdict(list)
        )
        self.existing: dict[tuple[int, datetime.date], DuesPayment] = {}
        self.profiles: dict[int, list[DuesProfile]] = defaultdict(list)

    def prefetch(self, columns: dict[str, int], rows) -> None:
        """Read the members the file names, their memberships, dues profiles and
        recorded months: a query or four per 900 members, whatever the registry."""
        at = columns["citizen_id"]
        cids = sorted({file_citizen_id(r.cells[at]) for r in rows if len(r.cells) > at} - {""})
        for chunk in chunks(cids, PREFETCH_CHUNK):
            for cid, pk, name, branch_id in Member.objects.filter(citizen_id__in=chunk).values_list(
                "citizen_id", "pk", "full_name", "branch_id"
            ):
                self.members[cid] = (pk, name, branch_id)
        pks = sorted(pk for pk, _name, _branch in self.members.values())
        for chunk in chunks(pks, PREFETCH_CHUNK):
            for member_id, branch_id, start, end in Membership.objects.filter(
                member_id__in=chunk
            ).values_list("member_id", "branch_id", "started_on", "ended_on"):
                self.periods[member_id].append((branch_id, start, end))
            for profile in DuesProfile.objects.filter(member_id__in=chunk).order_by("valid_from"):
                self.profiles[profile.member_id].append(profile)
            for payment in DuesPayment.objects.filter(member_id__in=chunk).select_related(
                "meeting"
            ):
                self.existing[(payment.member_id, payment.month)] = payment

    def _member(self, row: ImportRow, cid: str, branch, month: datetime.date):
        """The member of the row, when they were in `branch` in `month`; else the
        row's error, saying nothing of a member outside the importer's communes."""
        ctx = self.ctx
        found = self.members.get(cid)
        if found is None:
            if ctx.scoped:
                ctx.outside(row, "citizen_id", cid)
            else:
                row.error(
                    "citizen_id", _("No member has this citizen ID: import the members first."), cid
                )
            return None
        pk, name, current_branch = found
        month_end = add_months(month, 1) - datetime.timedelta(days=1)
        if any(
            branch_id == branch.pk and start <= month_end and (end is None or end >= month)
            for branch_id, start, end in self.periods[pk]
        ):
            return found
        if not ctx.covers(ctx.branches.by_id[current_branch].commune_id):
            ctx.outside(row, "citizen_id", cid)
        else:
            row.error(
                "branch_code",
                _("%(name)s was not a member of branch %(branch)s (code %(code)s) in %(month)s.")
                % {
                    "name": name,
                    "branch": branch.name,
                    "code": branch.code,
                    "month": month.strftime("%m/%Y"),
                },
            )
        return None

    def row(self, row: ImportRow) -> RowPlan | None:
        ctx = self.ctx
        cid = row.citizen_id()
        month = row.parsed("month", parse_dues_month, required=True)
        if month is not None and month > add_months(month_of(ctx.today), MAX_AHEAD):
            row.error(
                "month",
                _("%(month)s is more than a year ahead: dues are paid at most 12 months ahead.")
                % {"month": month.strftime("%m/%Y")},
            )
            month = None
        branch = ctx.branch(row, month) if month is not None else None
        paid = row.parsed("paid", parse_dong, required=True)
        due_written = row.parsed("due", parse_dong)
        paid_on = row.date("paid_on", today=ctx.today)
        reason = row.text("reason", max_length=200)
        name = row.text("full_name")
        if row.failed or month is None or branch is None or paid is None:
            return None
        member = self._member(row, cid, branch, month)
        if member is None:
            return None
        pk, registry_name, _current = member
        if name and _name_key(name) != _name_key(registry_name):
            row.error(
                "full_name",
                _("This citizen ID is %(registry)s's in the registry, not %(file)s's.")
                % {"registry": registry_name, "file": excerpt(name)},
            )
            return None
        if not self.keys.check(row, "month", (pk, month)):
            return None
        existing = self.existing.get((pk, month))
        computed = due_for(self.book, self.profiles[pk], month)
        held = {computed} | ({existing.due} if existing is not None else set())
        if due_written is not None and due_written not in held:
            row.error(
                "due",
                _(
                    "The registry computes %(computed)s đ due for %(month)s from the member's "
                    "dues category and the rates of that month, not %(written)s đ: record the "
                    "member's category and base from that month first, then import again."
                )
                % {
                    "computed": _money(computed),
                    "written": _money(due_written),
                    "month": month.strftime("%m/%Y"),
                },
            )
            return None
        due = due_written if due_written is not None else computed
        if existing is not None and due_written is None:
            due = existing.due
        if paid > due:
            row.error(
                "paid",
                _(
                    "%(amount)s đ is more than the %(due)s đ due for %(month)s; a month paid "
                    "ahead is a row of its own."
                )
                % {"amount": _money(paid), "due": _money(due), "month": month.strftime("%m/%Y")},
            )
            return None
        if paid and paid_on is None:
            row.error("paid_on", _("The day it was paid is needed when an amount was paid."))
            return None
        if paid_on is not None and paid and paid_on < add_months(month, -MAX_AHEAD):
            row.error(
                "paid_on",
                _("Paid on %(day)s, more than a year before %(month)s.")
                % {"day": dmy(paid_on), "month": month.strftime("%m/%Y")},
            )
            return None
        if not paid and paid_on is not None:
            row.notice("paid_on", _("nothing was paid: the day is left out"))
            paid_on = None
        if paid >= due and reason:
            row.notice("reason", _("paid in full: the reason is left out"))
            reason = ""
        values = {
            "branch_id": branch.pk,
            "due": due,
            "paid": paid,
            "paid_on": paid_on,
            "reason": reason,
        }
        key = f"{cid} {month:%Y-%m}"
        label = f"{registry_name} {month:%m/%Y}"
        if existing is None:
            return RowPlan(
                row.number, CREATE, key, label, obj=DuesPayment(member_id=pk, month=month, **values)
            )
        if all(getattr(existing, field) == value for field, value in values.items()):
            return RowPlan(row.number, UNCHANGED, key, label, obj=existing)
        if existing.meeting is not None:
            row.error(
                "paid",
                _(
                    "The dues of %(month)s were recorded at the meeting of %(day)s: change them "
                    "on that meeting's dues page, not by a file."
                )
                % {"month": month.strftime("%m/%Y"), "day": dmy(existing.meeting.date)},
            )
            return None
        diffs: list = []
        changed = changes(existing, values, diffs)
        by_id = ctx.branches.by_id
        diffs = [
            ("branch_code", by_id[int(old)].code, by_id[int(new)].code)
            if column == "branch_id"
            else (column, old, new)
            for column, old, new in diffs
        ]
        return RowPlan(row.number, UPDATE, key, label, changed, obj=existing, diffs=diffs)


def register() -> None:
    """Add the dues list to the import (MeetingsConfig.ready)."""
    from members.io.extra_imports import register_import

    register_import(
        "dues",
        label=gettext_lazy("Party dues (a branch's book)"),
        model=DuesPayment,
        headers=DUES_EXPORT_HEADERS,
        titles=TITLES,
        required=REQUIRED,
        validator=DuesRows,
    )
