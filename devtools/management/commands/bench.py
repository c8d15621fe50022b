import json
import os
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from devtools import bench

NOTES = [
    "Every page's query count is the same at both sizes (and asserted in the normal test suite).",
    "Server time includes the session read and its save (SESSION_SAVE_EVERY_REQUEST), the role "
    "and the rendering; the floor is one query on a warm connection, so the ratio is mostly "
    "Django's own work: the middleware, the ORM turning rows into objects, the templates.",
    "District totals come from per-branch tallies kept by PostgreSQL triggers in the same "
    "transaction as each change (members migration 0005): never stale, no cache. The floor "
    "for the dashboard is the direct count over the members, which the tallies replace.",
    "The name search looks the folded text up in a trigger-kept table of distinct names "
    "(trigram GIN index), then the members by the B-tree on folded_name.",
    "The dashboard's other figures: admissions per year from a yearly tally kept the same way "
    "(members 0007); due probations from an index-only count (the partial index holds the id); "
    "the branches without last month's regular meeting from a hash anti-join over that month's "
    "held meetings, read from a partial index (meetings 0002), with the exact total as a "
    "window count, which also keeps PostgreSQL from probing every branch's meetings in turn.",
    "A secretary's pages read their scope through indexes: the members a scope sees "
    "are a UNION of two id sets (members by branch; temporary attachments by branch and dates), "
    "with the scope's branch ids as values, instead of an OR across tables that PostgreSQL could "
    "answer only by scanning every member; the tiles are the per-branch tallies summed for any scope.",
    "JIT is off for the registry's connections (pacnam/settings.py): at 1,000,000 members the old "
    "scope predicate took 774 ms with JIT (491 ms of it compiling) and 215 ms without; the UNION "
    "takes under 1 ms, far below JIT's threshold.",
    "The Django admin counts at most a capped number of rows, has no date hierarchy, searches "
    "through the registry's folded-name search and caps its inlines (members/admin.py); the "
    "branch change form lists the branch's current memberships read only.",
    "The officer's dashboard is the one page that grows between the sizes, because the synthetic "
    "province grows with them (556 communes and 6,672 branches at 200,000 members, 2,778 and 33,336 "
    "at 1,000,000): its table of communes and its list of branches without last month's meeting "
    "look at every commune and branch. Its figures come from tallies; the meetings per month from "
    "a monthly tally (meetings 0005). At the national size (15,278 communes, 183,336 branches) it "
    "is over the target; the officer's other pages grow too, because deciding that the officer "
    "sees every commune reads every commune once per request. A secretary's pages do not grow.",
    "The member lists count at most 5,000 matches (pacnam/lib/pagination.py): beyond that the page "
    'says "more than 5,000" and asks for a narrower search, so the unfiltered list and a search '
    'for "van" cost the same at any size. Their floor is the first page of rows alone.',
]


class Command(BaseCommand):
    help = (
        "Benchmark the registry on the configured database (meant for PostgreSQL): at two "
        "sizes (--small, default $BENCH_SMALL or 200,000 members, and --members, default "
        "$BENCH_MEMBERS or 1,000,000), each generated into a fresh database named after the configured one "
        "(<name>_bench_<size>, created and dropped here), measure each page's queries and "
        "server time as each role that uses it against a hand-written SQL floor; at the large size also a 60-member "
        "dissolution, a 100,000-row export and import, and gunicorn's requests per second "
        "on the branch roster. Writes bench/results.json and docs/benchmarks.md."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--members", type=int, default=int(os.environ.get("BENCH_MEMBERS") or 1_000_000)
        )
        parser.add_argument(
            "--small", type=int, default=int(os.environ.get("BENCH_SMALL") or 200_000)
        )
        parser.add_argument(
            "--national",
            type=int,
            metavar="MEMBERS",
            help="instead: measure the pages once at this size (5500000, the national party's) and "
            "add that table to the results already written",
        )
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--runs", type=int, default=40, help="timed requests per page")
        parser.add_argument("--warmup", type=int, default=5)
        parser.add_argument("--rows", type=int, default=100_000, help="rows exported and imported")
        parser.add_argument("--load-seconds", type=float, default=15.0)
        parser.add_argument(
            "--quick",
            action="store_true",
            help="a smoke run: 300 and 2,000 members, few requests, 1,000 rows, 3 s of load",
        )
        parser.add_argument("--keep", action="store_true", help="keep the bench databases")
        parser.add_argument(
            "--no-write", action="store_true", help="print, do not write the result files"
        )

    def _measure(self, size: int, o: dict, *, extras: bool) -> dict:
        """Generate `size` members into a fresh database beside the configured one and measure it."""
        say = self.stdout.write
        original = connection.settings_dict["NAME"]
        name = bench.database_name(size)
        say(f"{size:,} members in {name}")
        bench.create_database(name)
        bench.use_database(name)
        try:
            call_command("migrate", verbosity=0, interactive=False)
            started = time.monotonic()
            measured = bench.run_size(
                size,
                seed=o["seed"],
                runs=o["runs"],
                warmup=o["warmup"],
                extras=extras,
                transfer_rows=o["rows"],
                load_seconds=o["load_seconds"],
                say=say,
            )
            measured["machine"] = bench.machine()
            say(f"  done in {time.monotonic() - started:.0f} s")
            return measured
        finally:
            bench.use_database(original)
            if not o["keep"]:
                bench.drop_database(name)

    def _national(self, o: dict) -> None:
        path = settings.BASE_DIR / "bench" / "results.json"
        if not path.exists():
            raise CommandError(
                "Run the benchmark at its two sizes first: --national adds to its results."
            )
        results = json.loads(path.read_text())
        measured = self._measure(o["national"], o, extras=False)
        results["national"] = {
            "members": o["national"],
            "machine": measured["machine"],
            "generation": measured["generation"],
            "pages": [
                {k: v for k, v in p.items() if k not in ("sql", "explain")}
                for p in measured["pages"]
            ],
        }
        path.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
        # explain.md stays the two sizes' run.
        (settings.BASE_DIR / "docs" / "benchmarks.md").write_text(bench.markdown(results))
        self.stdout.write("Added the national size to bench/results.json and docs/benchmarks.md")

    def handle(self, *args, **o):
        if o["national"]:
            return self._national(o)
        if o["quick"]:
            o.update(small=300, members=2000, runs=5, warmup=2, rows=1000, load_seconds=3.0)
        if o["members"] <= o["small"]:
            raise CommandError("--members must be larger than --small.")
        measured = {
            size: self._measure(size, o, extras=size == o["members"])
            for size in (o["small"], o["members"])
        }
        small, large = measured[o["small"]], measured[o["members"]]
        results = {
            "machine": large["machine"],
            "sizes": [o["small"], o["members"]],
            "runs": o["runs"],
            "warmup": o["warmup"],
            "quick": o["quick"],
            "pages": bench.combine(small, large),
            "generation": {str(s): m["generation"] for s, m in measured.items()},
            "dissolution": large.get("dissolution"),
            "export_import": large.get("export_import"),
            "gunicorn": large.get("gunicorn"),
            "peak_rss_mb": large.get("peak_rss_mb"),
            "notes": NOTES,
            "explain": bench.explains(large),
        }
        # What other commands measured (bench --national, bench_import) stays in the results.
        path = settings.BASE_DIR / "bench" / "results.json"
        if path.exists() and not o["quick"]:
            earlier = json.loads(path.read_text())
            for key in ("national", "kept_measurements"):
                if earlier.get(key):
                    results[key] = earlier[key]
        if o["no_write"]:
            self.stdout.write(bench.markdown(results))
        else:
            bench.write(results, settings.BASE_DIR)
            self.stdout.write("Wrote bench/results.json, bench/explain.md and docs/benchmarks.md")
