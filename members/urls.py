from django.urls import path

from . import import_views, views

app_name = "members"

urlpatterns = [
    path("members/", views.member_list, name="list"),
    path("members/new/", views.member_edit, name="new"),
    path("members/export.csv", import_views.export_csv, name="export_csv"),
    path("members/export.xlsx", import_views.export_xlsx, name="export_xlsx"),
    path("members/<int:pk>/", views.member_detail, name="detail"),
    path("members/<int:pk>/edit/", views.member_edit, name="edit"),
    path("import/", import_views.import_upload, name="import"),
    path("import/confirm/", import_views.import_confirm, name="import_confirm"),
]
