"""The member list's filters, shared by the list page and its CSV/XLSX exports
so that an export gives exactly the list the user sees."""

import datetime

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from branches.models import Branch, Commune

from .models import Member, MemberStatus, add_years

AGE_BANDS = [
    ("", _("any age")),
    ("18-30", _("18 to 30")),
    ("31-45", _("31 to 45")),
    ("46-60", _("46 to 60")),
    ("61-", _("over 60")),
]

YES_NO = [("", _("all")), ("yes", _("yes")), ("no", _("no"))]


# A select lists every commune and branch of the scope while they are few (a
# district: 10 communes, 143 branches). A province has thousands: the page
# would be megabytes of options, slow to render and useless to scroll, so
# beyond this many the commune is typed as its code and the branch list holds
# the branches of the chosen commune (issue 7). Each is still one query.
MAX_OPTIONS = 300


class _BoundedIterator(forms.models.ModelChoiceIterator):
    def __iter__(self):
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        queryset = self.field.display_queryset
        if queryset is None:
            queryset = self.queryset
        # Values, not instances: a province's page built 600 objects per request
        # only to learn there were more than MAX_OPTIONS of them (issue 7).
        key = self.field.to_field_name or "pk"
        yield from queryset.values_list(key, self.field.label_field)[: MAX_OPTIONS + 1]


class BoundedModelChoiceField(forms.ModelChoiceField):
    """Validates against the whole `queryset`, lists at most MAX_OPTIONS of
    `display_queryset` (default: the queryset), labelled by `label_field` (the
    field the model's __str__ shows)."""

    iterator = _BoundedIterator
    display_queryset = None
    label_field = "name"


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


class MemberFilterForm(forms.Form):
    q = forms.CharField(label=_("Name, citizen ID or card number"), required=False)
    commune = BoundedModelChoiceField(
        label=_("Commune"), queryset=Commune.objects.none(), required=False, to_field_name="code",
        widget=BoundedSelect(typed=True),
    )
    branch = BoundedModelChoiceField(
        label=_("Branch"), queryset=Branch.objects.none(), required=False, widget=BoundedSelect()
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
        self.fields["commune"].queryset = scope.communes()
        self.fields["branch"].queryset = scope.branches()
        commune_code = self.data.get("commune") if self.is_bound else None
        if commune_code:
            # The branches of the chosen commune first (all of them, even in a province).
            self.fields["branch"].display_queryset = scope.branches().filter(commune__code=commune_code)

    def filter(self, qs=None, today: datetime.date | None = None):
        """The scoped, filtered members. Invalid filters give an empty list, not everyone."""
        qs = Member.objects.visible_to(self.scope) if qs is None else qs.visible_to(self.scope)
        if not self.is_valid():
            return qs.none()
        data = self.cleaned_data
        today = today or timezone.localdate()
        qs = qs.search(data["q"])
        if data["commune"]:
            qs = qs.filter(branch__commune=data["commune"])
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
