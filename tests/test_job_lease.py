"""A running job holds a lease (issue 28): its worker stamps heartbeat_at; a job not
stamped for JOB_LEASE_SECONDS has lost its worker and the sweep fails it, saying
nothing was written; the page warns before that. The last test kills a real
worker with SIGKILL in the middle of a write."""

import datetime
import os
import signal
import subprocess
import sys
import time

import pytest
from django.urls import reverse
from django.utils import timezone

from members.io import jobs
from members.io.jobs import import_jobs_sweep
from members.models import ImportJob, ImportJobStatus, Member
from tests.test_import_jobs import (
    ROOT,
    database_queue,  # noqa: F401 -- a fixture
    database_url,
    member_csv,
    new_row,
    plain_static_storage,  # noqa: F401 -- a fixture, autouse there
    post_upload,
    run_worker,
)

INTERRUPTED = "Công việc bị gián đoạn"
NOTHING_WRITTEN = "Không có gì được ghi; hãy thử lại."


def _job(world, *, status, silent: float | None, **fields):
    job = ImportJob.objects.create(
        user=world.secretary,
        kind="members",
        filename="big.csv",
        status=status,
        data=b"the upload",
        **fields,
    )
    if silent is not None:
        ImportJob.objects.filter(pk=job.pk).update(
            heartbeat_at=timezone.now() - datetime.timedelta(seconds=silent)
        )
    return job


def test_the_sweep_fails_a_job_past_its_lease_and_leaves_a_fresh_one(world, settings):
    settings.JOB_LEASE_SECONDS = 90
    lost = _job(world, status=ImportJobStatus.WRITING, silent=91, summary={"phase": "writing"})
    lost_check = _job(world, status=ImportJobStatus.CHECKING, silent=300)
    fresh = _job(world, status=ImportJobStatus.WRITING, silent=30)
    # Waiting for a worker is not having lost one, however long it waits.
    waiting = _job(world, status=ImportJobStatus.WRITE_QUEUED, silent=None)
    ImportJob.objects.filter(pk=waiting.pk).update(
        updated_at=timezone.now() - datetime.timedelta(hours=1)
    )
    members = Member.objects.count()

    assert import_jobs_sweep() == 2

    for job in (lost, lost_check):
        job.refresh_from_db()
        assert job.status == ImportJobStatus.FAILED
        message = job.summary["errors"][0][2]
        assert message.startswith(INTERRUPTED) and message.endswith(NOTHING_WRITTEN)
        assert bytes(job.data) == b""  # the upload goes, as with any failed job
    for job, status in ((fresh, ImportJobStatus.WRITING), (waiting, ImportJobStatus.WRITE_QUEUED)):
        job.refresh_from_db()
        assert job.status == status and bytes(job.data) == b"the upload"
    assert Member.objects.count() == members
    assert import_jobs_sweep() == 0  # once


def test_a_job_never_stamped_is_judged_by_when_it_was_claimed(world, settings):
    settings.JOB_LEASE_SECONDS = 90
    job = _job(world, status=ImportJobStatus.CHECKING, silent=None)
    assert import_jobs_sweep() == 0
    ImportJob.objects.filter(pk=job.pk).update(
        updated_at=timezone.now() - datetime.timedelta(seconds=100)
    )
    assert import_jobs_sweep() == 1


def test_the_page_warns_of_a_silent_worker_then_says_the_job_was_interrupted(
    world, login, settings
):
    settings.JOB_LEASE_SECONDS = 90
    client = login(world.secretary)
    job = _job(world, status=ImportJobStatus.CHECKING, silent=5, rows_total=10)
    assert 'id="import-silent"' not in client.get(job.get_absolute_url()).content.decode()
    ImportJob.objects.filter(pk=job.pk).update(
        heartbeat_at=timezone.now() - datetime.timedelta(seconds=40)
    )
    html = client.get(job.get_absolute_url()).content.decode()
    assert 'id="import-silent"' in html
    assert "Không nghe thấy bộ chạy việc trong 40 giây" in html
    ImportJob.objects.filter(pk=job.pk).update(
        heartbeat_at=timezone.now() - datetime.timedelta(seconds=91)
    )
    page = client.get(job.get_absolute_url())
    assert page.templates[0].name == "members/import_preview.html"
    assert INTERRUPTED in page.content.decode()
    assert ImportJob.objects.get(pk=job.pk).status == ImportJobStatus.FAILED


def test_a_write_swept_while_it_ran_is_rolled_back_not_done(world, login, monkeypatch):
    """A worker that was only slow (its heartbeat stopped past the lease) finds its
    job failed when it would finish: its rows go with it, as the sweep said."""
    real_reporter = jobs._write_reporter

    def swept_then_reporter(job, total):
        # The sweep, from another request, as the worker starts to write (its own
        # connection: committed, unlike anything inside the write's transaction).
        ImportJob.objects.filter(pk=job.pk).update(
            status=ImportJobStatus.FAILED, summary={"swept": True}
        )
        return real_reporter(job, total)

    monkeypatch.setattr(jobs, "_write_reporter", swept_then_reporter)
    client = login(world.secretary)
    post_upload(client, member_csv([new_row(world)]))
    job = ImportJob.objects.get()
    client.post(reverse("members:import_confirm"), {"token": str(job.pk)})
    job.refresh_from_db()
    assert job.status == ImportJobStatus.FAILED  # the sweep's word, not DONE
    assert not Member.objects.filter(citizen_id="006190000001").exists()


@pytest.mark.django_db(transaction=True)  # the thread's connection sees committed rows
def test_the_heartbeat_thread_stamps_the_job_while_the_task_is_quiet(world, settings):
    settings.JOB_HEARTBEAT_SECONDS = 0.05
    job = _job(world, status=ImportJobStatus.CHECKING, silent=600)
    with jobs._heartbeat(job.pk):
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            job.refresh_from_db()
            if job.heartbeat_at > timezone.now() - datetime.timedelta(seconds=5):
                break
            time.sleep(0.05)
    assert job.heartbeat_at > timezone.now() - datetime.timedelta(seconds=5)


# --- A real worker, killed --------------------------------------------------------------------

ROWS = 6000


def _many_rows(world):
    return [
        new_row(world, citizen_id=f"0061900{n:05d}", name=f"Triệu Thị Mây {n}") for n in range(ROWS)
    ]


def _worker(lease: float) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "TASKS_BACKEND": "django_tasks_db.DatabaseBackend",
        "DEBUG": "0",
        "SECRET_KEY": "tests-only-not-a-secret",
        "JOB_HEARTBEAT_SECONDS": "0.5",
        "JOB_LEASE_SECONDS": str(lease),
    }
    command = [
        sys.executable,
        "manage.py",
        "jobs_worker",
        "--no-reload",
        "--no-startup-delay",
        "--interval",
        "0.2",
    ]
    return subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_write_leaves_nothing_written_and_its_job_failed(
    world,
    client,
    database_queue,  # noqa: F811
    settings,
):
    lease = 3.0
    settings.JOB_LEASE_SECONDS = lease
    client.force_login(world.secretary)
    page = post_upload(client, member_csv(_many_rows(world)))["Location"]
    assert run_worker().returncode == 0
    job = ImportJob.objects.get()
    assert job.status == ImportJobStatus.CHECKED, job.summary
    client.post(reverse("members:import_confirm"), {"token": str(job.pk)})
    members = Member.objects.count()

    worker = _worker(lease)
    try:
        # Until the worker has written some rows (counted through its own connection).
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            job.refresh_from_db()
            if job.summary.get("phase") == "writing" and job.rows_done:
                break
            assert worker.poll() is None, "the worker ended before writing"
            time.sleep(0.05)
        else:
            pytest.fail(f"the worker did not start writing: {job.status} {job.summary}")
        assert job.rows_done < ROWS  # mid-write
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait(10)

    job.refresh_from_db()
    assert job.status == ImportJobStatus.WRITING  # as the dead worker left it
    assert Member.objects.count() == members  # its transaction rolled back
    # Before the lease lapses, the page waits (and says so once it is long enough).
    assert client.get(page).templates[0].name == "members/import_progress.html"
    time.sleep(lease + 0.5)
    response = client.get(page)
    assert response.templates[0].name == "members/import_preview.html"
    assert INTERRUPTED in response.content.decode()
    job.refresh_from_db()
    assert job.status == ImportJobStatus.FAILED
    assert Member.objects.count() == members
    assert not Member.objects.filter(citizen_id__startswith="0061900").exists()


def test_the_worker_outlives_its_database_going_away(monkeypatch):
    """db_worker's loop raises on a lost database; jobs_worker closes the connections,
    waits and starts again."""
    from django.db import OperationalError
    from django_tasks_db.management.commands.db_worker import Worker

    from members.management.commands import jobs_worker

    calls, closed, slept = [], [], []

    def run(self):
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(Worker, "run", run)
    monkeypatch.setattr(jobs_worker.connections, "close_all", lambda: closed.append(1))
    monkeypatch.setattr(jobs_worker.time, "sleep", slept.append)
    worker = jobs_worker.ReconnectingWorker(
        queue_names=["default"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="test",
        excluded_queue_names=[],
    )
    worker.run()
    assert (len(calls), len(closed), slept) == (2, 1, [jobs_worker.RECONNECT_SECONDS])
