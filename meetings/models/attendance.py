"""The roll of a meeting: one line per member on the roster that day."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from members.models import Member

from .meetings import Meeting


class Standing(models.TextChoices):
    """Where a member stands on the roll of one meeting."""

    COUNTED = "counted", _("counted")
    AWAY = "away", _("temporarily away")
    EXEMPT = "exempt", _("exempt")
    SUSPENDED = "suspended", _("suspended")


class Presence(models.TextChoices):
    PRESENT = "present", _("present")
    EXCUSED = "excused", _("absent with reason")
    ABSENT = "absent", _("absent without reason")


class AttendanceQuerySet(models.QuerySet):
    def counted(self):
        return self.filter(standing=Standing.COUNTED)


class Attendance(models.Model):
    """One line of the roll: a member on the branch's roster on the meeting date."""

    meeting = models.ForeignKey(
        Meeting, verbose_name=_("meeting"), on_delete=models.CASCADE, related_name="attendance"
    )
    member = models.ForeignKey(
        Member, verbose_name=_("member"), on_delete=models.PROTECT, related_name="attendance"
    )
    standing = models.CharField(
        _("standing"), max_length=10, choices=Standing.choices, default=Standing.COUNTED
    )
    # Snapshots on the meeting date, so the minutes keep their numbers when a
    # member later becomes full or moves away.
    is_full = models.BooleanField(_("full member"), default=True)
    temporary = models.BooleanField(_("temporarily attached"), default=False)
    presence = models.CharField(_("presence"), max_length=10, choices=Presence.choices, blank=True)
    reason = models.CharField(_("reason for absence"), max_length=200, blank=True)

    # In the audit trail with who and when.
    history = HistoricalRecords()

    objects = AttendanceQuerySet.as_manager()

    class Meta:
        verbose_name = _("attendance")
        verbose_name_plural = _("attendance")
        ordering = ["member__folded_name", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["meeting", "member"], name="one_attendance_per_member"),
            models.CheckConstraint(
                condition=Q(reason="") | Q(presence="excused"),
                name="attendance_reason_only_excused",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.member} – {self.get_presence_display() or '?'}"
