"""Transfers, dissolutions and the policy report (issue 3), included at the root."""

from django.urls import path

from . import transfer_views as views

app_name = "transfers"

urlpatterns = [
    path("transfers/", views.transfer_list, name="list"),
    path("transfers/incoming/", views.transfer_incoming, name="incoming"),
    path("transfers/<int:pk>/", views.transfer_detail, name="detail"),
    path("transfers/<int:pk>/letter/", views.transfer_letter, name="letter"),
    path("transfers/<int:pk>/issue-letter/", views.transfer_issue_letter_view, name="issue_letter"),
    path("transfers/<int:pk>/receive/", views.transfer_receive_view, name="receive"),
    path("transfers/<int:pk>/cancel/", views.transfer_cancel_view, name="cancel"),
    path("transfers/<int:pk>/refuse/", views.transfer_refuse_view, name="refuse"),
    path("members/<int:member_id>/transfer/", views.transfer_start, name="start"),
    path("dissolutions/", views.dissolution_choose, name="dissolution_choose"),
    path("dissolutions/branch/<int:pk>/", views.dissolution_plan, name="dissolution_plan"),
    path("dissolutions/branch/<int:pk>/confirm/", views.dissolution_confirm, name="dissolution_confirm"),
    path("dissolutions/<int:pk>/", views.dissolution_detail, name="dissolution_detail"),
    path("dissolutions/<int:pk>/undo/", views.dissolution_undo_view, name="dissolution_undo"),
    path("reports/policy/", views.policy_report, name="policy_report"),
]
