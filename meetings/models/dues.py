"""Party dues (đảng phí): the rates of the regulation in force, each member's
dues category and monthly base in time, and what each member paid each month.

Rates are data, dated, never code: Quyết định 342-QĐ/TW (28/12/2010) until
31/01/2026, Quy định 01-QĐ/TW from 01/02/2026 (migration 0007 loads both).
A rate or share the text could not be checked against is `confirmed=False`
with a note saying what is uncertain, so a page can say so.

The amount due of a month is computed (meetings.selectors.dues: profile in
force × rate in force) and stored on the payment when it is recorded, so the
branch's book of a past year keeps its figures when a rate is corrected later.
"""

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from branches.models import Branch
from members.models import Member
from pacnam.lib.fields import actor_field

from .meetings import Meeting


class DuesCategory(models.TextChoices):
    """Who pays what, in the words of the regulation (342-QĐ/TW, 01-QĐ/TW)."""

    SALARY = "salary", _("salaried: a share of salary and allowances")
    ALLOWANCE = "allowance", _("commune or village worker paid a monthly allowance")
    PENSION = "pension", _("retired: a share of the pension")
    RURAL = "rural", _("farmer or other member without salary, in the countryside")
    URBAN = "urban", _("member without salary, in a town")
    STUDENT = "student", _("pupil or student without salary")
    EXEMPT = "exempt", _("exempted from dues by the commune committee")


class RateKind(models.TextChoices):
    PERCENT = "percent", _("share of the monthly base (%)")
    FIXED = "fixed", _("fixed amount a month (đồng)")


class DuesRate(models.Model):
    """What one category pays, for a period: both days included, empty: still."""

    category = models.CharField(_("category"), max_length=12, choices=DuesCategory.choices)
    kind = models.CharField(_("kind"), max_length=8, choices=RateKind.choices)
    # A percentage (1.000 = 1 %) or an amount in đồng, by `kind`.
    value = models.DecimalField(_("value"), max_digits=12, decimal_places=3)
    valid_from = models.DateField(_("valid from"))
    valid_to = models.DateField(_("valid until"), null=True, blank=True)
    confirmed = models.BooleanField(
        _("checked against the text"),
        default=False,
        help_text=_("Off while the figure comes from a report of the text, not the text itself."),
    )
    source = models.CharField(_("source"), max_length=200)
    note = models.TextField(_("note"), blank=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("dues rate")
        verbose_name_plural = _("dues rates")
        ordering = ["category", "valid_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["category", "valid_from"], name="dues_rate_starts_once"
            ),
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gte=F("valid_from")),
                name="dues_rate_dates_in_order",
            ),
            models.CheckConstraint(condition=Q(value__gte=0), name="dues_rate_not_negative"),
            models.CheckConstraint(
                condition=~Q(kind="percent") | Q(value__lte=100),
                name="dues_rate_percent_at_most_100",
            ),
        ]

    def __str__(self) -> str:
        unit = "%" if self.kind == RateKind.PERCENT else "đ"
        return f"{self.get_category_display()}: {self.value.normalize():f} {unit}"


class DuesLevel(models.TextChoices):
    # A village branch is a branch under the commune's grassroots committee
    # (chi bộ trực thuộc đảng ủy cơ sở).
    BRANCH = "branch", _("branch under a commune committee")
    COMMUNE = "commune", _("commune Party committee")


class DuesShare(models.Model):
    """The share of the dues a level keeps; the rest it sends up. Dated data."""

    level = models.CharField(_("level"), max_length=10, choices=DuesLevel.choices)
    keep_percent = models.DecimalField(_("share kept (%)"), max_digits=6, decimal_places=3)
    valid_from = models.DateField(_("valid from"))
    valid_to = models.DateField(_("valid until"), null=True, blank=True)
    confirmed = models.BooleanField(_("checked against the text"), default=False)
    source = models.CharField(_("source"), max_length=200)
    note = models.TextField(_("note"), blank=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("share of dues kept")
        verbose_name_plural = _("shares of dues kept")
        ordering = ["level", "valid_from"]
        constraints = [
            models.UniqueConstraint(fields=["level", "valid_from"], name="dues_share_starts_once"),
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gte=F("valid_from")),
                name="dues_share_dates_in_order",
            ),
            models.CheckConstraint(
                condition=Q(keep_percent__gte=0, keep_percent__lte=100),
                name="dues_share_is_a_percentage",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_level_display()}: {self.keep_percent.normalize():f} %"


class DuesProfile(models.Model):
    """A member's dues category and monthly base from a month on, until the next
    profile: a history with one start per month, so two profiles never overlap
    (a start-only history cannot; no range constraint is needed)."""

    member = models.ForeignKey(
        Member, verbose_name=_("member"), on_delete=models.PROTECT, related_name="dues_profiles"
    )
    # The first day of the first month it applies to.
    valid_from = models.DateField(_("from the month of"))
    category = models.CharField(_("category"), max_length=12, choices=DuesCategory.choices)
    # In đồng: the salary and allowances (or pension) the percentage is of; 0
    # for the categories that pay a fixed amount.
    base = models.PositiveBigIntegerField(_("monthly base (đồng)"), default=0)
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_by = actor_field(keep_user=False)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("dues profile")
        verbose_name_plural = _("dues profiles")
        ordering = ["member", "valid_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["member", "valid_from"], name="dues_profile_starts_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.member} – {self.get_category_display()} ({self.valid_from:%m/%Y})"


class DuesPayment(models.Model):
    """One member's dues for one month: what was due, what was paid, when, and
    why not. A month paid ahead is its own row, collected at an earlier meeting."""

    member = models.ForeignKey(
        Member, verbose_name=_("member"), on_delete=models.PROTECT, related_name="dues_payments"
    )
    # The branch that collected it: the branch's book, and the commune's totals by
    # the commune the branch was in that month.
    branch = models.ForeignKey(
        Branch, verbose_name=_("branch"), on_delete=models.PROTECT, related_name="dues_payments"
    )
    # The first day of the month the dues are for.
    month = models.DateField(_("month"))
    due = models.PositiveBigIntegerField(_("due (đồng)"))
    paid = models.PositiveBigIntegerField(_("paid (đồng)"), default=0)
    paid_on = models.DateField(_("paid on"), null=True, blank=True)
    reason = models.CharField(_("reason for not paying"), max_length=200, blank=True)
    meeting = models.ForeignKey(
        Meeting,
        verbose_name=_("collected at"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="dues_payments",
    )
    recorded_by = actor_field(keep_user=False)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("dues payment")
        verbose_name_plural = _("dues payments")
        ordering = ["month", "member__folded_name", "pk"]
        constraints = [
            # A month is paid once, wherever: two secretaries recording the same
            # roll at once cannot both insert it.
            models.UniqueConstraint(fields=["member", "month"], name="dues_one_payment_a_month"),
            models.CheckConstraint(
                condition=Q(paid=0) | Q(paid_on__isnull=False), name="dues_paid_has_a_date"
            ),
        ]
        indexes = [
            models.Index(fields=["branch", "month"], name="dues_branch_month"),
            models.Index(fields=["month", "branch"], name="dues_month_branch"),
        ]

    def __str__(self) -> str:
        return f"{self.member} – {self.month:%m/%Y}"

    @property
    def owed(self) -> int:
        return max(self.due - self.paid, 0)

    @property
    def in_advance(self) -> bool:
        """Paid at a meeting of an earlier month."""
        if self.meeting_id is None:
            return False
        assert self.meeting is not None
        return self.meeting.date.replace(day=1) < self.month

    @property
    def unpaid_without_reason(self) -> bool:
        """Counts toward the Party Charter's three months in a year."""
        return self.paid < self.due and not self.reason
