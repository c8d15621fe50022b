from django.urls import path

from . import views

app_name = "members"

urlpatterns = [
    path("members/", views.member_list, name="list"),
    path("members/new/", views.member_edit, name="new"),
    path("members/<int:pk>/", views.member_detail, name="detail"),
    path("members/<int:pk>/edit/", views.member_edit, name="edit"),
]
