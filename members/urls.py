"""The members app's pages, included at the root under three namespaces: members,
transfers (transfers, dissolutions, the policy report) and growth (candidates,
probation, ratings, badges)."""

from django.urls import include, path

from .views import dissolutions, growth, io, members, transfers

member_patterns = [
    path("members/", members.member_list, name="list"),
    path("members/new/", members.member_edit, name="new"),
    path("members/export.csv", io.export_csv, name="export_csv"),
    path("members/export.xlsx", io.export_xlsx, name="export_xlsx"),
    path("members/<int:pk>/", members.member_detail, name="detail"),
    path("members/<int:pk>/edit/", members.member_edit, name="edit"),
    path("import/", io.import_upload, name="import"),
    path("import/confirm/", io.import_confirm, name="import_confirm"),
    path("import/<uuid:pk>/", io.import_job, name="import_job"),
]

transfer_patterns = [
    path("transfers/", transfers.transfer_list, name="list"),
    path("transfers/incoming/", transfers.transfer_incoming, name="incoming"),
    path("transfers/<int:pk>/", transfers.transfer_detail, name="detail"),
    path("transfers/<int:pk>/letter/", transfers.transfer_letter, name="letter"),
    path(
        "transfers/<int:pk>/issue-letter/",
        transfers.transfer_issue_letter_view,
        name="issue_letter",
    ),
    path("transfers/<int:pk>/receive/", transfers.transfer_receive_view, name="receive"),
    path("transfers/<int:pk>/cancel/", transfers.transfer_cancel_view, name="cancel"),
    path("transfers/<int:pk>/refuse/", transfers.transfer_refuse_view, name="refuse"),
    path("members/<int:member_id>/transfer/", transfers.transfer_start, name="start"),
    path("dissolutions/", dissolutions.dissolution_choose, name="dissolution_choose"),
    path("dissolutions/branch/<int:pk>/", dissolutions.dissolution_plan, name="dissolution_plan"),
    path(
        "dissolutions/branch/<int:pk>/confirm/",
        dissolutions.dissolution_confirm,
        name="dissolution_confirm",
    ),
    path("dissolutions/<int:pk>/", dissolutions.dissolution_detail, name="dissolution_detail"),
    path(
        "dissolutions/<int:pk>/undo/", dissolutions.dissolution_undo_view, name="dissolution_undo"
    ),
    path("reports/policy/", dissolutions.policy_report, name="policy_report"),
]

growth_patterns = [
    path("candidates/", growth.candidate_list, name="candidate_list"),
    path("candidates/new/", growth.candidate_create, name="candidate_create"),
    path("candidates/<int:pk>/", growth.candidate_detail, name="candidate_detail"),
    path("candidates/<int:pk>/step/", growth.candidate_step, name="candidate_step"),
    path("candidates/<int:pk>/withdraw/", growth.candidate_withdraw, name="candidate_withdraw"),
    path("probations/", growth.probation_list, name="probation_list"),
    path("probations/<int:member_pk>/recognize/", growth.member_recognize, name="member_recognize"),
    path("ratings/", growth.rating_index, name="rating_report"),
    path("ratings/<int:branch_pk>/<int:year>/", growth.rating_form, name="rating_form"),
    path("badges/", growth.badge_list, name="badge_list"),
]

urlpatterns = [
    path("", include((member_patterns, "members"))),
    path("", include((transfer_patterns, "transfers"))),
    path("", include((growth_patterns, "growth"))),
]
