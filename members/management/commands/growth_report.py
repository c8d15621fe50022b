"""`manage.py growth_report --year YYYY [--commune CODE]`: the year's growth figures
per commune as CSV, for the district's yearly report."""

import csv

from django.core.management.base import BaseCommand, CommandError

from branches.models import Commune
from members.selectors.growth import REPORT_COLUMNS, growth_rows


class Command(BaseCommand):
    help = "Print admissions, recognitions, open candidates and member ratings per commune as CSV."

    def add_arguments(self, parser):
        parser.add_argument("--year", type=int, required=True)
        parser.add_argument("--commune", help="official commune code (5 digits)")

    def handle(self, *args, year, commune=None, **options):
        communes = Commune.objects.order_by("code")
        if commune:
            communes = communes.filter(code=commune)
            if not communes.exists():
                raise CommandError(f"No commune with code {commune}.")
        writer = csv.DictWriter(self.stdout, fieldnames=REPORT_COLUMNS, lineterminator="\n")
        writer.writeheader()
        for row in growth_rows(year, communes):
            writer.writerow(row)
