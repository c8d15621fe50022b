"""Access hardening: login throttling, idle sessions, deploy checks, the CSP."""

import datetime
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.utils import timezone

ROOT = Path(__file__).resolve().parent.parent
LOGIN = "/accounts/login/"


@pytest.fixture(autouse=True)
def plain_static_files(settings):
    # Tests run no collectstatic: pages need plain static names.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


def manage(*args, **env) -> subprocess.CompletedProcess:
    """manage.py in a fresh process with exactly these settings in the environment."""
    clean = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {
            "DEBUG",
            "SECRET_KEY",
            "SECURE_SSL_REDIRECT",
            "SECURE_HSTS_SECONDS",
            "SECURE_COOKIES",
            "SESSION_IDLE_SECONDS",
            "DJANGO_SETTINGS_MODULE",
            "AUDIT_KEY",
            "AUDIT_OLD_KEYS",
            "BACKUP_KEY",
            "OTP_REQUIRED",
        }
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def fail_login(client, username="caotan", password="wrong-password"):
    return client.post(
        LOGIN, {"username": username, "password": password}, HTTP_ACCEPT_LANGUAGE="vi"
    )


def test_repeated_wrong_passwords_lock_the_login_with_a_clear_vietnamese_message(world, client):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = fail_login(client)
        assert response.status_code == 200  # the form again, with its error
    locked = fail_login(client)
    assert locked.status_code in (403, 429)
    assert "registration/lockout.html" in [t.name for t in locked.templates]
    page = locked.content.decode()
    assert "Đăng nhập sai quá nhiều lần" in page
    # Even the right password is refused while locked, and no session is opened.
    right = fail_login(client, password="pw-caotan")
    assert right.status_code in (403, 429)
    assert "_auth_user_id" not in client.session


def test_a_few_mistakes_then_the_right_password_still_logs_in(world, client):
    for _ in range(settings.AXES_FAILURE_LIMIT - 2):
        fail_login(client)
    response = fail_login(client, password="pw-caotan")
    assert response.status_code == 302 and response.url == "/"
    assert client.session["_auth_user_id"] == str(world.secretary.pk)


def test_lockout_is_per_username_others_still_log_in(world, client):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        fail_login(client)
    response = fail_login(client, username="district", password="pw-district")
    assert response.status_code == 302


def test_session_ends_after_the_idle_time(world, login):
    client = login(world.secretary)
    assert client.get("/").status_code == 200
    session = Session.objects.get(session_key=client.session.session_key)
    idle = datetime.timedelta(seconds=settings.SESSION_COOKIE_AGE)
    # Every request pushes the end forward (a sliding window).
    assert abs(session.expire_date - (timezone.now() + idle)) < datetime.timedelta(seconds=30)
    # Nobody touched the session for longer than the idle time:
    Session.objects.filter(pk=session.pk).update(
        expire_date=timezone.now() - datetime.timedelta(seconds=1)
    )
    response = client.get("/")
    assert response.status_code == 302 and response.url.startswith(LOGIN)


def test_activity_keeps_the_session_alive(world, login):
    client = login(world.secretary)
    key = client.session.session_key
    almost = timezone.now() + datetime.timedelta(seconds=5)
    Session.objects.filter(pk=key).update(expire_date=almost)
    assert client.get("/").status_code == 200
    assert Session.objects.get(pk=key).expire_date > almost + datetime.timedelta(seconds=60)


def test_idle_time_comes_from_the_environment():
    assert settings.SESSION_SAVE_EVERY_REQUEST is True
    result = manage(
        "shell",
        "-c",
        "from django.conf import settings; print(settings.SESSION_COOKIE_AGE)",
        DEBUG="1",
        SESSION_IDLE_SECONDS="600",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "600"


def test_check_deploy_is_clean_with_production_settings():
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        AUDIT_KEY=secrets.token_urlsafe(32),
        BACKUP_KEY=secrets.token_urlsafe(32),
        SECURE_SSL_REDIRECT="1",
        SECURE_HSTS_SECONDS="31536000",
        SECURE_COOKIES="1",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout + result.stderr
    assert "WARNING" not in result.stderr


def test_production_refuses_to_start_without_a_secret_key():
    result = manage("check", DEBUG="0")
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_production_refuses_to_start_without_a_long_audit_key():
    result = manage("check", DEBUG="0", SECRET_KEY=secrets.token_urlsafe(50))
    assert result.returncode != 0 and "AUDIT_KEY is not set" in result.stderr
    short = manage("check", DEBUG="0", SECRET_KEY=secrets.token_urlsafe(50), AUDIT_KEY="short")
    assert short.returncode != 0 and "AUDIT_KEY is too short" in short.stderr
    # The commands that write no audit entry run without it, as they do without SECRET_KEY.
    assert manage("makemigrations", "--check", "--dry-run", DEBUG="0").returncode == 0


@pytest.mark.parametrize("path", ["/accounts/login/", "/", "/admin/"])
def test_every_page_carries_a_csp_without_unsafe_inline(world, login, path):
    client = login(world.admin)
    if path == LOGIN:
        client.logout()
    response = client.get(path)
    assert response.status_code == 200
    policy = response["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert "frame-ancestors 'none'" in policy
    # The page itself has no inline script or style attribute the policy would block.
    if path != "/admin/":
        html = response.content.decode()
        assert "<script>" not in html and 'style="' not in html


def test_no_secret_is_committed():
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True
    ).stdout.split()
    assert tracked, "not a git checkout"
    assert not [f for f in tracked if f.endswith((".env", ".pem", ".key", ".sqlite3", ".dump"))]
    for name in tracked:
        path = ROOT / name
        if path.suffix in {".py", ".toml", ".cfg", ".ini", ".yml", ".yaml", ".json", ".txt", ".md"}:
            text = path.read_text(errors="replace")
            assert "-----BEGIN" not in text or name.startswith("tests/"), name
