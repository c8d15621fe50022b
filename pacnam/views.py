from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from branches.access import scope_for


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


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    scope = scope_for(request.user)
    return render(request, "dashboard.html", {"scope": scope})
