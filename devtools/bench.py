"""The benchmark of issue 7: each page's queries and server time at two sizes,
against the best single hand-written SQL query for the same rows (the floor).

`manage.py bench` (and `make bench`) drives it: for each size it creates a
fresh database beside the configured one, migrates it, fills it with
`pacnam.synthetic`, measures, and drops it. The functions here measure
whatever database Django is connected to, so the tests can run them on the
test database at a tiny size.
"""

from __future__ import annotations

import contextlib
import datetime
import gc
import io
import json
import math
import os
import platform
import resource
import socket
import statistics
import subprocess
import sys
import threading
import time
import tracemalloc
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, connections
from django.test import Client

from branches.models import Branch, BranchKind, Role, RoleKind
from meetings.models import Meeting
from members.io import apply, export
from members.models import Member, MemberStatus
from members.services.dissolutions import branch_dissolve
from members.services.members import membership_move

from . import synthetic

OFFICER = "bench-district"


@dataclass
class Page:
    name: str
    url: str
    floor_sql: str
    floor_params: list = field(default_factory=list)
    streaming: bool = False


@dataclass
class Targets:
    commune_id: int
    commune_code: str
    branch_id: int
    member_id: int
    search: str
    meeting_id: int | None = None


def ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def officer():
    """The district officer the pages are measured as (created once per database)."""
    User = get_user_model()
    user, created = User.objects.get_or_create(username=OFFICER)
    if created:
        user.set_unusable_password()
        user.save()
        Role.objects.create(user=user, kind=RoleKind.DISTRICT_OFFICER)
    return user


def pick_targets() -> Targets:
    """Typical records, chosen the same way at every size: the middle commune, its
    first village branch, that branch's first member by name, and that member's
    name without accents as the search (a person typing a full name)."""
    branches = Branch.objects.filter(kind=BranchKind.VILLAGE, dissolved_on__isnull=True)
    count = branches.count()
    branch = branches.order_by("pk").select_related("commune")[count // 2]
    member = (
        Member.objects.filter(branch=branch)
        .exclude(status=MemberStatus.LEFT)
        .order_by("folded_name", "pk")
        .first()
    )
    targets = Targets(
        commune_id=branch.commune_id,
        commune_code=branch.commune.code,
        branch_id=branch.pk,
        member_id=member.pk,
        search=member.folded_name,
    )
    with contextlib.suppress(ImportError):

        meeting = Meeting.objects.filter(branch=branch).order_by("-date", "-pk").first()
        targets.meeting_id = meeting.pk if meeting else None
    return targets


def pages(t: Targets, today: datetime.date) -> list[Page]:
    """Each page and its floor: one hand-written query returning the rows the page shows."""
    result = [
        Page(
            "district dashboard",
            "/",
            # The figures of the tiles, in one statement.
            """
            SELECT count(*) FILTER (WHERE status <> 'left'),
                   count(*) FILTER (WHERE status <> 'left' AND full_on IS NOT NULL),
                   count(*) FILTER (WHERE status <> 'left' AND full_on IS NULL),
                   count(*) FILTER (WHERE status <> 'left' AND is_commune_cadre)
            FROM members_member
            """,
        ),
        Page(
            "commune page",
            f"/communes/{t.commune_code}/",
            """
            SELECT b.id, b.name, b.kind, b.dissolved_on, v.name,
                   count(m.id) FILTER (WHERE m.status <> 'left'),
                   count(m.id) FILTER (WHERE m.status <> 'left' AND m.is_commune_cadre)
            FROM branches_branch b
            LEFT JOIN branches_village v ON v.id = b.village_id
            LEFT JOIN members_member m ON m.branch_id = b.id
            WHERE b.commune_id = %s
            GROUP BY b.id, v.name
            ORDER BY b.dissolved_on, b.kind, b.name
            """,
            [t.commune_id],
        ),
        Page(
            "branch roster",
            f"/branches/{t.branch_id}/",
            """
            SELECT s.id, s.kind, s.started_on, m.id, m.full_name, m.full_on, m.is_commune_cadre,
                   m.position, m.birth_date
            FROM members_membership s JOIN members_member m ON m.id = s.member_id
            WHERE s.branch_id = %s AND s.started_on <= %s AND (s.ended_on IS NULL OR s.ended_on > %s)
            ORDER BY s.kind, m.folded_name
            """,
            [t.branch_id, today, today],
        ),
        Page(
            "member page",
            f"/members/{t.member_id}/",
            """
            SELECT m.*, b.name, c.name, v.name, s.started_on, s.ended_on, s.end_reason, sb.name
            FROM members_member m
            JOIN branches_branch b ON b.id = m.branch_id
            JOIN branches_commune c ON c.id = b.commune_id
            JOIN branches_village v ON v.id = m.residence_village_id
            JOIN members_membership s ON s.member_id = m.id
            JOIN branches_branch sb ON sb.id = s.branch_id
            WHERE m.id = %s
            ORDER BY s.started_on, s.id
            """,
            [t.member_id],
        ),
        Page(
            "member search",
            "/members/?" + urllib.parse.urlencode({"q": t.search}),
            """
            SELECT m.id, m.full_name, m.birth_date, m.status, b.name, c.name, v.name
            FROM members_member m
            JOIN branches_branch b ON b.id = m.branch_id
            JOIN branches_commune c ON c.id = b.commune_id
            JOIN branches_village v ON v.id = m.residence_village_id
            WHERE {names} AND m.status <> 'left'
            ORDER BY m.folded_name, m.id
            LIMIT 50
            """.format(
                names="m.folded_name IN (SELECT folded_name FROM members_member_name WHERE folded_name LIKE %s)"
                if connection.vendor == "postgresql"
                else "m.folded_name LIKE %s"
            ),
            [f"%{t.search}%"],
        ),
        # Beyond the list: the two member lists that match the most rows,
        # where the count, not the page, was the cost (pacnam.pagination).
        Page(
            "member list, unfiltered",
            "/members/",
            """
            SELECT m.id, m.full_name, m.birth_date, m.status, b.name, c.name, v.name
            FROM members_member m
            JOIN branches_branch b ON b.id = m.branch_id
            JOIN branches_commune c ON c.id = b.commune_id
            JOIN branches_village v ON v.id = m.residence_village_id
            WHERE m.status <> 'left'
            ORDER BY m.folded_name, m.id
            LIMIT 50
            """,
        ),
        Page(
            "member search, common name part",
            "/members/?q=van",
            """
            SELECT m.id, m.full_name, m.birth_date, m.status, b.name, c.name, v.name
            FROM members_member m
            JOIN branches_branch b ON b.id = m.branch_id
            JOIN branches_commune c ON c.id = b.commune_id
            JOIN branches_village v ON v.id = m.residence_village_id
            WHERE {names} AND m.status <> 'left'
            ORDER BY m.folded_name, m.id
            LIMIT 50
            """.format(
                names="m.folded_name IN (SELECT folded_name FROM members_member_name WHERE folded_name LIKE %s)"
                if connection.vendor == "postgresql"
                else "m.folded_name LIKE %s"
            ),
            ["%van%"],
        ),
    ]
    if t.meeting_id is not None:
        result.append(
            Page(
                "meeting page",
                f"/meetings/{t.meeting_id}/",
                """
                SELECT a.id, a.presence, a.standing, a.reason, m.full_name
                FROM meetings_attendance a JOIN members_member m ON m.id = a.member_id
                WHERE a.meeting_id = %s
                ORDER BY m.folded_name
                """,
                [t.meeting_id],
            )
        )
    if _has_url("/members/export.csv"):
        result.append(
            Page(
                "commune members export",
                f"/members/export.csv?commune={t.commune_code}",
                """
                SELECT m.*, b.code FROM members_member m
                JOIN branches_branch b ON b.id = m.branch_id
                WHERE b.commune_id = %s AND m.status <> 'left'
                ORDER BY m.folded_name, m.id
                """,
                [t.commune_id],
                streaming=True,
            )
        )
    return result


def _has_url(path: str) -> bool:
    from django.urls import Resolver404, resolve

    try:
        resolve(path)
    except Resolver404:
        return False
    return True


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
    if connection.vendor != "postgresql" or not sql.lstrip().upper().startswith(("SELECT", "UPDATE")):
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
    """Every page, measured as a district officer: queries, p50 and p95 server time, floor."""
    user = officer()
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    targets = pick_targets()
    today = datetime.date.today()
    rows = []
    for page in pages(targets, today):
        result = measure_page(client, page, runs=runs, warmup=warmup)
        result["floor_ms"] = measure_floor(page, runs=runs, warmup=warmup)
        result["explain"] = [
            {"ms": ms(took), "sql": sql, "plan": explain(sql, params)}
            for took, sql, params in result.pop("slowest")
        ]
        rows.append({"name": page.name, "url": page.url, **result})
    return rows, targets


# --- The other measurements -------------------------------------------------

def measure_dissolution(size: int = 60) -> dict | None:
    """Dissolve a branch of `size` members through the service, timed. The branch is
    made for the purpose: a new commune-office branch that members are moved into."""
    branch = Branch.objects.filter(kind=BranchKind.VILLAGE, dissolved_on__isnull=True).order_by("pk").first()
    commune = branch.commune
    office = Branch.objects.create(
        code=f"BENCH{commune.code}", name="Chi bộ cơ quan (bench)", kind=BranchKind.COMMUNE_OFFICE,
        commune=commune, founded_on=datetime.date(1960, 1, 1),
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

    user = officer()
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
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
        [str(gunicorn), "pacnam.wsgi", "--workers", str(workers), "--bind", f"127.0.0.1:{port}",
         "--log-level", "warning", "--timeout", "60"],
        cwd=settings.BASE_DIR, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("gunicorn did not start: " + process.stderr.read().decode()[-2000:]) from None
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


# --- The machine and the report ---------------------------------------------

def machine() -> dict:
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory_gb = None
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory_gb = round(int(line.split()[1]) / 2**20, 1)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SHOW server_version")
            database = "PostgreSQL " + cursor.fetchone()[0]
        else:
            cursor.execute("select sqlite_version()")
            database = "SQLite " + cursor.fetchone()[0]
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": memory_gb,
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "database": database,
        "python": platform.python_version(),
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def markdown(results: dict) -> str:
    m = results["machine"]
    small, large = results["sizes"]
    lines = [
        "# Benchmarks",
        "",
        f"Measured by `make bench` on {m['date']}: {m['cpu']}, {m['cores']} cores, "
        f"{m['memory_gb']} GB memory, {m['database']}, Python {m['python']} "
        f"(load average {', '.join(str(x) for x in m['load_average'])} when it started; the "
        "machine is shared, so times are upper bounds).",
        "",
        f"Synthetic registries of {small:,} and {large:,} members "
        "(`manage.py generate_synthetic`, seed 1). Server time is measured in-process with "
        "Django's test client logged in as a district officer, warm, "
        f"{results['runs']} requests per page after {results['warmup']} warm-up requests; "
        "the floor is the median time of the best single hand-written SQL query returning the "
        f"rows the page shows (at {large:,} members).",
        "",
        f"| page | queries at {small:,} | queries at {large:,} | p50 ms | p95 ms | floor ms | p50 / floor |",
        "|---|---|---|---|---|---|---|",
    ]
    for p in results["pages"]:
        ratio = f"{p['p50_ms'] / p['floor_ms']:.1f}" if p["floor_ms"] else "–"
        lines.append(
            f"| {p['name']} | {p['queries_small']} | {p['queries_large']} | {p['p50_ms']} | "
            f"{p['p95_ms']} | {p['floor_ms']} | {ratio} |"
        )
    lines.append("")
    generation = results.get("generation", {})
    if generation:
        lines.append("## Generating the data")
        lines.append("")
        for size, g in generation.items():
            lines.append(f"- {int(size):,} members: {g['seconds']} s ({g['rows']:,} rows).")
        lines.append("")
    other = []
    d = results.get("dissolution")
    if d:
        other.append(f"- Dissolving a branch of {d['members']} members (service call): {d['seconds']} s.")
    ei = results.get("export_import")
    if ei:
        e, i = ei["export"], ei["import"]
        tenth = ei.get("export_tenth") or {}
        other.append(
            f"- Exporting {ei['rows']:,} member rows as CSV (streamed): {e['seconds']} s, "
            f"peak Python memory {e['peak_mb']} MB ({tenth.get('rows', 0):,} rows: "
            f"{tenth.get('seconds')} s, {tenth.get('peak_mb')} MB)."
        )
        other.append(
            f"- Importing {ei['rows']:,} member rows (validated, then written in one "
            f"transaction): {i['seconds']} s, resident memory growth {i['rss_growth_mb']} MB, "
            f"{i['errors']} rows refused, {i['created']:,} members created."
        )
    g = results.get("gunicorn")
    if g:
        other.append(
            f"- gunicorn ({g['workers']} workers) on the branch roster, {g['clients']} client "
            f"threads on the same machine for {g['seconds']} s: {g['requests_per_second']} "
            f"requests per second (latency p50 {g['latency_p50_ms']} ms, p95 "
            f"{g['latency_p95_ms']} ms, {g['failures']} failures)."
        )
    if other:
        lines += ["## Other measurements", "", *other, ""]
    notes = results.get("notes")
    if notes:
        lines += ["## Notes", "", *[f"- {n}" for n in notes], ""]
    return "\n".join(lines)


def combine(small: dict, large: dict) -> list[dict]:
    by_name = {p["name"]: p for p in small["pages"]}
    combined = []
    for p in large["pages"]:
        s = by_name.get(p["name"], {})
        combined.append({
            "name": p["name"],
            "queries_small": s.get("queries"),
            "queries_large": p["queries"],
            "p50_ms": p["p50_ms"],
            "p95_ms": p["p95_ms"],
            "floor_ms": p["floor_ms"],
            "p50_ms_small": s.get("p50_ms"),
            "p95_ms_small": s.get("p95_ms"),
            "floor_ms_small": s.get("floor_ms"),
            "url": p["url"],
        })
    return combined


def explains(large: dict) -> list[dict]:
    return [{"name": p["name"], "queries": p.get("explain", [])} for p in large["pages"]]


def run_size(
    members: int,
    *,
    seed: int,
    runs: int,
    warmup: int,
    extras: bool,
    transfer_rows: int,
    load_seconds: float,
    say: Callable[[str], None],
) -> dict:
    """Fill the current (empty, migrated) database and measure it."""
    # History up to today, so that last month's meetings exist for the dashboard.
    counts = synthetic.generate(members=members, seed=seed, reference_day=datetime.date.today())
    seconds = counts.pop("seconds")
    say(f"{members:,} members generated in {seconds} s")
    result: dict = {"generation": {"seconds": seconds, "rows": sum(counts.values())}}
    result["pages"], targets = measure_pages(runs=runs, warmup=warmup)
    for p in result["pages"]:
        say(f"  {p['name']}: {p['queries']} queries, p50 {p['p50_ms']} ms, p95 {p['p95_ms']} ms, floor {p['floor_ms']} ms")
    if extras:
        result["gunicorn"] = measure_gunicorn(f"/branches/{targets.branch_id}/", seconds=load_seconds)
        say(f"  gunicorn: {result['gunicorn']['requests_per_second']} requests per second")
        result["dissolution"] = measure_dissolution()
        say(f"  dissolution: {result['dissolution']}")
        result["export_import"] = measure_export_import(transfer_rows)
        say(f"  export/import: {result['export_import']}")
        result["peak_rss_mb"] = _peak_rss_mb()
    return result


def explain_markdown(results: dict) -> str:
    lines = [
        "# EXPLAIN (ANALYZE) of each page's slowest queries",
        "",
        f"At {results['sizes'][1]:,} members, written by `make bench` with "
        "docs/benchmarks.md. Times are those of the measured request.",
        "",
    ]
    for page in results.get("explain", []):
        lines += [f"## {page['name']}", ""]
        for q in page["queries"]:
            lines += [f"{q['ms']} ms:", "", "```sql", q["sql"], "```", "", "```", q["plan"] or "-", "```", ""]
    return "\n".join(lines)


def write(results: dict, base: Path) -> None:
    (base / "bench").mkdir(exist_ok=True)
    plain = {key: value for key, value in results.items() if key != "explain"}
    (base / "bench" / "results.json").write_text(json.dumps(plain, indent=2, ensure_ascii=False) + "\n")
    (base / "docs").mkdir(exist_ok=True)
    (base / "docs" / "benchmarks.md").write_text(markdown(results))
    (base / "bench" / "explain.md").write_text(explain_markdown(results))


# --- Fresh databases beside the configured one ---------------------------------

def database_name(size: int) -> str:
    name = str(connections["default"].settings_dict["NAME"])
    if connection.vendor == "sqlite":
        path = Path(name)
        return str(path.with_name(f"{path.stem}_bench_{size}{path.suffix or '.sqlite3'}"))
    return f"{name}_bench_{size}"


def create_database(name: str) -> None:
    if connection.vendor == "sqlite":
        Path(name).unlink(missing_ok=True)
        return
    quoted = connection.ops.quote_name(name)
    with connection._nodb_cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {quoted}")
        cursor.execute(f"CREATE DATABASE {quoted}")


def drop_database(name: str) -> None:
    if connection.vendor == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(name + suffix).unlink(missing_ok=True)
        return
    with connection._nodb_cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {connection.ops.quote_name(name)}")


def use_database(name: str) -> None:
    connection.close()
    connection.settings_dict["NAME"] = name
