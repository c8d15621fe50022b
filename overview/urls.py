"""The top floor's pages: the dashboard and its charts (names without a namespace,
as LOGIN_REDIRECT_URL names the dashboard) and the place pages (namespace `places`)."""

from django.urls import include, path

from .views import dashboard, places

place_patterns = [
    path("communes/<str:code>/", places.commune_detail, name="commune"),
    path("branches/<int:pk>/", places.branch_detail, name="branch"),
    path("villages/<int:pk>/", places.village_detail, name="village"),
]

urlpatterns = [
    path("", dashboard.dashboard, name="dashboard"),
    path("charts/<slug:name>.svg", dashboard.chart, name="chart"),
    path("", include((place_patterns, "places"))),
]
