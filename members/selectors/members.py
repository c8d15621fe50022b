"""A member's life in the registry as one dated list: memberships, transfer
steps and status changes. Three queries whatever the length of the history."""

import datetime
from dataclasses import dataclass

from django.utils import timezone
from django.utils.translation import gettext as _

from ..models import EndReason, Member, Membership, MembershipKind, MemberStatus, Transfer


@dataclass(frozen=True)
class TimelineEvent:
    date: datetime.date
    kind: str  # "membership_start", "membership_end", "transfer", "status"
    text: str
    detail: str = ""


def _local(moment: datetime.date | datetime.datetime) -> datetime.date:
    return timezone.localdate(moment) if isinstance(moment, datetime.datetime) else moment


def member_timeline(member: Member) -> list[TimelineEvent]:
    """Every dated event of `member`, oldest first."""
    events: list[TimelineEvent] = []
    for ms in (
        Membership.objects.filter(member=member)
        .select_related("branch")
        .order_by("started_on", "pk")
    ):
        if (
            ms.ended_on is not None
            and ms.ended_on == ms.started_on
            and ms.end_reason == EndReason.UNDONE
        ):
            continue  # a move cancelled by an undo never took effect
        kind = _("temporary attachment to") if ms.kind == MembershipKind.TEMPORARY else _("joined")
        events.append(TimelineEvent(ms.started_on, "membership_start", f"{kind} {ms.branch.name}"))
        if ms.ended_on is not None and (
            ms.kind != MembershipKind.TEMPORARY or ms.ended_on <= timezone.localdate()
        ):
            events.append(
                TimelineEvent(
                    ms.ended_on,
                    "membership_end",
                    _("left %(branch)s") % {"branch": ms.branch.name},
                    ms.get_end_reason_display(),
                )
            )
    transfers = Transfer.objects.filter(member=member).select_related("from_branch", "to_branch")
    for t in transfers:
        route = f"{t.from_label} → {t.to_label}"
        events.append(TimelineEvent(t.requested_on, "transfer", _("transfer requested"), route))
        if t.letter_date:
            events.append(
                TimelineEvent(
                    t.letter_date,
                    "transfer",
                    _("introduction letter no. %(ref)s issued") % {"ref": t.letter_reference},
                    route,
                )
            )
        if t.received_on:
            events.append(
                TimelineEvent(t.received_on, "transfer", _("received by the new branch"), route)
            )
        if t.closed_at:
            events.append(
                TimelineEvent(
                    _local(t.closed_at),
                    "transfer",
                    _("transfer %(status)s") % {"status": t.get_status_display()},
                    t.closing_reason,
                )
            )
    previous = None
    for record in member.history.order_by("history_date", "history_id").only(
        "history_date", "status", "left_on", "history_id"
    ):
        if previous is not None and record.status != previous:
            day = (
                record.left_on
                if record.status == MemberStatus.LEFT and record.left_on
                else _local(record.history_date)
            )
            events.append(
                TimelineEvent(
                    day,
                    "status",
                    _("status: %(status)s") % {"status": MemberStatus(record.status).label},
                )
            )
        previous = record.status
    order = {"membership_end": 0, "status": 1, "transfer": 2, "membership_start": 3}
    events.sort(key=lambda e: (e.date, order[e.kind]))
    return events
