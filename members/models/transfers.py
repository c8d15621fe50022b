"""Transfers: a member moving between branches step by step, with the
introduction letter (Quy định 29-QĐ/TW)."""

import datetime

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext
from simple_history.models import HistoricalRecords

from branches.models import Branch, Commune
from pacnam.lib.dates import add_working_days, two_levels
from pacnam.lib.fields import actor_field

from .members import Member


class TransferKind(models.TextChoices):
    OFFICIAL = "official", _("official transfer")
    TEMPORARY = "temporary", _("temporary transfer")


class TransferScope(models.TextChoices):
    WITHIN_COMMUNE = "within_commune", _("within the commune")
    BETWEEN_COMMUNES = "between_communes", _("between communes of the district")
    OUT_OF_DISTRICT = "out_of_district", _("out of the district")
    INTO_DISTRICT = "into_district", _("into the district")


def _province_words() -> dict[str, str]:
    # The same stored scopes, in the words of the two-level government: the level
    # above a commune is the province.
    return {
        TransferScope.BETWEEN_COMMUNES: pgettext("two levels", "between communes of the province"),
        TransferScope.OUT_OF_DISTRICT: pgettext("two levels", "out of the province"),
        TransferScope.INTO_DISTRICT: pgettext("two levels", "into the province"),
    }


def scope_label(scope: str, day: datetime.date | None = None) -> str:
    """A transfer's scope as read on `day`: "trong huyện" before 1 July 2025,
    "trong tỉnh" from then on (today when `day` is empty)."""
    if two_levels(day) and scope in _province_words():
        return _province_words()[scope]
    return str(TransferScope(scope).label)


class TransferStatus(models.TextChoices):
    REQUESTED = "requested", _("requested")
    LETTER_ISSUED = "letter_issued", _("letter issued")
    RECEIVED = "received", _("received")
    CANCELLED = "cancelled", _("cancelled")
    REFUSED = "refused", _("refused")


# "In progress": asked for and not yet finished. A transfer out of the district
# is finished when its letter is issued (the member has left us), so a letter
# issued for it is not in progress any more.
TRANSFER_IN_PROGRESS = Q(status=TransferStatus.REQUESTED) | (
    Q(status=TransferStatus.LETTER_ISSUED) & ~Q(scope=TransferScope.OUT_OF_DISTRICT)
)


class TransferQuerySet(models.QuerySet):
    def in_progress(self):
        return self.filter(TRANSFER_IN_PROGRESS)

    def visible_to(self, scope):
        """Transfers the scope sees: either end in one of its branches."""
        if scope.sees_all:
            return self
        # Values, not a subquery: PostgreSQL then ORs the two branch indexes.
        ids = sorted(scope.branch_ids)
        return self.filter(Q(from_branch_id__in=ids) | Q(to_branch_id__in=ids))


class Transfer(models.Model):
    """One member moving from one branch to another, step by step.

    `member` is empty for a transfer into the district until it is received:
    the newcomer's details wait in `incoming` (the fields of a Member) and the
    member is created on receipt. A returning member is linked from the start.
    """

    member = models.ForeignKey(
        Member,
        verbose_name=_("member"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="transfers",
    )
    incoming = models.JSONField(
        _("details of the incoming member"),
        default=dict,
        blank=True,
        help_text=_("For a transfer into the district: the member's details until receipt."),
    )
    kind = models.CharField(_("kind"), max_length=10, choices=TransferKind.choices)
    scope = models.CharField(_("scope"), max_length=20, choices=TransferScope.choices)
    status = models.CharField(
        _("status"), max_length=15, choices=TransferStatus.choices, default=TransferStatus.REQUESTED
    )
    from_branch = models.ForeignKey(
        Branch,
        verbose_name=_("from branch"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="transfers_out",
    )
    to_branch = models.ForeignKey(
        Branch,
        verbose_name=_("to branch"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="transfers_in",
    )
    # The other end, outside the district: where the member goes or comes from.
    other_organisation = models.CharField(_("other Party organisation"), max_length=200, blank=True)
    other_address = models.CharField(_("its address"), max_length=250, blank=True)
    reason = models.CharField(_("reason for the transfer"), max_length=250, blank=True)
    # The change of job or residence that calls for an official transfer: the
    # member must start it within TRANSFER_START_DEADLINE_WORKING_DAYS of it.
    moved_on = models.DateField(_("date of the change of job or residence"), null=True, blank=True)
    planned_end = models.DateField(
        _("planned end"), null=True, blank=True, help_text=_("Temporary transfers only.")
    )
    # The letter: numbered per commune (the sending one) and year, "Số 12/GGT".
    letter_commune = models.ForeignKey(
        Commune,
        verbose_name=_("letter issued in the series of"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    letter_year = models.PositiveSmallIntegerField(_("letter year"), null=True, blank=True)
    letter_number = models.PositiveIntegerField(_("letter number"), null=True, blank=True)
    letter_date = models.DateField(_("letter date"), null=True, blank=True)
    letter_signer_title = models.CharField(_("signer's title"), max_length=150, blank=True)
    received_on = models.DateField(
        _("received on"), null=True, blank=True, help_text=_("The day the move takes effect.")
    )
    closing_reason = models.CharField(
        _("reason for cancelling or refusing"), max_length=250, blank=True
    )
    # Each step: who and when.
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    requested_at = models.DateTimeField(_("requested at"), default=timezone.now)
    # The date on the member's application, which may be earlier than the day
    # it is entered here; the letter cannot be dated before it.
    requested_on = models.DateField(_("date of the request"), default=timezone.localdate)
    letter_issued_by = actor_field(_("letter issued by"))
    letter_issued_at = models.DateTimeField(_("letter issued at"), null=True, blank=True)
    received_by = actor_field(_("receipt recorded by"))
    received_at = models.DateTimeField(_("receipt recorded at"), null=True, blank=True)
    closed_by = actor_field(_("cancelled or refused by"))
    closed_at = models.DateTimeField(_("cancelled or refused at"), null=True, blank=True)

    # In the audit trail with who and when.
    history = HistoricalRecords()

    objects = TransferQuerySet.as_manager()

    class Meta:
        verbose_name = _("transfer")
        verbose_name_plural = _("transfers")
        ordering = ["-requested_at", "-pk"]
        constraints = [
            # "A member has at most one transfer in progress", as a partial
            # unique index: the last line if two requests race past the lock.
            models.UniqueConstraint(
                fields=["member"], condition=TRANSFER_IN_PROGRESS, name="one_transfer_in_progress"
            ),
            # The start deadline counts from a change of job or residence, which
            # only an official transfer follows.
            models.CheckConstraint(
                condition=Q(moved_on__isnull=True) | Q(kind="official"),
                name="transfer_moved_on_only_official",
            ),
            models.UniqueConstraint(
                fields=["letter_commune", "letter_year", "letter_number"],
                name="letter_number_unique_per_commune_and_year",
            ),
            models.CheckConstraint(
                condition=Q(member__isnull=False) | Q(scope="into_district"),
                name="transfer_has_member_unless_incoming",
            ),
            models.CheckConstraint(
                condition=(Q(kind="temporary") & Q(planned_end__isnull=False))
                | (Q(kind="official") & Q(planned_end__isnull=True)),
                name="transfer_planned_end_iff_temporary",
            ),
            models.CheckConstraint(
                condition=(
                    Q(
                        scope__in=["within_commune", "between_communes"],
                        from_branch__isnull=False,
                        to_branch__isnull=False,
                    )
                    | Q(scope="out_of_district", from_branch__isnull=False, to_branch__isnull=True)
                    & ~Q(other_organisation="")
                    | Q(scope="into_district", from_branch__isnull=True, to_branch__isnull=False)
                    & ~Q(other_organisation="")
                ),
                name="transfer_ends_match_scope",
            ),
            models.CheckConstraint(
                condition=Q(letter_number__isnull=True)
                | Q(
                    letter_commune__isnull=False,
                    letter_year__isnull=False,
                    letter_date__isnull=False,
                ),
                name="transfer_letter_number_complete",
            ),
            models.CheckConstraint(
                condition=Q(letter_date__isnull=True) | Q(letter_date__gte=F("requested_on")),
                name="transfer_letter_after_request",
            ),
            models.CheckConstraint(
                condition=Q(received_on__isnull=True) | Q(received_on__gte=F("requested_on")),
                name="transfer_received_after_request",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["requested", "cancelled", "refused"])
                | Q(status="received", scope="into_district")
                | Q(letter_issued_at__isnull=False, letter_number__isnull=False),
                name="transfer_letter_recorded_once_issued",
            ),
            models.CheckConstraint(
                condition=~Q(status="received")
                | Q(received_at__isnull=False, received_on__isnull=False, member__isnull=False),
                name="transfer_receipt_recorded",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["cancelled", "refused"])
                | (Q(closed_at__isnull=False) & ~Q(closing_reason="")),
                name="transfer_closing_has_reason",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "letter_date"], name="transfer_status_letter"),
        ]

    def __str__(self) -> str:
        return f"{self.member_name}: {self.from_label} → {self.to_label}"

    @property
    def member_name(self) -> str:
        if self.member is not None:
            return self.member.full_name
        return self.incoming.get("full_name", "")

    @property
    def from_label(self) -> str:
        return self.from_branch.name if self.from_branch is not None else self.other_organisation

    @property
    def to_label(self) -> str:
        return self.to_branch.name if self.to_branch is not None else self.other_organisation

    @property
    def scope_label(self) -> str:
        return scope_label(self.scope, self.requested_on)

    def next_step(self) -> str:
        """Who takes the next step and what it is, as the transfer page says it
        to everyone who sees it (also to those who cannot take it); empty once
        the transfer is finished. The same rules as the services' checks: a
        commune committee inside its commune, the officers' board across
        communes, the receiving commune's committee for the receipt."""
        if not self.is_in_progress:
            return ""
        # By the table's constraints: a transfer into the district has its receiving
        # branch, any other its sending one; one in progress after its letter, both.
        sender, receiver = self.from_branch, self.to_branch
        if self.status == TransferStatus.REQUESTED and self.scope == TransferScope.INTO_DISTRICT:
            assert receiver is not None
            return str(
                _("Next: the %(commune)s commune Party committee records the receipt.")
                % {"commune": receiver.commune}
            )
        if self.status == TransferStatus.REQUESTED:
            if self.scope == TransferScope.WITHIN_COMMUNE:
                assert sender is not None
                return str(
                    _(
                        "Next: the %(commune)s commune Party committee issues the introduction letter."
                    )
                    % {"commune": sender.commune}
                )
            if two_levels():
                return pgettext(
                    "two levels",
                    "Next: the province committee's organisation board issues the introduction letter.",
                )
            return str(
                _(
                    "Next: the district committee's organisation board issues the introduction letter."
                )
            )
        assert receiver is not None
        return str(
            _(
                "Next: the member presents the letter to %(branch)s; the %(commune)s commune "
                "Party committee records the receipt."
            )
            % {"branch": receiver.name, "commune": receiver.commune}
        )

    @property
    def letter_reference(self) -> str:
        if self.letter_number is None:
            return ""
        return f"{self.letter_number}/GGT"

    @property
    def is_in_progress(self) -> bool:
        return self.status == TransferStatus.REQUESTED or (
            self.status == TransferStatus.LETTER_ISSUED
            and self.scope != TransferScope.OUT_OF_DISTRICT
        )

    @property
    def letter_deadline(self) -> datetime.date | None:
        """The last working day to present the letter to the receiving branch."""
        if self.letter_date is None:
            return None
        return add_working_days(self.letter_date, settings.TRANSFER_LETTER_DEADLINE_WORKING_DAYS)

    @property
    def start_deadline(self) -> datetime.date | None:
        """The last working day to start an official transfer after the member's
        change of job or residence (Quy định 29-QĐ/TW: 60 working days)."""
        if self.moved_on is None or self.kind != TransferKind.OFFICIAL:
            return None
        return add_working_days(self.moved_on, settings.TRANSFER_START_DEADLINE_WORKING_DAYS)

    @property
    def started_late(self) -> bool:
        """Requested after the start deadline: still carried out, and flagged."""
        deadline = self.start_deadline
        return deadline is not None and self.requested_on > deadline

    def is_overdue(self, today: datetime.date | None = None) -> bool:
        deadline = self.letter_deadline
        return (
            self.is_in_progress
            and self.status == TransferStatus.LETTER_ISSUED
            and deadline is not None
            and (today or timezone.localdate()) > deadline
        )
