"""A branch meeting (regular monthly, thematic, extraordinary), its minutes,
and the dated addenda that correct adopted minutes."""

from django.db import models
from django.db.models import F, Q
from django.db.models.functions import ExtractMonth, ExtractYear
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from simple_history.models import HistoricalRecords

from branches.models import Branch
from members.models import Member
from pacnam.lib.fields import actor_field


class MeetingKind(models.TextChoices):
    REGULAR = "regular", _("regular monthly meeting")
    THEMATIC = "thematic", _("thematic meeting")
    EXTRAORDINARY = "extraordinary", _("extraordinary meeting")


class MeetingStatus(models.TextChoices):
    PLANNED = "planned", _("planned")
    HELD = "held", _("held")
    ADOPTED = "adopted", _("minutes adopted")


def default_agenda() -> str:
    """The order of a regular meeting (Hướng dẫn 12-HD/BTCTW 2018), pre-filled."""
    return "\n".join(
        str(step)
        for step in (
            _(
                "1. Opening: members called (present, absent with or without reason, exempt); "
                "agenda adopted; secretary appointed."
            ),
            _("2. Current affairs."),
            _("3. Review of last month's tasks."),
            _("4. Next month's tasks and who does what."),
            _("5. Resolution adopted."),
            _("6. Minutes adopted."),
        )
    )


class Meeting(models.Model):
    branch = models.ForeignKey(
        Branch, verbose_name=_("branch"), on_delete=models.PROTECT, related_name="meetings"
    )
    date = models.DateField(_("date"))
    starts_at = models.TimeField(_("start time"), null=True, blank=True)
    place = models.CharField(_("place"), max_length=200, blank=True)
    kind = models.CharField(
        _("kind"), max_length=20, choices=MeetingKind.choices, default=MeetingKind.REGULAR
    )
    topic = models.CharField(
        _("topic"), max_length=200, blank=True, help_text=_("Required for a thematic meeting.")
    )
    chair = models.ForeignKey(
        Member,
        verbose_name=_("chair"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    secretary = models.ForeignKey(
        Member,
        verbose_name=_("secretary"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    agenda = models.TextField(_("agenda"), blank=True)
    minutes = models.TextField(_("minutes"), blank=True)
    resolution = models.TextField(_("resolution"), blank=True)
    status = models.CharField(
        pgettext_lazy("progress", "status"),
        max_length=10,
        choices=MeetingStatus.choices,
        default=MeetingStatus.PLANNED,
    )
    adopted_on = models.DateField(_("minutes adopted on"), null=True, blank=True)
    # Set by meeting_open_roll: the roll is taken once, from the roster on the date.
    roll_opened = models.BooleanField(default=False, editable=False)
    created_by = actor_field(keep_user=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Who changed the minutes and when, before they were adopted.
    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        verbose_name = _("meeting")
        verbose_name_plural = _("meetings")
        ordering = ["-date", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(kind="thematic") | ~Q(topic=""),
                name="thematic_meeting_has_topic",
                violation_error_message=_("A thematic meeting needs a topic."),
            ),
            models.CheckConstraint(
                condition=Q(status="adopted", adopted_on__isnull=False)
                | (~Q(status="adopted") & Q(adopted_on__isnull=True)),
                name="meeting_adopted_has_date",
            ),
            models.CheckConstraint(
                condition=Q(adopted_on__isnull=True) | Q(adopted_on__gte=F("date")),
                name="meeting_adopted_after_date",
            ),
            models.CheckConstraint(
                condition=Q(chair__isnull=True)
                | Q(secretary__isnull=True)
                | ~Q(chair=F("secretary")),
                name="meeting_chair_is_not_secretary",
                violation_error_message=_(
                    "The chair and the secretary must be two different members."
                ),
            ),
            # The regular meeting is *the* monthly meeting (Hướng dẫn 12): a second
            # one in a month would be counted twice in the regularity report and
            # leave two sets of "last month's tasks". Extra meetings in a month are
            # thematic or extraordinary. A constraint, so that two secretaries
            # recording the same month at once cannot both succeed.
            models.UniqueConstraint(
                F("branch"),
                ExtractYear("date"),
                ExtractMonth("date"),
                condition=Q(kind="regular"),
                name="one_regular_meeting_per_branch_month",
                violation_error_message=_(
                    "This branch already has a regular meeting in that month; record this one "
                    "as thematic or extraordinary."
                ),
            ),
        ]
        indexes = [
            models.Index(fields=["branch", "date"], name="meeting_branch_date"),
            # "Branches without a meeting last month" on the dashboard: the branches
            # that held one, read from this index alone for a month's range of
            # dates, instead of visiting each meeting for its kind and status.
            # The statuses are TOOK_PLACE of meetings.selectors.
            models.Index(
                fields=["date", "branch"],
                condition=Q(kind="regular", status__in=["held", "adopted"]),
                name="meeting_regular_held",
            ),
            # Meetings that took place, of every kind, by date: the dashboard's
            # "latest month with meetings" (a backward walk) and its meetings per
            # month (an index-only count) for a whole province.
            models.Index(
                fields=["date", "branch"],
                condition=Q(status__in=["held", "adopted"]),
                name="meeting_took_place",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.branch} – {self.date:%d/%m/%Y}"

    @property
    def is_adopted(self) -> bool:
        return self.status == MeetingStatus.ADOPTED

    @property
    def is_to_come(self) -> bool:
        """Dated after today: not held yet, whatever is recorded (services.guards.check_took_place)."""
        return self.date > timezone.localdate()


class MeetingAddendum(models.Model):
    """A dated correction to adopted minutes: the minutes themselves are never rewritten."""

    meeting = models.ForeignKey(
        Meeting, verbose_name=_("meeting"), on_delete=models.PROTECT, related_name="addenda"
    )
    dated = models.DateField(_("date"))
    text = models.TextField(_("correction"))
    created_by = actor_field(keep_user=False)
    created_at = models.DateTimeField(auto_now_add=True)

    # In the audit trail with who and when.
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("addendum to the minutes")
        verbose_name_plural = _("addenda to the minutes")
        ordering = ["dated", "pk"]
        constraints = [
            models.CheckConstraint(condition=~Q(text=""), name="addendum_has_text"),
        ]

    def __str__(self) -> str:
        return f"{self.meeting} – {self.dated:%d/%m/%Y}"
