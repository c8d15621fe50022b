"""Dissolving a branch: one batch of moves that can be reviewed and undone as a unit."""

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from branches.models import Branch
from pacnam.lib.fields import actor_field

from .members import Member, Membership


class DissolutionBatch(models.Model):
    """One dissolution of a branch: every move it made, as one unit that can be
    reviewed later and undone as a whole by a district officer."""

    branch = models.ForeignKey(
        Branch, verbose_name=_("branch"), on_delete=models.PROTECT, related_name="dissolutions"
    )
    decision = models.CharField(_("decision number"), max_length=100)
    dissolved_on = models.DateField(_("date"))
    performed_by = actor_field(
        _("performed by"),
        help_text=_("Empty when applied by the system (the dissolve_branch command)."),
    )
    performed_at = models.DateTimeField(_("performed at"), default=timezone.now)
    via_command = models.BooleanField(_("applied with the command"), default=False)
    undone_at = models.DateTimeField(_("undone at"), null=True, blank=True)
    undone_by = actor_field(_("undone by"))

    # In the audit trail with who and when.
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("branch dissolution")
        verbose_name_plural = _("branch dissolutions")
        ordering = ["-performed_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(undone_at__isnull=True, undone_by__isnull=True)
                | Q(undone_at__isnull=False),
                name="dissolution_undone_by_has_date",
            ),
            models.CheckConstraint(condition=~Q(decision=""), name="dissolution_has_decision"),
            # A branch is dissolved at most once at a time: a second batch only after an undo.
            models.UniqueConstraint(
                fields=["branch"],
                condition=Q(undone_at__isnull=True),
                name="one_live_dissolution_per_branch",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.branch} – {self.decision}"

    @property
    def is_undone(self) -> bool:
        return self.undone_at is not None


class DissolutionMove(models.Model):
    batch = models.ForeignKey(
        DissolutionBatch,
        verbose_name=_("dissolution"),
        on_delete=models.PROTECT,
        related_name="moves",
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

    # In the audit trail with who and when.
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("dissolution move")
        verbose_name_plural = _("dissolution moves")
        ordering = ["member__folded_name", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["batch", "member"], name="one_move_per_member_per_dissolution"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.member} → {self.to_branch}"
