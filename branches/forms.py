"""The village and branch forms."""

from django.utils.translation import gettext_lazy as _

from pacnam.forms import DateInput, VersionedForm

from .models import Branch, Village


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
