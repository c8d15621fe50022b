"""A reorganisation of administrative units (sắp xếp đơn vị hành chính): communes
merged into new ones on one date, by one decision, as one batch that can be
reviewed later and undone while nothing has changed since."""

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from pacnam.lib.fields import actor_field


class Reorganization(models.Model):
    decision = models.CharField(_("decision number"), max_length=100)
    on = models.DateField(_("date"), help_text=_("The first day of the new communes."))
    performed_by = actor_field(
        _("performed by"),
        help_text=_("Empty when applied by the system (the reorganize_units command)."),
    )
    performed_at = models.DateTimeField(_("performed at"), default=timezone.now)
    via_command = models.BooleanField(_("applied with the command"), default=False)
    # What was merged into what, as the plan said: [{old_code, old_name, new_code,
    # new_name, province_code, province_name}], for the page and the audit trail.
    merges = models.JSONField(_("merges"), default=list)
    # The rows the batch created and ended, by model and id: the undo reverses
    # exactly these, and refuses if any of them changed since.
    changes = models.JSONField(_("changes"), default=dict)
    undone_at = models.DateTimeField(_("undone at"), null=True, blank=True)
    undone_by = actor_field(_("undone by"))
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("reorganisation of communes")
        verbose_name_plural = _("reorganisations of communes")
        ordering = ["-on", "-performed_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=~Q(decision=""), name="reorganization_has_decision"),
            models.CheckConstraint(
                condition=Q(undone_at__isnull=True, undone_by__isnull=True)
                | Q(undone_at__isnull=False),
                name="reorganization_undone_by_has_date",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.decision} ({self.on:%d/%m/%Y})"

    @property
    def is_undone(self) -> bool:
        return self.undone_at is not None
