"""python manage.py registry_import KIND PATH [--dry-run]

The contract (issue 2): every row is checked first; on any error each one is
printed to stderr as `row N: column: message` (the header is row 1), the exit
status is 1 and nothing is written. On success: rows created, updated, unchanged.
"""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import translation
from django.utils.translation import gettext as _

from members.io.apply import import_rows
from members.io.read import KINDS, ImportFileError, read_table


class Command(BaseCommand):
    help = "Import communes, villages, branches, members or memberships from CSV or XLSX."

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=KINDS)
        parser.add_argument("path")
        parser.add_argument("--dry-run", action="store_true", help="Check and count, write nothing.")

    def handle(self, *args, kind: str, path: str, dry_run: bool, **options):
        translation.activate(settings.LANGUAGE_CODE)
        file = Path(path)
        try:
            size = file.stat().st_size
        except OSError as exc:
            raise CommandError(_("Cannot read %(path)s: %(error)s") % {"path": path, "error": exc.strerror}) from exc
        if size > settings.IMPORT_MAX_BYTES:
            self.stderr.write(f"row 1: file: {_('The file is larger than %(size)d MB, the most the registry accepts.') % {'size': max(1, settings.IMPORT_MAX_BYTES // (1024 * 1024))}}")
            raise CommandError(_("Nothing was written."))
        try:
            table = read_table(file.read_bytes(), file.name)
        except ImportFileError as exc:
            self.stderr.write(f"row 1: file: {exc.message}")
            raise CommandError(_("Nothing was written.")) from exc
        plan = import_rows(kind=kind, table=table, dry_run=dry_run, source=file.name)
        if plan.errors:
            for error in plan.errors:
                self.stderr.write(str(error))
            raise CommandError(
                _("%(n)d error(s): nothing was written.") % {"n": len(plan.errors)}
            )
        counts = plan.counts
        if dry_run:
            message = _("Dry run, nothing written: %(created)d would be created, %(updated)d updated, %(unchanged)d unchanged.")
        else:
            message = _("%(created)d created, %(updated)d updated, %(unchanged)d unchanged.")
        self.stdout.write(message % counts)
