from django.core.management.base import BaseCommand

from pacnam.backup import backup_to_path


class Command(BaseCommand):
    help = (
        "Write a complete archive of the registry (all registry tables, their history, "
        "the audit trail, users, groups and roles) to PATH, as gzip-compressed JSON lines. "
        "The same data always gives the same bytes."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="the archive file to write, e.g. registry-2026-11-26.jsonl.gz")

    def handle(self, *args, path, **options):
        counts = backup_to_path(path)
        self.stdout.write(
            f"Backup written to {path}: {sum(counts.values())} rows in {len(counts)} tables."
        )
