from django.apps import apps
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from pacnam.lib.admin_scale import LargeTableAdmin, year_filter
from pacnam.models import AUDIT_ACTIONS, AuditEntry, ReadLogEntry


class ActionFilter(admin.SimpleListFilter):
    """The actions in words, as the change log says them (not "branch_dissolve")."""

    title = _("action")
    parameter_name = "action"

    def lookups(self, request, model_admin):
        return list(AUDIT_ACTIONS.items())

    def queryset(self, request, queryset):
        return queryset.filter(action=self.value()) if self.value() else queryset


def _model_name(object_type: str) -> str:
    try:
        return str(apps.get_model(object_type)._meta.verbose_name)
    except (LookupError, ValueError):
        return object_type


REGISTRY_APPS = {"pacnam", "branches", "members", "meetings"}


class ObjectTypeFilter(admin.SimpleListFilter):
    """The kinds of record by their names (not "members.member")."""

    title = _("record type")
    parameter_name = "object_type"

    def lookups(self, request, model_admin):
        # The registry's own models, not SELECT DISTINCT over the whole log.
        # Not simple-history's shadow models: an entry names the record itself, and
        # their names are half English ("historical buổi sinh hoạt").
        types = [
            m._meta.label_lower
            for m in apps.get_models()
            if m._meta.app_label in REGISTRY_APPS and not m.__name__.startswith("Historical")
        ]
        return sorted(((t, _model_name(t)) for t in types), key=lambda pair: pair[1])

    def queryset(self, request, queryset):
        return queryset.filter(object_type=self.value()) if self.value() else queryset


@admin.register(AuditEntry)
class AuditEntryAdmin(LargeTableAdmin, admin.ModelAdmin):
    """The audit trail, readable and nothing else: no one, superusers included,
    adds, changes or deletes an entry here (the model and the database refuse too)."""

    list_display = [
        "seq",
        "at",
        "actor_name",
        "action_label",
        "object_type_label",
        "object_repr",
        "item_count",
    ]
    # Years in place of date_hierarchy (SELECT DISTINCT over the whole log).
    list_filter = [ActionFilter, ObjectTypeFilter, year_filter("at", first_year=2024)]
    search_fields = ["object_repr", "actor_name", "description", "object_id"]
    ordering = ["-seq"]
    actions = None

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    @admin.display(description=_("action"), ordering="action")
    def action_label(self, obj: AuditEntry) -> str:
        return obj.action_label

    @admin.display(description=_("record type"), ordering="object_type")
    def object_type_label(self, obj: AuditEntry) -> str:
        return _model_name(obj.object_type)

    @admin.display(description=_("items"))
    def item_count(self, obj: AuditEntry) -> int:
        return len(obj.items or [])

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser


@admin.register(ReadLogEntry)
class ReadLogEntryAdmin(LargeTableAdmin, admin.ModelAdmin):
    """The read log, readable and nothing else (the model and the database refuse
    changes too). Seen by administrators and staff users with its view permission."""

    list_display = ["at", "actor_name", "action", "object_repr", "rows", "where"]
    list_filter = ["action", year_filter("at", first_year=2024)]
    search_fields = ["actor_name", "object_repr", "object_id"]
    ordering = ["-at", "-id"]
    actions = None

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
