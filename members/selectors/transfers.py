"""Reads of transfers reused by pages and reports, each in a fixed number of queries."""

import datetime

from django.conf import settings
from django.utils import timezone

from branches.access import Scope
from pacnam.lib.dates import is_working_day

from ..models import Transfer, TransferScope, TransferStatus
from ..models.transfers import TransferQuerySet


def letter_overdue_cutoff(today: datetime.date | None = None) -> datetime.date:
    """The latest letter date whose deadline has passed by `today`.

    The deadline grows with the letter date, so "overdue" is "letter dated on
    or before this day" and the database can filter on it.
    """
    today = today or timezone.localdate()
    # A letter's deadline is before today when its n working days all fall before
    # today, that is when it is dated before the n-th working day before today.
    # Counted back once (every dashboard asks), not by trying day after day.
    day, left = today, settings.TRANSFER_LETTER_DEADLINE_WORKING_DAYS
    while left:
        day -= datetime.timedelta(days=1)
        if is_working_day(day):
            left -= 1
    return day - datetime.timedelta(days=1)


def _with_relations(qs: TransferQuerySet) -> TransferQuerySet:
    return qs.select_related(
        "member", "from_branch", "to_branch", "from_branch__commune", "to_branch__commune"
    )


def transfers_in_progress(scope: Scope) -> TransferQuerySet:
    """Transfers in progress that either end of which `scope` sees, oldest first."""
    return _with_relations(Transfer.objects.visible_to(scope).in_progress()).order_by(
        "requested_at", "pk"
    )


def overdue_transfers(scope: Scope, today: datetime.date | None = None) -> TransferQuerySet:
    """Letters issued and not presented to the receiving branch within the deadline
    (settings.TRANSFER_LETTER_DEADLINE_WORKING_DAYS working days), for the
    district and for the communes at either end."""
    return (
        _with_relations(Transfer.objects.visible_to(scope))
        .filter(status=TransferStatus.LETTER_ISSUED, letter_date__lte=letter_overdue_cutoff(today))
        .exclude(scope=TransferScope.OUT_OF_DISTRICT)
        .order_by("letter_date", "pk")
    )
