from django import forms
from django.utils.translation import gettext_lazy as _

from branches.forms import DateInput, VersionedForm
from branches.models import Branch

from .models import Member


class MemberForm(VersionedForm):
    """Add or edit a member. On add, the member's first official branch and the
    date they joined it; later moves are transfers, never an edit."""

    branch = forms.ModelChoiceField(label=_("Branch"), queryset=Branch.objects.none())
    since = forms.DateField(
        label=_("In this branch since"),
        required=False,
        widget=DateInput(),
        help_text=_("Empty: the admission date."),
    )

    class Meta:
        model = Member
        fields = [
            "citizen_id", "full_name", "gender", "birth_date", "ethnicity", "residence_village",
            "position", "is_commune_cadre", "admitted_on", "full_on", "card_number",
        ]
        widgets = {
            "birth_date": DateInput(),
            "admitted_on": DateInput(),
            "full_on": DateInput(),
        }

    def __init__(self, *args, scope, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["residence_village"].queryset = scope.villages().select_related("commune")
        if self.instance.pk:
            # The branch changes only through a transfer.
            del self.fields["branch"]
            del self.fields["since"]
        else:
            self.fields["branch"].queryset = (
                scope.branches().active().select_related("commune").order_by("commune__code", "name")
            )
        if not scope.can_edit_registry():
            for field in self.fields.values():
                field.disabled = True

    def _get_validation_exclusions(self):
        # Member.branch is set by the service, not by this form.
        exclusions = super()._get_validation_exclusions()
        exclusions.add("branch")
        return exclusions
