"""Reads of Party dues: what a member owes for a month (profile in force × rate
in force), a meeting's dues roll, a branch's dues book, who is behind, and the
Party Charter's three months in a year. Each read is a fixed number of queries.

A month owed "without a good reason" is a recorded month paid less than due
with no reason given; the branch decides what follows (never the registry).
"""

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.conf import settings
from django.db.models import Count, F, Q, Sum

from branches.access import Scope
from branches.models import Commune
from members.models import Member
from pacnam.lib.rowstamps import row_stamp

from .models import (
    Attendance,
    DuesLevel,
    DuesPayment,
    DuesProfile,
    DuesRate,
    DuesShare,
    Meeting,
    Presence,
    RateKind,
    Standing,
)
from .selectors import TOOK_PLACE


def month_of(day: datetime.date) -> datetime.date:
    return day.replace(day=1)


def _round(amount: Decimal) -> int:
    return int(amount.quantize(Decimal(1), rounding=ROUND_HALF_UP))


@dataclass
class RateBook:
    """The rates and shares of every period, read once (two queries)."""

    rates: dict = field(default_factory=dict)
    shares: dict = field(default_factory=dict)

    @classmethod
    def load(cls) -> "RateBook":
        book = cls()
        for rate in DuesRate.objects.order_by("valid_from"):
            book.rates.setdefault(rate.category, []).append(rate)
        for share in DuesShare.objects.order_by("valid_from"):
            book.shares.setdefault(share.level, []).append(share)
        return book

    @staticmethod
    def _on(rows, month):
        for row in reversed(rows):
            if row.valid_from <= month and (row.valid_to is None or row.valid_to >= month):
                return row
        return None

    def rate_on(self, category: str, month: datetime.date):
        return self._on(self.rates.get(category, []), month)

    def due(self, category: str, base: int, month: datetime.date) -> int:
        """The amount due in đồng; 0 when no rate covers the month."""
        rate = self.rate_on(category, month)
        if rate is None:
            return 0
        if rate.kind == RateKind.PERCENT:
            return _round(Decimal(base) * rate.value / 100)
        return _round(rate.value)

    def keep_percent(self, level: str, month: datetime.date) -> Decimal:
        share = self._on(self.shares.get(level, []), month)
        return share.keep_percent if share else Decimal(0)

    def kept(self, level: str, month: datetime.date, amount: int) -> int:
        return _round(Decimal(amount) * self.keep_percent(level, month) / 100)


def profiles_of(member_ids) -> dict[int, list[DuesProfile]]:
    """Each member's dues profiles, oldest first (one query)."""
    profiles: dict[int, list[DuesProfile]] = defaultdict(list)
    for profile in DuesProfile.objects.filter(member_id__in=list(member_ids)).order_by(
        "valid_from"
    ):
        profiles[profile.member_id].append(profile)
    return profiles


def profile_on(profiles: list[DuesProfile], month: datetime.date):
    """The profile in force in `month`: the latest begun by then (None: the default)."""
    found = None
    for profile in profiles:
        if profile.valid_from <= month:
            found = profile
    return found


def due_for(book: RateBook, profiles: list[DuesProfile], month: datetime.date) -> int:
    profile = profile_on(profiles, month)
    if profile is None:
        return book.due(settings.DUES_DEFAULT_CATEGORY, 0, month)
    return book.due(profile.category, profile.base, month)


def pays_here(line: Attendance) -> bool:
    """Whether the member on this roll line pays dues at this branch: everyone on
    the roster (exempt and suspended members still pay), except a member attached
    elsewhere for the while, who pays at one of the two branches by the setting."""
    at_temporary = settings.DUES_TEMPORARY_PAYS_AT == "temporary"
    if line.standing == Standing.AWAY:
        return not at_temporary
    if line.temporary:
        return at_temporary
    return True


def dues_state(payment: DuesPayment | None, ahead: int) -> tuple:
    """A member's dues of a meeting's month as a form shows and edits them, for
    its stamp (pacnam.lib.rowstamps): the amount paid (None when nothing is
    recorded), the reason, the months paid ahead at this meeting."""
    if payment is None:
        return (None, "", ahead)
    return (payment.paid, payment.reason, ahead)


def meeting_dues_sheet(meeting: Meeting, *, ahead: int = 12) -> list[dict]:
    """One row per member who pays at this meeting: what is due this month, what is
    recorded for it, months paid ahead, and months of the year still owed.
    Four queries (roll, profiles, payments, rates and shares)."""
    month = month_of(meeting.date)
    lines = [
        line
        for line in Attendance.objects.filter(meeting=meeting)
        .select_related("member")
        .order_by("member__folded_name", "pk")
        if pays_here(line)
    ]
    ids = [line.member_id for line in lines]
    profiles = profiles_of(ids)
    payments: defaultdict[int, dict[datetime.date, DuesPayment]] = defaultdict(dict)
    last = month.replace(year=month.year + 1)
    for payment in DuesPayment.objects.filter(
        member_id__in=ids, month__gte=month.replace(month=1), month__lt=last
    ).select_related("meeting"):
        payments[payment.member_id][payment.month] = payment
    book = RateBook.load()
    rows = []
    for line in lines:
        mine = payments[line.member_id]
        current = mine.get(month)
        ahead_here = sum(1 for m, p in mine.items() if m > month and p.meeting_id == meeting.pk)
        rows.append(
            {
                "member": line.member,
                "standing": line.standing,
                "due": due_for(book, profiles[line.member_id], month),
                "payment": current,
                # Recorded at another meeting (paid ahead earlier): not changed here.
                "elsewhere": current is not None and current.meeting_id not in (None, meeting.pk),
                "ahead": ahead_here,
                "stamp": row_stamp(dues_state(current, ahead_here)),
                "owed_before": [p for m, p in sorted(mine.items()) if m < month and p.owed],
            }
        )
    return rows


def branch_dues_book(branch, year: int) -> dict:
    """The branch's dues book (sổ thu đảng phí) of a year: per member and month,
    due, paid and owed; per month the totals, the share kept and what is sent up.
    Three queries (payments with members, rates, shares)."""
    months = [datetime.date(year, m, 1) for m in range(1, 13)]
    payments = (
        DuesPayment.objects.filter(branch=branch, month__year=year)
        .select_related("member")
        .order_by("member__folded_name", "member_id", "month")
    )
    members: dict[int, dict] = {}
    totals = {m: {"due": 0, "paid": 0} for m in months}
    for p in payments:
        row = members.setdefault(
            p.member_id, {"member": p.member, "cells": {}, "due": 0, "paid": 0}
        )
        row["cells"][p.month] = p
        row["due"] += p.due
        row["paid"] += p.paid
        totals[p.month]["due"] += p.due
        totals[p.month]["paid"] += p.paid
    book = RateBook.load()
    for m in months:
        t = totals[m]
        t["owed"] = max(t["due"] - t["paid"], 0)
        t["kept"] = book.kept(DuesLevel.BRANCH, m, t["paid"])
        t["sent_up"] = t["paid"] - t["kept"]
    rows = []
    for row in members.values():
        row["owed"] = max(row["due"] - row["paid"], 0)
        row["months"] = [row["cells"].get(m) for m in months]
        rows.append(row)
    year_total = {k: sum(totals[m][k] for m in months) for k in totals[months[0]]}
    return {
        "months": months,
        "rows": rows,
        "totals": [totals[m] for m in months],
        "year": year_total,
        "keep_percent": book.keep_percent(DuesLevel.BRANCH, months[-1]),
    }


def _scoped(scope: Scope, qs):
    return scope.by_branch(qs)


def members_behind(scope: Scope, year: int, *, limit: int = 200) -> tuple[list[dict], int]:
    """Members with dues owed in recorded months of `year`, most owed first, with
    those months; at most `limit` and how many in all. Three queries."""
    owing = _scoped(scope, DuesPayment.objects.filter(month__year=year, paid__lt=F("due")))
    totals = list(
        owing.values("member_id")
        .annotate(owed=Sum(F("due") - F("paid")), n=Count("pk"))
        .order_by("-owed", "member_id")
    )
    shown = totals[:limit]
    ids = [row["member_id"] for row in shown]
    names = Member.objects.select_related("branch").in_bulk(ids)
    months = defaultdict(list)
    for p in owing.filter(member_id__in=ids).order_by("month"):
        months[p.member_id].append(p)
    return [
        {"member": names[row["member_id"]], "owed": row["owed"], "months": months[row["member_id"]]}
        for row in shown
    ], len(totals)


def three_month_review(scope: Scope, year: int) -> list[dict]:
    """Members who, in `year`, have three or more recorded months of dues unpaid
    without a reason, or were absent without reason from three or more meetings
    that took place: for the branch's review (Điều lệ Đảng), never a removal.
    With the months and the meetings that count. Five queries."""
    unpaid = _scoped(
        scope,
        DuesPayment.objects.filter(month__year=year, paid__lt=F("due"), reason=""),
    )
    absent = scope.by_branch(
        Attendance.objects.filter(
            standing=Standing.COUNTED,
            presence=Presence.ABSENT,
            meeting__date__year=year,
            meeting__status__in=TOOK_PLACE,
        ),
        field="meeting__branch",
    )
    by_dues = set(
        unpaid.values("member_id")
        .annotate(n=Count("pk"))
        .filter(n__gte=3)
        .values_list("member_id", flat=True)
    )
    by_absence = set(
        absent.values("member_id")
        .annotate(n=Count("pk"))
        .filter(n__gte=3)
        .values_list("member_id", flat=True)
    )
    ids = by_dues | by_absence
    months = defaultdict(list)
    for p in unpaid.filter(member_id__in=ids).order_by("month"):
        months[p.member_id].append(p.month)
    meetings = defaultdict(list)
    for a in absent.filter(member_id__in=ids).select_related("meeting").order_by("meeting__date"):
        meetings[a.member_id].append(a.meeting)
    members = Member.objects.select_related("branch").in_bulk(list(ids))
    rows: list[dict[str, Any]] = [
        {
            "member": members[pk],
            "dues_months": months[pk] if pk in by_dues else [],
            "absences": meetings[pk] if pk in by_absence else [],
        }
        for pk in ids
    ]
    rows.sort(key=lambda r: (r["member"].branch.name, r["member"].folded_name, r["member"].pk))
    return rows


def member_dues_year(member: Member, year: int) -> dict:
    """A member's statement of a year: each month's due, paid, owed (one query)."""
    payments = {
        p.month: p
        for p in DuesPayment.objects.filter(member=member, month__year=year).select_related(
            "branch"
        )
    }
    months = [datetime.date(year, m, 1) for m in range(1, 13)]
    rows = [{"month": m, "payment": payments.get(m)} for m in months]
    due = sum(p.due for p in payments.values())
    paid = sum(p.paid for p in payments.values())
    return {"rows": rows, "due": due, "paid": paid, "owed": max(due - paid, 0)}


def commune_dues_totals(scope: Scope, year: int) -> list[dict]:
    """Each commune's collection per month of `year`, counted in the commune each
    branch was in that month (a branch that moved commune in 2025 counts where it
    was): collected, kept by the branches, received and kept by the commune, and
    sent up. Three queries (payments grouped, communes, rates and shares)."""
    in_period = Q(branch__commune_periods__valid_from__lte=F("month")) | Q(
        branch__commune_periods__valid_from__isnull=True
    )
    not_ended = Q(branch__commune_periods__valid_to__isnull=True) | Q(
        branch__commune_periods__valid_to__gte=F("month")
    )
    grouped = (
        _scoped(scope, DuesPayment.objects.filter(month__year=year))
        .filter(in_period & not_ended)
        .values("branch__commune_periods__commune", "month")
        .annotate(due=Sum("due"), paid=Sum("paid"))
        .order_by()
    )
    book = RateBook.load()
    per: dict[int, dict] = defaultdict(lambda: {"due": 0, "paid": 0, "kept_branches": 0})
    communes_seen = scope.communes().values_list("pk", flat=True)
    months_by_commune: dict[int, list] = defaultdict(list)
    for row in grouped:
        commune_id, month = row["branch__commune_periods__commune"], row["month"]
        if isinstance(month, datetime.datetime):
            month = month.date()
        t = per[commune_id]
        kept = book.kept(DuesLevel.BRANCH, month, row["paid"])
        t["due"] += row["due"]
        t["paid"] += row["paid"]
        t["kept_branches"] += kept
        received = row["paid"] - kept
        t.setdefault("received", 0)
        t.setdefault("kept_commune", 0)
        t["received"] += received
        t["kept_commune"] += book.kept(DuesLevel.COMMUNE, month, received)
        months_by_commune[commune_id].append(month)
    seen = set(communes_seen) if not scope.sees_all else None
    communes = Commune.objects.in_bulk(list(per))
    rows = []
    for commune_id, t in per.items():
        if seen is not None and commune_id not in seen:
            continue
        t.setdefault("received", 0)
        t.setdefault("kept_commune", 0)
        t["sent_up"] = t["received"] - t["kept_commune"]
        t["owed"] = max(t["due"] - t["paid"], 0)
        rows.append({"commune": communes[commune_id], **t})
    rows.sort(key=lambda r: (r["commune"].code, r["commune"].valid_from or datetime.date.min))
    return rows


def dues_last_month(scope: Scope, month: datetime.date) -> dict:
    """The dashboard's tile: dues collected against dues due in `month` (one query)."""
    totals = _scoped(scope, DuesPayment.objects.filter(month=month_of(month))).aggregate(
        due=Sum("due"), paid=Sum("paid")
    )
    return {"month": month_of(month), "due": totals["due"] or 0, "paid": totals["paid"] or 0}


DUES_EXPORT_HEADERS = [
    "citizen_id",
    "full_name",
    "branch_code",
    "month",
    "due",
    "paid",
    "paid_on",
    "reason",
]


def dues_export_rows(year: int, commune: Commune | None = None):
    """Every recorded month of `year` (`registry_export dues --year`), the header
    first; a commune's: the branches that were in it that month. Streamed."""
    yield DUES_EXPORT_HEADERS
    qs = DuesPayment.objects.filter(month__year=year)
    if commune is not None:
        in_commune = (
            Q(branch__commune_periods__commune=commune)
            & (
                Q(branch__commune_periods__valid_from__isnull=True)
                | Q(branch__commune_periods__valid_from__lte=F("month"))
            )
            & (
                Q(branch__commune_periods__valid_to__isnull=True)
                | Q(branch__commune_periods__valid_to__gte=F("month"))
            )
        )
        qs = qs.filter(in_commune)
    values = qs.order_by("branch__code", "member__folded_name", "member_id", "month").values_list(
        "member__citizen_id",
        "member__full_name",
        "branch__code",
        "month",
        "due",
        "paid",
        "paid_on",
        "reason",
    )
    for cid, name, code, month, due, paid, paid_on, reason in values.iterator(chunk_size=2000):
        yield [
            cid,
            name,
            code,
            month.strftime("%Y-%m"),
            str(due),
            str(paid),
            paid_on.isoformat() if paid_on else "",
            reason,
        ]
