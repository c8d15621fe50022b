"""Members and their memberships of branches.

History is never rewritten: a move closes one dated membership and opens
another (members/services/members.py). "Who was in branch X on date D" is
`Membership.objects.roster(branch, D)`.
"""

import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import connection, models
from django.db.models import F, Q
from django.db.models.expressions import RawSQL
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from simple_history.models import HistoricalRecords

from branches.models import Branch, Village
from pacnam.lib.dates import add_years, dmy, two_levels
from pacnam.lib.text import clean_text_fields, fold

citizen_id_validator = RegexValidator(r"^[0-9]{12}$", _("A citizen ID has exactly 12 digits."))


class Gender(models.TextChoices):
    MALE = "male", _("male")
    FEMALE = "female", _("female")


class MemberStatus(models.TextChoices):
    ACTIVE = "active", pgettext_lazy("member status", "active")
    EXEMPT = "exempt", _("exempt from duties and meetings")
    SUSPENDED = "suspended", _("suspended")
    LEFT = "left", _("left")


class LeftReason(models.TextChoices):
    TRANSFERRED_OUT = "transferred_out", _("transferred out of the district")
    DIED = "died", _("died")
    # Two acts of the Party Statute: a name struck off the roll (xóa tên) and an
    # expulsion (khai trừ), a disciplinary sanction.
    REMOVED = "removed", _("removed from the Party")
    EXPELLED = "expelled", _("expelled from the Party")
    RESIGNED = "resigned", _("left the Party at their request")
    OTHER = "other", _("other")


class MemberQuerySet(models.QuerySet):
    def visible_to(self, scope):
        """Members whose current (or, for those who left, last) branch the scope sees,
        and members temporarily attached to a branch it sees.

        The two sets are read apart and joined by a UNION of ids: `branch IN (…) OR
        EXISTS (attachment)` let PostgreSQL use no index, and at a million members a
        commune secretary's list scanned the whole table to find a few hundred.
        Each half is one index range (members by branch, memberships
        by branch and dates)."""
        if scope.sees_all:
            return self
        branch_ids = sorted(scope.branch_ids)
        official = Member.objects.filter(branch_id__in=branch_ids).values("pk")
        attached = Membership.objects.filter(
            kind=MembershipKind.TEMPORARY,
            branch_id__in=branch_ids,
            ended_on__gt=timezone.localdate(),
        ).values("member_id")
        return self.filter(pk__in=official.union(attached))

    def probationary(self):
        """Probationary today: Member.is_probationary_on's rule in SQL (dates are never
        in the future, so "not full" is "no full_on")."""
        return self.filter(full_on__isnull=True).exclude(status=MemberStatus.LEFT)

    def full(self):
        return self.filter(full_on__isnull=False).exclude(status=MemberStatus.LEFT)

    def current(self):
        """Members still in the Party (active, exempt or suspended)."""
        return self.exclude(status=MemberStatus.LEFT)

    def search(self, text: str):
        """Accent-insensitive search by name, citizen ID or card number."""
        text = (text or "").strip()
        if not text:
            return self
        if text.isdigit():
            return self.filter(Q(citizen_id__startswith=text) | Q(card_number__startswith=text))
        folded = fold(text)
        if connection.vendor == "postgresql":
            # The matching distinct names through their trigram index, then the
            # members by the B-tree on folded_name (members migration 0005).
            pattern = "%" + connection.ops.prep_for_like_query(folded) + "%"
            names = RawSQL(
                "SELECT folded_name FROM members_member_name WHERE folded_name LIKE %s", [pattern]
            )
            return self.filter(folded_name__in=names)
        return self.filter(folded_name__contains=folded)


class Member(models.Model):
    citizen_id = models.CharField(
        _("citizen ID"), max_length=12, unique=True, validators=[citizen_id_validator]
    )
    full_name = models.CharField(_("full name"), max_length=100)
    # Lower-case, accent-free full name, kept by save(): "ly thi huyen".
    folded_name = models.CharField(max_length=100, editable=False, db_index=True)
    gender = models.CharField(_("gender"), max_length=10, choices=Gender.choices)
    birth_date = models.DateField(_("date of birth"))
    ethnicity = models.CharField(_("ethnicity"), max_length=50)
    residence_village = models.ForeignKey(
        Village,
        verbose_name=_("village of residence"),
        on_delete=models.PROTECT,
        related_name="residents",
    )
    position = models.CharField(_("position"), max_length=150, blank=True)
    is_commune_cadre = models.BooleanField(_("commune cadre or civil servant"), default=False)
    admitted_on = models.DateField(_("admission date"))
    full_on = models.DateField(
        _("date made full member"),
        null=True,
        blank=True,
        help_text=_("Empty while the member is probationary."),
    )
    card_number = models.CharField(
        _("Party card number"),
        max_length=20,
        blank=True,
        help_text=_("Full members only."),
    )
    status = models.CharField(
        _("status"), max_length=20, choices=MemberStatus.choices, default=MemberStatus.ACTIVE
    )
    left_on = models.DateField(_("left on"), null=True, blank=True)
    left_reason = models.CharField(
        _("reason for leaving"), max_length=20, choices=LeftReason.choices, blank=True
    )
    under_inspection = models.BooleanField(
        _("under inspection"),
        default=False,
        help_text=_("A member under inspection or with an open complaint cannot be transferred."),
    )
    # The current official branch (the last one for members who left). Kept by
    # members.services together with the memberships, in the same transaction;
    # it makes scope checks, lists and exports one join instead of a subquery.
    branch = models.ForeignKey(
        Branch,
        verbose_name=_("branch"),
        on_delete=models.PROTECT,
        related_name="members",
        editable=False,
    )
    version = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords(excluded_fields=["folded_name", "updated_at"])

    objects = MemberQuerySet.as_manager()

    class Meta:
        verbose_name = _("member")
        verbose_name_plural = _("members")
        ordering = ["folded_name", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(citizen_id__regex=r"^[0-9]{12}$"), name="member_citizen_id_12_digits"
            ),
            models.CheckConstraint(
                condition=Q(birth_date__lt=F("admitted_on")), name="member_born_before_admission"
            ),
            models.CheckConstraint(
                condition=Q(full_on__isnull=True) | Q(full_on__gte=F("admitted_on")),
                name="member_full_after_admission",
            ),
            models.UniqueConstraint(
                fields=["card_number"],
                condition=~Q(card_number=""),
                name="member_card_number_unique",
                violation_error_message=_(
                    "Card number: another member already has this Party card number."
                ),
            ),
            models.CheckConstraint(
                condition=Q(card_number="") | Q(full_on__isnull=False),
                name="member_card_only_when_full",
            ),
            models.CheckConstraint(
                condition=(Q(status="left") & Q(left_on__isnull=False) & ~Q(left_reason=""))
                | (~Q(status="left") & Q(left_on__isnull=True) & Q(left_reason="")),
                name="member_left_has_date_and_reason",
            ),
            models.CheckConstraint(
                condition=Q(left_on__isnull=True) | Q(left_on__gte=F("admitted_on")),
                name="member_left_after_admission",
            ),
        ]
        indexes = [
            models.Index(fields=["branch", "status"], name="member_branch_status"),
            models.Index(fields=["residence_village"], name="member_residence"),
            # "Due to become full members" on the dashboard: the few probationary
            # members by admission date, without scanning everyone. The id
            # is in it so that the count, which joins the candidates by
            # it, is read from the index alone: 3 ms instead of 50 ms for 17,000
            # probationary members spread over a million rows' pages.
            models.Index(
                fields=["admitted_on", "id"],
                condition=Q(full_on__isnull=True) & ~Q(status="left"),
                name="member_probation_covering",
            ),
            # The search counts the members of the matching names with an
            # index-only scan, without visiting a million rows.
            models.Index(fields=["folded_name", "status"], name="member_name_status"),
            # Admissions per year on the dashboard: a range of admission dates read
            # from the index alone, with the branch for the commune.
            models.Index(fields=["admitted_on", "branch"], name="member_admitted_branch"),
        ]

    def __str__(self) -> str:
        return self.full_name

    # The text fields stored through clean_text: NFC, trimmed, Đ not Ð.
    TEXT_FIELDS = ("full_name", "ethnicity", "position", "card_number")

    def save(self, *args, **kwargs):
        clean_text_fields(self, self.TEXT_FIELDS, names_of_people=("full_name",))
        self.folded_name = fold(self.full_name)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "full_name" in update_fields:
            kwargs["update_fields"] = {*update_fields, "folded_name"}
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("members:detail", args=[self.pk])

    @property
    def left_reason_label(self) -> str:
        # "Ra ngoài huyện" before 1 July 2025, "ra ngoài tỉnh" from then on.
        if self.left_reason == LeftReason.TRANSFERRED_OUT and two_levels(self.left_on):
            return str(pgettext_lazy("two levels", "transferred out of the province"))
        return self.get_left_reason_display()

    def is_probationary_on(self, date: datetime.date) -> bool:
        """The one definition of "probationary" (đảng viên dự bị): admitted by `date`,
        not yet made full by then, and not yet left. MemberQuerySet.probationary()
        is the same rule for today, in SQL."""
        return (
            self.admitted_on <= date
            and (self.full_on is None or self.full_on > date)
            and (self.left_on is None or self.left_on > date)
        )

    @property
    def is_probationary(self) -> bool:
        return self.is_probationary_on(timezone.localdate())

    def clean(self):
        """Rules a person can break in a form; the constraints above stay the last line."""
        errors: dict[str, list] = {}
        today = timezone.localdate()

        def add(field, message):
            errors.setdefault(field, []).append(message)

        for field in ("birth_date", "admitted_on", "full_on", "left_on"):
            value = getattr(self, field)
            if value and value > today:
                add(field, _("This date is in the future."))
        if self.birth_date and self.admitted_on:
            if self.admitted_on <= self.birth_date:
                add("admitted_on", _("The admission date must be after the date of birth."))
            elif self.admitted_on < add_years(self.birth_date, settings.MINIMUM_ADMISSION_AGE):
                add(
                    "admitted_on",
                    _("A member must be at least %(age)d years old at admission.")
                    % {"age": settings.MINIMUM_ADMISSION_AGE},
                )
        if self.full_on and self.admitted_on and self.full_on < self.admitted_on:
            add("full_on", _("A member cannot become full before being admitted."))
        if self.card_number and not self.full_on:
            add("card_number", _("Only full members have a Party card number."))
        if self.status == MemberStatus.LEFT:
            if not self.left_on:
                add("left_on", _("Give the date the member left."))
            if not self.left_reason:
                add("left_reason", _("Give the reason the member left."))
        else:
            if self.left_on:
                add("left_on", _("Only a member who left has a leaving date."))
            if self.left_reason:
                add("left_reason", _("Only a member who left has a reason for leaving."))
        if errors:
            raise ValidationError(errors)


class MembershipKind(models.TextChoices):
    OFFICIAL = "official", _("official")
    TEMPORARY = "temporary", _("temporary")


class EndReason(models.TextChoices):
    TRANSFERRED = "transferred", _("transferred to another branch")
    BRANCH_DISSOLVED = "branch_dissolved", _("branch dissolved")
    TEMPORARY_ENDED = "temporary_ended", _("temporary attachment ended")
    TRANSFERRED_OUT = "transferred_out", _("transferred out of the district")
    DIED = "died", _("died")
    # Two acts of the Party Statute: a name struck off the roll (xóa tên) and an
    # expulsion (khai trừ), a disciplinary sanction.
    REMOVED = "removed", _("removed from the Party")
    EXPELLED = "expelled", _("expelled from the Party")
    RESIGNED = "resigned", _("left the Party at their request")
    UNDONE = "undone", _("cancelled by an undo")
    OTHER = "other", _("other")


class MembershipQuerySet(models.QuerySet):
    def on(self, date: datetime.date):
        """Memberships running on `date`: started on or before it, not yet ended.

        A membership covers [started_on, ended_on): on the day of a move the
        member counts in the new branch, not in both.
        """
        return self.filter(Q(ended_on__isnull=True) | Q(ended_on__gt=date), started_on__lte=date)

    def roster(self, branch, date: datetime.date | None = None):
        """The roster of `branch` on `date` (today by default), official and temporary."""
        return self.on(date or timezone.localdate()).filter(branch=branch)

    def open(self):
        return self.filter(ended_on__isnull=True)

    def official(self):
        return self.filter(kind=MembershipKind.OFFICIAL)


class Membership(models.Model):
    member = models.ForeignKey(
        Member, verbose_name=_("member"), on_delete=models.PROTECT, related_name="memberships"
    )
    branch = models.ForeignKey(
        Branch, verbose_name=_("branch"), on_delete=models.PROTECT, related_name="memberships"
    )
    kind = models.CharField(
        _("kind"), max_length=10, choices=MembershipKind.choices, default=MembershipKind.OFFICIAL
    )
    started_on = models.DateField(_("started on"))
    ended_on = models.DateField(
        _("ended on"),
        null=True,
        blank=True,
        help_text=_("The first day the member is no longer in this branch."),
    )
    end_reason = models.CharField(
        _("reason it ended"), max_length=20, choices=EndReason.choices, blank=True
    )
    history = HistoricalRecords()

    objects = MembershipQuerySet.as_manager()

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        ordering = ["started_on", "pk"]
        constraints = [
            # The rule "a member belongs to exactly one branch at a time", as a
            # partial unique index (SQLite and PostgreSQL both have them): two
            # concurrent moves of one member cannot both leave a row open.
            models.UniqueConstraint(
                fields=["member"],
                condition=Q(ended_on__isnull=True, kind="official"),
                name="one_open_official_membership",
            ),
            models.CheckConstraint(
                condition=Q(ended_on__isnull=True) | Q(ended_on__gte=F("started_on")),
                name="membership_ends_after_start",
            ),
        ]
        indexes = [
            models.Index(
                fields=["branch", "started_on", "ended_on"], name="membership_branch_dates"
            ),
            models.Index(fields=["member", "started_on"], name="membership_member_dates"),
        ]

    def __str__(self) -> str:
        ended = dmy(self.ended_on) if self.ended_on else ""
        return f"{self.member} – {self.branch} ({dmy(self.started_on)}–{ended})"

    @property
    def is_open(self) -> bool:
        return self.ended_on is None or self.ended_on > timezone.localdate()
