"""Imports in the background: the web page stores the upload and enqueues
a task; the job runner's worker (`manage.py db_worker`, django-tasks-db) reads and
checks the file, then, once the user has seen the preview and confirmed, checks it
again and writes it. The page shows the job's progress meanwhile. One user's large
or hostile file costs the worker's time, never a web worker's: another user's pages
are served as usual, and their own imports wait their turn.

    import_job_start(user=, kind=, filename=, data=, language=)  -> ImportJob (queued)
    import_job_confirm(job=, allow_mass_update=)                  -> whether it was queued
    import_check(job_id) / import_write(job_id)                   -> the tasks
    summary_plan(job.summary)                                     -> the preview's view of it
    import_jobs_sweep()                                           -> how many lost jobs failed

A running job holds a lease: the worker stamps its row's heartbeat_at when
it claims it, whenever it writes progress, and from a thread of its own every
JOB_HEARTBEAT_SECONDS. A job not stamped for JOB_LEASE_SECONDS has lost its worker
(killed, its machine stopped, its database connection gone) and the sweep fails it;
the sweep runs when the job's page is opened, when the runner starts
(`manage.py jobs_worker`) and as `manage.py jobs_sweep`.

The command-line import (registry_import) stays in the foreground.
"""

from __future__ import annotations

import datetime
import logging
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import SimpleNamespace

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connection, connections, transaction
from django.db.models import F, Q
from django.tasks import task
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from simple_history.models import HistoricalRecords

from branches.access import scope_for

from ..models import ImportJob, ImportJobStatus
from ..models.imports import RUNNING
from .apply import ImportAborted, import_plan_apply
from .read import ImportFileError, read_table
from .validate import CREATE, UPDATE, ImportPlan, RowError, validate_table

logger = logging.getLogger(__name__)

PREVIEW_ROWS = 500  # changes listed on the preview; the counts are always whole
# A job is kept this long: its page still shows what happened; then it goes.
JOB_MAX_AGE = datetime.timedelta(days=7)
# A job's upload is kept this long for a confirmation that may never come.
UPLOAD_MAX_AGE = datetime.timedelta(days=1)


# --- What the page shows --------------------------------------------------------------


@dataclass
class Summary:
    """The stored outcome of a check or a write, shaped as the templates read an
    ImportPlan: errors and notes as RowErrors, counts, the changes."""

    counts: dict = field(default_factory=lambda: {"created": 0, "updated": 0, "unchanged": 0})
    errors: list[RowError] = field(default_factory=list)
    errors_total: int = 0
    notices: list[RowError] = field(default_factory=list)
    notices_total: int = 0
    changes: list[dict] = field(default_factory=list)
    more_changes: int = 0
    name_changes: int = 0
    columns: dict = field(default_factory=dict)

    def count(self, action: str) -> int:
        return self.counts.get({CREATE: "created", UPDATE: "updated"}.get(action, "unchanged"), 0)

    @property
    def errors_left_out(self) -> int:
        return self.errors_total - len(self.errors)

    @property
    def notices_left_out(self) -> int:
        return self.notices_total - len(self.notices)


def _summarise(plan: ImportPlan) -> dict:
    changes: list[dict] = []
    for row in plan.rows:
        if row.action in (CREATE, UPDATE):
            if len(changes) < PREVIEW_ROWS:
                changes.append(
                    {
                        "row": row.row,
                        "action": row.action,
                        "key": str(row.key),
                        "label": str(row.label)[:300],
                        "changes": list(row.changes),
                        "diffs": [list(d) for d in row.diffs],
                    }
                )
    return {
        "counts": plan.counts,
        "errors": [e.as_list(plan.column_label(e.column)) for e in plan.errors],
        "errors_total": plan.errors.total,
        "notices": [n.as_list(plan.column_label(n.column)) for n in plan.notices],
        # Which of the file's columns were read, left out, and which the file lacks.
        "columns": plan.columns.summary() if plan.columns is not None else {},
        "notices_total": plan.notices.total,
        "changes": changes,
        "more_changes": plan.count(CREATE) + plan.count(UPDATE) - len(changes),
        "name_changes": plan.name_changes,
    }


def _failure(message: str, row: int = 1, column: str = "file") -> dict:
    return {"errors": [[row, column, str(message), "", _("the file")]], "errors_total": 1}


def summary_plan(summary: dict) -> Summary:
    """The stored summary as the preview reads it."""
    return Summary(
        counts=summary.get("counts") or {"created": 0, "updated": 0, "unchanged": 0},
        errors=[RowError(*e) for e in summary.get("errors", [])],
        errors_total=summary.get("errors_total", 0),
        notices=[RowError(*n) for n in summary.get("notices", [])],
        notices_total=summary.get("notices_total", 0),
        changes=summary.get("changes", []),
        more_changes=summary.get("more_changes", 0),
        name_changes=summary.get("name_changes", 0),
        columns=summary.get("columns") or {},
    )


# --- Services the views call ------------------------------------------------------------


def import_job_start(
    *, user, kind: str, filename: str, data: bytes, language: str = ""
) -> ImportJob:
    """Store an upload and enqueue its check. Jobs past their age go first: a
    preview nobody confirmed keeps its file a day, its page a week."""
    now = timezone.now()
    ImportJob.objects.filter(created_at__lt=now - JOB_MAX_AGE).delete()
    ImportJob.objects.filter(created_at__lt=now - UPLOAD_MAX_AGE).exclude(data=b"").update(data=b"")
    job = ImportJob.objects.create(
        user=user,
        kind=kind,
        filename=filename[:255],
        data=data,
        language=language or settings.LANGUAGE_CODE,
    )
    import_check.enqueue(str(job.pk))
    return ImportJob.objects.get(pk=job.pk)


def import_job_confirm(*, job: ImportJob, allow_mass_update: bool) -> bool:
    """Queue the writing of a checked job; False if it is not waiting for confirmation.

    The status moves in one conditional UPDATE: a double click, or the same page
    confirmed in two tabs, queues one write, not two.
    """
    queued = ImportJob.objects.filter(pk=job.pk, status=ImportJobStatus.CHECKED).update(
        status=ImportJobStatus.WRITE_QUEUED,
        allow_mass_update=allow_mass_update,
        rows_done=0,
        updated_at=timezone.now(),
    )
    if queued:
        import_write.enqueue(str(job.pk))
    return bool(queued)


def import_jobs_ahead(job: ImportJob) -> int:
    """How many imports the runner takes before this waiting one: those at work,
    and those waiting since before it (one runner takes them in their order)."""
    return (
        ImportJob.objects.filter(status__in=RUNNING, updated_at__lt=job.updated_at)
        .exclude(pk=job.pk)
        .count()
    )


# --- The tasks ----------------------------------------------------------------------------


# The states in which a worker holds the job, and so its lease. A queued job has no
# worker yet: it waits for one however long, and the sweep leaves it alone.
LEASED = (ImportJobStatus.CHECKING, ImportJobStatus.WRITING)


class JobLeaseLost(Exception):
    """The sweep failed this job while its worker still ran (its heartbeat had
    stopped for longer than the lease): the worker must not write after all."""


def _claim(job_id: str, expected: str, running: str) -> ImportJob | None:
    """Take a job from `expected` to `running`, once: a task delivered twice runs once."""
    now = timezone.now()
    if not ImportJob.objects.filter(pk=job_id, status=expected).update(
        status=running, updated_at=now, heartbeat_at=now
    ):
        return None
    return ImportJob.objects.select_related("user").get(pk=job_id)


@contextmanager
def _heartbeat(job_id):
    """Stamp the job's heartbeat every JOB_HEARTBEAT_SECONDS while the task runs, from
    a thread (and so a database connection) of its own: reading a large workbook
    reports no progress for a minute, and the lease must not lapse meanwhile. On
    SQLite a write holds the database's one write lock, and the stamps wait for it
    (they are dropped after the busy timeout, and tried again)."""
    stop = threading.Event()

    def beat() -> None:
        try:
            while not stop.wait(settings.JOB_HEARTBEAT_SECONDS):
                try:
                    ImportJob.objects.filter(pk=job_id, status__in=LEASED).update(
                        heartbeat_at=timezone.now()
                    )
                except DatabaseError:
                    logger.warning("import %s: the heartbeat was not written", job_id)
                    connection.close()
        finally:
            connection.close()  # this thread's own

    thread = threading.Thread(target=beat, name=f"heartbeat-{job_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=2)


def import_jobs_sweep(*, wait_for_writer: bool = True) -> int:
    """Fail the jobs whose lease has lapsed: a worker took them and has not been
    heard of for JOB_LEASE_SECONDS. Their page says so and to try again; nothing was
    written, since a write is one transaction whose rows and DONE status commit
    together (import_write), and a dead worker's transaction is rolled back.

    The race: a worker that was only slow stamps its heartbeat between this read
    and the UPDATE. The UPDATE repeats the condition, so that job is kept; and a
    worker whose job was failed here finds it so when it would finish, and rolls
    its write back (JobLeaseLost).

    On SQLite the writer of a large import holds the one write lock for as long as
    it writes, and cannot stamp meanwhile: `wait_for_writer=False` (the page) leaves
    those jobs to the runner's sweep rather than make the page wait for the lock.
    Returns how many jobs were failed."""
    now = timezone.now()
    cutoff = now - datetime.timedelta(seconds=settings.JOB_LEASE_SECONDS)
    stale = Q(status__in=LEASED) & (
        Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, updated_at__lt=cutoff)
    )
    jobs = ImportJob.objects.filter(stale)
    if connection.vendor == "sqlite" and not wait_for_writer:
        jobs = jobs.exclude(status=ImportJobStatus.WRITING, summary__phase="writing")
    failed = 0
    for pk, language in jobs.values_list("pk", "language"):
        with translation.override(language):
            summary = _failure(
                _(
                    "The job was interrupted: the job runner stopped while working on it. "
                    "Nothing was written; please try again."
                )
            )
        try:
            failed += ImportJob.objects.filter(stale, pk=pk).update(
                status=ImportJobStatus.FAILED, summary=summary, data=b"", updated_at=now
            )
        except DatabaseError:
            # SQLite's write lock held past the busy timeout: the next sweep tries again.
            logger.warning("import %s: the sweep could not fail it", pk)
    if failed:
        logger.warning("%d import(s) failed by the sweep: their worker stopped", failed)
    return failed


def _progress(job: ImportJob):
    def report(done: int, total: int) -> None:
        ImportJob.objects.filter(pk=job.pk).update(
            rows_done=min(done, total), rows_total=total, heartbeat_at=timezone.now()
        )

    return report


def _write_reporter(job: ImportJob, total: int):
    """How far the writing has got, for the job's page: `report(rows)` adds the rows of
    a step. The writing is one transaction (all rows or none), whose own updates
    nobody sees before it ends, so the count goes through a connection of its
    own, committed at once. PostgreSQL only: SQLite has one writer at a time, and
    the import is it; there the page says the rows are being written, uncounted.
    Returns (report or None, close)."""
    ImportJob.objects.filter(pk=job.pk).update(
        rows_done=0, rows_total=total, summary={**job.summary, "phase": "writing"}
    )
    if connection.vendor != "postgresql" or not total:
        return None, lambda: None
    side = connections.create_connection(DEFAULT_DB_ALIAS)
    done = 0

    def report(rows: int) -> None:
        nonlocal done
        done = min(done + rows, total)
        with side.cursor() as cursor:
            cursor.execute(
                f"UPDATE {ImportJob._meta.db_table} SET rows_done = %s, heartbeat_at = %s "
                "WHERE id = %s",
                [done, timezone.now(), job.pk],
            )

    return report, side.close


def _finish(
    job: ImportJob, status: str, summary: dict, *, running: str, keep_data: bool = False
) -> bool:
    """Record the task's outcome, if the job is still the worker's (`running`): a job
    the sweep has failed keeps the sweep's word. Returns whether it was recorded."""
    fields = {"status": status, "summary": summary, "updated_at": timezone.now()}
    if not keep_data:
        fields["data"] = b""
    if status in (ImportJobStatus.DONE, ImportJobStatus.CHECKED):
        fields["rows_done"] = F("rows_total")
    return bool(ImportJob.objects.filter(pk=job.pk, status=running).update(**fields))


@contextmanager
def _acting_as(user):
    """Who the history rows name, as HistoryRequestMiddleware does for a request."""
    context = HistoricalRecords.context
    previous = getattr(context, "request", None)
    context.request = SimpleNamespace(user=user)
    try:
        yield
    finally:
        if previous is None:
            del context.request
        else:
            context.request = previous


def _plan(job: ImportJob) -> ImportPlan:
    """Read and check the job's file as its user may import it today."""
    user = get_user_model().objects.get(pk=job.user_id)
    scope = scope_for(user)
    if not scope.can_edit_registry():
        plan = ImportPlan(kind=job.kind)
        plan.errors.append(RowError(1, "file", _("You may no longer import into the registry.")))
        return plan
    try:
        table = read_table(bytes(job.data), job.filename, kind=job.kind)
    except ImportFileError as exc:
        plan = ImportPlan(kind=job.kind)
        plan.errors.append(RowError(1, "file", exc.message))
        return plan
    ImportJob.objects.filter(pk=job.pk).update(rows_done=0, rows_total=len(table.rows))
    return validate_table(kind=job.kind, table=table, scope=scope, progress=_progress(job))


@task()
def import_check(job_id: str) -> str:
    """Read and check an uploaded file; the preview is the job's summary."""
    job = _claim(job_id, ImportJobStatus.QUEUED, ImportJobStatus.CHECKING)
    if job is None:
        return "skipped"
    with translation.override(job.language), _heartbeat(job.pk):
        return _check(job)


def _check(job: ImportJob) -> str:
    running = ImportJobStatus.CHECKING
    try:
        plan = _plan(job)
    except Exception:
        logger.exception("import %s: the check stopped", job.pk)
        _finish(
            job,
            ImportJobStatus.REFUSED,
            _failure(_("The check stopped on an unexpected error; nothing was written.")),
            running=running,
        )
        return ImportJobStatus.REFUSED
    if plan.errors:
        _finish(job, ImportJobStatus.REFUSED, _summarise(plan), running=running)
        return ImportJobStatus.REFUSED
    if not _finish(job, ImportJobStatus.CHECKED, _summarise(plan), running=running, keep_data=True):
        return ImportJobStatus.FAILED  # the sweep failed it meanwhile
    return ImportJobStatus.CHECKED


@task()
def import_write(job_id: str) -> str:
    """Check the confirmed file again (the registry may have changed since the
    preview) and write it in one transaction: all rows or none."""
    job = _claim(job_id, ImportJobStatus.WRITE_QUEUED, ImportJobStatus.WRITING)
    if job is None:
        return "skipped"
    # The page says what the runner does: checking the file again, then writing.
    ImportJob.objects.filter(pk=job.pk).update(summary={**job.summary, "phase": "checking"})
    with translation.override(job.language), _heartbeat(job.pk):
        return _write(job)


def _write(job: ImportJob) -> str:
    running = ImportJobStatus.WRITING
    try:
        plan = _plan(job)
        if (
            not plan.errors
            and plan.name_changes > settings.IMPORT_MASS_NAME_CHANGES
            and not job.allow_mass_update
        ):
            plan.errors.append(
                RowError(
                    1,
                    "full_name",
                    _("This import would now change the names of %(n)d members; confirm it again.")
                    % {"n": plan.name_changes},
                )
            )
        if not plan.errors:
            report, close = _write_reporter(job, plan.count(CREATE) + plan.count(UPDATE))
            try:
                # The rows and the job's DONE commit together, or neither: a worker
                # killed before the commit leaves nothing written and the job
                # WRITING, for the sweep to fail; a job the sweep has failed
                # meanwhile is not DONE'd, and its rows are rolled back.
                # The job's row is updated last: before it, the progress
                # (another connection) updates it freely.
                with transaction.atomic(), _acting_as(job.user):
                    import_plan_apply(
                        plan=plan, actor=job.user, source=job.filename, progress=report
                    )
                    if not _finish(job, ImportJobStatus.DONE, _summarise(plan), running=running):
                        raise JobLeaseLost
            finally:
                close()
    except JobLeaseLost:
        logger.warning("import %s: failed by the sweep while writing; rolled back", job.pk)
        return ImportJobStatus.FAILED
    except ImportAborted as exc:
        plan.errors.append(exc.error)
    except Exception:
        logger.exception("import %s: the write stopped", job.pk)
        _finish(
            job,
            ImportJobStatus.FAILED,
            _failure(_("The import stopped on an unexpected error; nothing was written.")),
            running=running,
        )
        return ImportJobStatus.FAILED
    if plan.errors:
        # Someone changed the registry since the preview: say why, write nothing.
        _finish(job, ImportJobStatus.FAILED, _summarise(plan), running=running)
        return ImportJobStatus.FAILED
    return ImportJobStatus.DONE
