"""Form pieces every app shares: the one date widget, the versioned model form,
selects that stay small at a province's size, and form errors as messages."""

from collections.abc import Callable

from django import forms
from django.contrib import messages
from django.db import models
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from pacnam.lib.dates import DATE_INPUT_FORMATS
from pacnam.lib.errors import DomainError
from pacnam.lib.text import clean_text


class DateInput(forms.DateInput):
    """The one date widget of the registry: a text box for dd/mm/yyyy.

    Not a native date input: its display and typing order follow the browser's
    language, so on the English browsers common in offices 05/04/2019 would be
    read as 4 May while the record says 5 April. The field reads dd/mm/yyyy or
    yyyy-mm-dd (pacnam.lib.dates.DATE_INPUT_FORMATS, also every form's format)."""

    input_type = "text"

    def __init__(self, attrs=None):
        super().__init__(
            attrs={
                "placeholder": "dd/mm/yyyy",
                "title": _("Day/month/year, e.g. 05/04/2019"),
                "autocomplete": "off",
                "size": 10,
                "class": "date",
                **(attrs or {}),
            },
            format="%d/%m/%Y",
        )


class DateField(forms.DateField):
    """A date typed as dd/mm/yyyy (or yyyy-mm-dd), in the one date widget."""

    widget = DateInput
    input_formats = DATE_INPUT_FORMATS

    def __init__(self, **kwargs):
        kwargs.pop("input_formats", None)
        kwargs.pop("localize", None)
        super().__init__(input_formats=DATE_INPUT_FORMATS, **kwargs)


def date_field(label, *, required: bool = True, initial=None, help_text: str = "") -> DateField:
    return DateField(label=label, required=required, initial=initial, help_text=help_text)


def registry_formfield(db_field, **kwargs):
    """The model forms' `formfield_callback`: a model's DateField becomes the one
    date field (dd/mm/yyyy), whatever widget Django would pick."""
    if isinstance(db_field, models.DateField) and not isinstance(db_field, models.DateTimeField):
        kwargs.pop("widget", None)
        return db_field.formfield(form_class=DateField, **kwargs)
    return db_field.formfield(**kwargs)


class MonthInput(forms.TextInput):
    """A month typed as mm/yyyy (not a native month input, for the same reason as DateInput)."""

    def __init__(self, attrs=None):
        super().__init__(
            attrs={
                "placeholder": "mm/yyyy",
                "title": _("Month/year, e.g. 04/2019"),
                "size": 7,
                **(attrs or {}),
            }
        )


class TimeInput(forms.TimeInput):
    """A time of day as hh:mm, 24-hour (a native time input shows AM/PM on English browsers)."""

    input_type = "text"

    def __init__(self, attrs=None):
        super().__init__(
            attrs={"placeholder": "hh:mm", "inputmode": "numeric", "size": 5, **(attrs or {})},
            format="%H:%M",
        )


class RegistryModelForm(forms.ModelForm):
    """The base of the registry's model forms: its dates are the one date field.
    A subclass's Meta inherits this one's (`class Meta(RegistryModelForm.Meta)`)."""

    class Meta:
        formfield_callback = registry_formfield


class CleanTextForm:
    """A form whose typed text is read as it is stored (pacnam.lib.text.clean_text: NFC,
    trimmed, Đ not Ð) before its fields check it: a name typed in decomposed letters
    is checked against max_length as the letters it will be stored as. Mixed in
    before forms.Form or forms.ModelForm."""

    def __init__(self, data=None, *args, **kwargs):
        if data is not None and hasattr(data, "lists"):
            cleaned = data.copy()
            for key, values in data.lists():
                cleaned.setlist(key, [clean_text(v) if isinstance(v, str) else v for v in values])
            data = cleaned
        super().__init__(data, *args, **kwargs)


class VersionedForm(CleanTextForm, RegistryModelForm):
    """A model form that carries the version it was opened with (see pacnam.lib.versioning)."""

    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["version"].initial = self.instance.version

    @property
    def opened_version(self) -> int:
        return self.cleaned_data.get("version") or self.instance.version


def report_outcome(request, action: Callable[[], object], *, success: str) -> bool:
    """Run one service call for a POST-only button and say how it went: its refusal
    (a DomainError) as an error message, or `success`. The page redirects back to
    the record either way; nothing is half-saved, as the services are atomic."""
    try:
        action()
    except DomainError as exc:
        messages.error(request, exc.message)
        return False
    messages.success(request, success)
    return True


def flash_form_errors(request, form) -> None:
    """Show a form's errors as messages, for the small POST-only forms that redirect
    back to the record's page instead of rendering a page of their own."""
    # Each message names its field: the form may be far down the page.
    for name, errors in form.errors.items():
        field = form.fields.get(name)
        for error in errors:
            if field is not None and field.label:
                messages.error(request, f"{capfirst(field.label)}: {error}")
            else:
                messages.error(request, error)


# A select lists every commune and branch of the scope while they are few (a
# district: 10 communes, 143 branches). A province has thousands: the page
# would be megabytes of options, slow to render and useless to scroll, so
# beyond this many the member list types the commune as its code and lists the
# branches of the chosen commune, and the meeting reports pick a commune from
# their table of communes. Each is still one query.
MAX_OPTIONS = 300


class _BoundedIterator(forms.models.ModelChoiceIterator):
    def __iter__(self):
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        queryset = self.field.display_queryset
        if queryset is None:
            queryset = self.queryset
        # Values, not instances: a province's page built 600 objects per request
        # only to learn there were more than MAX_OPTIONS of them.
        key = self.field.to_field_name or "pk"
        fields = self.field.label_fields or (self.field.label_field,)
        for value, *parts in queryset.values_list(key, *fields)[: MAX_OPTIONS + 1]:
            yield value, " · ".join(str(part) for part in parts if part)


class BoundedModelChoiceField(forms.ModelChoiceField):
    """Validates against the whole `queryset`, lists at most MAX_OPTIONS of
    `display_queryset` (default: the queryset), labelled by `label_field` (the
    field the model's __str__ shows)."""

    iterator = _BoundedIterator
    display_queryset = None
    label_field = "name"
    # Several fields joined by " · " (a branch: name, code, commune), else label_field.
    label_fields: tuple[str, ...] = ()


class BoundedSelect(forms.Select):
    """A select while the options are few; beyond MAX_OPTIONS, a text box for the
    value (`typed=True`) or a select holding only the chosen option."""

    def __init__(self, *args, typed: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.typed = typed

    def render(self, name, value, attrs=None, renderer=None):
        # Iterated, not list(): list() asks the iterator's len(), a COUNT query.
        choices = [choice for choice in self.choices]  # noqa: C416
        if len(choices) > MAX_OPTIONS + 1:
            if self.typed:
                return forms.TextInput(self.attrs).render(name, value, attrs, renderer)
            chosen = "" if value is None else str(value)
            choices = [c for c in choices if c[0] == "" or str(c[0]) == chosen]
        self.choices = choices
        return super().render(name, value, attrs, renderer)
