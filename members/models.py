"""Members and their memberships of branches.

History is never rewritten: a move closes one dated membership and opens
another (see members/services.py). "Who was in branch X on date D" is
`Membership.objects.roster(branch, D)`.
"""

import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import connection, models
from django.db.models import Exists, F, OuterRef, Q
from django.db.models.expressions import RawSQL
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from branches.models import Branch, Commune, Village
from pacnam.text import fold

citizen_id_validator = RegexValidator(
    r"^[0-9]{12}$", _("A citizen ID has exactly 12 digits.")
)


def add_years(date: datetime.date, years: int) -> datetime.date:
    try:
        return date.replace(year=date.year + years)
    except ValueError:  # 29 February in a year without one
        return date.replace(year=date.year + years, day=28)


def add_months(date: datetime.date, months: int) -> datetime.date:
    month_index = date.month - 1 + months
    year, month = date.year + month_index // 12, month_index % 12 + 1
    for day in (date.day, 30, 29, 28):
        try:
            return date.replace(year=year, month=month, day=day)
        except ValueError:
            continue
    raise AssertionError("unreachable")


class Gender(models.TextChoices):
    MALE = "male", _("male")
    FEMALE = "female", _("female")


class MemberStatus(models.TextChoices):
    ACTIVE = "active", _("active")
    EXEMPT = "exempt", _("exempt from duties and meetings")
    SUSPENDED = "suspended", _("suspended")
    LEFT = "left", _("left")


class LeftReason(models.TextChoices):
    TRANSFERRED_OUT = "transferred_out", _("transferred out of the district")
    DIED = "died", _("died")
    REMOVED = "removed", _("removed from the Party")
    RESIGNED = "resigned", _("left the Party at their request")
    OTHER = "other", _("other")


class MemberQuerySet(models.QuerySet):
    def visible_to(self, scope):
        """Members whose current (or, for those who left, last) branch the scope sees,
        and members temporarily attached to a branch it sees."""
        if scope.level == "district":
            return self
        branches = scope.branches()
        attached = Membership.objects.filter(
            member=OuterRef("pk"),
            kind=MembershipKind.TEMPORARY,
            branch__in=branches,
            ended_on__gt=timezone.localdate(),
        )
        return self.filter(Q(branch__in=branches) | Exists(attached))

    def probationary(self):
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
            # members by admission date, without scanning everyone (issue 7). The id
            # is in it so that the count, which joins the candidates by
            # it, is read from the index alone: 3 ms instead of 50 ms for 17,000
            # probationary members spread over a million rows' pages.
            models.Index(
                fields=["admitted_on", "id"],
                condition=Q(full_on__isnull=True) & ~Q(status="left"),
                name="member_probation_covering",
            ),
            # The search counts the members of the matching names with an
            # index-only scan, without visiting a million rows (issue 7).
            models.Index(fields=["folded_name", "status"], name="member_name_status"),
            # Admissions per year on the dashboard: a range of admission dates read
            # from the index alone, with the branch for the commune (issue 7).
            models.Index(fields=["admitted_on", "branch"], name="member_admitted_branch"),
        ]

    def __str__(self) -> str:
        return self.full_name

    def save(self, *args, **kwargs):
        self.folded_name = fold(self.full_name)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "full_name" in update_fields:
            kwargs["update_fields"] = {*update_fields, "folded_name"}
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("members:detail", args=[self.pk])

    @property
    def is_full(self) -> bool:
        return self.full_on is not None

    @property
    def is_probationary(self) -> bool:
        return self.full_on is None

    def age_on(self, date: datetime.date) -> int:
        years = date.year - self.birth_date.year
        if (date.month, date.day) < (self.birth_date.month, self.birth_date.day):
            years -= 1
        return years

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
    REMOVED = "removed", _("removed from the Party")
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
            models.Index(fields=["branch", "started_on", "ended_on"], name="membership_branch_dates"),
            models.Index(fields=["member", "started_on"], name="membership_member_dates"),
        ]

    def __str__(self) -> str:
        return f"{self.member} – {self.branch} ({self.started_on}–{self.ended_on or ''})"

    @property
    def is_open(self) -> bool:
        return self.ended_on is None or self.ended_on > timezone.localdate()


# --- Admission, probation, ratings (issue 6) ---


class CandidateStep(models.TextChoices):
    """The admission path in its fixed order (DOMAIN.md, "Admission")."""

    REGISTERED = "registered", _("registered")
    AWARENESS = "awareness", _("Party-awareness class certificate")
    APPLICATION = "application", _("application")
    HISTORY = "history", _("personal history")
    INTRODUCERS = "introducers", _("two introducers")
    VERIFICATION = "verification", _("verification")
    BRANCH_RESOLUTION = "branch_resolution", _("branch resolution")
    COMMUNE_RESOLUTION = "commune_resolution", _("commune committee resolution")
    DECISION = "decision", _("admission decision")
    CEREMONY = "ceremony", _("admission ceremony")


# Each step after REGISTERED and the Candidate column holding its date, in order.
CANDIDATE_STEP_DATES = [
    (CandidateStep.AWARENESS, "awareness_certificate_on"),
    (CandidateStep.APPLICATION, "application_on"),
    (CandidateStep.HISTORY, "history_on"),
    (CandidateStep.INTRODUCERS, "introducers_on"),
    (CandidateStep.VERIFICATION, "verification_on"),
    (CandidateStep.BRANCH_RESOLUTION, "branch_resolution_on"),
    (CandidateStep.COMMUNE_RESOLUTION, "commune_resolution_on"),
    (CandidateStep.DECISION, "decision_on"),
    (CandidateStep.CEREMONY, "ceremony_on"),
]


def _steps_in_order() -> list:
    """One constraint per pair of consecutive steps: a step has a date only if the
    one before it has, and not an earlier one. Out-of-order data cannot be stored."""
    constraints = []
    for (_prev_step, prev), (step, field) in zip(
        CANDIDATE_STEP_DATES, CANDIDATE_STEP_DATES[1:], strict=False
    ):
        constraints.append(
            models.CheckConstraint(
                condition=Q(**{f"{field}__isnull": True})
                | Q(**{f"{prev}__isnull": False, f"{field}__gte": F(prev)}),
                name=f"candidate_{step.value}_after_previous",
            )
        )
    return constraints


class CandidateQuerySet(models.QuerySet):
    def open(self):
        """Still in the pipeline: not admitted (no ceremony) and not withdrawn."""
        return self.filter(ceremony_on__isnull=True, withdrawn_on__isnull=True)

    def open_on(self, date: datetime.date):
        """In the pipeline at the end of `date`: started by then (the certificate, or
        the registration when no certificate is recorded yet), neither admitted nor
        withdrawn by then."""
        return self.filter(
            Q(awareness_certificate_on__lte=date)
            | Q(awareness_certificate_on__isnull=True, created_at__date__lte=date),
            Q(ceremony_on__isnull=True) | Q(ceremony_on__gt=date),
            Q(withdrawn_on__isnull=True) | Q(withdrawn_on__gt=date),
        )

    def with_step(self):
        """Annotate `current_step`: the last step recorded, computed from the dates so
        it can never disagree with them (and can be grouped on in one query)."""
        whens = [
            models.When(**{f"{field}__isnull": False}, then=models.Value(step.value))
            for step, field in reversed(CANDIDATE_STEP_DATES)
        ]
        return self.annotate(
            current_step=models.Case(
                *whens,
                default=models.Value(CandidateStep.REGISTERED.value),
                output_field=models.CharField(),
            )
        )


class Candidate(models.Model):
    """A person on the way to admission (quần chúng ưu tú, đối tượng kết nạp).

    The step dates live in columns of this one row so that "in order" is a set of
    database constraints; who recorded each step is in CandidateStepRecord.
    """

    full_name = models.CharField(_("full name"), max_length=100)
    folded_name = models.CharField(max_length=100, editable=False, db_index=True)
    citizen_id = models.CharField(
        _("citizen ID"), max_length=12, validators=[citizen_id_validator]
    )
    birth_date = models.DateField(_("date of birth"))
    gender = models.CharField(_("gender"), max_length=10, choices=Gender.choices)
    ethnicity = models.CharField(_("ethnicity"), max_length=50)
    residence_village = models.ForeignKey(
        Village,
        verbose_name=_("village of residence"),
        on_delete=models.PROTECT,
        related_name="candidates",
    )
    branch = models.ForeignKey(
        Branch,
        verbose_name=_("branch that follows the candidate"),
        on_delete=models.PROTECT,
        related_name="candidates",
    )
    awareness_certificate_on = models.DateField(
        _("Party-awareness class certificate"), null=True, blank=True
    )
    application_on = models.DateField(_("application"), null=True, blank=True)
    history_on = models.DateField(_("personal history"), null=True, blank=True)
    introducers_on = models.DateField(_("introducers"), null=True, blank=True)
    verification_on = models.DateField(_("verification"), null=True, blank=True)
    branch_resolution_on = models.DateField(_("branch resolution"), null=True, blank=True)
    branch_resolution_number = models.CharField(
        _("branch resolution number"), max_length=50, blank=True
    )
    commune_resolution_on = models.DateField(
        _("commune committee resolution"), null=True, blank=True
    )
    commune_resolution_number = models.CharField(
        _("commune committee resolution number"), max_length=50, blank=True
    )
    decision_on = models.DateField(_("admission decision date"), null=True, blank=True)
    decision_number = models.CharField(_("admission decision number"), max_length=50, blank=True)
    ceremony_on = models.DateField(_("admission ceremony"), null=True, blank=True)
    member = models.OneToOneField(
        Member,
        verbose_name=_("member"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="candidate",
    )
    withdrawn_on = models.DateField(_("withdrawn on"), null=True, blank=True)
    withdrawal_reason = models.CharField(_("reason for withdrawal"), max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords(excluded_fields=["folded_name"])

    objects = CandidateQuerySet.as_manager()

    class Meta:
        verbose_name = _("admission candidate")
        verbose_name_plural = _("admission candidates")
        ordering = ["folded_name", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(citizen_id__regex=r"^[0-9]{12}$"),
                name="candidate_citizen_id_12_digits",
            ),
            # One person is followed once at a time; after a withdrawal they may start again.
            models.UniqueConstraint(
                fields=["citizen_id"],
                condition=Q(ceremony_on__isnull=True, withdrawn_on__isnull=True),
                name="candidate_one_open_per_citizen_id",
            ),
            *_steps_in_order(),
            models.CheckConstraint(
                condition=Q(decision_on__isnull=True, decision_number="")
                | (Q(decision_on__isnull=False) & ~Q(decision_number="")),
                name="candidate_decision_has_number",
            ),
            # The ceremony is the admission: its date and the member exist together.
            models.CheckConstraint(
                condition=Q(ceremony_on__isnull=True, member__isnull=True)
                | Q(ceremony_on__isnull=False, member__isnull=False),
                name="candidate_ceremony_makes_member",
            ),
            models.CheckConstraint(
                condition=Q(withdrawn_on__isnull=True) | Q(ceremony_on__isnull=True),
                name="candidate_admitted_or_withdrawn",
            ),
        ]
        indexes = [models.Index(fields=["branch", "ceremony_on"], name="candidate_branch_ceremony")]

    def __str__(self) -> str:
        return self.full_name

    def save(self, *args, **kwargs):
        self.folded_name = fold(self.full_name)
        super().save(*args, **kwargs)

    @property
    def step(self) -> str:
        for step, field in reversed(CANDIDATE_STEP_DATES):
            if getattr(self, field) is not None:
                return step
        return CandidateStep.REGISTERED

    @property
    def step_label(self) -> str:
        return CandidateStep(self.step).label

    @property
    def next_step(self) -> str | None:
        if self.withdrawn_on is not None:
            return None
        for step, field in CANDIDATE_STEP_DATES:
            if getattr(self, field) is None:
                return step
        return None

    @property
    def is_open(self) -> bool:
        return self.ceremony_on is None and self.withdrawn_on is None

    def certificate_expires_on(self) -> datetime.date | None:
        if self.awareness_certificate_on is None:
            return None
        return add_months(self.awareness_certificate_on, settings.AWARENESS_CERTIFICATE_VALID_MONTHS)

    def certificate_expired(self, today: datetime.date) -> bool:
        """The certificate is valid for 60 months: flagged from the day it expires.
        What counts is the admission decision if there is one, else today."""
        expires = self.certificate_expires_on()
        if expires is None or self.withdrawn_on is not None:
            return False
        return (self.decision_on or today) >= expires

    def flags(self, today: datetime.date) -> dict:
        """What the pages warn about, with the dates the warnings quote."""
        return {
            "certificate_expired": self.certificate_expired(today),
            "certificate_expires_on": self.certificate_expires_on(),
            "ceremony_late": self.ceremony_late(today),
            "ceremony_deadline": self.ceremony_deadline(),
        }

    def ceremony_deadline(self) -> datetime.date | None:
        from pacnam.workdays import add_working_days

        if self.decision_on is None:
            return None
        return add_working_days(self.decision_on, settings.ADMISSION_CEREMONY_WORKING_DAYS)

    def ceremony_late(self, today: datetime.date) -> bool:
        """The ceremony is due within 30 working days of the decision: flagged when it
        was held later, or when it has not been held and the deadline has passed."""
        deadline = self.ceremony_deadline()
        if deadline is None or self.withdrawn_on is not None:
            return False
        return (self.ceremony_on or today) > deadline


class CandidateStepRecord(models.Model):
    """Who recorded a step of a candidate, and when (the step's own date is on the
    candidate). One per step: a step is recorded once."""

    candidate = models.ForeignKey(
        Candidate, verbose_name=_("candidate"), on_delete=models.CASCADE, related_name="records"
    )
    step = models.CharField(_("step"), max_length=20, choices=CandidateStep.choices)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    recorded_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("candidate step record")
        verbose_name_plural = _("candidate step records")
        ordering = ["recorded_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["candidate", "step"], name="candidate_step_once"),
        ]

    def __str__(self) -> str:
        return f"{self.candidate} – {self.get_step_display()}"


class CandidateIntroducer(models.Model):
    """A full member of the branch who introduces the candidate (two per candidate)."""

    candidate = models.ForeignKey(
        Candidate, verbose_name=_("candidate"), on_delete=models.CASCADE, related_name="introducers"
    )
    member = models.ForeignKey(
        Member, verbose_name=_("introducer"), on_delete=models.PROTECT, related_name="introduced"
    )
    worked_together_since = models.DateField(_("worked together since"))

    class Meta:
        verbose_name = _("introducer")
        verbose_name_plural = _("introducers")
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["candidate", "member"], name="candidate_introducer_once"
            ),
        ]

    def __str__(self) -> str:
        return str(self.member)


class FullMembershipRecognition(models.Model):
    """The end of probation: the branch vote and the higher committee's decision
    that made a probationary member full (Member.full_on is the decision date)."""

    member = models.OneToOneField(
        Member, verbose_name=_("member"), on_delete=models.PROTECT, related_name="recognition"
    )
    branch_voted_on = models.DateField(_("branch vote"))
    decision_number = models.CharField(_("decision number"), max_length=50)
    decision_on = models.DateField(_("decision date"))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    recorded_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("recognition as full member")
        verbose_name_plural = _("recognitions as full members")
        constraints = [
            models.CheckConstraint(
                condition=Q(decision_on__gte=F("branch_voted_on")),
                name="recognition_decision_after_vote",
            ),
            models.CheckConstraint(
                condition=~Q(decision_number=""), name="recognition_has_decision_number"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.member} – {self.decision_number}"


def probation_ends_on(ceremony_on: datetime.date) -> datetime.date:
    """A probationary member may be recognised as full 12 months after the ceremony."""
    return add_months(ceremony_on, settings.PROBATION_MONTHS)


class Rating(models.TextChoices):
    EXCELLENT = "excellent", _("excellently fulfilled duties")
    GOOD = "good", _("well fulfilled duties")
    SATISFACTORY = "satisfactory", _("fulfilled duties")
    NOT_SATISFACTORY = "not_satisfactory", _("did not fulfil duties")


class Evaluation(models.Model):
    """The annual quality rating of a member or of a branch (Quy định 132-QĐ/TW).

    `branch` is always set: the branch rated, or for a member the branch that
    rated them that year, so that reports stay true after the member moves.
    """

    year = models.PositiveSmallIntegerField(_("year"))
    branch = models.ForeignKey(
        Branch, verbose_name=_("branch"), on_delete=models.PROTECT, related_name="evaluations"
    )
    member = models.ForeignKey(
        Member,
        verbose_name=_("member"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="evaluations",
        help_text=_("Empty when the branch itself is rated."),
    )
    rating = models.CharField(_("rating"), max_length=20, choices=Rating.choices)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    recorded_at = models.DateTimeField(_("recorded at"), auto_now=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("annual rating")
        verbose_name_plural = _("annual ratings")
        ordering = ["year", "branch", "member"]
        constraints = [
            models.UniqueConstraint(
                fields=["member", "year"],
                condition=Q(member__isnull=False),
                name="evaluation_one_per_member_year",
            ),
            models.UniqueConstraint(
                fields=["branch", "year"],
                condition=Q(member__isnull=True),
                name="evaluation_one_per_branch_year",
            ),
            models.CheckConstraint(
                condition=Q(rating__in=Rating.values), name="evaluation_rating_known"
            ),
            models.CheckConstraint(
                condition=Q(year__gte=1930, year__lte=2200), name="evaluation_year_plausible"
            ),
        ]
        indexes = [models.Index(fields=["year", "branch"], name="evaluation_year_branch")]

    def __str__(self) -> str:
        return f"{self.member or self.branch} {self.year}: {self.get_rating_display()}"


# --- Transfers (issue 3) ---------------------------------------------------


class TransferKind(models.TextChoices):
    OFFICIAL = "official", _("official transfer")
    TEMPORARY = "temporary", _("temporary transfer")


class TransferScope(models.TextChoices):
    WITHIN_COMMUNE = "within_commune", _("within the commune")
    BETWEEN_COMMUNES = "between_communes", _("between communes of the district")
    OUT_OF_DISTRICT = "out_of_district", _("out of the district")
    INTO_DISTRICT = "into_district", _("into the district")


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
        if scope.level == "district":
            return self
        branches = scope.branches()
        return self.filter(Q(from_branch__in=branches) | Q(to_branch__in=branches))


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
    moved_on = models.DateField(
        _("date of the change of job or residence"), null=True, blank=True
    )
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
    closing_reason = models.CharField(_("reason for cancelling or refusing"), max_length=250, blank=True)
    # Each step: who and when.
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("requested by"), on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(_("requested at"), default=timezone.now)
    # The date on the member's application, which may be earlier than the day
    # it is entered here; the letter cannot be dated before it.
    requested_on = models.DateField(_("date of the request"), default=timezone.localdate)
    letter_issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("letter issued by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    letter_issued_at = models.DateTimeField(_("letter issued at"), null=True, blank=True)
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("receipt recorded by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    received_at = models.DateTimeField(_("receipt recorded at"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("cancelled or refused by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    closed_at = models.DateTimeField(_("cancelled or refused at"), null=True, blank=True)

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
                    Q(scope__in=["within_commune", "between_communes"], from_branch__isnull=False, to_branch__isnull=False)
                    | Q(scope="out_of_district", from_branch__isnull=False, to_branch__isnull=True)
                    & ~Q(other_organisation="")
                    | Q(scope="into_district", from_branch__isnull=True, to_branch__isnull=False)
                    & ~Q(other_organisation="")
                ),
                name="transfer_ends_match_scope",
            ),
            models.CheckConstraint(
                condition=Q(letter_number__isnull=True)
                | Q(letter_commune__isnull=False, letter_year__isnull=False, letter_date__isnull=False),
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
        if self.member_id:
            return self.member.full_name
        return self.incoming.get("full_name", "")

    @property
    def from_label(self) -> str:
        return self.from_branch.name if self.from_branch_id else self.other_organisation

    @property
    def to_label(self) -> str:
        return self.to_branch.name if self.to_branch_id else self.other_organisation

    @property
    def letter_reference(self) -> str:
        if self.letter_number is None:
            return ""
        return f"{self.letter_number}/GGT"

    @property
    def is_in_progress(self) -> bool:
        return self.status == TransferStatus.REQUESTED or (
            self.status == TransferStatus.LETTER_ISSUED and self.scope != TransferScope.OUT_OF_DISTRICT
        )

    @property
    def letter_deadline(self) -> datetime.date | None:
        """The last working day to present the letter to the receiving branch."""
        from pacnam.workdays import add_working_days

        if self.letter_date is None:
            return None
        return add_working_days(self.letter_date, settings.TRANSFER_LETTER_DEADLINE_WORKING_DAYS)

    @property
    def start_deadline(self) -> datetime.date | None:
        """The last working day to start an official transfer after the member's
        change of job or residence (Quy định 29-QĐ/TW: 60 working days)."""
        from pacnam.workdays import add_working_days

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


# --- Dissolving a branch (issue 3) ------------------------------------------


class DissolutionBatch(models.Model):
    """One dissolution of a branch: every move it made, as one unit that can be
    reviewed later and undone as a whole by a district officer."""

    branch = models.ForeignKey(
        Branch, verbose_name=_("branch"), on_delete=models.PROTECT, related_name="dissolutions"
    )
    decision = models.CharField(_("decision number"), max_length=100)
    dissolved_on = models.DateField(_("date"))
    performed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("performed by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("Empty when applied by the system (the dissolve_branch command)."),
    )
    performed_at = models.DateTimeField(_("performed at"), default=timezone.now)
    via_command = models.BooleanField(_("applied with the command"), default=False)
    undone_at = models.DateTimeField(_("undone at"), null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("undone by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        verbose_name = _("branch dissolution")
        verbose_name_plural = _("branch dissolutions")
        ordering = ["-performed_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(undone_at__isnull=True, undone_by__isnull=True) | Q(undone_at__isnull=False),
                name="dissolution_undone_by_has_date",
            ),
            models.CheckConstraint(condition=~Q(decision=""), name="dissolution_has_decision"),
            # A branch is dissolved at most once at a time: a second batch only after an undo.
            models.UniqueConstraint(
                fields=["branch"], condition=Q(undone_at__isnull=True), name="one_live_dissolution_per_branch"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.branch} – {self.decision}"

    @property
    def is_undone(self) -> bool:
        return self.undone_at is not None


class DissolutionMove(models.Model):
    batch = models.ForeignKey(
        DissolutionBatch, verbose_name=_("dissolution"), on_delete=models.PROTECT, related_name="moves"
    )
    member = models.ForeignKey(
        Member, verbose_name=_("member"), on_delete=models.PROTECT, related_name="dissolution_moves"
    )
    from_membership = models.ForeignKey(
        Membership, verbose_name=_("membership closed"), on_delete=models.PROTECT, related_name="+"
    )
    to_branch = models.ForeignKey(
        Branch, verbose_name=_("to branch"), on_delete=models.PROTECT, related_name="+"
    )
    new_membership = models.ForeignKey(
        Membership, verbose_name=_("membership opened"), on_delete=models.PROTECT, related_name="+"
    )
    decided_by_person = models.BooleanField(
        _("placed by a decision"),
        default=False,
        help_text=_("The member's village had no branch: a person chose the destination."),
    )

    class Meta:
        verbose_name = _("dissolution move")
        verbose_name_plural = _("dissolution moves")
        ordering = ["member__folded_name", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["batch", "member"], name="one_move_per_member_per_dissolution"),
        ]

    def __str__(self) -> str:
        return f"{self.member} → {self.to_branch}"
