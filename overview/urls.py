"""The top floor's pages: the dashboard and its charts (names without a namespace,
as LOGIN_REDIRECT_URL names the dashboard) and the place pages (namespace `places`)."""

from django.urls import include, path

from .views import dashboard, places, reorganizations, report_upward

place_patterns = [
    path("my-unit/", places.my_unit, name="mine"),
    path("communes/<str:code>/", places.commune_detail, name="commune"),
    path("branches/<int:pk>/", places.branch_detail, name="branch"),
    path("villages/<int:pk>/", places.village_detail, name="village"),
]

urlpatterns = [
    path("", dashboard.dashboard, name="dashboard"),
    path("charts/<slug:name>.svg", dashboard.chart, name="chart"),
    path("", include((place_patterns, "places"))),
    path("reports/upward/", report_upward.report_upward, name="report_upward"),
    path("reorganizations/", reorganizations.reorganization_list, name="reorganization_list"),
    path("reorganizations/new/", reorganizations.reorganization_new, name="reorganization_new"),
    path(
        "reorganizations/<int:pk>/",
        reorganizations.reorganization_detail,
        name="reorganization_detail",
    ),
    path(
        "reorganizations/<int:pk>/undo/",
        reorganizations.reorganization_undo_confirm,
        name="reorganization_undo_confirm",
    ),
    path(
        "reorganizations/<int:pk>/undo/confirm/",
        reorganizations.reorganization_undo_view,
        name="reorganization_undo",
    ),
]
