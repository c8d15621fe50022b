from django.contrib import admin

from .models import Attendance, Meeting, MeetingAddendum, Task, TaskReview


class AttendanceInline(admin.TabularInline):
    model = Attendance
    extra = 0
    autocomplete_fields = ["member"]
    fields = ["member", "standing", "is_full", "temporary", "presence", "reason"]


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
class MeetingAdmin(admin.ModelAdmin):
    list_display = ["date", "branch", "kind", "status"]
    list_filter = ["kind", "status", "branch__commune"]
    search_fields = ["branch__name", "branch__code", "topic"]
    date_hierarchy = "date"
    autocomplete_fields = ["branch", "chair", "secretary"]
    list_select_related = ["branch"]
    inlines = [AttendanceInline, TaskInline, AddendumInline]


class TaskReviewInline(admin.TabularInline):
    model = TaskReview
    extra = 0
    autocomplete_fields = ["meeting"]


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    list_display = ["description", "meeting", "due_on", "status"]
    list_filter = ["status", "meeting__branch__commune"]
    search_fields = ["description", "household_head", "meeting__branch__name"]
    autocomplete_fields = ["meeting", "assignees", "closed_at", "household_village"]
    list_select_related = ["meeting__branch"]
    inlines = [TaskReviewInline]
