"""The village and branch forms."""

from django import forms
from django.utils.translation import gettext_lazy as _

from pacnam.lib.forms import VersionedForm

from .models import Branch, Village, unit_label


class UnitLabelMixin:
    """A select of villages or branches shows each as `unit_label` (name · code ·
    commune), so two units of one name are told apart. Mixed in before a
    ModelChoiceField; the queryset should select_related("commune") or annotate
    `commune_then_name`, or each option costs a query."""

    def label_from_instance(self, obj) -> str:
        return unit_label(obj)


class UnitChoiceField(UnitLabelMixin, forms.ModelChoiceField):
    pass


def label_units(field) -> None:
    """Make a model form's generated village or branch field show unit_label."""
    field.label_from_instance = unit_label


def _commune_fixed_once_saved(form) -> None:
    """A village or branch changes commune only through a reorganisation, which
    keeps the period before it; an edit here would rewrite the rosters of the past."""
    if form.instance.pk:
        field = form.fields["commune"]
        field.disabled = True
        field.queryset = field.queryset.model.objects.filter(pk=form.instance.commune_id)
        field.help_text = _(
            "It moves to another commune only through a reorganisation of communes."
        )


class VillageForm(VersionedForm):
    class Meta(VersionedForm.Meta):
        model = Village
        fields = ["commune", "code", "name", "households", "population", "valid_from", "valid_to"]

    def __init__(self, *args, scope, **kwargs):
        super().__init__(*args, **kwargs)
        # Only the user's own communes of today can be chosen; anything else
        # slipped into the POST is "not one of the available choices".
        self.fields["commune"].queryset = scope.communes().valid_on()
        _commune_fixed_once_saved(self)


class BranchForm(VersionedForm):
    class Meta(VersionedForm.Meta):
        model = Branch
        fields = ["commune", "code", "name", "kind", "village", "founded_on"]
        help_texts = {"kind": _("A branch is dissolved through the dissolution wizard, not here.")}

    def __init__(self, *args, scope, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["commune"].queryset = scope.communes().valid_on()
        self.fields["village"].queryset = scope.villages().valid_on().select_related("commune")
        _commune_fixed_once_saved(self)
