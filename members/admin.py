
from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from branches.admin import BranchAdmin
from branches.models import Branch
from pacnam.versioning import VersionCheckedAdmin

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


class MemberMembershipInline(SuperuserDeleteOnly, admin.TabularInline):
    model = Membership
    fk_name = "member"
    extra = 0
    fields = ["branch", "kind", "started_on", "ended_on", "end_reason"]
    autocomplete_fields = ["branch"]
    ordering = ["started_on"]


class BranchMembershipInline(SuperuserDeleteOnly, admin.TabularInline):
    model = Membership
    fk_name = "branch"
    extra = 0
    fields = ["member", "kind", "started_on", "ended_on", "end_reason"]
    autocomplete_fields = ["member"]
    ordering = ["-ended_on", "member__folded_name"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("member")


# The branch's admin page lists its memberships: members sits above branches,
# so it is here, not in branches/admin.py, that the branch admin gains them.
admin.site.unregister(Branch)


@admin.register(Branch)
class BranchWithMembershipsAdmin(BranchAdmin):
    inlines = [BranchMembershipInline]

    def get_inlines(self, request, obj):
        return self.inlines if obj else []


class MemberAddForm(forms.ModelForm):
    """Adding a member in the admin: Member.branch is kept by the services, so the
    first branch is asked here and the save goes through member_create."""

    branch = forms.ModelChoiceField(
        label=_("branch"),
        queryset=Branch.objects.active().select_related("commune").order_by("commune__code", "code"),
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


@admin.register(Member)
class MemberAdmin(SuperuserDeleteOnly, VersionCheckedAdmin, SimpleHistoryAdmin):
    list_display = [
        "full_name", "citizen_id", "branch", "status", "is_commune_cadre",
        "admitted_on", "full_on", "card_number",
    ]
    list_select_related = ["branch"]
    search_fields = ["full_name", "folded_name", "citizen_id", "card_number"]
    list_filter = ["status", "is_commune_cadre", "gender", "ethnicity", "branch__commune", "branch__kind"]
    autocomplete_fields = ["residence_village"]
    readonly_fields = ["branch"]
    inlines = [MemberMembershipInline]
    date_hierarchy = "admitted_on"

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
        member_create(member=obj, branch=form.cleaned_data["branch"], since=form.cleaned_data.get("since"))


@admin.register(Membership)
class MembershipAdmin(SuperuserDeleteOnly, SimpleHistoryAdmin):
    list_display = ["member", "branch", "kind", "started_on", "ended_on", "end_reason"]
    list_select_related = ["member", "branch"]
    list_filter = ["kind", "end_reason", "branch__commune"]
    search_fields = ["member__full_name", "member__folded_name", "member__citizen_id", "branch__code"]
    autocomplete_fields = ["member", "branch"]


# --- Admission, probation, ratings (issue 6) ---


class CandidateIntroducerInline(admin.TabularInline):
    model = CandidateIntroducer
    extra = 0
    autocomplete_fields = ["member"]


class CandidateStepRecordInline(admin.TabularInline):
    model = CandidateStepRecord
    extra = 0
    readonly_fields = ["step", "recorded_by", "recorded_at"]
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Candidate)
class CandidateAdmin(SimpleHistoryAdmin):
    list_display = ["full_name", "citizen_id", "branch", "decision_on", "ceremony_on", "withdrawn_on"]
    list_select_related = ["branch"]
    list_filter = ["branch__commune"]
    search_fields = ["full_name", "folded_name", "citizen_id"]
    autocomplete_fields = ["branch", "residence_village", "member"]
    inlines = [CandidateIntroducerInline, CandidateStepRecordInline]


@admin.register(Evaluation)
class EvaluationAdmin(SimpleHistoryAdmin):
    list_display = ["year", "branch", "member", "rating", "recorded_by"]
    list_select_related = ["branch", "member", "recorded_by"]
    list_filter = ["year", "rating", "branch__commune"]
    search_fields = ["member__full_name", "member__folded_name", "branch__name"]
    autocomplete_fields = ["branch", "member"]
    readonly_fields = ["recorded_by", "recorded_at"]


@admin.register(FullMembershipRecognition)
class FullMembershipRecognitionAdmin(admin.ModelAdmin):
    list_display = ["member", "branch_voted_on", "decision_number", "decision_on"]
    list_select_related = ["member"]
    search_fields = ["member__full_name", "decision_number"]
    autocomplete_fields = ["member"]


# --- Transfers and dissolutions (issue 3) ---


@admin.register(Transfer)
class TransferAdmin(admin.ModelAdmin):
    """Read-mostly: steps are taken through the services (pages), which check
    who may take them and keep memberships in step."""

    list_display = ["__str__", "kind", "scope", "status", "letter_reference", "letter_date", "requested_on"]
    list_select_related = ["member", "from_branch", "to_branch"]
    list_filter = ["status", "kind", "scope", "letter_year"]
    search_fields = ["member__full_name", "member__folded_name", "member__citizen_id", "other_organisation"]
    date_hierarchy = "requested_on"

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser


class DissolutionMoveInline(admin.TabularInline):
    model = DissolutionMove
    extra = 0
    fields = ["member", "from_membership", "to_branch", "new_membership", "decided_by_person"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related(
            "member", "to_branch", "from_membership__member", "from_membership__branch",
            "new_membership__member", "new_membership__branch",
        )


@admin.register(DissolutionBatch)
class DissolutionBatchAdmin(admin.ModelAdmin):
    """A record of what happened: read-only; undo it from its page (district officers)."""

    list_display = ["branch", "decision", "dissolved_on", "performed_by", "via_command", "performed_at", "undone_at"]
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
