from django.contrib import admin

from branches.admin import commune_filter
from pacnam.lib.admin_scale import LargeTableAdmin, LoadedAutocompleteInline, year_filter

from .models import (
    Attendance,
    DuesPayment,
    DuesProfile,
    DuesRate,
    DuesShare,
    Meeting,
    MeetingAddendum,
    Task,
    TaskReview,
)


class AttendanceInline(LoadedAutocompleteInline, admin.TabularInline):
    model = Attendance
    extra = 0
    autocomplete_fields = ["member"]
    fields = ["member", "standing", "is_full", "temporary", "presence", "reason"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("member")


class TaskInline(admin.TabularInline):
    model = Task
    fk_name = "meeting"
    extra = 0
    fields = ["description", "due_on", "status", "household_head", "household_village"]
    show_change_link = True


class AddendumInline(admin.TabularInline):
    model = MeetingAddendum
    extra = 0
    fields = ["dated", "text"]


@admin.register(Meeting)
class MeetingAdmin(LargeTableAdmin, admin.ModelAdmin):
    list_display = ["date", "branch", "kind", "status"]
    # Years in place of date_hierarchy, which reads every meeting's date (SELECT DISTINCT).
    list_filter = [
        "kind",
        "status",
        commune_filter("branch__commune"),
        year_filter("date", first_year=2000),
    ]
    search_fields = ["branch__name", "branch__code", "topic"]
    # Newest first on the primary key: the model's order (date) has an index only
    # after the branch, and sorting every meeting for one page is a scan.
    ordering = ["-pk"]
    autocomplete_fields = ["branch", "chair", "secretary"]
    list_select_related = ["branch"]
    inlines = [AttendanceInline, TaskInline, AddendumInline]


class TaskReviewInline(admin.TabularInline):
    model = TaskReview
    extra = 0
    autocomplete_fields = ["meeting"]


@admin.register(Task)
class TaskAdmin(LargeTableAdmin, admin.ModelAdmin):
    list_display = ["description", "meeting", "due_on", "status"]
    list_filter = ["status", commune_filter("meeting__branch__commune")]
    search_fields = ["description", "household_head", "meeting__branch__name"]
    autocomplete_fields = ["meeting", "assignees", "closed_at", "household_village"]
    list_select_related = ["meeting__branch"]
    inlines = [TaskReviewInline]


# --- Party dues: the rates and shares are reference data an administrator corrects
# when the regulation's text is at hand; payments are recorded by the branches.


@admin.register(DuesRate)
class DuesRateAdmin(admin.ModelAdmin):
    list_display = ["category", "kind", "value", "valid_from", "valid_to", "confirmed", "source"]
    list_filter = ["category", "confirmed", "source"]


@admin.register(DuesShare)
class DuesShareAdmin(admin.ModelAdmin):
    list_display = ["level", "keep_percent", "valid_from", "valid_to", "confirmed", "source"]
    list_filter = ["level", "confirmed"]


@admin.register(DuesProfile)
class DuesProfileAdmin(LargeTableAdmin, admin.ModelAdmin):
    list_display = ["member", "valid_from", "category", "base"]
    list_filter = ["category"]
    search_fields = ["member__full_name", "member__citizen_id"]
    autocomplete_fields = ["member"]
    list_select_related = ["member"]
    ordering = ["-pk"]


@admin.register(DuesPayment)
class DuesPaymentAdmin(LargeTableAdmin, admin.ModelAdmin):
    list_display = ["member", "month", "branch", "due", "paid", "paid_on", "reason"]
    list_filter = [commune_filter("branch__commune"), year_filter("month", first_year=2000)]
    search_fields = ["member__full_name", "member__citizen_id", "branch__name"]
    autocomplete_fields = ["member", "branch", "meeting"]
    list_select_related = ["member", "branch"]
    # The amount due is computed when the payment is recorded, never typed.
    readonly_fields = ["due"]
    ordering = ["-pk"]
