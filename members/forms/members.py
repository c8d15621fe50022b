"""The member form and the member list's filters."""

import datetime

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from branches.forms import UnitChoiceField, label_units
from branches.models import Branch, BranchInCommune, Commune
from pacnam.lib.dates import add_years
from pacnam.lib.forms import BoundedModelChoiceField, BoundedSelect, DateField, VersionedForm

from ..models import Member, MemberStatus

# A member's own fields, as a person enters them (the branch comes separately:
# it is kept by the services). The admin's add form asks the same.
MEMBER_FIELDS = [
    "citizen_id",
    "full_name",
    "gender",
    "birth_date",
    "ethnicity",
    "residence_village",
    "position",
    "is_commune_cadre",
    "admitted_on",
    "full_on",
    "card_number",
]


class MemberForm(VersionedForm):
    """Add or edit a member. On add, the member's first official branch and the
    date they joined it; later moves are transfers, never an edit."""

    branch = UnitChoiceField(label=_("Branch"), queryset=Branch.objects.none())
    since = DateField(
        label=_("In this branch since"),
        required=False,
        help_text=_("Empty: the admission date."),
    )

    class Meta(VersionedForm.Meta):
        model = Member
        fields = MEMBER_FIELDS

    def __init__(self, *args, scope, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["residence_village"].queryset = (
            scope.villages().valid_on().select_related("commune")
        )
        label_units(self.fields["residence_village"])
        if self.instance.pk:
            # The branch changes only through a transfer.
            del self.fields["branch"]
            del self.fields["since"]
        else:
            self.fields["branch"].queryset = (
                scope.branches()
                .active()
                .select_related("commune")
                .order_by("commune__code", "name")
            )
        if not scope.can_edit_registry():
            for field in self.fields.values():
                field.disabled = True

    def _get_validation_exclusions(self):
        # Member.branch is set by the service, not by this form.
        exclusions = super()._get_validation_exclusions()
        exclusions.add("branch")
        return exclusions


AGE_BANDS = [
    ("", _("any age")),
    ("18-30", _("18 to 30")),
    ("31-45", _("31 to 45")),
    ("46-60", _("46 to 60")),
    ("61-", _("over 60")),
]

YES_NO = [("", _("all")), ("yes", _("yes")), ("no", _("no"))]


class MemberFilterForm(forms.Form):
    q = forms.CharField(label=_("Name, citizen ID or card number"), required=False)
    commune = BoundedModelChoiceField(
        label=_("Commune"),
        queryset=Commune.objects.none(),
        required=False,
        to_field_name="code",
        widget=BoundedSelect(typed=True),
        empty_label=_("all communes"),
    )
    branch = BoundedModelChoiceField(
        label=_("Branch"),
        queryset=Branch.objects.none(),
        required=False,
        widget=BoundedSelect(),
        empty_label=_("all branches"),
    )
    # Shown as unit_label shows a branch: name · code · commune (now).
    branch.label_fields = ("name", "code", "commune__name")
    as_of = DateField(
        label=_("Communes as on"),
        required=False,
        help_text=_("Empty: today. A code means different communes on different dates."),
    )
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("current members")), ("all", _("all, including those who left"))]
        + list(MemberStatus.choices),
    )
    cadre = forms.ChoiceField(label=_("Commune cadre"), required=False, choices=YES_NO)
    ethnicity = forms.CharField(label=_("Ethnicity"), required=False)
    age_band = forms.ChoiceField(label=_("Age"), required=False, choices=AGE_BANDS)

    def __init__(self, *args, scope, **kwargs):
        super().__init__(*args, **kwargs)
        self.scope = scope
        # Only places inside the user's scope can be chosen: a code or pk from
        # another commune slipped into the query string is a form error, and
        # the list below stays scoped anyway.
        # A code names one commune only on a given day (01864 is Bộc Bố until
        # 30/06/2025, Bằng Thành since): the communes offered are those of that day.
        self.day = self._day()
        communes = scope.communes().valid_on(self.day)
        self.fields["commune"].queryset = communes
        self.fields["branch"].queryset = scope.branches()
        commune_code = self.data.get("commune") if self.is_bound else None
        if commune_code:
            # The branches of the chosen commune that day first (all of them, even in a province).
            self.fields["branch"].display_queryset = scope.branches().filter(
                pk__in=BranchInCommune.objects.filter(
                    commune__in=communes.filter(code=commune_code)
                )
                .valid_on(self.day)
                .values("branch_id")
            )

    def _day(self) -> datetime.date:
        """The day the commune code is about: ?as_of, else today."""
        today = timezone.localdate()
        if not self.is_bound or not self.data.get("as_of"):
            return today
        field = self.fields["as_of"]
        try:
            return field.clean(field.widget.value_from_datadict(self.data, self.files, "as_of"))
        except forms.ValidationError:
            return today

    def filter(self, qs=None, today: datetime.date | None = None):
        """The scoped, filtered members. Invalid filters give an empty list, not everyone."""
        qs = Member.objects.visible_to(self.scope) if qs is None else qs.visible_to(self.scope)
        if not self.is_valid():
            return qs.none()
        data = self.cleaned_data
        today = today or timezone.localdate()
        qs = qs.search(data["q"])
        if data["commune"]:
            # The branches in the commune that day, whatever commune they are in now.
            qs = qs.filter(branch__in=Branch.objects.in_commune_on(data["commune"], self.day))
        if data["branch"]:
            qs = qs.filter(branch=data["branch"])
        status = data["status"]
        if not status:
            qs = qs.current()
        elif status != "all":
            qs = qs.filter(status=status)
        if data["cadre"] == "yes":
            qs = qs.filter(is_commune_cadre=True)
        elif data["cadre"] == "no":
            qs = qs.filter(is_commune_cadre=False)
        if data["ethnicity"]:
            qs = qs.filter(ethnicity__iexact=data["ethnicity"].strip())
        if data["age_band"]:
            low, _sep, high = data["age_band"].partition("-")
            # Born on or before today minus `low` years, and after today minus (high+1) years.
            qs = qs.filter(birth_date__lte=add_years(today, -int(low)))
            if high:
                qs = qs.filter(birth_date__gt=add_years(today, -(int(high) + 1)))
        return qs
