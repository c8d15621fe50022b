"""python manage.py registry_import KIND PATH [--dry-run] [--allow-mass-update] [--encoding NAME]

The contract: every row is checked first; on any error each one is
printed to stderr as `row N: column: message` (the header's row is the one the
file shows), the exit status is 1 and nothing is written. On success: rows
created, updated, unchanged.

Before that, on standard output: what was read otherwise than it was
written (`row N: citizen_id: 6182339563 read as 006182339563`) and every change
to an existing record, field by field (`row N: position: 'old' → 'new'`). An
import that would change the names of more members than IMPORT_MASS_NAME_CHANGES
is refused unless --allow-mass-update says it is meant. The command runs in the
foreground, whatever the size of the file; the web page runs it in the background.
"""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import translation
from django.utils.translation import gettext as _

from members.io.apply import ImportAborted, import_plan_apply
from members.io.read import KINDS, ImportFileError, read_table
from members.io.validate import UPDATE, validate_table


class Command(BaseCommand):
    help = "Import communes, villages, branches, members or memberships from CSV or XLSX."

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=KINDS)
        parser.add_argument("path")
        parser.add_argument(
            "--dry-run", action="store_true", help="Check and count, write nothing."
        )
        parser.add_argument(
            "--allow-mass-update",
            action="store_true",
            help=f"Change the names of more than IMPORT_MASS_NAME_CHANGES ({settings.IMPORT_MASS_NAME_CHANGES}) members.",
        )
        parser.add_argument(
            "--encoding",
            metavar="NAME",
            help="The character set of a CSV file (found by itself otherwise).",
        )

    def handle(
        self,
        *args,
        kind: str,
        path: str,
        dry_run: bool,
        allow_mass_update: bool,
        encoding: str | None,
        **options,
    ):
        translation.activate(settings.LANGUAGE_CODE)
        file = Path(path)
        try:
            size = file.stat().st_size
        except OSError as exc:
            raise CommandError(
                _("Cannot read %(path)s: %(error)s") % {"path": path, "error": exc.strerror}
            ) from exc
        if size > settings.IMPORT_MAX_BYTES:
            self.stderr.write(
                f"row 1: file: {_('The file is larger than %(size)d MB, the most the registry accepts.') % {'size': max(1, settings.IMPORT_MAX_BYTES // (1024 * 1024))}}"
            )
            raise CommandError(_("Nothing was written."))
        try:
            table = read_table(file.read_bytes(), file.name, kind=kind, encoding=encoding)
        except ImportFileError as exc:
            self.stderr.write(f"row 1: file: {exc.message}")
            raise CommandError(_("Nothing was written.")) from exc
        plan = validate_table(kind=kind, table=table)
        for notice in plan.notices:
            self.stdout.write(str(notice))
        if plan.errors:
            self._refuse(plan.errors)
        for row in plan.rows:
            if row.action == UPDATE:
                for column, old, new in row.diffs:
                    self.stdout.write(f"row {row.row}: {column}: '{old}' → '{new}'")
        limit = settings.IMPORT_MASS_NAME_CHANGES
        if plan.name_changes > limit and not allow_mass_update:
            raise CommandError(
                _(
                    "This import would change the names of %(n)d members, more than %(limit)d: check the "
                    "changes listed above, then run it again with --allow-mass-update if they are meant. "
                    "Nothing was written."
                )
                % {"n": plan.name_changes, "limit": limit}
            )
        if not dry_run:
            try:
                import_plan_apply(plan=plan, source=file.name)
            except ImportAborted as exc:
                plan.errors.append(exc.error)
                self._refuse(plan.errors)
        counts = plan.counts
        if dry_run:
            message = _(
                "Dry run, nothing written: %(created)d would be created, %(updated)d updated, %(unchanged)d unchanged."
            )
        else:
            message = _("%(created)d created, %(updated)d updated, %(unchanged)d unchanged.")
        self.stdout.write(message % counts)

    def _refuse(self, errors) -> None:
        for error in errors:
            self.stderr.write(str(error))
        if errors.left_out:
            self.stderr.write(_("… and %(n)d more errors not listed.") % {"n": errors.left_out})
        raise CommandError(_("%(n)d error(s): nothing was written.") % {"n": errors.total})
