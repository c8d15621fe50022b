"""Fail the background jobs whose worker has stopped: those not heard of
for JOB_LEASE_SECONDS. The job's page and the runner's start do the same; this is
for a cron line or an operator who wants it now."""

from django.core.management.base import BaseCommand

from members.io.jobs import import_jobs_sweep


class Command(BaseCommand):
    help = "Fail the jobs whose worker stopped (no heartbeat for JOB_LEASE_SECONDS)."

    def handle(self, *args, **options) -> None:
        failed = import_jobs_sweep()
        self.stdout.write(f"{failed} job(s) failed")
