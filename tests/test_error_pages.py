"""The error pages are the site's own, in Vietnamese by default, and say what to do
next; with DEBUG off (as in production and in these tests) Django's bare English
pages never show (issue 17)."""

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

# What Django's own error pages say; none of it may reach a user.
DJANGO_DEFAULTS = [
    "<h1>Not Found</h1>",
    "Server Error (500)",
    "Bad Request (400)",
    "403 Forbidden",
    "CSRF verification failed",
    "Forbidden",
    "Not Found",
    "Account locked",
]


@pytest.fixture(autouse=True)
def plain_static_files(settings):
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


def assert_site_page(response, status, *phrases):
    assert not settings.DEBUG
    assert response.status_code == status
    page = response.content.decode()
    assert 'class="topbar"' in page, "not in the site's layout"
    assert '<html lang="vi">' in page
    assert "Việc cần làm tiếp theo" in page
    for phrase in phrases:
        assert phrase in page
    for default in DJANGO_DEFAULTS:
        assert default not in page


def test_an_unknown_address_is_the_sites_404(world, login):
    response = login(world.secretary).get("/khong-co-trang-nay/")
    assert_site_page(response, 404, "Không tìm thấy trang")
    # The page keeps the user's menu.
    assert reverse("members:list") in response.content.decode()


def test_a_record_outside_the_scope_is_the_sites_404(world, login):
    response = login(world.outsider).get(reverse("members:detail", args=[world.member.pk]))
    assert_site_page(response, 404, "Không tìm thấy trang")


def test_an_anonymous_404_is_the_sites_too(client):
    assert_site_page(client.get("/khong-co-trang-nay/"), 404, "Không tìm thấy trang")


def test_a_page_the_user_may_not_use_is_the_sites_403(world, login):
    response = login(world.branch_secretary).get(reverse("members:new"))
    assert_site_page(response, 403, "Không được phép")


def test_a_rules_refusal_names_its_reason(world, login, rf):
    from pacnam.lib.errors import NotAllowed
    from pacnam.views import permission_denied

    request = rf.get("/")
    request.user = world.secretary
    request.session = {}
    response = permission_denied(
        request, NotAllowed("Chỉ cán bộ Ban Tổ chức Huyện ủy được hoàn tác.")
    )
    assert response.status_code == 403
    assert "Chỉ cán bộ Ban Tổ chức Huyện ủy được hoàn tác." in response.content.decode()
    # Any other refusal may carry a developer's English: it is not shown.
    from django.core.exceptions import PermissionDenied

    response = permission_denied(request, PermissionDenied("internal detail"))
    assert "internal detail" not in response.content.decode()


def test_a_server_error_is_the_sites_500(world, monkeypatch):
    from overview.views import dashboard

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(dashboard.stats, "member_totals", broken)
    client = Client(raise_request_exception=False)
    client.force_login(world.district)
    response = client.get("/")
    assert response.status_code == 500
    page = response.content.decode()
    assert 'class="topbar"' in page and '<html lang="vi">' in page
    assert "Máy chủ gặp sự cố" in page and "Việc cần làm tiếp theo" in page
    assert "boom" not in page and "Server Error" not in page


def test_a_request_for_another_host_is_the_sites_400(db):
    response = Client().get("/", HTTP_HOST="evil.example")
    assert_site_page(response, 400, "Không đọc được yêu cầu")


def test_an_expired_form_is_said_plainly(world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.secretary)
    response = client.post(reverse("members:new"), {})
    assert_site_page(response, 403, "Biểu mẫu đã hết hạn")


def test_the_lockout_page_is_the_sites_and_says_how_long_to_wait(world, settings):
    settings.AXES_FAILURE_LIMIT = 2
    settings.AXES_COOLOFF_TIME = 0.25
    client = Client()
    for _attempt in range(3):
        response = client.post(reverse("login"), {"username": "caotan", "password": "sai"})
    assert_site_page(response, 429, "Đăng nhập sai quá nhiều lần", "15 phút")


@pytest.fixture
def debug_on(settings):
    """`make run`: DEBUG on, no TECHNICAL_ERRORS."""
    settings.DEBUG = True
    settings.TECHNICAL_ERRORS = False
    return settings


def _sites_page_under_debug(response, status, phrase):
    page = response.content.decode()
    assert response.status_code == status
    assert 'class="topbar"' in page and phrase in page and "Việc cần làm tiếp theo" in page
    assert "Using the URLconf" not in page and "Page not found" not in page


def test_under_debug_an_unknown_address_is_the_sites_404(world, login, debug_on):
    response = login(world.secretary).get("/khong-co-trang-nay/")
    _sites_page_under_debug(response, 404, "Không tìm thấy trang")


def test_under_debug_a_refused_record_is_the_sites_404(world, login, debug_on):
    response = login(world.outsider).get(reverse("members:detail", args=[world.member.pk]))
    _sites_page_under_debug(response, 404, "Không tìm thấy trang")


def test_under_debug_a_refused_page_is_the_sites_403(world, login, debug_on):
    response = login(world.branch_secretary).get(reverse("members:new"))
    _sites_page_under_debug(response, 403, "Không được phép")


def test_under_debug_a_missing_slash_is_still_added(world, login, debug_on):
    response = login(world.secretary).get(reverse("members:list").rstrip("/"))
    assert response.status_code == 301 and response["Location"].endswith("/")


def test_technical_errors_bring_djangos_page_back_for_developers(world, login, debug_on):
    debug_on.TECHNICAL_ERRORS = True
    client = login(world.outsider)
    for url in ("/khong-co-trang-nay/", reverse("members:detail", args=[world.member.pk])):
        response = client.get(url)
        assert response.status_code == 404
        assert (
            "Using the URLconf" in response.content.decode()
            or "Raised by" in response.content.decode()
        )
