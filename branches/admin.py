from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from pacnam.versioning import VersionCheckedAdmin

from .models import Branch, Commune, Role, Village


@admin.register(Commune)
class CommuneAdmin(SimpleHistoryAdmin):
    list_display = ["code", "name", "valid_from", "valid_to", "merged_into"]
    search_fields = ["code", "name"]
    list_filter = ["valid_to"]
    autocomplete_fields = ["merged_into"]


@admin.register(Village)
class VillageAdmin(VersionCheckedAdmin, SimpleHistoryAdmin):
    list_display = ["code", "name", "commune", "households", "population", "valid_to"]
    list_select_related = ["commune"]
    search_fields = ["code", "name"]
    list_filter = ["commune"]
    autocomplete_fields = ["commune"]


@admin.register(Branch)
class BranchAdmin(VersionCheckedAdmin, SimpleHistoryAdmin):
    list_display = ["code", "name", "kind", "commune", "village", "founded_on", "dissolved_on"]
    list_select_related = ["commune", "village"]
    search_fields = ["code", "name"]
    list_filter = ["kind", "commune", ("dissolved_on", admin.EmptyFieldListFilter)]
    autocomplete_fields = ["commune", "village"]


class RoleInline(admin.StackedInline):
    model = Role
    can_delete = True
    autocomplete_fields = ["commune", "branch"]
    verbose_name_plural = _("registry role")


User = get_user_model()
admin.site.unregister(User)


@admin.register(User)
class RegistryUserAdmin(UserAdmin):
    inlines = [RoleInline]
    list_display = ["username", "first_name", "last_name", "role_display", "is_active", "is_superuser"]
    list_select_related = ["registry_role__commune", "registry_role__branch"]

    @admin.display(description=_("role"))
    def role_display(self, user):
        role = getattr(user, "registry_role", None)
        return str(role) if role else ""


@admin.register(Role)
class RoleAdmin(admin.ModelAdmin):
    list_display = ["user", "kind", "commune", "branch", "title"]
    list_select_related = ["user", "commune", "branch"]
    list_filter = ["kind", "commune"]
    search_fields = ["user__username", "title"]
    autocomplete_fields = ["user", "commune", "branch"]


admin.site.site_header = _("Pác Nặm Party-branch registry")
admin.site.site_title = _("Party-branch registry")
