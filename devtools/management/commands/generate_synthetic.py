import datetime

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from devtools import synthetic


class Command(BaseCommand):
    help = (
        "Generate a synthetic registry for benchmarks: communes, villages, branches (about "
        f"{synthetic.MEMBERS_PER_BRANCH} members each, {synthetic.BRANCHES_PER_COMMUNE} per "
        "commune), members with their membership history (moves, commune-office branches "
        "dissolved in April 2019, members who left), the last months' regular meetings with "
        "their roll and tasks. Deterministic for a seed. Uses COPY on "
        "PostgreSQL and bulk_create elsewhere. Writes no simple-history rows (synthetic data "
        "has no edits to remember). Refuses a database that already has communes or members "
        "unless --force, which adds the new rows beside the old ones."
    )

    def add_arguments(self, parser):
        parser.add_argument("--members", type=int, required=True, help="how many members")
        parser.add_argument(
            "--seed", type=int, default=1, help="the same seed gives the same registry"
        )
        parser.add_argument(
            "--reference-day",
            type=datetime.date.fromisoformat,
            default=None,
            help=f"the last day of the history (default {synthetic.REFERENCE_DAY.isoformat()} or today if earlier)",
        )
        parser.add_argument(
            "--meeting-months",
            type=int,
            default=2,
            help="months of regular meetings (with the roll and tasks) before the reference day",
        )
        parser.add_argument(
            "--force", action="store_true", help="add to a database that is not empty"
        )

    def handle(self, *args, members, seed, reference_day, meeting_months, force, **options):
        if members < 1:
            raise CommandError("--members must be at least 1.")
        if not force and not synthetic.is_empty():
            raise CommandError(
                "The database already holds communes or members: use an empty database, "
                "or --force to add synthetic rows beside them."
            )
        verbose = options["verbosity"] >= 1
        counts = synthetic.generate(
            members=members,
            seed=seed,
            reference_day=reference_day,
            meeting_months=meeting_months,
            progress=(lambda text: self.stderr.write(text)) if options["verbosity"] >= 2 else None,
        )
        if verbose:
            seconds = counts.pop("seconds")
            rows = ", ".join(f"{n} {name}" for name, n in counts.items())
            self.stdout.write(f"Wrote {rows} on {connection.vendor} in {seconds} s.")
