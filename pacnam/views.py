"""The pages of the shared base: the health check and the error pages.

With DEBUG off Django would answer an error with its own bare English page;
these handlers answer in the site's layout and language (Vietnamese unless the
user chose English), each page saying what to do next.
"""

from django.contrib.auth import views as auth_views
from django.db import connection
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseForbidden,
    HttpResponseNotFound,
    HttpResponseServerError,
)
from django.template import loader
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import requires_csrf_token

from pacnam.lib.errors import NotAllowed


@never_cache
def healthz(request: HttpRequest) -> HttpResponse:
    """200 "ok" when the database answers; for load balancers and monitoring."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:  # noqa: BLE001 - any database failure means "not healthy"
        return HttpResponse("database unavailable", status=503, content_type="text/plain")
    return HttpResponse("ok", content_type="text/plain")


def _page(request: HttpRequest, template: str, context: dict | None = None) -> str:
    return loader.get_template(template).render(context or {}, request)


# requires_csrf_token: the pages carry the language switch, a POST form.
@requires_csrf_token
def bad_request(request: HttpRequest, exception=None) -> HttpResponse:
    return HttpResponseBadRequest(_page(request, "400.html"))


@requires_csrf_token
def permission_denied(request: HttpRequest, exception=None) -> HttpResponse:
    # A rule's own refusal (NotAllowed) is a translated sentence meant for the
    # user; any other PermissionDenied may carry a developer's English text.
    reason = exception.message if isinstance(exception, NotAllowed) else ""
    return HttpResponseForbidden(_page(request, "403.html", {"reason": reason}))


@requires_csrf_token
def page_not_found(request: HttpRequest, exception=None) -> HttpResponse:
    return HttpResponseNotFound(_page(request, "404.html"))


def server_error(request: HttpRequest) -> HttpResponse:
    # No request context: the context processors read the session and the user,
    # and the database may be what failed.
    return HttpResponseServerError(loader.get_template("500.html").render({}))


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """settings.CSRF_FAILURE_VIEW: an expired form, said plainly."""
    return HttpResponseForbidden(_page(request, "403_csrf.html"))


class LogoutView(auth_views.LogoutView):
    """Django's logout, which also clears what the registry kept in this browser
    (the offline roll's pages and queue, the service worker): a shared office PC
    or a lent phone keeps no member's data after its user logs out."""

    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        response["Clear-Site-Data"] = '"cache", "storage"'
        return response
