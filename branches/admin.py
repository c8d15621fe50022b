from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.db.models import Prefetch
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from pacnam.lib.versioning import VersionCheckedAdmin

from .models import (
    Branch,
    Commune,
    CommuneInProvince,
    District,
    Province,
    Reorganization,
    Role,
    Village,
)


class CommuneMovesOnlyByReorganization:
    """A village's or branch's commune is set when it is created; it changes only
    through a reorganisation, which keeps the old period (an edit here would
    rewrite the rosters of the past)."""

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        return [*fields, "commune"] if obj is not None else fields


# A list of communes in a filter's sidebar is read and shown whole: fine for a
# province's hundred or so, but thousands of links at a national size (the
# benchmark's million members make 2,800 communes). Beyond this many the filter
# lists only the commune chosen; a link with its parameter (?commune=12) still filters.
COMMUNE_FILTER_MAX = 200


def commune_filter(path: str) -> type[admin.SimpleListFilter]:
    """A filter by the commune at `path` ("commune", "branch__commune"), listing
    today's communes while there are at most COMMUNE_FILTER_MAX of them, in one
    bounded query. Its parameter is the path itself (?branch__commune=12), which
    the admin's lookup_allowed accepts for a filter it lists."""

    class CommuneFilter(admin.SimpleListFilter):
        title = _("commune")
        parameter_name = path

        def lookups(self, request, model_admin):
            communes = list(
                Commune.objects.filter(valid_to__isnull=True)
                .order_by("name")
                .values_list("pk", "name")[: COMMUNE_FILTER_MAX + 1]
            )
            if len(communes) > COMMUNE_FILTER_MAX:
                # Only the chosen one, if any: a filter without choices is not applied.
                value = self.value()
                communes = (
                    Commune.objects.filter(pk=value).values_list("pk", "name")
                    if value and value.isdigit()
                    else []
                )
            return [(str(pk), name) for pk, name in communes]

        def queryset(self, request, queryset):
            value = self.value()
            if value is None:
                return queryset
            if not value.isdigit():
                raise IncorrectLookupParameters(value)
            return queryset.filter(**{f"{path}_id": int(value)})

    return CommuneFilter


class CommuneInProvinceInline(admin.TabularInline):
    model = CommuneInProvince
    extra = 0
    fields = ["province", "district", "valid_from", "valid_to"]
    autocomplete_fields = ["province", "district"]


@admin.register(Commune)
class CommuneAdmin(SimpleHistoryAdmin):
    list_display = ["code", "name", "valid_from", "valid_to", "merged_into"]
    search_fields = ["code", "name"]
    list_filter = ["valid_to"]
    autocomplete_fields = ["merged_into"]
    inlines = [CommuneInProvinceInline]


@admin.register(Village)
class VillageAdmin(CommuneMovesOnlyByReorganization, VersionCheckedAdmin, SimpleHistoryAdmin):
    list_display = ["code", "name", "commune", "households", "population", "valid_to"]
    list_select_related = ["commune"]
    search_fields = ["code", "name"]
    list_filter = [commune_filter("commune")]
    autocomplete_fields = ["commune"]


@admin.register(Branch)
class BranchAdmin(CommuneMovesOnlyByReorganization, VersionCheckedAdmin, SimpleHistoryAdmin):
    list_display = ["code", "name", "kind", "commune", "village", "founded_on", "dissolved_on"]
    list_select_related = ["commune", "village"]
    search_fields = ["code", "name"]
    list_filter = ["kind", commune_filter("commune"), ("dissolved_on", admin.EmptyFieldListFilter)]
    autocomplete_fields = ["commune", "village"]


class RoleInline(admin.StackedInline):
    model = Role
    can_delete = True
    extra = 0
    fields = [
        "kind",
        "province",
        "district",
        "commune",
        "branch",
        "title",
        "valid_from",
        "valid_to",
    ]
    autocomplete_fields = ["province", "district", "commune", "branch"]
    verbose_name_plural = _("registry roles")


User = get_user_model()
admin.site.unregister(User)


@admin.register(User)
class RegistryUserAdmin(UserAdmin):
    inlines = [RoleInline]
    list_display = [
        "username",
        "first_name",
        "last_name",
        "role_display",
        "is_active",
        "is_superuser",
    ]

    def get_queryset(self, request):
        # The roles valid today, one query for the page (not one per user).
        today = timezone.localdate()
        return (
            super()
            .get_queryset(request)
            .prefetch_related(
                Prefetch(
                    "registry_roles",
                    queryset=Role.objects.valid_on(today).select_related(
                        "province", "district", "commune", "branch"
                    ),
                    to_attr="roles_today",
                )
            )
        )

    @admin.display(description=_("role today"))
    def role_display(self, user):
        return ", ".join(str(role) for role in user.roles_today)


@admin.register(Role)
class RoleAdmin(admin.ModelAdmin):
    list_display = [
        "user",
        "kind",
        "province",
        "district",
        "commune",
        "branch",
        "title",
        "valid_from",
        "valid_to",
    ]
    list_select_related = ["user", "province", "district", "commune", "branch"]
    list_filter = ["kind"]
    search_fields = ["user__username", "title"]
    autocomplete_fields = ["user", "province", "district", "commune", "branch"]


@admin.register(Province)
class ProvinceAdmin(SimpleHistoryAdmin):
    list_display = ["code", "name", "valid_from", "valid_to", "merged_into"]
    search_fields = ["code", "name"]
    autocomplete_fields = ["merged_into"]


@admin.register(District)
class DistrictAdmin(SimpleHistoryAdmin):
    list_display = ["code", "name", "province", "valid_from", "valid_to"]
    list_select_related = ["province"]
    search_fields = ["code", "name"]
    autocomplete_fields = ["province"]


@admin.register(Reorganization)
class ReorganizationAdmin(admin.ModelAdmin):
    """Read only: a reorganisation is applied and undone through its page or the
    reorganize_units command, as one batch."""

    list_display = ["decision", "on", "performed_by", "performed_at", "undone_at"]
    list_select_related = ["performed_by"]
    readonly_fields = [
        "decision",
        "on",
        "performed_by",
        "performed_at",
        "via_command",
        "merges",
        "undone_at",
        "undone_by",
    ]
    exclude = ["changes"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


admin.site.site_header = _("Pác Nặm Party-branch registry")
admin.site.site_title = _("Party-branch registry")
