from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from pacnam.lib.forms import date_field


class ReportUpwardForm(forms.Form):
    unit = forms.CharField(
        label=_("Unit code"),
        max_length=20,
        help_text=_("A branch, commune or province code, as it was on the last day."),
    )
    first = date_field(pgettext_lazy("since a date", "From"))
    last = date_field(pgettext_lazy("until a date", "To"))

    def clean(self):
        data = super().clean()
        first, last = data.get("first"), data.get("last")
        if first and last and last < first:
            raise ValidationError(_("The last day comes before the first."))
        return data
