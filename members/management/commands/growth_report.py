"""`manage.py growth_report --year YYYY [--commune CODE]`: the year's growth figures
per commune as CSV, for the district's yearly report. Cells that a spreadsheet
would run as formulas are neutralised (pacnam.io.csv_writer)."""

import datetime

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q

from branches.models import Commune
from members.selectors.growth import REPORT_COLUMNS, growth_rows
from pacnam.io.csv_writer import write_csv


class Command(BaseCommand):
    help = "Print admissions, recognitions, open candidates and member ratings per commune as CSV."

    def add_arguments(self, parser):
        parser.add_argument("--year", type=int, required=True)
        parser.add_argument("--commune", help="official commune code (5 digits)")

    def handle(self, *args, year, commune=None, **options):
        # The communes of that year (a merger ends some and begins others).
        communes = Commune.objects.filter(
            Q(valid_from__isnull=True) | Q(valid_from__lte=datetime.date(year, 12, 31)),
            Q(valid_to__isnull=True) | Q(valid_to__gte=datetime.date(year, 1, 1)),
        ).order_by("code", "valid_from")
        if commune:
            communes = communes.filter(code=commune)
            if not communes.exists():
                raise CommandError(f"No commune with code {commune}.")
        rows = (
            [row.get(column, "") for column in REPORT_COLUMNS]
            for row in growth_rows(year, communes)
        )
        write_csv([REPORT_COLUMNS, *rows], self.stdout, lineterminator="\n")
