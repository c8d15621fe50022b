"""Who may see which units, and for which days: a user's roles in time."""

import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from .units import Branch, Commune, District, Province, ValidityQuerySet


class RoleKind(models.TextChoices):
    PROVINCE_OFFICER = "province_officer", _("province officer")
    DISTRICT_OFFICER = "district_officer", _("district officer")
    COMMUNE_SECRETARY = "commune_secretary", _("commune secretary")
    BRANCH_SECRETARY = "branch_secretary", _("branch secretary")


class RoleQuerySet(ValidityQuerySet):
    def for_user_on(self, user, date: datetime.date | None = None):
        return self.filter(user=user).valid_on(date or timezone.localdate())


class Role(models.Model):
    """What a user may see, and for which days: a province, a district, a commune or a
    branch. A user has one role on a given day; a new role after an old one ends
    (a secretary elected elsewhere, an officer whose district was abolished).

    Administrators are Django superusers and need no role. A user without a role
    on the day and not a superuser sees nothing (every record is a 404 to them).
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="registry_roles",
    )
    kind = models.CharField(_("role"), max_length=20, choices=RoleKind.choices)
    province = models.ForeignKey(
        Province, verbose_name=_("province"), null=True, blank=True, on_delete=models.PROTECT
    )
    district = models.ForeignKey(
        District, verbose_name=_("district"), null=True, blank=True, on_delete=models.PROTECT
    )
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
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_to = models.DateField(
        _("valid until"), null=True, blank=True, help_text=_("The last day of the role.")
    )
    # Who was given which rights, and by whom, belongs in the audit trail too.
    history = HistoricalRecords()

    objects = RoleQuerySet.as_manager()

    class Meta:
        verbose_name = _("role")
        verbose_name_plural = _("roles")
        ordering = ["user", "valid_from"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(
                        kind="province_officer",
                        province__isnull=False,
                        district__isnull=True,
                        commune__isnull=True,
                        branch__isnull=True,
                    )
                    | Q(
                        kind="district_officer",
                        province__isnull=True,
                        district__isnull=False,
                        commune__isnull=True,
                        branch__isnull=True,
                    )
                    | Q(
                        kind="commune_secretary",
                        province__isnull=True,
                        district__isnull=True,
                        commune__isnull=False,
                        branch__isnull=True,
                    )
                    | Q(
                        kind="branch_secretary",
                        province__isnull=True,
                        district__isnull=True,
                        commune__isnull=True,
                        branch__isnull=False,
                    )
                ),
                name="role_scope_matches_kind",
            ),
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True)
                | Q(valid_from__isnull=True)
                | Q(valid_to__gte=F("valid_from")),
                name="role_validity_in_order",
            ),
            # One role at a time: at most one open role per user (overlapping closed
            # ones are refused by clean()).
            models.UniqueConstraint(
                fields=["user"], condition=Q(valid_to__isnull=True), name="role_open_once"
            ),
        ]

    def __str__(self) -> str:
        target = self.province or self.district or self.commune or self.branch
        # "bí thư chi bộ: Chi bộ thôn Cốc Lải": the unit's name says what it is.
        return f"{self.get_kind_display()}: {target}" if target else self.get_kind_display()

    def clean(self):
        needs = {
            RoleKind.PROVINCE_OFFICER: ("province", _("A province officer needs a province.")),
            RoleKind.DISTRICT_OFFICER: ("district", _("A district officer needs a district.")),
            RoleKind.COMMUNE_SECRETARY: ("commune", _("A commune secretary needs a commune.")),
            RoleKind.BRANCH_SECRETARY: ("branch", _("A branch secretary needs a branch.")),
        }
        if self.kind in needs:
            field, message = needs[self.kind]
            if not getattr(self, f"{field}_id"):
                raise ValidationError({field: message})
            extra = [f for f, _m in needs.values() if f != field and getattr(self, f"{f}_id")]
            if extra:
                raise ValidationError(
                    {extra[0]: _("This role names only its own unit: leave this empty.")}
                )
        if self.valid_from and self.valid_to and self.valid_to < self.valid_from:
            raise ValidationError({"valid_to": _("A role cannot end before it begins.")})
        if self.user_id:
            others = Role.objects.filter(user_id=self.user_id).exclude(pk=self.pk)
            if self.valid_to is not None:
                others = others.filter(
                    Q(valid_from__isnull=True) | Q(valid_from__lte=self.valid_to)
                )
            if self.valid_from is not None:
                others = others.filter(Q(valid_to__isnull=True) | Q(valid_to__gte=self.valid_from))
            if others.exists():
                raise ValidationError(
                    _("The user has another role on some of these days: end it first.")
                )
