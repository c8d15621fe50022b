"""What the change log, the audit log's filters and the admin's index say: Vietnamese
words, not the codes of the services ("units reorganize") nor the third-party apps'
English names ("Static devices", "TOTP devices", "Task Results")."""

import pathlib
import re

import pytest
from django.utils import translation

from pacnam.admin import ActionFilter, AuditEntryAdmin, ObjectTypeFilter
from pacnam.models import AUDIT_ACTIONS, AuditEntry

ROOT = pathlib.Path(__file__).resolve().parent.parent
RECORDED = re.compile(r'(?:@audited|audit_batch)\(\s*"([a-z_]+)"')


@pytest.fixture(autouse=True)
def plain_static_files(settings):
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


def recorded_actions() -> set[str]:
    codes = set()
    for app in ("pacnam", "branches", "members", "meetings", "overview"):
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" not in path.parts:
                codes |= set(RECORDED.findall(path.read_text(encoding="utf-8")))
    return codes


def test_every_recorded_action_has_vietnamese_words():
    codes = recorded_actions()
    assert {"units_reorganize", "meeting_attendance", "meeting_roll_open", "task_create"} <= codes
    for code in codes | {"audit_seal"}:
        assert code in AUDIT_ACTIONS, code
        with translation.override("en"):
            english = str(AUDIT_ACTIONS[code])
        with translation.override("vi"):
            assert str(AUDIT_ACTIONS[code]) != english, code


def test_the_change_log_names_a_reorganisation_in_vietnamese(db):
    entry = AuditEntry(action="units_reorganize", object_repr="")
    with translation.override("vi"):
        assert entry.action_label == "sắp xếp đơn vị hành chính cấp xã"


def test_the_audit_logs_filters_are_vietnamese(world, rf):
    request = rf.get("/admin/pacnam/auditentry/")
    request.user = world.admin
    admin = AuditEntryAdmin(AuditEntry, None)
    with translation.override("vi"):
        types = [
            str(label)
            for _v, label in ObjectTypeFilter(request, {}, AuditEntry, admin).lookups(
                request, admin
            )
        ]
        actions = [
            str(label)
            for _v, label in ActionFilter(request, {}, AuditEntry, admin).lookups(request, admin)
        ]
    assert types and not [t for t in types if "historical" in t.lower()]
    assert "điểm danh buổi sinh hoạt" in actions


def test_the_admin_index_names_the_third_party_apps_in_vietnamese(world, login):
    page = login(world.admin).get("/admin/").text
    for english in ("Static devices", "TOTP devices", "Task Results", "Otp_", "Tasks Database"):
        assert english not in page, english
    for vietnamese in (
        "Xác thực hai lớp: mã khôi phục",
        "ứng dụng xác thực (TOTP)",
        "Tác vụ chạy nền",
    ):
        assert vietnamese.lower() in page.lower(), vietnamese
