"""Imports run in the background: the upload, where the job runner has got
with it, and what it found. The web request only stores the file and enqueues a task
(members/io/jobs.py); the page reads this row every two seconds."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _


class ImportJobStatus(models.TextChoices):
    QUEUED = "queued", _("waiting to be checked")
    CHECKING = "checking", _("being checked")
    CHECKED = "checked", _("checked: waiting for confirmation")
    REFUSED = "refused", _("refused: the file has errors")
    WRITE_QUEUED = "write_queued", _("waiting to be written")
    WRITING = "writing", _("being written")
    DONE = "done", _("written")
    FAILED = "failed", _("not written")


# The states in which the runner is at work and the page refreshes itself.
RUNNING = (
    ImportJobStatus.QUEUED,
    ImportJobStatus.CHECKING,
    ImportJobStatus.WRITE_QUEUED,
    ImportJobStatus.WRITING,
)


class ImportJob(models.Model):
    # A random key: the page's address names it, and nobody guesses another's.
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="import_jobs",
    )
    kind = models.CharField(_("kind"), max_length=20)
    filename = models.CharField(_("file"), max_length=255)
    # The upload until it is written or refused (at most IMPORT_MAX_BYTES): in the
    # database, so that the worker finds it wherever it runs.
    data = models.BinaryField(default=b"")
    language = models.CharField(max_length=10, default="vi")
    status = models.CharField(
        _("status"), max_length=20, choices=ImportJobStatus.choices, default=ImportJobStatus.QUEUED
    )
    rows_done = models.PositiveIntegerField(default=0)
    rows_total = models.PositiveIntegerField(null=True, blank=True)
    # What the check found, for the preview and the result: counts, errors, notes,
    # the changes (capped), how many names change.
    summary = models.JSONField(default=dict, blank=True)
    allow_mass_update = models.BooleanField(default=False)
    # The worker's last sign of life while it checks or writes: a job
    # whose stamp is older than JOB_LEASE_SECONDS has lost its worker.
    heartbeat_at = models.DateTimeField(_("last heartbeat"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=ImportJobStatus.values), name="import_job_status_known"
            ),
            models.CheckConstraint(
                condition=Q(rows_total__isnull=True) | Q(rows_done__lte=F("rows_total")),
                name="import_job_progress_in_bounds",
            ),
        ]
        indexes = [models.Index(fields=["created_at"], name="import_job_created")]

    def __str__(self) -> str:
        return f"{self.kind} {self.filename}"

    def get_absolute_url(self) -> str:
        return reverse("members:import_job", args=[self.pk])

    @property
    def is_running(self) -> bool:
        return self.status in RUNNING

    @property
    def percent(self) -> int | None:
        if not self.rows_total:
            return None
        return min(100, self.rows_done * 100 // self.rows_total)
