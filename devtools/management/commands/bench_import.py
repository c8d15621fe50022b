"""python manage.py bench_import [--rows 100000] [--members 20000] [--keep]

The web import's background path, measured: a workbook of --rows new
members, as an office would upload it, stored as an import job and queued; a
`manage.py db_worker` process checks it (the preview), then, confirmed, checks it
again and writes it. Prints the time of each step and the worker's peak resident
memory. Runs in a fresh database beside the configured one (<name>_bench_import,
created and dropped here; meant for PostgreSQL), filled by generate_synthetic.
"""

import io
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, connections

ROOT = Path(__file__).resolve().parents[3]


def _url(name: str) -> str:
    s = connection.settings_dict
    auth = s.get("USER") or ""
    if s.get("PASSWORD"):
        auth += f":{s['PASSWORD']}"
    return f"postgres://{auth}@{s.get('HOST') or '127.0.0.1'}:{s.get('PORT') or 5432}/{name}"


class Command(BaseCommand):
    help = "Measure the web import's background path: a 100,000-row workbook checked and written by db_worker."

    def add_arguments(self, parser):
        parser.add_argument("--rows", type=int, default=100_000)
        parser.add_argument(
            "--members", type=int, default=20_000, help="the registry it imports into"
        )
        parser.add_argument("--keep", action="store_true", help="keep the bench database")

    def handle(self, *args, rows, members, keep, **options):
        if connection.vendor != "postgresql":
            raise CommandError("bench_import runs on PostgreSQL (DATABASE_URL=postgres://...).")
        name = f"{connection.settings_dict['NAME']}_bench_import"
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
            cursor.execute(f'CREATE DATABASE "{name}"')
        connections["default"].close()
        original = connection.settings_dict["NAME"]
        connection.settings_dict["NAME"] = name
        try:
            self._measure(name, rows, members)
        finally:
            connections["default"].close()
            connection.settings_dict["NAME"] = original
            if not keep:
                with connection.cursor() as cursor:
                    cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')

    def _worker(self, name: str) -> float:
        env = {
            **os.environ,
            "DATABASE_URL": _url(name),
            "TASKS_BACKEND": "django_tasks_db.DatabaseBackend",
            "DEBUG": "0",
            "SECRET_KEY": settings.SECRET_KEY,
        }
        started = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "manage.py",
                "db_worker",
                "--batch",
                "--max-tasks",
                "1",
                "--no-reload",
                "--no-startup-delay",
                "--interval",
                "0",
            ],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
        )
        return time.perf_counter() - started

    def _measure(self, name: str, rows: int, members: int) -> None:
        from devtools.bench.measure import _renumbered
        from devtools.bench.pages import officer
        from members.io import export
        from members.io.jobs import import_job_confirm, import_job_start
        from members.models import ImportJob, Member

        call_command("migrate", verbosity=0)
        call_command("generate_synthetic", members=members, seed=1, stdout=io.StringIO())
        # The registry's own members again as new ones (new citizen IDs and card
        # numbers), as many rows as asked, in a workbook.
        import csv

        source = Member.objects.order_by("pk")
        table = []
        while len(table) < rows + 1:
            text = "".join(export.csv_chunks(export.member_list_rows(source[:rows])))
            part = list(csv.reader(io.StringIO(_renumbered(text))))
            table.extend(part if not table else part[1:])
        table = table[: rows + 1]
        for n, row in enumerate(table[1:]):
            row[0] = f"8{n:011d}"
            if row[10]:
                row[10] = f"C{n:09d}"
        workbook = export.xlsx_bytes(table, title="members")
        user = officer()
        self.stdout.write(f"workbook: {rows} rows, {len(workbook) / 2**20:.1f} MB")

        started = time.perf_counter()
        job = import_job_start(user=user, kind="members", filename="bench.xlsx", data=workbook)
        enqueue = time.perf_counter() - started
        check = self._worker(name)
        job.refresh_from_db()
        if job.status != "checked":
            raise CommandError(f"the check ended {job.status}: {job.summary.get('errors', [])[:3]}")
        import_job_confirm(job=job, allow_mass_update=False)
        write = self._worker(name)
        job = ImportJob.objects.get(pk=job.pk)
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        with connection.cursor() as cursor:
            cursor.execute("SELECT version()")
            version = cursor.fetchone()[0].split(" on ")[0]
        self.stdout.write(
            f"Importing {rows:,} member rows through the web's background path (an XLSX of "
            f"{len(workbook) / 2**20:.1f} MB stored and queued in {enqueue:.2f} s; db_worker checked it in "
            f"{check:.1f} s and, confirmed, checked it again and wrote it in {write:.1f} s; the worker's peak "
            f"resident memory {peak_mb:.0f} MB; {job.summary['counts']['created']:,} members created; "
            f"{version}, into a registry of {members:,} members)."
        )
