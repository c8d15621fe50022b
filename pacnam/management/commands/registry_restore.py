from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from pacnam.ops.backup import BackupError, restore_from_path


class Command(BaseCommand):
    help = (
        "Restore an archive written by registry_backup into a new, migrated, EMPTY database, "
        "in one transaction. Reads plain and encrypted archives (the latter with BACKUP_KEY). "
        "Refuses (exit status 1) a database that already holds registry data."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="the archive file written by registry_backup")

    def handle(self, *args, path, **options):
        try:
            counts = restore_from_path(path, passphrase=settings.BACKUP_KEY)
        except FileNotFoundError as exc:
            raise CommandError(f"No such file: {path}", returncode=1) from exc
        except BackupError as exc:
            raise CommandError(f"Nothing restored. {exc}", returncode=1) from exc
        self.stdout.write(
            f"Restored {sum(counts.values())} rows in {len(counts)} tables from {path}. "
            "Check the audit trail with `manage.py audit_verify`."
        )
