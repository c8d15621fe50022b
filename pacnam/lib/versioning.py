"""Optimistic locking for forms: saving over someone else's change warns instead
of overwriting it.

Each editable record carries a `version`. The edit form sends back the version
it was opened with; the save locks the row, compares, and bumps it.
"""

from django import forms
from django.db import transaction
from django.utils.translation import gettext as _

from pacnam.lib.errors import DomainError


class EditConflict(DomainError):
    @staticmethod
    def message_text() -> str:
        return _(
            "Someone else saved this record after you opened the form. "
            "Your changes were not saved: reload the page to see their version, then edit again."
        )


@transaction.atomic
def save_if_unchanged(instance, *, expected_version: int) -> None:
    """Save `instance` only if nobody saved it since `expected_version` was read.

    The row lock makes check-and-bump atomic: without it two secretaries
    submitting at the same moment would both see the old version and the second
    would silently overwrite the first (last write wins).
    """
    model = type(instance)
    current = (
        model.objects.select_for_update().values_list("version", flat=True).get(pk=instance.pk)
    )
    if current != expected_version:
        raise EditConflict(EditConflict.message_text())
    instance.version = current + 1
    instance.save()


class VersionCheckedForm(forms.ModelForm):
    """The Django admin's change form with the same protection as the registry's
    own forms: it carries the version it was opened with, and refuses to save
    over a change saved since."""

    # Not "version": the admin would take it for the model's field, which is not editable.
    # No label: the admin would print "Opened version:" beside the hidden field.
    opened_version = forms.IntegerField(widget=forms.HiddenInput, required=False, label="")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["opened_version"].initial = self.instance.version

    def clean(self):
        cleaned = super().clean()
        opened = cleaned.get("opened_version")
        if self.instance.pk and opened is not None:
            # The race: two administrators saving the same record at once. The
            # admin saves inside one transaction (changeform_view), so this row
            # lock holds until the save commits: the second waits, then sees the
            # first one's version and gets this message instead of overwriting.
            current = (
                type(self.instance)
                .objects.select_for_update()
                .values_list("version", flat=True)
                .get(pk=self.instance.pk)
            )
            if current != opened:
                raise forms.ValidationError(EditConflict.message_text())
        return cleaned


class VersionCheckedAdmin:
    """Mixin for the ModelAdmin of a model with a `version`: see VersionCheckedForm."""

    form = VersionCheckedForm

    def save_model(self, request, obj, form, change):
        if change and form.cleaned_data.get("opened_version") is not None:
            obj.version = form.cleaned_data["opened_version"] + 1
        super().save_model(request, obj, form, change)
