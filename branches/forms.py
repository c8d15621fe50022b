from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Branch, Village


class VersionedForm(forms.ModelForm):
    """A model form that carries the version it was opened with (see pacnam.versioning)."""

    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["version"].initial = self.instance.version

    @property
    def opened_version(self) -> int:
        return self.cleaned_data.get("version") or self.instance.version


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


class VillageForm(VersionedForm):
    class Meta:
        model = Village
        fields = ["commune", "code", "name", "households", "population", "valid_from", "valid_to"]
        widgets = {"valid_from": DateInput(), "valid_to": DateInput()}

    def __init__(self, *args, scope, **kwargs):
        super().__init__(*args, **kwargs)
        # Only the user's own communes can be chosen; anything else slipped into
        # the POST is "not one of the available choices".
        self.fields["commune"].queryset = scope.communes()


class BranchForm(VersionedForm):
    class Meta:
        model = Branch
        fields = ["commune", "code", "name", "kind", "village", "founded_on"]
        widgets = {"founded_on": DateInput()}
        help_texts = {"kind": _("A branch is dissolved through the dissolution wizard, not here.")}

    def __init__(self, *args, scope, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["commune"].queryset = scope.communes()
        self.fields["village"].queryset = scope.villages().select_related("commune")
