"""Meeting regularity for one month as CSV, for the district's spreadsheets.

    python manage.py meeting_report --month 2019-05 [--commune 01885]

One row per branch active in the month:
commune_code,branch_code,regular_meetings,attendance_rate (present / counted
members at the month's regular meetings, two decimals, empty when none).
Cells that a spreadsheet would run as formulas are neutralised (pacnam.io.csv_writer).
"""

import datetime

from django.core.management.base import BaseCommand, CommandError

from branches.models import Branch, Commune
from meetings.reports import rate_text, regularity
from meetings.selectors import month_bounds
from pacnam.io.csv_writer import write_csv


class Command(BaseCommand):
    help = "Print the regularity of regular branch meetings for a month as CSV."

    def add_arguments(self, parser):
        parser.add_argument("--month", required=True, help="YYYY-MM")
        parser.add_argument("--commune", help="official commune code (5 digits)")

    def handle(self, *args, **options):
        try:
            month = datetime.datetime.strptime(options["month"], "%Y-%m").date()
        except ValueError as exc:
            raise CommandError(
                f"Bad month {options['month']!r}: give it as YYYY-MM, e.g. 2019-05."
            ) from exc
        branches = Branch.objects.all()
        code = options.get("commune")
        if code:
            # The commune that bore the code in that month, and its branches then.
            last = month_bounds(month.year, month.month)[1]
            commune = Commune.objects.last_by_code(code, last)
            if commune is None:
                raise CommandError(f"Unknown commune code {code!r}.")
            branches = branches.in_commune_on(commune, last)
        header = [["commune_code", "branch_code", "regular_meetings", "attendance_rate"]]
        rows = (
            [
                row.branch.commune_then_code,
                row.branch.code,
                row.regular_meetings,
                rate_text(row.attendance_rate),
            ]
            for row in regularity(branches, month.year, month.month)
        )
        write_csv([*header, *rows], self.stdout, lineterminator="\n")
