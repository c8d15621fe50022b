"""What a phone sent after taking the roll with no signal.

Each entry carries an id made on the phone (a UUID). The server keeps the id
and what came of the entry, so an entry replayed (a phone that lost the answer
and sends its queue again, two tabs sending the same queue) is applied once
and answered the same way every time.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .meetings import Meeting


class OfflineEntryKind(models.TextChoices):
    ROLL = "roll", _("attendance")
    TASK = "task", _("task")
    RECORD = "record", _("agenda, minutes and resolution")


class OfflineEntry(models.Model):
    client_id = models.UUIDField(_("entry id (made on the phone)"), unique=True)
    meeting = models.ForeignKey(
        Meeting, verbose_name=_("meeting"), on_delete=models.CASCADE, related_name="offline_entries"
    )
    kind = models.CharField(
        _("kind"), max_length=10, choices=OfflineEntryKind.choices, default=OfflineEntryKind.ROLL
    )
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("sent by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    written_at = models.DateTimeField(_("written on the phone at"), null=True, blank=True)
    received_at = models.DateTimeField(_("received at"), auto_now_add=True)
    # The answer given when the entry was applied: how many marks were written and
    # which were left to the user because the roll had changed meanwhile.
    outcome = models.JSONField(_("outcome"), default=dict)

    class Meta:
        verbose_name = _("entry sent from a phone")
        verbose_name_plural = _("entries sent from phones")
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.client_id} · {self.meeting}"
