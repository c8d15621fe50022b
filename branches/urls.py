from django.urls import path

from . import views

app_name = "branches"

urlpatterns = [
    path("branches/new/", views.branch_edit, name="branch_new"),
    path("branches/<int:pk>/edit/", views.branch_edit, name="branch_edit"),
    path("villages/new/", views.village_edit, name="village_new"),
    path("villages/<int:pk>/edit/", views.village_edit, name="village_edit"),
]
