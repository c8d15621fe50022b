"""python manage.py registry_export KIND [--commune CODE] [--as-of YYYY-MM-DD]
[--format csv|xlsx] [--titles keys|vi] [-o PATH]

python manage.py registry_export dues --year YYYY [--commune CODE] [-o PATH]: the
kinds other apps register (members.io.extra_exports), by year.

Writes the headers of registry_import, so an export imports into an empty
database unchanged. CSV goes to standard output unless -o is given. An XLSX
export may carry the Vietnamese column titles instead (--titles vi), which the
import reads too; the CSV always keeps the keys, the contract other tools read.
"""

import sys

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import translation
from django.utils.translation import gettext as _

from branches.models import Commune
from members.io.export import csv_chunks, export_rows, with_vietnamese_titles, write_csv, write_xlsx
from members.io.extra_exports import EXTRA_EXPORTS, PERSONAL_EXTRA_KINDS
from members.io.read import KINDS, CellError, parse_date
from pacnam.lib.files import open_private
from pacnam.security.readlog import log_member_export

# Exports of people, recorded in the read log; communes, villages and branches are not.
PERSONAL_KINDS = {"members", "memberships"}


class Command(BaseCommand):
    help = "Export communes, villages, branches, members or memberships as CSV or XLSX."

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=[*KINDS, *sorted(EXTRA_EXPORTS)])
        parser.add_argument("--year", type=int, help="The year (dues).")
        parser.add_argument("--commune", metavar="CODE", help="Only this commune (official code).")
        parser.add_argument("--as-of", metavar="YYYY-MM-DD", help="The rosters on this date.")
        parser.add_argument("--format", choices=["csv", "xlsx"], default="csv")
        parser.add_argument(
            "--titles",
            choices=["keys", "vi"],
            default="keys",
            help="XLSX only: the column titles, the contract's keys or Vietnamese titles.",
        )
        parser.add_argument(
            "-o", "--output", metavar="PATH", help="Write here instead of standard output."
        )

    def handle(self, *args, kind, commune, as_of, format, titles, output, year=None, **options):
        translation.activate(settings.LANGUAGE_CODE)
        commune_obj = None
        if commune:
            commune_obj = Commune.objects.last_by_code(
                commune, parse_date(as_of) if as_of else None
            )
            if commune_obj is None:
                raise CommandError(_("No commune has the code '%(code)s'.") % {"code": commune})
        date = None
        if as_of:
            try:
                date = parse_date(as_of)
            except CellError as exc:
                raise CommandError(str(exc)) from exc
        if kind in EXTRA_EXPORTS:
            if year is None:
                raise CommandError(_("Give the year: --year YYYY."))
            rows = EXTRA_EXPORTS[kind](year, commune_obj)
        else:
            rows = export_rows(kind, commune=commune_obj, as_of=date)
        if titles == "vi" and format != "xlsx":
            raise CommandError(
                _(
                    "Vietnamese titles are for the XLSX export: a CSV keeps the keys, so that it imports unchanged."
                )
            )
        if kind in PERSONAL_KINDS or kind in PERSONAL_EXTRA_KINDS:
            rows = log_member_export(
                rows,
                where=f"manage.py registry_export {kind}",
                query={
                    k: v for k, v in (("commune", commune), ("as_of", as_of), ("year", year)) if v
                },
            )
        if format == "xlsx":
            if titles == "vi":
                rows = with_vietnamese_titles(rows, kind)
            if not output:
                if sys.stdout.isatty():
                    raise CommandError(_("An XLSX export needs -o PATH (it is not text)."))
                write_xlsx(rows, sys.stdout.buffer, title=kind)
                return
            with open_private(output, "wb") as stream:
                write_xlsx(rows, stream, title=kind)
            return
        if output:
            with open_private(output, "w", encoding="utf-8", newline="") as stream:
                write_csv(rows, stream)
        else:
            for chunk in csv_chunks(rows):
                self.stdout.write(chunk, ending="")
