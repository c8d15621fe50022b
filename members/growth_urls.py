# Admission pipeline, probation, annual ratings and Party badges (issue 6).
from django.urls import path

from . import growth_views as views

app_name = "growth"

urlpatterns = [
    path("candidates/", views.candidate_list, name="candidate_list"),
    path("candidates/new/", views.candidate_create, name="candidate_create"),
    path("candidates/<int:pk>/", views.candidate_detail, name="candidate_detail"),
    path("candidates/<int:pk>/step/", views.candidate_step, name="candidate_step"),
    path("candidates/<int:pk>/withdraw/", views.candidate_withdraw, name="candidate_withdraw"),
    path("probations/", views.probation_list, name="probation_list"),
    path("probations/<int:member_pk>/recognize/", views.member_recognize, name="member_recognize"),
    path("ratings/", views.rating_index, name="rating_report"),
    path("ratings/<int:branch_pk>/<int:year>/", views.rating_form, name="rating_form"),
    path("badges/", views.badge_list, name="badge_list"),
]
