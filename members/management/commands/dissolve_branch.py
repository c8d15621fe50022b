"""Dissolve a branch from the command line, as the system (recorded as such).

    python manage.py dissolve_branch BRANCH_CODE --decision TEXT --date YYYY-MM-DD
        [--assign CITIZEN_ID=BRANCH_CODE ...] [--dry-run]

Prints the plan, one line per member: `citizen_id  full_name  from_code -> to_code`.
Exit status 1, with nothing changed, when the branch is unknown or already
dissolved, or when any member has no destination.
"""

import datetime

from django.core.management.base import BaseCommand, CommandError

from branches.models import Branch
from members.selectors.dissolutions import branch_dissolution_plan
from members.services.dissolutions import branch_dissolve
from pacnam.lib.errors import DomainError


class Command(BaseCommand):
    help = "Dissolve a branch: move each member to the village branch where they live."

    def add_arguments(self, parser):
        parser.add_argument("branch_code")
        parser.add_argument("--decision", required=True, help="Number of the dissolution decision.")
        parser.add_argument("--date", required=True, help="Date of the dissolution, YYYY-MM-DD.")
        parser.add_argument(
            "--assign",
            action="append",
            default=[],
            metavar="CITIZEN_ID=BRANCH_CODE",
            help="Destination for a member whose village has no branch (repeatable).",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Print the plan and change nothing."
        )

    def handle(self, *args, branch_code, decision, date, assign, dry_run, **options):
        try:
            on = datetime.date.fromisoformat(date)
        except ValueError as exc:
            raise CommandError(f"--date must be YYYY-MM-DD, not {date!r}.") from exc
        # The branch that bore the code on the date (else the last one that bore it).
        branch = Branch.objects.by_code(branch_code, on) or (
            Branch.objects.filter(code=branch_code).order_by("-founded_on", "-pk").first()
        )
        if branch is None:
            raise CommandError(f"No branch has the code {branch_code!r}.")
        if branch.is_dissolved:
            raise CommandError(
                f"Branch {branch.code} ({branch.name}) is already dissolved "
                f"({branch.dissolved_on:%d/%m/%Y}, {branch.dissolution_decision})."
            )
        assignments = self._assignments(assign, on)
        rows = branch_dissolution_plan(branch=branch, assignments=assignments, on=on)
        unplaced = []
        for row in rows:
            to_code = row.destination.code if row.destination else "?"
            self.stdout.write(
                f"{row.member.citizen_id}  {row.member.full_name}  {branch.code} -> {to_code}"
            )
            if row.needs_decision:
                unplaced.append(row)
        if unplaced:
            self.stderr.write(
                f"{len(unplaced)} member(s) need a decision (use --assign CITIZEN_ID=BRANCH_CODE):"
            )
            for row in unplaced:
                self.stderr.write(f"{row.member.citizen_id}  {row.member.full_name}")
            raise CommandError("Nothing was changed.")
        if dry_run:
            self.stdout.write("Dry run: nothing was changed.")
            return
        try:
            batch = branch_dissolve(
                branch=branch, decision=decision, on=on, by=None, assignments=assignments
            )
        except DomainError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"Branch {branch.code} dissolved on {on:%d/%m/%Y}: {batch.moves.count()} member(s) moved."
        )

    def _assignments(self, pairs: list[str], on: datetime.date) -> dict:
        wanted = {}
        for pair in pairs:
            citizen_id, sep, code = pair.partition("=")
            if not sep or not citizen_id or not code:
                raise CommandError(f"--assign takes CITIZEN_ID=BRANCH_CODE, not {pair!r}.")
            wanted[citizen_id.strip()] = code.strip()
        branches = {
            b.code: b for b in Branch.objects.active_on(on).filter(code__in=wanted.values())
        }
        missing = sorted(set(wanted.values()) - set(branches))
        if missing:
            raise CommandError(f"Unknown branch code(s) in --assign: {', '.join(missing)}.")
        return {citizen_id: branches[code] for citizen_id, code in wanted.items()}
