"""The job runner's worker as production runs it: django-tasks-db's
`db_worker`, with the same options, which also

- sweeps the jobs a dead worker left running (members.io.jobs.import_jobs_sweep)
  when it starts, and
- outlives its database: db_worker's loop raises on an OperationalError or an
  InterfaceError that is not SQLite's "locked" (PostgreSQL restarted, the network
  gone), and the process would end. Here the connections are closed and the loop
  starts again after RECONNECT_SECONDS, until the database answers.

A task that was running when the database went away is not retried: its job's
heartbeat stops with it, and the sweep fails the job once its lease lapses.
"""

import logging
import os
import time

from django.core.management.base import CommandError
from django.db import InterfaceError, OperationalError, connections
from django.utils.autoreload import DJANGO_AUTORELOAD_ENV, run_with_reloader
from django_tasks_db.management.commands.db_worker import Command as DbWorkerCommand
from django_tasks_db.management.commands.db_worker import Worker

from members.io.jobs import import_jobs_sweep

logger = logging.getLogger("django_tasks_db")

RECONNECT_SECONDS = 5.0


class ReconnectingWorker(Worker):
    reconnect_seconds = RECONNECT_SECONDS

    def run(self) -> None:
        while True:
            try:
                return super().run()
            except (OperationalError, InterfaceError) as exc:
                if not self.running:
                    raise
                logger.warning(
                    "The database is unreachable (%s); trying again in %s s",
                    exc,
                    self.reconnect_seconds,
                )
                # A broken connection is not reused: the next query opens a new one.
                connections.close_all()
                time.sleep(self.reconnect_seconds)


class Command(DbWorkerCommand):
    help = "Run the job runner's worker: db_worker that sweeps lost jobs and survives the database going away"

    def handle(
        self,
        *,
        verbosity: int,
        queue_name: str,
        interval: float,
        batch: bool,
        backend_name: str,
        startup_delay: bool,
        reload: bool,
        max_tasks: int | None,
        worker_id: str,
        exclude_queues: str,
        **options,
    ) -> None:
        self.configure_logging(verbosity)
        try:
            import_jobs_sweep()
        except (OperationalError, InterfaceError) as exc:
            logger.warning("The sweep at start could not reach the database (%s)", exc)
            connections.close_all()
        queue_names = queue_name.split(",")
        if exclude_queues and "*" not in queue_names:
            raise CommandError("--exclude-queues can only be used with --queue-name=*")
        worker = ReconnectingWorker(
            queue_names=queue_names,
            interval=interval,
            batch=batch,
            backend_name=backend_name,
            startup_delay=startup_delay,
            max_tasks=max_tasks,
            worker_id=worker_id,
            excluded_queue_names=exclude_queues.split(",") if exclude_queues else [],
        )
        if reload and not batch:
            if os.environ.get(DJANGO_AUTORELOAD_ENV) == "true":
                worker.configure_signals()
            run_with_reloader(worker.run)
        else:
            worker.configure_signals()
            worker.run()
