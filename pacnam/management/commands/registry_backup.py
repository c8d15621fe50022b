from django.conf import settings
from django.core.management.base import BaseCommand

from pacnam.ops.backup import backup_to_path


class Command(BaseCommand):
    help = (
        "Write a complete archive of the registry (all registry tables, their history, "
        "the audit trail, users, groups and roles) to PATH, as gzip-compressed JSON lines, "
        "readable by its owner only (mode 0600), encrypted when BACKUP_KEY is set. "
        "The same data always gives the same plain archive."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "path", help="the archive file to write, e.g. registry-2026-11-26.jsonl.gz"
        )

    def handle(self, *args, path, **options):
        passphrase = settings.BACKUP_KEY
        counts = backup_to_path(path, passphrase=passphrase)
        how = "encrypted with BACKUP_KEY" if passphrase else "NOT encrypted (BACKUP_KEY is not set)"
        self.stdout.write(
            f"Backup written to {path} ({how}, mode 0600): "
            f"{sum(counts.values())} rows in {len(counts)} tables."
        )
