"""The machine, the run of one size, the report (results.json, benchmarks.md,
explain.md) and the fresh databases beside the configured one.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import platform
from collections.abc import Callable
from pathlib import Path

from django.db import connection, connections

from .. import synthetic
from .measure import (
    _peak_rss_mb,
    measure_dissolution,
    measure_export_import,
    measure_gunicorn,
    measure_pages,
)

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
