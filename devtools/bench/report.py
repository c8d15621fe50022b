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
from .pages import ADMINISTRATOR, OFFICER, ROLES

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


def _cell(p: dict, size: str = "") -> str:
    return (
        f"{p['p50_ms' + size]} / {p['p95_ms' + size]}"
        if p.get("p50_ms" + size) is not None
        else "–"
    )


def _role_tables(results: dict, small: int, large: int) -> list[str]:
    """The issue's table (each page's p50 / p95 at the large size, one column per
    role), then each role's own table at both sizes, then the admin's."""
    rows = results["pages"]
    roles = [r for r in ROLES if any(p.get("role") == r for p in rows)]
    by_page: dict[str, dict[str, dict]] = {}
    for p in rows:
        by_page.setdefault(p["name"], {})[p.get("role", OFFICER)] = p
    lines = [
        f"## Every role at {large:,} members (p50 / p95, ms)",
        "",
        "| page | " + " | ".join(roles) + " |",
        "|---|" + "---|" * len(roles),
    ]
    for name, per_role in by_page.items():
        if ADMINISTRATOR in per_role:
            continue
        cells = [_cell(per_role[r]) if r in per_role else "–" for r in roles]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines.append("")
    for role in [*roles, ADMINISTRATOR]:
        mine = [p for p in rows if p.get("role", OFFICER) == role]
        if not mine:
            continue
        title = "The Django admin, as an administrator" if role == ADMINISTRATOR else f"As a {role}"
        lines += [
            f"### {title}",
            "",
            f"| page | queries at {small:,} | queries at {large:,} | p50 / p95 ms at {small:,} "
            f"| p50 / p95 ms at {large:,} | floor ms | p50 / floor |",
            "|---|---|---|---|---|---|---|",
        ]
        for p in mine:
            floor = p.get("floor_ms")
            ratio = f"{p['p50_ms'] / floor:.1f}" if floor else "–"
            lines.append(
                f"| {p['name']} | {p['queries_small']} | {p['queries_large']} | {_cell(p, '_small')} | "
                f"{_cell(p)} | {floor if floor else '–'} | {ratio} |"
            )
        lines.append("")
    return lines


def _national(n: dict) -> list[str]:
    """The one run at the national party's size (`bench --national`)."""
    m = n["machine"]
    lines = [
        f"## At {n['members']:,} members, the national party's size",
        "",
        f"Measured once by `manage.py bench --national {n['members']}` on {m['date']} ({m['database']}, "
        f"load average {', '.join(str(x) for x in m['load_average'])} when it started). "
        f"Generating the data took {n['generation']['seconds']} s ({n['generation']['rows']:,} rows).",
        "",
        "| page | role | queries | p50 ms | p95 ms | floor ms |",
        "|---|---|---|---|---|---|",
    ]
    for p in n["pages"]:
        lines.append(
            f"| {p['name']} | {p['role']} | {p['queries']} | {p['p50_ms']} | {p['p95_ms']} | "
            f"{p['floor_ms'] if p.get('floor_ms') else '–'} |"
        )
    return [*lines, ""]


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
        "Django's test client, warm, signed in as each role that uses the page: the officer "
        "of the whole province, the secretary of one commune, the secretary of one of its "
        "branches, and an administrator for the Django admin's pages; "
        f"{results['runs']} requests per page after {results['warmup']} warm-up requests. "
        "The floor is the median time of the best single hand-written SQL query returning the "
        f"rows the page shows to the first role listed (at {large:,} members).",
        "",
        *_role_tables(results, small, large),
    ]
    if results.get("national"):
        lines += _national(results["national"])
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
        other.append(
            f"- Dissolving a branch of {d['members']} members (service call): {d['seconds']} s."
        )
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
    # Measured by another command (manage.py bench_import), kept across bench runs.
    other += [f"- {text}" for text in results.get("kept_measurements", [])]
    if other:
        lines += ["## Other measurements", "", *other, ""]
    notes = results.get("notes")
    if notes:
        lines += ["## Notes", "", *[f"- {n}" for n in notes], ""]
    return "\n".join(lines)


def combine(small: dict, large: dict) -> list[dict]:
    """One row per page and role, with both sizes."""
    by_key = {(p["name"], p.get("role")): p for p in small["pages"]}
    combined = []
    for p in large["pages"]:
        s = by_key.get((p["name"], p.get("role")), {})
        combined.append(
            {
                "name": p["name"],
                "role": p.get("role"),
                "queries_small": s.get("queries"),
                "queries_large": p["queries"],
                "p50_ms": p["p50_ms"],
                "p95_ms": p["p95_ms"],
                "floor_ms": p["floor_ms"],
                "p50_ms_small": s.get("p50_ms"),
                "p95_ms_small": s.get("p95_ms"),
                "floor_ms_small": s.get("floor_ms"),
                "bytes": p.get("bytes"),
                "url": p["url"],
            }
        )
    return combined


def explains(large: dict) -> list[dict]:
    """Each role's two slowest queries over all the pages it uses."""
    by_role: dict[str, list[dict]] = {}
    for p in large["pages"]:
        for q in p.get("explain", []):
            by_role.setdefault(p.get("role") or OFFICER, []).append({**q, "page": p["name"]})
    return [
        {"role": role, "queries": sorted(queries, key=lambda q: q["ms"], reverse=True)[:2]}
        for role, queries in by_role.items()
    ]


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
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        # The pages are measured in a registry at rest, not while the server still
        # writes out the bulk load's dirty pages (needs a superuser; else skipped).
        with contextlib.suppress(Exception), connection.cursor() as cursor:
            cursor.execute("CHECKPOINT")
    result: dict = {"generation": {"seconds": seconds, "rows": sum(counts.values())}}
    result["pages"], targets = measure_pages(runs=runs, warmup=warmup)
    for p in result["pages"]:
        say(
            f"  {p['name']} ({p['role']}): {p['queries']} queries, p50 {p['p50_ms']} ms, p95 {p['p95_ms']} ms, floor {p['floor_ms']} ms"
        )
    if extras:
        result["gunicorn"] = measure_gunicorn(
            f"/branches/{targets.branch_id}/", seconds=load_seconds
        )
        say(f"  gunicorn: {result['gunicorn']['requests_per_second']} requests per second")
        result["dissolution"] = measure_dissolution()
        say(f"  dissolution: {result['dissolution']}")
        result["export_import"] = measure_export_import(transfer_rows)
        say(f"  export/import: {result['export_import']}")
        result["peak_rss_mb"] = _peak_rss_mb()
    return result


def explain_markdown(results: dict) -> str:
    lines = [
        "# EXPLAIN (ANALYZE) of each role's two slowest queries",
        "",
        f"At {results['sizes'][1]:,} members, written by `make bench` with "
        "docs/benchmarks.md. Times are those of the measured request.",
        "",
    ]
    for role in results.get("explain", []):
        lines += [f"## {role['role']}", ""]
        for q in role["queries"]:
            lines += [
                f"{q['page']}, {q['ms']} ms:",
                "",
                "```sql",
                q["sql"],
                "```",
                "",
                "```",
                q["plan"] or "-",
                "```",
                "",
            ]
    return "\n".join(lines)


def write(results: dict, base: Path) -> None:
    (base / "bench").mkdir(exist_ok=True)
    plain = {key: value for key, value in results.items() if key != "explain"}
    (base / "bench" / "results.json").write_text(
        json.dumps(plain, indent=2, ensure_ascii=False) + "\n"
    )
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
