"""Measuring: a page's queries and server time, its floor, its plan; a dissolution,
an export and import of many rows, and gunicorn under load.
"""

from __future__ import annotations

import contextlib
import datetime
import gc
import io
import os
import resource
import socket
import statistics
import subprocess
import sys
import threading
import time
import tracemalloc
import urllib.parse
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.test import Client

from branches.models import Branch, BranchKind
from members.io import apply, export
from members.models import Member, MemberStatus
from members.services.dissolutions import branch_dissolve
from members.services.members import membership_move

from .pages import Page, Targets, ms, officer, pages, percentile, pick_targets, signed_in, user_for


def _get(client: Client, page: Page) -> int:
    response = client.get(page.url)
    if response.status_code != 200:
        raise RuntimeError(f"{page.name}: {page.url} answered {response.status_code}")
    if response.streaming:
        return sum(len(chunk) for chunk in response.streaming_content)
    return len(response.content)


def measure_page(client: Client, page: Page, *, runs: int, warmup: int) -> dict:
    for _ in range(warmup):
        _get(client, page)
    executed: list[tuple[float, str, object]] = []

    def count(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            executed.append((time.perf_counter() - started, sql, None if many else params))

    # A wrapper rather than the query log, which each request's start clears.
    with connection.execute_wrapper(count):
        size = _get(client, page)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        _get(client, page)
        times.append(time.perf_counter() - started)
    return {
        "queries": len(executed),
        "sql": [sql for _t, sql, _p in executed],
        "slowest": sorted(executed, key=lambda q: q[0], reverse=True)[:2],
        "p50_ms": ms(statistics.median(times)),
        "p95_ms": ms(percentile(times, 0.95)),
        "bytes": size,
    }


def measure_floor(page: Page, *, runs: int, warmup: int) -> float:
    times = []
    with connection.cursor() as cursor:
        for i in range(warmup + runs):
            started = time.perf_counter()
            cursor.execute(page.floor_sql, page.floor_params)
            cursor.fetchall()
            if i >= warmup:
                times.append(time.perf_counter() - started)
    return ms(statistics.median(times))


def explain(sql: str, params) -> str:
    """EXPLAIN (ANALYZE) of one query, inside a rolled-back transaction (some are writes)."""
    if connection.vendor != "postgresql" or not sql.lstrip().upper().startswith(
        ("SELECT", "UPDATE")
    ):
        return ""
    from django.db import transaction

    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
                text = "\n".join(row[0] for row in cursor.fetchall())
            transaction.set_rollback(True)
    except Exception as exc:  # noqa: BLE001 - a report, not a failure
        text = f"(not explained: {exc})"
    return text


def measure_pages(*, runs: int, warmup: int) -> tuple[list[dict], Targets]:
    """Every page, measured as each role that uses it: queries, p50 and p95 server
    time; the floor once per page (the first role's rows)."""
    targets = pick_targets()
    today = datetime.date.today()
    clients: dict[str, Client] = {}
    rows = []
    for page in pages(targets, today):
        floor = measure_floor(page, runs=runs, warmup=warmup)
        for role in page.roles:
            if role not in clients:
                clients[role] = Client(HTTP_HOST="localhost")
                signed_in(clients[role], user_for(role, targets))
            result = measure_page(clients[role], page, runs=runs, warmup=warmup)
            result["floor_ms"] = floor if role == page.roles[0] else None
            result["explain"] = [
                {"ms": ms(took), "sql": sql, "plan": explain(sql, params)}
                for took, sql, params in result.pop("slowest")
            ]
            rows.append({"name": page.name, "role": role, "url": page.url, **result})
    return rows, targets


# --- The other measurements -------------------------------------------------


def measure_dissolution(size: int = 60) -> dict | None:
    """Dissolve a branch of `size` members through the service, timed. The branch is
    made for the purpose: a new commune-office branch that members are moved into."""
    branch = (
        Branch.objects.filter(kind=BranchKind.VILLAGE, dissolved_on__isnull=True)
        .order_by("pk")
        .first()
    )
    commune = branch.commune
    office = Branch.objects.create(
        code=f"BENCH{commune.code}",
        name="Chi bộ cơ quan (bench)",
        kind=BranchKind.COMMUNE_OFFICE,
        commune=commune,
        founded_on=datetime.date(1960, 1, 1),
    )
    today = datetime.date.today()
    moved_in = today - datetime.timedelta(days=10)
    members = list(
        Member.objects.filter(branch__commune=commune, status=MemberStatus.ACTIVE)
        .exclude(memberships__started_on__gt=moved_in)
        .exclude(transfers__status__in=["requested", "letter_issued"])
        .order_by("pk")[:size]
    )
    for member in members:
        membership_move(member=member, to_branch=office, on=moved_in)
    user = officer()
    started = time.perf_counter()
    branch_dissolve(branch=office, decision="99-QĐ/HU (bench)", on=today, by=user)
    return {"members": len(members), "seconds": round(time.perf_counter() - started, 3)}


def _peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


@contextlib.contextmanager
def _traced():
    gc.collect()
    tracemalloc.start()
    box: dict = {}
    started = time.perf_counter()
    try:
        yield box
    finally:
        box["seconds"] = round(time.perf_counter() - started, 2)
        box["peak_mb"] = round(tracemalloc.get_traced_memory()[1] / 2**20, 1)
        tracemalloc.stop()


class _RssPeak:
    """Peak resident memory growth while the block runs, sampled every 20 ms (the
    import is timed without tracemalloc, which would slow it several times)."""

    def __enter__(self):
        gc.collect()
        self.base = self.peak = _rss_mb()
        self.running = True
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.started = time.perf_counter()
        self.thread.start()
        return self

    def _sample(self):
        while self.running:
            self.peak = max(self.peak, _rss_mb())
            time.sleep(0.02)

    def __exit__(self, *exc):
        self.seconds = round(time.perf_counter() - self.started, 2)
        self.running = False
        self.thread.join()
        self.peak = max(self.peak, _rss_mb())
        self.growth_mb = round(self.peak - self.base, 1)


def _rss_mb() -> float:
    with contextlib.suppress(OSError):
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    return _peak_rss_mb()


def _export(rows: int) -> dict:
    """Stream the export and throw the text away: the peak is the export's own."""
    members = Member.objects.order_by("pk")[:rows]
    with _traced() as box:
        exported = 0
        for chunk in export.csv_chunks(export.member_list_rows(members)):
            exported += chunk.count("\n")
    return {**box, "rows": exported - 1}


def measure_export_import(rows: int) -> dict | None:
    """Export `rows` members to CSV, streamed (time and peak traced Python memory, also
    for a tenth of the rows: flat if it streams), and import them back as new
    members through the import service (time, resident memory growth)."""
    import csv

    result: dict = {"rows": rows}
    result["export_tenth"] = _export(max(rows // 10, 1))
    result["export"] = _export(rows)
    text = "".join(export.csv_chunks(export.member_list_rows(Member.objects.order_by("pk")[:rows])))
    # The same people again as new members (new citizen IDs and card numbers), as the
    # import service reads them (read_table's upload size limit is for the web).
    table = list(csv.reader(io.StringIO(_renumbered(text))))
    del text
    with _RssPeak() as peak:
        plan = apply.import_rows(kind="members", table=table)
    result["import"] = {
        "seconds": peak.seconds,
        "rss_growth_mb": peak.growth_mb,
        "errors": len(plan.errors),
        "created": plan.counts.get("created"),
    }
    return result


def _renumbered(text: str) -> str:
    """The exported members with new citizen IDs and card numbers, so they import as new."""
    import csv

    reader = csv.reader(io.StringIO(text))
    header = next(reader)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    columns = {name: i for i, name in enumerate(header)}
    cid, card = columns.get("citizen_id"), columns.get("card_number")
    for n, row in enumerate(reader):
        if cid is not None:
            row[cid] = f"9{n:011d}"
        if card is not None and row[card]:
            row[card] = f"B{n:09d}"
        writer.writerow(row)
    return out.getvalue()


# --- gunicorn under load ----------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _database_url() -> str:
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    user = urllib.parse.quote(s.get("USER") or "")
    password = urllib.parse.quote(s.get("PASSWORD") or "")
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    return f"postgres://{auth}{s.get('HOST') or ''}:{s.get('PORT') or 5432}/{s['NAME']}"


def measure_gunicorn(path: str, *, seconds: float, workers: int = 3, clients: int = 8) -> dict:
    """Requests per second of gunicorn on 127.0.0.1 serving `path` to a logged-in
    district officer, driven by `clients` threads for `seconds` (loopback only)."""
    import http.client

    client = Client(HTTP_HOST="localhost")
    signed_in(client, officer())
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "DEBUG": "0",
        "SECRET_KEY": os.environ.get("SECRET_KEY") or "bench-only-not-a-secret",
        "STATIC_MANIFEST": "0",
        "SECURE_COOKIES": "0",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
    }
    gunicorn = Path(sys.executable).with_name("gunicorn")
    process = subprocess.Popen(
        [
            str(gunicorn),
            "pacnam.wsgi",
            "--workers",
            str(workers),
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "--timeout",
            "60",
        ],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        "gunicorn did not start: " + process.stderr.read().decode()[-2000:]
                    ) from None
                time.sleep(0.2)

        def one() -> tuple[int, float]:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            started = time.perf_counter()
            conn.request("GET", path, headers={"Cookie": cookie, "Host": "localhost"})
            response = conn.getresponse()
            response.read()
            conn.close()
            return response.status, time.perf_counter() - started

        for _ in range(workers * 2):  # warm every worker
            one()
        latencies: list[float] = []
        failures = [0]
        lock = threading.Lock()
        stop_at = time.monotonic() + seconds

        def loop():
            while time.monotonic() < stop_at:
                status, took = one()
                with lock:
                    if status == 200:
                        latencies.append(took)
                    else:
                        failures[0] += 1

        threads = [threading.Thread(target=loop) for _ in range(clients)]
        started = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - started
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
    return {
        "path": path,
        "workers": workers,
        "clients": clients,
        "seconds": round(elapsed, 1),
        "requests": len(latencies),
        "failures": failures[0],
        "requests_per_second": round(len(latencies) / elapsed, 1),
        "latency_p50_ms": ms(statistics.median(latencies)) if latencies else None,
        "latency_p95_ms": ms(percentile(latencies, 0.95)) if latencies else None,
    }
