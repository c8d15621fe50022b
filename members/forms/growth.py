"""Forms of the admission pipeline, probation and rating pages.

They parse input only; the rules live in members/services/growth.py, whose DomainError
the views turn into a form error.
"""

from django import forms
from django.utils.translation import gettext_lazy as _

from branches.forms import label_units
from pacnam.lib.forms import CleanTextForm, RegistryModelForm, date_field

from ..models import Candidate, Member, Rating


class CandidateForm(CleanTextForm, RegistryModelForm):
    class Meta(RegistryModelForm.Meta):
        model = Candidate
        fields = [
            "full_name",
            "citizen_id",
            "birth_date",
            "gender",
            "ethnicity",
            "residence_village",
            "branch",
        ]

    def __init__(self, *args, scope, **kwargs):
        super().__init__(*args, **kwargs)
        # Only places the user may change: a pk from another commune is a form error.
        branches = (
            scope.branches().active() if scope.can_edit_registry() else scope.branches().none()
        )
        self.fields["branch"].queryset = branches.select_related("commune")
        self.fields["residence_village"].queryset = (
            scope.villages().valid_on().select_related("commune")
        )
        # Village and branch names repeat across communes: say which commune.
        label_units(self.fields["residence_village"])
        label_units(self.fields["branch"])
        self.fields["branch"].empty_label = _("choose a branch")
        self.fields["residence_village"].empty_label = _("choose a village")

    def validate_unique(self):
        # The service gives the clear message for a second open candidacy.
        pass


class StepForm(forms.Form):
    on = date_field(_("Date"))
    number = forms.CharField(label=_("Number"), max_length=50, required=False)


class DecisionForm(forms.Form):
    number = forms.CharField(label=_("Decision number"), max_length=50)
    on = date_field(_("Decision date"))


class CeremonyForm(forms.Form):
    on = date_field(_("Ceremony date"))


class MemberChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        # Two people may share a name: the branch tells them apart.
        return f"{obj.full_name} – {obj.branch.name}"


class IntroducersForm(forms.Form):
    first = MemberChoiceField(
        label=_("First introducer"),
        queryset=Member.objects.none(),
        empty_label=_("choose a member"),
    )
    first_since = date_field(_("Worked with the candidate since"))
    second = MemberChoiceField(
        label=_("Second introducer"),
        queryset=Member.objects.none(),
        empty_label=_("choose a member"),
    )
    second_since = date_field(_("Worked with the candidate since"))
    on = date_field(_("Date"))

    def __init__(self, *args, members, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["first"].queryset = members
        self.fields["second"].queryset = members


class WithdrawForm(forms.Form):
    on = date_field(_("Date"))
    reason = forms.CharField(label=_("Reason"), max_length=200)


class RecognitionForm(forms.Form):
    branch_voted_on = date_field(_("Branch vote"))
    decision_number = forms.CharField(label=_("Decision number"), max_length=50)
    decision_on = date_field(_("Decision date"))


class RatingForm(forms.Form):
    """One row per rateable member of the branch, and the branch itself."""

    def __init__(self, *args, members, branch, initial_ratings, initial_branch, **kwargs):
        super().__init__(*args, **kwargs)
        choices = [("", _("not rated yet")), *Rating.choices]
        self.rows = []
        for member in members:
            name = f"member_{member.pk}"
            self.fields[name] = forms.ChoiceField(
                label=member.full_name,
                choices=choices,
                required=False,
                initial=initial_ratings.get(member.pk, ""),
            )
            self.rows.append((member, name))
        self.fields["branch"] = forms.ChoiceField(
            label=branch.name, choices=choices, required=False, initial=initial_branch or ""
        )

    def member_ratings(self) -> dict[int, str]:
        return {member.pk: self.cleaned_data[name] for member, name in self.rows}

    def member_fields(self):
        return [(member, self[name]) for member, name in self.rows]
