"""The way into the Party and the yearly look at it: admission candidates and
their steps, recognition as a full member, annual quality ratings."""

import datetime

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from branches.models import Branch, Village
from pacnam.lib.dates import add_months, add_working_days
from pacnam.lib.fields import actor_field
from pacnam.lib.text import clean_text_fields, fold

from .members import Gender, Member, citizen_id_validator


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
    citizen_id = models.CharField(_("citizen ID"), max_length=12, validators=[citizen_id_validator])
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

    TEXT_FIELDS = ("full_name", "ethnicity", "withdrawal_reason")

    def save(self, *args, **kwargs):
        clean_text_fields(self, self.TEXT_FIELDS, names_of_people=("full_name",))
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
        return str(CandidateStep(self.step).label)

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
        return add_months(
            self.awareness_certificate_on, settings.AWARENESS_CERTIFICATE_VALID_MONTHS
        )

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
    recorded_by = actor_field(_("recorded by"), keep_user=False, blank=False)
    recorded_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    # In the audit trail with who and when.
    history = HistoricalRecords()

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

    # In the audit trail with who and when.
    history = HistoricalRecords()

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
    recorded_by = actor_field(_("recorded by"), keep_user=False, blank=False)
    recorded_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    # In the audit trail with who and when.
    history = HistoricalRecords()

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
    recorded_by = actor_field(_("recorded by"), keep_user=False, blank=False)
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
