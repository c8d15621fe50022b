"""Forms of the transfer pages. They parse input only: the rules live in
members/services/transfers.py, which the views call.
"""

from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext

from branches.forms import UnitChoiceField
from branches.models import Branch, Village
from pacnam.lib.dates import two_levels
from pacnam.lib.forms import CleanTextForm, date_field

from ..models import Gender, TransferKind

BranchChoiceField = UnitChoiceField


class TransferStartForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Kind"), choices=TransferKind.choices, initial=TransferKind.OFFICIAL
    )
    to_branch = BranchChoiceField(
        label=_("Receiving branch in the district"),
        queryset=Branch.objects.none(),
        required=False,
        help_text=_("Leave empty for a transfer out of the district."),
    )
    other_organisation = forms.CharField(
        label=_("Party organisation outside the district"), max_length=200, required=False
    )
    other_address = forms.CharField(label=_("Its address"), max_length=250, required=False)
    reason = forms.CharField(label=_("Reason"), max_length=250, required=False)
    requested_on = date_field(_("Date of the request"), initial=timezone.localdate)
    moved_on = date_field(_("Change of job or residence (official transfers)"), required=False)
    planned_end = date_field(_("Planned end (temporary transfers)"), required=False)

    def __init__(self, *args, branches=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to_branch"].queryset = (
            branches if branches is not None else Branch.objects.none()
        )
        self.fields["moved_on"].help_text = _(
            "An official transfer is started within %(days)s working days of it; a later request is flagged."
        ) % {"days": settings.TRANSFER_START_DEADLINE_WORKING_DAYS}
        self.provinces = two_levels()
        if self.provinces:
            # Since 1 July 2025 the level above a commune is the province.
            fields = self.fields
            fields["to_branch"].label = pgettext("two levels", "Receiving branch in the province")
            fields["to_branch"].help_text = pgettext(
                "two levels", "Leave empty for a transfer out of the province."
            )
            fields["other_organisation"].label = pgettext(
                "two levels", "Party organisation outside the province"
            )

    def clean(self):
        data = super().clean()
        if not data.get("to_branch") and not (data.get("other_organisation") or "").strip():
            raise forms.ValidationError(
                pgettext(
                    "two levels",
                    "Choose the receiving branch, or give the organisation outside the province.",
                )
                if self.provinces
                else _(
                    "Choose the receiving branch, or give the organisation outside the district."
                )
            )
        if data.get("to_branch") and (data.get("other_organisation") or "").strip():
            raise forms.ValidationError(
                pgettext(
                    "two levels",
                    "Choose either a branch in the province or an organisation outside it, not both.",
                )
                if self.provinces
                else _(
                    "Choose either a branch in the district or an organisation outside it, not both."
                )
            )
        return data


class IncomingTransferForm(CleanTextForm, forms.Form):
    """A member transferred into the district: their details until receipt."""

    to_branch = BranchChoiceField(label=_("Receiving branch"), queryset=Branch.objects.none())
    other_organisation = forms.CharField(
        label=_("Party organisation they come from"), max_length=200
    )
    other_address = forms.CharField(label=_("Its address"), max_length=250, required=False)
    requested_on = date_field(_("Date of the request"), initial=timezone.localdate)
    citizen_id = forms.CharField(label=_("Citizen ID"), max_length=12, min_length=12)
    full_name = forms.CharField(label=_("Full name"), max_length=100)
    gender = forms.ChoiceField(label=_("Gender"), choices=Gender.choices)
    birth_date = date_field(_("Date of birth"))
    ethnicity = forms.CharField(label=_("Ethnicity"), max_length=50)
    residence_village = UnitChoiceField(
        label=_("Village of residence"), queryset=Village.objects.none()
    )
    admitted_on = date_field(_("Admission date"))
    full_on = date_field(_("Date made full member"), required=False)
    card_number = forms.CharField(label=_("Party card number"), max_length=20, required=False)

    def __init__(self, *args, branches=None, villages=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to_branch"].queryset = (
            branches if branches is not None else Branch.objects.none()
        )
        self.fields["residence_village"].queryset = (
            villages if villages is not None else Village.objects.none()
        )

    MEMBER_FIELDS = (
        "citizen_id",
        "full_name",
        "gender",
        "birth_date",
        "ethnicity",
        "residence_village",
        "admitted_on",
        "full_on",
        "card_number",
    )

    def incoming(self) -> dict:
        return {key: self.cleaned_data[key] for key in self.MEMBER_FIELDS}


class StepForm(forms.Form):
    """The date of a step (letter, receipt)."""

    on = date_field(_("Date"), initial=timezone.localdate)
    signer_title = forms.CharField(label=_("Signer's title"), max_length=150, required=False)


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=250)
