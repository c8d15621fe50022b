"""manage.py audit_verify [--head] [--expect-head "#N SEAL"] [--reseal] [--records]

Recomputes every seal of the audit trail with AUDIT_KEY (and AUDIT_OLD_KEYS).
docs/audit.md says what it proves and what it cannot.
"""

import re
import time

from django.core.management.base import BaseCommand, CommandError

from pacnam.audit.anchor import anchor_path, latest_anchor
from pacnam.audit.chain import ChainBroken, reseal, verify_chain
from pacnam.audit.records import NAMED, verify_records
from pacnam.models import AuditEntry

HEAD = re.compile(r"^\s*#?(\d+)[\s:]+([0-9a-f]{64})\s*$")


class Command(BaseCommand):
    help = (
        "Recompute the audit trail's seals. Exit status 0 and 'intact' when every entry fits; "
        "status 1 naming the first bad entry otherwise."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--head",
            action="store_true",
            help="After verifying, print the last entry's number and seal, to note down off this machine.",
        )
        parser.add_argument(
            "--expect-head",
            metavar='"#N SEAL"',
            help="Also check that entry N still carries SEAL (a head noted earlier with --head).",
        )
        parser.add_argument(
            "--reseal",
            action="store_true",
            help="Once after upgrading from the unkeyed log, and after each key rotation: verify, "
            "then append an entry sealed with AUDIT_KEY that seals everything before it.",
        )
        parser.add_argument(
            "--records",
            action="store_true",
            help="Also compare every audited record with its last state in the trail (its keyed "
            "digest) and name the rows changed, deleted or put back behind the registry's back.",
        )

    def handle(self, *args, head=False, expect_head=None, reseal=False, records=False, **options):
        expected = None
        if expect_head:
            match = HEAD.match(expect_head)
            if match is None:
                raise CommandError(
                    'Give --expect-head as "#N SEAL", as printed by --head.', returncode=2
                )
            expected = int(match.group(1)), match.group(2)
        if reseal:
            self._reseal()
        report = verify_chain()
        if not report.ok:
            where = f" at entry #{report.broken_seq}" if report.broken_seq is not None else ""
            if report.fixable:
                raise CommandError(
                    f"Audit chain NOT SEALED{where}: {report.reason}. "
                    f"Otherwise all {report.checked} entries fit.",
                    returncode=1,
                )
            raise CommandError(
                f"Audit chain BROKEN{where}: {report.reason}. "
                f"{report.checked} entries before it are intact.",
                returncode=1,
            )
        if expected is not None:
            seq, seal = expected
            if not AuditEntry.objects.filter(seq=seq, hash=seal).exists():
                raise CommandError(
                    f"Audit chain BROKEN at entry #{seq}: it does not carry the seal noted earlier "
                    "(the log was rewritten from there on, or cut before it).",
                    returncode=1,
                )
        anchored = self._anchor()
        self.stdout.write(f"Audit chain intact: {report.checked} entries verified.{anchored}")
        if head:
            self.stdout.write(f"#{report.head_seq} {report.head_seal}")
        if records:
            self._records()

    def _anchor(self) -> str:
        """Check the latest anchor written outside the database (AUDIT_ANCHOR_FILE):
        the entry it names must still carry its seal, so the end of the chain was not
        cut and the head moved back. Returns the words that say what was checked."""
        path = anchor_path()
        if path is None:
            return ""
        anchor = latest_anchor(path)
        if anchor is None:
            return f" No anchor in {path} yet."
        if not AuditEntry.objects.filter(seq=anchor.seq, hash=anchor.hash).exists():
            raise CommandError(
                f"Audit chain BROKEN at entry #{anchor.seq}: it does not carry the seal of the "
                f"anchor written at {anchor.at.isoformat()} in {path} (the log was rewritten "
                "from there on, or cut before it).",
                returncode=1,
            )
        return f" Anchor checked: entry #{anchor.seq} of {anchor.at.isoformat()} ({path})."

    def _records(self):
        started = time.monotonic()
        report = verify_records()
        seconds = time.monotonic() - started
        summary = (
            f"{report.checked} records in {len(report.by_table)} tables: {report.matched} match "
            f"their trail, {report.no_digest} with no digest (written before digests were kept)"
            + (
                f", {report.unknown_key} sealed with a key not configured"
                if report.unknown_key
                else ""
            )
            + f" ({seconds:.1f} s)."
        )
        if not report.ok:
            named = [f"  {m}" for m in report.mismatches[:NAMED]]
            more = len(report.mismatches) - len(named)
            raise CommandError(
                f"Records DO NOT MATCH the audit trail: {len(report.mismatches)} row(s) changed "
                "behind the registry's back:\n"
                + "\n".join(named)
                + (f"\n  ... and {more} more" if more > 0 else "")
                + f"\n{summary}",
                returncode=1,
            )
        self.stdout.write(f"Records match the audit trail: {summary}")

    def _reseal(self):
        try:
            entry = reseal()
        except ChainBroken as exc:
            where = (
                f" at entry #{exc.report.broken_seq}" if exc.report.broken_seq is not None else ""
            )
            raise CommandError(
                f"Nothing sealed. Audit chain BROKEN{where}: {exc.report.reason}.", returncode=1
            ) from exc
        if entry is None:
            self.stdout.write("Nothing to seal: every entry is already sealed with AUDIT_KEY.")
            return
        legacy = (entry.after or {}).get("legacy_entries")
        if legacy:
            last_legacy = AuditEntry.objects.get(seq=legacy)
            self.stdout.write(
                f"Sealed the {legacy} entries from before the log was keyed (their last hash: "
                f"#{legacy} {last_legacy.hash}; compare it with any head noted before) "
                f"with entry #{entry.seq}."
            )
        else:
            self.stdout.write(f"Sealed the chain under the new AUDIT_KEY with entry #{entry.seq}.")
