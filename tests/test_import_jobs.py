"""The web import in the background (issue 15): the request stores the upload and
enqueues; the job runner checks and writes; the page shows a progress bar, then
the preview, then the result. Most tests run tasks at once (tests/testenv.py);
`test_the_real_queue_and_worker` goes through django-tasks-db's table and a
`manage.py db_worker` process, as production does."""

import csv
import io
import os
import re
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from asgiref.local import Local
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from members.io.read import HEADERS
from members.models import ImportJob, ImportJobStatus, Member
from tests.conftest import make_member

ROOT = Path(__file__).resolve().parent.parent
KEYS = HEADERS["members"]


@pytest.fixture(autouse=True)
def plain_static_storage(settings):
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


def member_csv(rows) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(KEYS)
    writer.writerows(rows)
    return buffer.getvalue().encode()


def new_row(world, citizen_id="006190000001", name="Triệu Thị Mây"):
    return [
        citizen_id,
        name,
        "Nữ",
        "03/02/1990",
        "Dao",
        world.village.code,
        "",
        "",
        "2015-06-01",
        "",
        "",
        world.branch.code,
        "",
    ]


def post_upload(client, content: bytes, name="members.csv", kind="members"):
    file = io.BytesIO(content)
    file.name = name
    return client.post(reverse("members:import"), {"kind": kind, "file": file})


# --- The job's page ----------------------------------------------------------------------


def test_the_upload_is_stored_and_its_page_follows_it(world, login):
    client = login(world.secretary)
    response = post_upload(client, member_csv([new_row(world)]))
    job = ImportJob.objects.get()
    assert response.status_code == 302 and response["Location"] == job.get_absolute_url()
    assert (job.status, job.rows_done, job.rows_total) == (ImportJobStatus.CHECKED, 1, 1)
    assert job.user == world.secretary and bytes(job.data)  # kept for the confirmation
    page = client.get(job.get_absolute_url())
    assert page.templates[0].name == "members/import_preview.html"


@pytest.mark.parametrize(
    "status", [ImportJobStatus.QUEUED, ImportJobStatus.CHECKING, ImportJobStatus.WRITING]
)
def test_a_running_job_shows_a_progress_bar_that_refreshes_without_javascript(world, login, status):
    job = ImportJob.objects.create(
        user=world.secretary,
        kind="members",
        filename="big.csv",
        status=status,
        rows_done=2500,
        rows_total=10000,
    )
    page = login(world.secretary).get(job.get_absolute_url())
    html = page.content.decode()
    assert page.templates[0].name == "members/import_progress.html"
    assert '<meta http-equiv="refresh" content="2">' in html
    assert "<progress" in html
    # No script of its own: the only ones are the site-wide offline roll's, which it does not need.
    scripts = re.findall(r"<script[^>]*>", html)
    assert all("offline-roll.js" in s or "roll-queue.js" in s for s in scripts), scripts
    if status == ImportJobStatus.CHECKING:
        assert 'max="10000" value="2500"' in html


def test_the_jobs_page_is_the_uploaders_only(world, login):
    job = ImportJob.objects.create(
        user=world.secretary, kind="members", filename="m.csv", status="checked"
    )
    expected = {
        "secretary": 200,
        "admin": 404,
        "district": 404,
        "branch_secretary": 404,
        "outsider": 404,
        "nobody": 404,
    }
    for role, status in expected.items():
        assert login(getattr(world, role)).get(job.get_absolute_url()).status_code == status, role
    response = login(None).get(job.get_absolute_url())
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    # Nor can anyone else confirm it.
    login(world.district).post(reverse("members:import_confirm"), {"token": str(job.pk)})
    assert ImportJob.objects.get(pk=job.pk).status == ImportJobStatus.CHECKED


@pytest.mark.parametrize(
    "status", [ImportJobStatus.CHECKING, ImportJobStatus.CHECKED, ImportJobStatus.DONE]
)
def test_the_jobs_page_has_a_fixed_number_of_queries(
    world, login, django_assert_num_queries, status
):
    summary = {
        "counts": {"created": 600, "updated": 0, "unchanged": 0},
        "more_changes": 100,
        "changes": [
            {
                "row": n,
                "action": "create",
                "key": f"{n:012d}",
                "label": "X",
                "changes": [],
                "diffs": [],
            }
            for n in range(2, 502)
        ],
    }
    job = ImportJob.objects.create(
        user=world.secretary,
        kind="members",
        filename="m.csv",
        status=status,
        summary=summary,
        rows_done=10,
        rows_total=600,
    )
    client = login(world.secretary)
    client.get(job.get_absolute_url())
    # session, user, role; the sweep's look for lost jobs (none: no UPDATE); the job;
    # the sliding session's save (savepoint, update, release).
    with django_assert_num_queries(8):
        assert client.get(job.get_absolute_url()).status_code == 200


def test_a_failed_write_says_why_and_writes_nothing(world, login):
    client = login(world.secretary)
    post_upload(client, member_csv([new_row(world)]))
    job = ImportJob.objects.get()
    make_member(world.branch2, citizen_id="006190000001", name="Người Khác")  # meanwhile
    page = client.post(reverse("members:import_confirm"), {"token": str(job.pk)}, follow=True)
    job.refresh_from_db()
    assert job.status == ImportJobStatus.FAILED and not bytes(job.data)
    assert page.context["plan"].errors and "Người Khác" not in page.content.decode()
    assert Member.objects.get(citizen_id="006190000001").full_name == "Người Khác"


# --- The mass-update guard on the page -------------------------------------------------------


def test_many_name_changes_need_the_box_ticked(world, login, settings):
    settings.IMPORT_MASS_NAME_CHANGES = 1
    client = login(world.secretary)
    rows = []
    for member in (world.member, world.cadre):
        rows.append(
            [
                member.citizen_id,
                member.full_name + " Mới",
                member.gender,
                member.birth_date.isoformat(),
                member.ethnicity,
                member.residence_village.code,
                member.position,
                "yes" if member.is_commune_cadre else "no",
                member.admitted_on.isoformat(),
                member.full_on.isoformat(),
                member.card_number,
                member.branch.code,
                "",
            ]
        )
    preview = client.get(post_upload(client, member_csv(rows))["Location"])
    html = preview.content.decode()
    assert 'name="allow_mass_update"' in html and "Hoàng Văn Mạnh Mới" in html
    token = str(preview.context["token"])
    refused = client.post(reverse("members:import_confirm"), {"token": token}, follow=True)
    assert "allow_mass_update" in refused.content.decode() and refused.context["confirm_error"]
    assert not Member.objects.filter(full_name__endswith=" Mới").exists()
    done = client.post(
        reverse("members:import_confirm"), {"token": token, "allow_mass_update": "1"}, follow=True
    )
    assert done.templates[0].name == "members/import_result.html"
    assert Member.objects.filter(full_name__endswith=" Mới").count() == 2


def test_the_preview_shows_each_change_old_and_new(world, login):
    client = login(world.secretary)
    member = world.member
    row = [
        member.citizen_id,
        member.full_name,
        "male",
        "1980-01-01",
        "Tày",
        world.village.code,
        "Trưởng thôn",
        "no",
        "2005-05-19",
        "2006-05-19",
        "",
        world.branch.code,
        "",
    ]
    preview = client.get(post_upload(client, member_csv([row]))["Location"])
    html = preview.content.decode()
    assert "Chức vụ (position): <del>—</del> → <ins>Trưởng thôn</ins>" in html


def test_ids_given_back_their_zeros_are_said_on_the_preview(world, login):
    client = login(world.secretary)
    preview = client.get(
        post_upload(client, member_csv([new_row(world, citizen_id="6190000001")]))["Location"]
    )
    assert "6190000001 được đọc là 006190000001" in preview.content.decode()


# --- Bounds on the web path ----------------------------------------------------------------------


def test_a_bomb_workbook_is_refused_in_seconds(world, login):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        with archive.open("xl/worksheets/sheet1.xml", "w") as part:
            for _ in range(300):
                part.write(b"0" * (1024 * 1024))
    client = login(world.secretary)
    started = time.perf_counter()
    page = client.get(post_upload(client, buffer.getvalue(), name="bomb.xlsx")["Location"])
    assert time.perf_counter() - started < 5
    [error] = page.context["plan"].errors
    assert error.column == "file" and "300 MB" in error.message
    assert not bytes(ImportJob.objects.get().data)  # a refused upload is not kept


def test_too_many_rows_is_a_clear_error(world, login, settings):
    settings.IMPORT_MAX_ROWS = 5
    client = login(world.secretary)
    rows = [new_row(world, citizen_id=f"00619000000{n}") for n in range(8)]
    page = client.get(post_upload(client, member_csv(rows))["Location"])
    assert page.context["plan"].errors[0].column == "file"
    assert "5" in page.context["plan"].errors[0].message


def test_old_jobs_are_forgotten(world, login):
    from django.utils import timezone

    old = ImportJob.objects.create(
        user=world.secretary, kind="members", filename="old.csv", data=b"x", status="checked"
    )
    stale = ImportJob.objects.create(
        user=world.secretary, kind="members", filename="stale.csv", data=b"x", status="checked"
    )
    ImportJob.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - timezone.timedelta(days=8)
    )
    ImportJob.objects.filter(pk=stale.pk).update(
        created_at=timezone.now() - timezone.timedelta(days=2)
    )
    post_upload(login(world.secretary), member_csv([new_row(world)]))
    assert not ImportJob.objects.filter(pk=old.pk).exists()
    assert bytes(ImportJob.objects.get(pk=stale.pk).data) == b""


# --- The real queue: django-tasks-db's table and a db_worker process ----------------------------


def _reset_task_backends():
    from django.tasks import task_backends

    task_backends.__dict__.pop("settings", None)
    task_backends._connections = Local(task_backends.thread_critical)


@pytest.fixture
def database_queue(settings):
    """Tasks go to django-tasks-db's table, as in production."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    _reset_task_backends()
    yield
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    _reset_task_backends()


def database_url() -> str:
    """The test database, for a process of its own."""
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    auth = s.get("USER") or ""
    if s.get("PASSWORD"):
        auth += f":{s['PASSWORD']}"
    return f"postgres://{auth}@{s.get('HOST') or '127.0.0.1'}:{s.get('PORT') or 5432}/{s['NAME']}"


def run_worker(max_tasks: int = 1) -> subprocess.CompletedProcess:
    """`manage.py db_worker` for `max_tasks` tasks, in its own process."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "TASKS_BACKEND": "django_tasks_db.DatabaseBackend",
        "DEBUG": "0",
        "SECRET_KEY": "tests-only-not-a-secret",
    }
    command = [
        sys.executable,
        "manage.py",
        "db_worker",
        "--batch",
        "--max-tasks",
        str(max_tasks),
        "--no-reload",
        "--no-startup-delay",
        "--interval",
        "0",
    ]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.django_db(transaction=True)
def test_the_real_queue_and_worker(world, client, database_queue):
    from django_tasks_db.models import DBTaskResult

    client.force_login(world.secretary)
    response = post_upload(client, member_csv([new_row(world)]))
    job = ImportJob.objects.get()
    # The request only stored the file and queued its check.
    assert job.status == ImportJobStatus.QUEUED
    assert DBTaskResult.objects.get().task_path == "members.io.jobs.import_check"
    waiting = client.get(response["Location"])
    assert waiting.templates[0].name == "members/import_progress.html"

    worker = run_worker()
    assert worker.returncode == 0, worker.stderr
    job.refresh_from_db()
    assert (job.status, job.summary["counts"]["created"]) == (ImportJobStatus.CHECKED, 1)
    assert DBTaskResult.objects.get().status == "SUCCESSFUL"

    client.post(reverse("members:import_confirm"), {"token": str(job.pk)})
    assert ImportJob.objects.get().status == ImportJobStatus.WRITE_QUEUED
    assert not Member.objects.filter(citizen_id="006190000001").exists()
    worker = run_worker()
    assert worker.returncode == 0, worker.stderr
    assert ImportJob.objects.get().status == ImportJobStatus.DONE
    member = Member.objects.get(citizen_id="006190000001")
    assert member.history.get().history_user == world.secretary  # who imported, kept by the worker
    assert client.get(response["Location"]).templates[0].name == "members/import_result.html"


def test_the_member_lists_xlsx_export_offers_vietnamese_titles_and_imports_back(world, login):
    from openpyxl import load_workbook

    client = login(world.secretary)
    listing = client.get(reverse("members:list")).content.decode()
    assert "titles=vi" in listing
    response = client.get(reverse("members:export_xlsx"), {"titles": "vi"})
    sheet = load_workbook(io.BytesIO(response.content), read_only=True).worksheets[0]
    header = [c.value for c in next(sheet.iter_rows())]
    assert header[:3] == ["Số CCCD", "Họ và tên", "Giới tính"]
    page = client.get(post_upload(client, response.content, name="export.xlsx")["Location"])
    assert page.context["counts"] == {"created": 0, "updated": 0, "unchanged": 2}


# --- What the progress says: what the runner does, counted the Vietnamese way ---


def _job(world, **fields):
    return ImportJob.objects.create(
        user=world.secretary, kind="members", filename="big.csv", **fields
    )


def test_the_progress_says_checking_then_writing_with_vietnamese_thousands(world, login):
    client = login(world.secretary)
    checking = _job(world, status=ImportJobStatus.CHECKING, rows_done=1200, rows_total=5000)
    assert (
        "Đang kiểm tra: 1.200 trên 5.000 dòng"
        in client.get(checking.get_absolute_url()).content.decode()
    )
    rechecking = _job(
        world,
        status=ImportJobStatus.WRITING,
        rows_done=1200,
        rows_total=5000,
        summary={"phase": "checking"},
    )
    html = client.get(rechecking.get_absolute_url()).content.decode()
    assert "Đang kiểm tra lại trước khi ghi: 1.200 trên 5.000 dòng" in html
    writing = _job(
        world,
        status=ImportJobStatus.WRITING,
        rows_done=1200,
        rows_total=5000,
        summary={"phase": "writing"},
    )
    html = client.get(writing.get_absolute_url()).content.decode()
    assert "Đã ghi 1.200 trên 5.000 dòng" in html and "kiểm tra" not in html.split("<h1>")[1]
    uncounted = _job(
        world,
        status=ImportJobStatus.WRITING,
        rows_done=0,
        rows_total=5000,
        summary={"phase": "writing"},
    )
    assert "Đang ghi 5.000 dòng" in client.get(uncounted.get_absolute_url()).content.decode()


def test_the_waiting_line_appears_only_with_jobs_ahead_and_counts_them(world, login):
    client = login(world.secretary)
    first = _job(world, status=ImportJobStatus.QUEUED)
    html = client.get(first.get_absolute_url()).content.decode()
    assert "Đang chờ" not in html and "Sắp bắt đầu" in html
    # Another user's import at work, and one of ours waiting since before.
    ImportJob.objects.create(
        user=world.district, kind="members", filename="a.csv", status=ImportJobStatus.WRITING
    )
    _job(world, status=ImportJobStatus.QUEUED)
    ImportJob.objects.filter(pk=first.pk).update(updated_at=timezone.now())
    html = client.get(first.get_absolute_url()).content.decode()
    assert "Đang chờ 2 lần nhập trước" in html, html


def test_writing_reports_its_steps(world, monkeypatch):
    from members.io import apply

    monkeypatch.setattr(apply, "WRITE_PROGRESS_EVERY", 2)
    rows = [
        new_row(world, citizen_id=f"0061900000{n:02d}", name=f"Triệu Thị Mây {chr(65 + n)}")
        for n in range(5)
    ]
    from members.io.read import read_table
    from members.io.validate import validate_table

    plan = validate_table(kind="members", table=read_table(member_csv(rows), "m.csv"))
    assert not plan.errors, plan.errors
    steps = []
    apply.import_plan_apply(plan=plan, progress=steps.append)
    assert steps == [2, 2, 1]


def test_a_waiting_jobs_page_counts_the_jobs_ahead_in_one_query(
    world, login, django_assert_num_queries
):
    job = _job(world, status=ImportJobStatus.QUEUED)
    for _n in range(5):
        _job(world, status=ImportJobStatus.QUEUED)
    client = login(world.secretary)
    client.get(job.get_absolute_url())
    # session, user, role; the sweep's look for lost jobs; the job; the jobs ahead,
    # counted; the sliding session's save (savepoint, update, release).
    with django_assert_num_queries(9):
        assert client.get(job.get_absolute_url()).status_code == 200
