"""Reorganise communes from a plan, as one dated decision.

    python manage.py reorganize_units PLAN.csv --date YYYY-MM-DD --decision TEXT [--dry-run]

PLAN.csv has the header `old_code,new_code,new_name,province_code,province_name`
(in that order) and one row per old commune. Prints what is merged into what and
how many villages, branches and members each new commune has; exit 0. Any error
prints `row N: column: message`, exits 1 and changes nothing.
"""

import datetime
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from branches.services.reorganizations import (
    lines_from_rows,
    plan_header_test,
    reorganization_apply,
    reorganization_plan,
)
from overview.selectors.reorganizations import plan_summary
from pacnam.io.spreadsheets import HeaderNotFound, SpreadsheetError, read_spreadsheet
from pacnam.lib.errors import DomainError


class Command(BaseCommand):
    help = (
        "Reorganise communes from a plan (old_code,new_code,new_name,province_code,province_name)."
    )

    def add_arguments(self, parser):
        parser.add_argument("plan", help="The plan, CSV or XLSX.")
        parser.add_argument(
            "--date", required=True, help="The first day of the new communes, YYYY-MM-DD."
        )
        parser.add_argument("--decision", required=True, help="Number of the decision.")
        parser.add_argument(
            "--dry-run", action="store_true", help="Print what would happen and change nothing."
        )

    def handle(self, *args, plan, date, decision, dry_run, **options):
        try:
            on = datetime.date.fromisoformat(date)
        except ValueError as exc:
            raise CommandError(f"--date must be YYYY-MM-DD, not {date!r}.") from exc
        if not decision.strip():
            raise CommandError("--decision must name the decision.")
        try:
            data = Path(plan).read_bytes()
            try:
                table = read_spreadsheet(data, plan, is_header=plan_header_test())
            except HeaderNotFound:
                table = read_spreadsheet(data, plan)  # lines_from_rows says what it lacks
        except OSError as exc:
            raise CommandError(f"Cannot read {plan}: {exc.strerror}.") from exc
        except SpreadsheetError as exc:
            raise CommandError(f"row 1: file: {exc.message}") from exc
        lines, errors = lines_from_rows(
            list(table.header),
            [(row.number, list(row.cells)) for row in table.rows],
            header_row=table.header_row,
        )
        checked = reorganization_plan(lines=lines, on=on) if not errors else None
        errors = errors or checked.errors
        if errors:
            for error in errors:
                self.stderr.write(str(error))
            raise CommandError(f"{len(errors)} error(s): nothing was changed.")
        self.stdout.write(f"Reorganisation on {on:%d/%m/%Y} ({decision.strip()}):")
        for line in plan_summary(checked):
            olds = ", ".join(f"{old.name} ({old.code})" for old in line["olds"])
            self.stdout.write(
                f"{line['code']} {line['name']} ({line['province_name']}, {line['province_code']}) <- {olds}: "
                f"{line['villages']} villages, {line['branches']} branches, {line['members']} members"
            )
        if dry_run:
            self.stdout.write("Dry run: nothing was changed.")
            return
        try:
            reorganization_apply(plan=checked, decision=decision, by=None, via_command=True)
        except DomainError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"Done: {len(checked.news)} new commune(s) from {len(checked.old_communes)} old ones."
        )
