from django.urls import path

from . import import_views, views  # noqa: F401

app_name = "members"

urlpatterns: list = [
    path("members/export.csv", import_views.export_csv, name="export_csv"),
    path("members/export.xlsx", import_views.export_xlsx, name="export_xlsx"),
    path("import/", import_views.import_upload, name="import"),
    path("import/confirm/", import_views.import_confirm, name="import_confirm"),
]
