"""Tasks set at a meeting and their review at a later one."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from simple_history.models import HistoricalRecords

from branches.models import Village
from members.models import Member

from .meetings import Meeting


class TaskStatus(models.TextChoices):
    OPEN = "open", _("open")
    DONE = "done", _("done")
    DROPPED = "dropped", _("dropped")


class Task(models.Model):
    meeting = models.ForeignKey(
        Meeting, verbose_name=_("set at meeting"), on_delete=models.PROTECT, related_name="tasks"
    )
    description = models.TextField(_("task"))
    assignees = models.ManyToManyField(Member, verbose_name=_("assigned to"), related_name="tasks")
    due_on = models.DateField(_("due date"))
    household_head = models.CharField(
        _("head of household"),
        max_length=100,
        blank=True,
        help_text=_("For a task such as helping a poor household."),
    )
    household_village = models.ForeignKey(
        Village,
        verbose_name=_("household's village"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    status = models.CharField(
        pgettext_lazy("progress", "status"),
        max_length=10,
        choices=TaskStatus.choices,
        default=TaskStatus.OPEN,
    )
    closed_at = models.ForeignKey(
        Meeting,
        verbose_name=_("closed at meeting"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="closed_tasks",
    )
    drop_reason = models.CharField(_("reason for dropping"), max_length=200, blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("task")
        verbose_name_plural = _("tasks")
        ordering = ["due_on", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="open", closed_at__isnull=True)
                | (~Q(status="open") & Q(closed_at__isnull=False)),
                name="task_closed_at_a_meeting",
            ),
            models.CheckConstraint(
                condition=(Q(status="dropped") & ~Q(drop_reason=""))
                | (~Q(status="dropped") & Q(drop_reason="")),
                name="task_dropped_has_reason",
            ),
            models.CheckConstraint(
                condition=Q(household_village__isnull=True) | ~Q(household_head=""),
                name="task_household_has_head",
            ),
        ]

    def __str__(self) -> str:
        return self.description[:60]


class ReviewOutcome(models.TextChoices):
    DONE = "done", _("done")
    CARRIED_OVER = "carried_over", _("carried over")
    DROPPED = "dropped", _("dropped")


class TaskReview(models.Model):
    """What one meeting said about an open task from an earlier meeting."""

    meeting = models.ForeignKey(
        Meeting, verbose_name=_("meeting"), on_delete=models.CASCADE, related_name="reviews"
    )
    task = models.ForeignKey(
        Task, verbose_name=_("task"), on_delete=models.PROTECT, related_name="reviews"
    )
    outcome = models.CharField(_("outcome"), max_length=15, choices=ReviewOutcome.choices)
    reason = models.CharField(_("reason"), max_length=200, blank=True)

    # In the audit trail with who and when.
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("task review")
        verbose_name_plural = _("task reviews")
        ordering = ["task__due_on", "task_id"]
        constraints = [
            models.UniqueConstraint(fields=["meeting", "task"], name="one_review_per_task_meeting"),
            models.CheckConstraint(
                condition=~Q(outcome="dropped") | ~Q(reason=""), name="review_dropped_has_reason"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.task} – {self.get_outcome_display()}"
