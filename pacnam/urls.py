"""The URL root: it only includes each app's URLs (named by string, so the shared
base imports no app)."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from pacnam import views

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", views.LogoutView.as_view(), name="logout"),
    path("", include("pacnam.security.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("", include("overview.urls")),
    path("", include("branches.urls")),
    path("", include("members.urls")),
    path("", include("meetings.urls")),
]

# The error pages in the site's layout and language (pacnam.views), never Django's own.
handler400 = "pacnam.views.bad_request"
handler403 = "pacnam.views.permission_denied"
handler404 = "pacnam.views.page_not_found"
handler500 = "pacnam.views.server_error"
