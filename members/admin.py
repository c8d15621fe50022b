import re

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import AutocompleteSelect
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from branches.admin import BranchAdmin, commune_filter
from branches.models import Branch
from pacnam.lib.admin_scale import (
    CappedInlineFormSet,
    LargeTableAdmin,
    LoadedAutocompleteInline,
    year_filter,
)
from pacnam.lib.versioning import VersionCheckedAdmin

from .forms.members import MEMBER_FIELDS
from .models import (  # noqa: E402
    Candidate,
    CandidateIntroducer,
    CandidateStepRecord,
    DissolutionBatch,
    DissolutionMove,
    Evaluation,
    FullMembershipRecognition,
    Member,
    Membership,
    Transfer,
)
from .services.members import member_create


class SuperuserDeleteOnly:
    """Members are never hard-deleted (they leave with a date and a reason); only a
    superuser may remove a row entered by mistake."""

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser


class SearchesMembers:
    """Mixin for the admin of a record about a member: its search is the
    registry's member search (Member.objects.search: an ID or card-number prefix,
    or the accent-free name through its trigram index on PostgreSQL), not the
    admin's UPPER(...) LIKE '%...%' over joined columns, which reads every row."""

    member_path = "member"

    def get_search_results(self, request, queryset, search_term):
        if not search_term.strip():
            return queryset, False
        members = Member.objects.search(search_term).order_by().values("pk")
        return queryset.filter(**{f"{self.member_path}__in": members}), False


class MemberMembershipInline(SuperuserDeleteOnly, LoadedAutocompleteInline, admin.TabularInline):
    model = Membership
    fk_name = "member"
    extra = 0
    fields = ["branch", "kind", "started_on", "ended_on", "end_reason"]
    autocomplete_fields = ["branch"]
    ordering = ["started_on"]

    def get_queryset(self, request):
        # The row's title (Membership.__str__) and its branch's label read these.
        return super().get_queryset(request).select_related("member", "branch")


class BranchMembershipFormSet(CappedInlineFormSet):
    cap = 50


class BranchMembershipInline(SuperuserDeleteOnly, LoadedAutocompleteInline, admin.TabularInline):
    """The branch's current memberships, the first BranchMembershipFormSet.cap by
    name: a branch's whole history can run to thousands of rows. All of them,
    ended ones too, are a link away (BranchWithMembershipsAdmin.all_memberships).

    Read only: a membership is opened and closed by the services (a move, a
    transfer, a dissolution), and a correction is made on the member's page or
    the membership's own. Fifty rows of editable widgets took 200 ms to render."""

    model = Membership
    fk_name = "branch"
    extra = 0
    formset = BranchMembershipFormSet
    fields = readonly_fields = ("member", "kind", "started_on", "ended_on", "end_reason")
    ordering = ["member__folded_name", "pk"]
    verbose_name_plural = _("current memberships")

    def has_add_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).open().select_related("member", "branch")


# The branch's admin page lists its memberships: members sits above branches,
# so it is here, not in branches/admin.py, that the branch admin gains them.
admin.site.unregister(Branch)


@admin.register(Branch)
class BranchWithMembershipsAdmin(BranchAdmin):
    inlines = [BranchMembershipInline]

    def get_inlines(self, request, obj):
        return self.inlines if obj else []

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        return [*fields, "all_memberships"] if obj is not None else fields

    @admin.display(description=_("memberships"))
    def all_memberships(self, branch):
        url = reverse("admin:members_membership_changelist") + f"?branch__id__exact={branch.pk}"
        return format_html(
            '<a href="{}">{}</a>', url, _("All memberships of this branch, ended ones too")
        )


class MemberAddForm(forms.ModelForm):
    """Adding a member in the admin: Member.branch is kept by the services, so the
    first branch is asked here and the save goes through member_create."""

    # An autocomplete, not a select of every active branch (tens of thousands at a
    # national size); the queryset still refuses a dissolved one.
    branch = forms.ModelChoiceField(
        label=_("branch"),
        queryset=Branch.objects.active(),
        widget=AutocompleteSelect(Member._meta.get_field("branch"), admin.site),
        help_text=_("The official branch the member joins."),
    )
    since = forms.DateField(
        label=_("member of this branch since"),
        required=False,
        help_text=_("Empty: the admission date."),
    )

    class Meta:
        model = Member
        fields = MEMBER_FIELDS

    def clean(self):
        cleaned = super().clean()
        branch, admitted_on = cleaned.get("branch"), cleaned.get("admitted_on")
        since = cleaned.get("since") or admitted_on
        if branch and since:
            if admitted_on and since < admitted_on:
                self.add_error("since", _("A membership cannot start before the admission date."))
            elif branch.founded_on and branch.founded_on > since:
                self.add_error("branch", _("This branch was founded after that date."))
        return cleaned


# Viet Nam's 54 ethnic groups (Danh mục các dân tộc Việt Nam), the choices of the
# ethnicity filter: the admin's own filter read them with SELECT DISTINCT over
# every member.
ETHNIC_GROUPS = [
    "Kinh",
    "Tày",
    "Thái",
    "Mường",
    "Khmer",
    "Hoa",
    "Nùng",
    "Mông",
    "Dao",
    "Gia Rai",
    "Ê Đê",
    "Ba Na",
    "Sán Chay",
    "Chăm",
    "Cơ Ho",
    "Xơ Đăng",
    "Sán Dìu",
    "Hrê",
    "Ra Glai",
    "Mnông",
    "Thổ",
    "Xtiêng",
    "Khơ Mú",
    "Bru - Vân Kiều",
    "Cơ Tu",
    "Giáy",
    "Tà Ôi",
    "Mạ",
    "Giẻ - Triêng",
    "Co",
    "Chơ Ro",
    "Xinh Mun",
    "Hà Nhì",
    "Chu Ru",
    "Lào",
    "Kháng",
    "La Chí",
    "Phù Lá",
    "La Hủ",
    "La Ha",
    "Pà Thẻn",
    "Lự",
    "Ngái",
    "Chứt",
    "Lô Lô",
    "Mảng",
    "Cơ Lao",
    "Bố Y",
    "Cống",
    "Si La",
    "Pu Péo",
    "Rơ Măm",
    "Brâu",
    "Ơ Đu",
]


class EthnicityFilter(admin.SimpleListFilter):
    title = _("ethnicity")
    parameter_name = "ethnicity"  # the parameter of the filter it replaces

    def lookups(self, request, model_admin):
        return [(name, name) for name in ETHNIC_GROUPS]

    def queryset(self, request, queryset):
        return queryset.filter(ethnicity=self.value()) if self.value() else queryset


@admin.register(Member)
class MemberAdmin(SuperuserDeleteOnly, LargeTableAdmin, VersionCheckedAdmin, SimpleHistoryAdmin):
    list_display = [
        "full_name",
        "citizen_id",
        "branch",
        "status",
        "is_commune_cadre",
        "admitted_on",
        "full_on",
        "card_number",
    ]
    list_select_related = ["branch"]
    # Shows the search box and lets autocompletes ask this admin; the search
    # itself is get_search_results.
    search_fields = ["full_name"]
    search_help_text = _(
        "A name, with or without accents, or the first digits of a citizen ID or card number."
    )
    # Years of admission in place of date_hierarchy (SELECT DISTINCT over the table).
    list_filter = [
        "status",
        "is_commune_cadre",
        "gender",
        EthnicityFilter,
        commune_filter("branch__commune"),
        "branch__kind",
        year_filter("admitted_on", first_year=1930),
    ]
    autocomplete_fields = ["residence_village"]
    readonly_fields = ["branch"]
    inlines = [MemberMembershipInline]

    def get_search_results(self, request, queryset, search_term):
        """The registry's search (Member.objects.search), here and in every
        autocomplete of members: on the folded-name index, accent-free."""
        return queryset.search(search_term), False

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = MemberAddForm
            kwargs["fields"] = None
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return [*MemberAddForm.Meta.fields, "branch", "since"]
        return super().get_fields(request, obj)

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else super().get_readonly_fields(request, obj)

    def get_inlines(self, request, obj):
        # The first membership is opened by member_create, not typed in.
        return [] if obj is None else super().get_inlines(request, obj)

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        member_create(
            member=obj, branch=form.cleaned_data["branch"], since=form.cleaned_data.get("since")
        )


@admin.register(Membership)
class MembershipAdmin(SuperuserDeleteOnly, SearchesMembers, LargeTableAdmin, SimpleHistoryAdmin):
    list_display = ["member", "branch", "kind", "started_on", "ended_on", "end_reason"]
    list_select_related = ["member", "branch"]
    list_filter = ["kind", "end_reason", commune_filter("branch__commune")]
    search_fields = ["member__full_name"]  # see SearchesMembers
    autocomplete_fields = ["member", "branch"]
    # Newest first, on the primary key: the model's order (started_on) has no
    # index of its own, and sorting every membership for one page is a scan.
    ordering = ["-pk"]


# --- Admission, probation, ratings ---


class CandidateIntroducerInline(LoadedAutocompleteInline, admin.TabularInline):
    model = CandidateIntroducer
    extra = 0
    autocomplete_fields = ["member"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("member")


class CandidateStepRecordInline(admin.TabularInline):
    model = CandidateStepRecord
    extra = 0
    readonly_fields = ["step", "recorded_by", "recorded_at"]
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Candidate)
class CandidateAdmin(SimpleHistoryAdmin):
    list_display = [
        "full_name",
        "citizen_id",
        "branch",
        "decision_on",
        "ceremony_on",
        "withdrawn_on",
    ]
    list_select_related = ["branch"]
    list_filter = [commune_filter("branch__commune")]
    search_fields = ["full_name", "folded_name", "citizen_id"]
    autocomplete_fields = ["branch", "residence_village", "member"]
    inlines = [CandidateIntroducerInline, CandidateStepRecordInline]


@admin.register(Evaluation)
class EvaluationAdmin(SearchesMembers, LargeTableAdmin, SimpleHistoryAdmin):
    """One row per member and year: a table that grows like the members."""

    list_display = ["year", "branch", "member", "rating", "recorded_by"]
    list_select_related = ["branch", "member", "recorded_by"]
    list_filter = [
        year_filter("year", first_year=2020, parameter="year"),
        "rating",
        commune_filter("branch__commune"),
    ]
    search_fields = ["member__full_name"]  # see SearchesMembers
    autocomplete_fields = ["branch", "member"]
    readonly_fields = ["recorded_by", "recorded_at"]


@admin.register(FullMembershipRecognition)
class FullMembershipRecognitionAdmin(admin.ModelAdmin):
    list_display = ["member", "branch_voted_on", "decision_number", "decision_on"]
    list_select_related = ["member"]
    search_fields = ["member__full_name", "decision_number"]
    autocomplete_fields = ["member"]


# --- Transfers and dissolutions ---


def _shown(field, value) -> str:
    """A value kept as JSON, as the interface shows it: choices by their label,
    yes/no, dates as dd/mm/yyyy."""
    if value in (None, ""):
        return "—"
    if isinstance(value, bool):
        return str(_("yes") if value else _("no"))
    if field is not None and field.choices:
        return str(dict(field.flatchoices).get(value, value))
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return "/".join(reversed(value.split("-")))
    return str(value)


@admin.register(Transfer)
class TransferAdmin(SearchesMembers, LargeTableAdmin, admin.ModelAdmin):
    """Read-mostly: steps are taken through the services (pages), which check
    who may take them and keep memberships in step."""

    list_display = [
        "__str__",
        "kind",
        "scope",
        "status",
        "letter_reference",
        "letter_date",
        "requested_on",
    ]
    list_select_related = ["member", "from_branch", "to_branch"]
    # Years computed, not read with SELECT DISTINCT (letter_year's own filter and
    # date_hierarchy both did).
    list_filter = [
        "status",
        "kind",
        "scope",
        year_filter("letter_year", first_year=2016, parameter="letter_year"),
        year_filter("requested_on", first_year=2016),
    ]
    search_fields = ["member__full_name"]  # see SearchesMembers
    # Newest first on the primary key: requested_at has no index of its own.
    ordering = ["-pk"]

    # The incoming member's details are shown as the member's own fields, in the
    # interface's words, not as the JSON they are kept in.
    exclude = ["incoming"]

    def get_readonly_fields(self, request, obj=None):
        fields = [f.name for f in self.model._meta.fields if f.name != "incoming"]
        return [*fields, "incoming_details"]

    @admin.display(description=_("details of the incoming member"))
    def incoming_details(self, obj):
        if not obj.incoming:
            return "—"
        fields = {f.attname: f for f in Member._meta.concrete_fields}
        lines = [
            (
                str(fields[key].verbose_name) if key in fields else key,
                _shown(fields.get(key), value),
            )
            for key, value in obj.incoming.items()
        ]
        return format_html_join(mark_safe("<br>"), "{}: {}", lines)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser


class DissolutionMoveInline(admin.TabularInline):
    model = DissolutionMove
    extra = 0
    fields = readonly_fields = (
        "member",
        "from_membership",
        "to_branch",
        "new_membership",
        "decided_by_person",
    )
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related(
                "member",
                "to_branch",
                "from_membership__member",
                "from_membership__branch",
                "new_membership__member",
                "new_membership__branch",
            )
        )


@admin.register(DissolutionBatch)
class DissolutionBatchAdmin(admin.ModelAdmin):
    """A record of what happened: read-only; undo it from its page (district officers)."""

    list_display = [
        "branch",
        "decision",
        "dissolved_on",
        "performed_by",
        "via_command",
        "performed_at",
        "undone_at",
    ]
    list_select_related = ["branch", "performed_by"]
    list_filter = ["via_command", "branch__commune"]
    search_fields = ["branch__name", "branch__code", "decision"]
    inlines = [DissolutionMoveInline]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
