"""Communes, villages and branches: the places of the district Party organisation.

This app knows nothing of people (see STYLE.md): members live in `members`,
meetings in `meetings`. It also says who may see which place (`Role`).
"""

import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords


class ValidityQuerySet(models.QuerySet):
    def valid_on(self, date: datetime.date):
        """Administrative units that exist on `date` (communes merge, villages split)."""
        return self.filter(
            Q(valid_from__isnull=True) | Q(valid_from__lte=date),
            Q(valid_to__isnull=True) | Q(valid_to__gt=date),
        )


class Commune(models.Model):
    code = models.CharField(_("official code"), max_length=5, unique=True)
    name = models.CharField(_("name"), max_length=100)
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_to = models.DateField(
        _("valid until"),
        null=True,
        blank=True,
        help_text=_("The day it stopped existing, for example when merged into another commune."),
    )
    merged_into = models.ForeignKey(
        "self",
        verbose_name=_("merged into"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="merged_from",
    )
    history = HistoricalRecords()

    objects = ValidityQuerySet.as_manager()

    class Meta:
        verbose_name = _("commune")
        verbose_name_plural = _("communes")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(code__regex=r"^[0-9]{5}$"), name="commune_code_five_digits"
            ),
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True)
                | Q(valid_from__isnull=True)
                | Q(valid_to__gt=F("valid_from")),
                name="commune_validity_in_order",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("places:commune", args=[self.code])


class Village(models.Model):
    commune = models.ForeignKey(
        Commune, verbose_name=_("commune"), on_delete=models.PROTECT, related_name="villages"
    )
    code = models.CharField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=100)
    households = models.PositiveIntegerField(_("households"), null=True, blank=True)
    population = models.PositiveIntegerField(_("population"), null=True, blank=True)
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_to = models.DateField(_("valid until"), null=True, blank=True)
    # Bumped on every save through a form: the optimistic lock that turns
    # "two secretaries edit the same village" into a warning, not a lost edit.
    version = models.PositiveIntegerField(default=1, editable=False)
    history = HistoricalRecords()

    objects = ValidityQuerySet.as_manager()

    class Meta:
        verbose_name = _("village")
        verbose_name_plural = _("villages")
        ordering = ["commune__code", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True)
                | Q(valid_from__isnull=True)
                | Q(valid_to__gt=F("valid_from")),
                name="village_validity_in_order",
            ),
            models.CheckConstraint(
                condition=Q(population__isnull=True)
                | Q(households__isnull=True)
                | Q(population__gte=F("households")),
                name="village_population_at_least_households",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("places:village", args=[self.pk])


class BranchKind(models.TextChoices):
    VILLAGE = "village", _("village branch")
    COMMUNE_OFFICE = "commune_office", _("commune-office branch")
    SCHOOL = "school", _("school branch")
    HEALTH = "health", _("health-station branch")
    MILITIA = "militia", _("militia branch")
    POLICE = "police", _("police branch")
    OTHER = "other", _("other branch")


class BranchQuerySet(models.QuerySet):
    def active_on(self, date: datetime.date):
        return self.filter(
            Q(founded_on__isnull=True) | Q(founded_on__lte=date),
            Q(dissolved_on__isnull=True) | Q(dissolved_on__gt=date),
        )

    def active(self):
        return self.filter(dissolved_on__isnull=True)


class Branch(models.Model):
    code = models.CharField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=150)
    kind = models.CharField(_("kind"), max_length=20, choices=BranchKind.choices)
    commune = models.ForeignKey(
        Commune, verbose_name=_("commune"), on_delete=models.PROTECT, related_name="branches"
    )
    village = models.ForeignKey(
        Village,
        verbose_name=_("village"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="branches",
    )
    founded_on = models.DateField(_("founded on"), null=True, blank=True)
    dissolved_on = models.DateField(_("dissolved on"), null=True, blank=True)
    dissolution_decision = models.CharField(_("dissolution decision"), max_length=100, blank=True)
    version = models.PositiveIntegerField(default=1, editable=False)
    history = HistoricalRecords()

    objects = BranchQuerySet.as_manager()

    class Meta:
        verbose_name = _("branch")
        verbose_name_plural = _("branches")
        ordering = ["commune__code", "code"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(kind="village") | Q(village__isnull=False),
                name="village_branch_has_village",
            ),
            models.CheckConstraint(
                condition=Q(dissolved_on__isnull=True)
                | Q(founded_on__isnull=True)
                | Q(dissolved_on__gte=F("founded_on")),
                name="branch_dissolved_after_founded",
            ),
            # A dissolution is a decision of the commune committee: no date without it.
            models.CheckConstraint(
                condition=Q(dissolved_on__isnull=True, dissolution_decision="")
                | (Q(dissolved_on__isnull=False) & ~Q(dissolution_decision="")),
                name="branch_dissolution_has_decision",
            ),
        ]
        indexes = [
            models.Index(fields=["commune", "kind"], name="branch_commune_kind"),
            # The dashboard's branches by kind and its commune-office list (issue 7).
            models.Index(fields=["kind", "dissolved_on"], name="branch_kind_dissolved"),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("places:branch", args=[self.pk])

    @property
    def is_dissolved(self) -> bool:
        return self.dissolved_on is not None

    def is_active_on(self, date: datetime.date) -> bool:
        return (self.founded_on is None or self.founded_on <= date) and (
            self.dissolved_on is None or self.dissolved_on > date
        )

    def clean(self):
        errors = {}
        if self.kind == BranchKind.VILLAGE and not self.village_id:
            errors["village"] = _("A village branch must name its village.")
        if self.village_id and self.commune_id and self.village.commune_id != self.commune_id:
            errors["village"] = _("The village belongs to another commune.")
        if self.dissolved_on and self.founded_on and self.dissolved_on < self.founded_on:
            errors["dissolved_on"] = _("A branch cannot be dissolved before it was founded.")
        if errors:
            raise ValidationError(errors)


class RoleKind(models.TextChoices):
    DISTRICT_OFFICER = "district_officer", _("district officer")
    COMMUNE_SECRETARY = "commune_secretary", _("commune secretary")
    BRANCH_SECRETARY = "branch_secretary", _("branch secretary")


class Role(models.Model):
    """What a user may see: the whole district, one commune or one branch.

    Administrators are Django superusers and need no role. A user without a
    role and not a superuser sees nothing (every record is a 404 to them).
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="registry_role",
    )
    kind = models.CharField(_("role"), max_length=20, choices=RoleKind.choices)
    commune = models.ForeignKey(
        Commune, verbose_name=_("commune"), null=True, blank=True, on_delete=models.PROTECT
    )
    branch = models.ForeignKey(
        Branch, verbose_name=_("branch"), null=True, blank=True, on_delete=models.PROTECT
    )
    title = models.CharField(
        _("title"),
        max_length=150,
        blank=True,
        help_text=_("Printed under the signature, e.g. 'Phó Bí thư Đảng ủy xã'."),
    )
    # Who was given which rights, and by whom, belongs in the audit trail too.
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("role")
        verbose_name_plural = _("roles")
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(kind="district_officer", commune__isnull=True, branch__isnull=True)
                    | Q(kind="commune_secretary", commune__isnull=False, branch__isnull=True)
                    | Q(kind="branch_secretary", commune__isnull=True, branch__isnull=False)
                ),
                name="role_scope_matches_kind",
            ),
        ]

    def __str__(self) -> str:
        target = self.commune or self.branch
        return f"{self.get_kind_display()} {target}" if target else self.get_kind_display()

    def clean(self):
        if self.kind == RoleKind.COMMUNE_SECRETARY and not self.commune_id:
            raise ValidationError({"commune": _("A commune secretary needs a commune.")})
        if self.kind == RoleKind.BRANCH_SECRETARY and not self.branch_id:
            raise ValidationError({"branch": _("A branch secretary needs a branch.")})
        if self.kind == RoleKind.DISTRICT_OFFICER and (self.commune_id or self.branch_id):
            raise ValidationError(_("A district officer sees the whole district: leave commune and branch empty."))
        if self.kind == RoleKind.COMMUNE_SECRETARY and self.branch_id:
            raise ValidationError({"branch": _("A commune secretary has no branch.")})
        if self.kind == RoleKind.BRANCH_SECRETARY and self.commune_id:
            raise ValidationError({"commune": _("A branch secretary has no commune: it follows from the branch.")})
