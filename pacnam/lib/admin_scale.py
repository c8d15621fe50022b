"""What keeps a Django admin page fast at a million rows.

The admin's defaults read whole tables: the changelist counts every row (twice,
with the full count beside the filtered one), a `date_hierarchy` runs a
DISTINCT over the table, an `AllValuesFieldListFilter` another, and an
autocomplete widget in an inline asks the database for its one selected label
on every row. The pieces here replace each with a read that costs the same at
any size.
"""

import re
from typing import ClassVar

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import AutocompleteSelect
from django.db import models
from django.forms.models import BaseInlineFormSet
from django.utils import timezone

from pacnam.lib.pagination import AdminPaginator


class LargeTableAdmin:
    """Mixin for the ModelAdmin of a table that grows with the members (members,
    memberships, transfers, meetings, attendance, the logs): the changelist counts
    at most ADMIN_COUNT_CAP + 1 rows, and never the whole table beside it."""

    show_full_result_count = False
    paginator: ClassVar[type] = AdminPaginator


_YEAR = re.compile(r"^(\d{4})(?:-(\d{4}))?$")


def year_filter(
    field_name: str, *, first_year: int, parameter: str = ""
) -> type[admin.SimpleListFilter]:
    """A list filter by year and by decade on a date field (or a year number), in
    place of `date_hierarchy`: its choices are computed, not read from the table
    (the hierarchy, like the admin's filter of a number field, runs SELECT
    DISTINCT over every row), and a choice is a range on the field, which an
    index on it can answer."""

    class YearFilter(admin.SimpleListFilter):
        parameter_name = parameter or f"{field_name}__year"

        def __init__(self, request, params, model, model_admin):
            self.title = model._meta.get_field(field_name).verbose_name
            super().__init__(request, params, model, model_admin)

        def lookups(self, request, model_admin):
            this_year = timezone.localdate().year
            # The last ten years one by one, then decades back to the first year.
            years = [
                (str(y), str(y)) for y in range(this_year, max(first_year, this_year - 9) - 1, -1)
            ]
            decades = [
                (f"{d}-{d + 9}", f"{d}–{d + 9}")
                for d in range((this_year - 10) // 10 * 10, first_year // 10 * 10 - 1, -10)
            ]
            return years + decades

        def queryset(self, request, queryset):
            match = _YEAR.match(self.value() or "")
            if not match:
                return queryset
            start = int(match[1])
            end = int(match[2] or start)
            field = queryset.model._meta.get_field(field_name)
            # On a date, __year__gte/__lte become a range on the column, not a function of it.
            lookup = f"{field_name}__year" if isinstance(field, models.DateField) else field_name
            return queryset.filter(**{f"{lookup}__gte": start, f"{lookup}__lte": end})

    return YearFilter


class LoadedAutocompleteSelect(AutocompleteSelect):
    """An autocomplete whose selected option is labelled from the object the row
    already holds (loaded with select_related), instead of one query per row: an
    inline of 30 memberships made 30 queries for 30 names."""

    loaded = None

    def optgroups(self, name, value, attr=None):
        obj = self.loaded
        selected = [str(v) for v in value if str(v) not in self.choices.field.empty_values]
        if obj is None or selected != [str(obj.pk)] or self.field.target_field != obj._meta.pk:
            return super().optgroups(name, value, attr)
        options = [] if self.is_required else [self.create_option(name, "", "", False, 0)]
        label = self.choices.field.label_from_instance(obj)
        options.append(self.create_option(name, obj.pk, label, True, len(options)))
        return [(None, options, 0)]


class LoadedRelationsForm(forms.ModelForm):
    """Hands each LoadedAutocompleteSelect the related object its row already holds."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is None:
            return
        for name, field in self.fields.items():
            widget = getattr(
                field.widget, "widget", field.widget
            )  # inside RelatedFieldWidgetWrapper
            if isinstance(widget, LoadedAutocompleteSelect):
                relation = self.instance._meta.get_field(name)
                if relation.is_cached(self.instance):
                    widget.loaded = getattr(self.instance, name)


class LoadedAutocompleteInline:
    """Mixin for an inline with autocomplete_fields: the rows' selected labels come
    from the rows (its get_queryset must select_related those fields)."""

    form: type[forms.ModelForm] = LoadedRelationsForm

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name in self.get_autocomplete_fields(request) and "widget" not in kwargs:
            kwargs["widget"] = LoadedAutocompleteSelect(
                db_field, self.admin_site, using=kwargs.get("using")
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class CappedInlineFormSet(BaseInlineFormSet):
    """An inline formset that shows at most `cap` rows of its queryset (the
    inline's get_queryset says which come first). The cap is applied here, after
    the formset has filtered by the parent: a sliced queryset can't be filtered."""

    cap = 50

    def get_queryset(self):
        if not hasattr(self, "_capped_queryset"):
            self._capped_queryset = super().get_queryset()[: self.cap]
        return self._capped_queryset
