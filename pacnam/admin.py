from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from .models import AuditEntry, ReadLogEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """The audit trail, readable and nothing else: no one, superusers included,
    adds, changes or deletes an entry here (the model and the database refuse too)."""

    list_display = ["seq", "at", "actor_name", "action", "object_type", "object_repr", "item_count"]
    list_filter = ["action", "object_type"]
    search_fields = ["object_repr", "actor_name", "description", "object_id"]
    date_hierarchy = "at"
    ordering = ["-seq"]
    actions = None
    show_full_result_count = False

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

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
class ReadLogEntryAdmin(admin.ModelAdmin):
    """The read log, readable and nothing else (the model and the database refuse
    changes too). Seen by administrators and staff users with its view permission."""

    list_display = ["at", "actor_name", "action", "object_repr", "rows", "where"]
    list_filter = ["action"]
    search_fields = ["actor_name", "object_repr", "object_id"]
    date_hierarchy = "at"
    ordering = ["-at", "-id"]
    actions = None
    show_full_result_count = False

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
