import datetime

from django import forms
from django.db.models import OuterRef, Subquery
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from branches.forms import label_units
from branches.models import BranchInCommune, Commune, Village, VillageInCommune
from members.models import Member, Membership
from pacnam.lib.dates import parse_month
from pacnam.lib.forms import (
    BoundedModelChoiceField,
    BoundedSelect,
    MonthInput,
    RegistryModelForm,
    TimeInput,
    date_field,
)

from .models import Meeting, Presence, ReviewOutcome, Task
from .services.dues import DuesEntry


def roster_members(branch, date: datetime.date):
    """Members on the branch's roster on `date`: who may chair, take minutes or take a task."""
    ids = Membership.objects.roster(branch, date).values("member_id")
    return Member.objects.filter(pk__in=ids)


class MeetingForm(RegistryModelForm):
    class Meta(RegistryModelForm.Meta):
        model = Meeting
        fields = [
            "date",
            "starts_at",
            "place",
            "kind",
            "topic",
            "chair",
            "secretary",
            "agenda",
            "minutes",
            "resolution",
        ]
        widgets = {"starts_at": TimeInput()}

    def __init__(self, *args, branch, **kwargs):
        super().__init__(*args, **kwargs)
        date = self.instance.date if self.instance.pk else timezone.localdate()
        # The chair and the secretary are members of the branch on the meeting's
        # date: not someone who died or moved away before it (every member the
        # branch ever had was offered). A date being typed is the date that counts.
        typed = self._typed_date()
        members = roster_members(branch, date)
        if typed and typed != date:
            members = members | roster_members(branch, typed)
        self.fields["chair"].queryset = members
        self.fields["secretary"].queryset = members
        if not self.instance.pk:
            self.fields["date"].initial = date
            for name in ("minutes", "resolution"):
                del self.fields[name]

    def _typed_date(self) -> datetime.date | None:
        if not self.is_bound:
            return None
        try:
            return self.fields["date"].clean(self.data.get(self.add_prefix("date")))
        except forms.ValidationError:
            return None


class AdoptForm(forms.Form):
    """The day the minutes were adopted: the meeting's own day unless the user
    gives another (minutes read and adopted at a later meeting)."""

    on = date_field(_("Adopted on"), required=False)


class AddendumForm(forms.Form):
    dated = date_field(_("date"))
    text = forms.CharField(label=_("correction"), widget=forms.Textarea)


class TaskForm(RegistryModelForm):
    class Meta(RegistryModelForm.Meta):
        model = Task
        fields = ["description", "assignees", "due_on", "household_head", "household_village"]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 3}),
            "assignees": forms.CheckboxSelectMultiple,
        }

    def __init__(self, *args, meeting, members=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignees"].queryset = (
            members if members is not None else roster_members(meeting.branch, meeting.date)
        )
        # The villages of the branch's commune on the meeting's date: before a
        # merger, the old commune's; after it, the merged commune's.
        commune_then = BranchInCommune.objects.filter(branch=meeting.branch).valid_on(meeting.date)
        villages_then = VillageInCommune.objects.filter(
            commune_id__in=commune_then.values("commune_id")
        ).valid_on(meeting.date)
        self.fields["household_village"].queryset = Village.objects.filter(
            pk__in=villages_then.values("village_id")
        ).annotate(
            commune_then_name=Subquery(
                VillageInCommune.objects.filter(village=OuterRef("pk"))
                .valid_on(meeting.date)
                .values("commune__name")[:1]
            )
        )
        label_units(self.fields["household_village"])


def parse_marks(data, member_ids) -> tuple[dict[int, tuple[str, str]], list[str]]:
    """Read the phone roll's radio buttons: presence-<member id> and reason-<member id>.

    A member with neither a tap nor a stamp in the form (pacnam.lib.rowstamps)
    is left out, not taken as unmarked: the form never showed that line.
    """
    marks, errors = {}, []
    for member_id in member_ids:
        key = f"presence-{member_id}"
        if key not in data and f"stamp-{member_id}" not in data:
            continue
        presence = data.get(key, "")
        if presence not in Presence.values and presence != "":
            errors.append(str(_("Unknown attendance mark.")))
            continue
        marks[member_id] = (presence, data.get(f"reason-{member_id}", ""))
    return marks, errors


def parse_amount(text: str) -> int | None:
    """An amount in đồng as typed ("20.000", "20 000", ""): None when not a number."""
    text = (text or "").strip().replace(".", "").replace(",", "").replace(" ", "")
    if text == "":
        return 0
    return int(text) if text.isdigit() else None


DUES_PAID, DUES_UNPAID = "paid", "unpaid"


def parse_roll_dues(data, rows) -> tuple[dict, list[str]]:
    """Read the roll's dues column: dues-<member id> (paid in full / not paid),
    duesreason-<id> and duesahead-<id> (months paid ahead), for the rows of
    meetings.dues_selectors.meeting_dues_sheet.

    A member with no tap and nothing recorded is left out: the dues of the
    month are not taken yet. With nothing tapped on a recorded month, what was
    recorded stays (a part payment entered on the dues page is not lost), while
    the reason and the months ahead are read as sent."""
    entries, errors = {}, []
    for row in rows:
        if row["elsewhere"]:
            continue
        member, payment = row["member"], row["payment"]
        choice = data.get(f"dues-{member.pk}", "")
        ahead = parse_amount(data.get(f"duesahead-{member.pk}", ""))
        if ahead is None:
            errors.append(
                str(_("Dues of %(name)s: type the number of months paid ahead."))
                % {"name": member.full_name}
            )
            continue
        if choice == DUES_PAID:
            paid = row["due"]
        elif choice == DUES_UNPAID:
            paid = 0
        elif payment is not None:
            paid = payment.paid
        else:
            continue
        entries[member.pk] = DuesEntry(
            paid=paid, reason=data.get(f"duesreason-{member.pk}", ""), ahead=ahead
        )
    return entries, errors


def parse_outcomes(data, task_ids) -> dict[int, tuple[str, str]]:
    """Read the review form: outcome-<task id> and reason-<task id>; unanswered tasks are skipped."""
    outcomes = {}
    for task_id in task_ids:
        outcome = data.get(f"outcome-{task_id}", "")
        if outcome in ReviewOutcome.values:
            outcomes[task_id] = (outcome, data.get(f"reason-{task_id}", ""))
    return outcomes


class PeriodForm(forms.Form):
    month = forms.CharField(label=_("month"), required=False, widget=MonthInput())
    year = forms.IntegerField(label=_("year"), required=False, min_value=1990, max_value=2100)
    # A province's thousands of communes are not listed: there the report's table
    # of communes links to each (pacnam.lib.forms.MAX_OPTIONS).
    commune = BoundedModelChoiceField(
        label=_("commune"),
        queryset=Commune.objects.none(),
        required=False,
        empty_label=_("all communes"),
        widget=BoundedSelect(),
    )

    def __init__(self, *args, communes, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["commune"].queryset = communes

    def clean_month(self):
        value = self.cleaned_data.get("month") or ""
        if not value:
            return None
        month = parse_month(value)
        if month is None:
            raise forms.ValidationError(_("Give the month as mm/yyyy, e.g. 04/2019."))
        return month
