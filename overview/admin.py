from django.contrib import admin

from .models import ReportTemplate


@admin.register(ReportTemplate)
class ReportTemplateAdmin(admin.ModelAdmin):
    list_display = ("commune", "file", "valid_from", "valid_to", "uploaded_at")
    list_select_related = ("commune",)
    raw_id_fields = ("commune",)
    search_fields = ("commune__name", "commune__code", "note")
