"""Verifying the audit chain and resealing it: `manage.py audit_verify` (docs/audit.md).

Every entry's seal is recomputed under the keys of settings (AUDIT_KEY, AUDIT_OLD_KEYS);
the first entry whose fields, links, order or seal do not match is named.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from dataclasses import dataclass

from django.db import transaction

from pacnam.audit.trail import _append, key_ring
from pacnam.models import (
    GENESIS_HASH,
    LEGACY_KEY_ID,
    AuditEntry,
    AuditHead,
    AuditLink,
    canonical_json,
)

# --- Verifying ---

# The action of the entries that `reseal` appends.
SEAL_ACTION = "audit_seal"


@dataclass
class ChainReport:
    ok: bool
    checked: int
    broken_seq: int | None = None
    reason: str = ""
    # The last entry, for `audit_verify --head`.
    head_seq: int = 0
    head_seal: str = GENESIS_HASH
    # True when the only trouble is what `reseal` seals: entries from before the
    # log was keyed, or a newest entry sealed with an old key.
    fixable: bool = False
    legacy_entries: int = 0
    legacy_digest: str = ""


def _chunks(queryset, size: int) -> Iterator[list]:
    chunk = []
    for row in queryset.iterator(chunk_size=size):
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _links_by_entry(entry_ids: list[int]) -> dict[int, list[tuple[str, str]]]:
    links: dict[int, list[tuple[str, str]]] = {}
    rows = (
        AuditLink.objects.filter(entry_id__in=entry_ids)
        .order_by()
        .values_list("entry_id", "object_type", "object_id")
    )
    for entry_id, object_type, object_id in rows.iterator(chunk_size=10000):
        links.setdefault(entry_id, []).append((object_type, object_id))
    return links


def _legacy_line(entry: AuditEntry, links) -> bytes:
    """Every stored field of an unkeyed entry and its links, for the digest that
    the seal entry records: the unkeyed hash covered neither the id nor the links."""
    fields = entry.sealed_fields(links)
    fields["hash"] = entry.hash
    return canonical_json(fields).encode() + b"\n"


def verify_chain(chunk_size: int = 2000) -> ChainReport:
    """Recompute every seal in order; stop at the first entry that does not fit.

    An entry fits when its number follows the one before, its previous seal is
    that entry's seal, its key is AUDIT_KEY or one of AUDIT_OLD_KEYS, and the
    HMAC of its fields and links under that key is its seal. Then the head must
    name the last entry, every link must belong to an entry, and the newest
    entry must be sealed with AUDIT_KEY (after a rotation: `reseal`).
    """
    ring = key_ring()
    expected_prev, expected_seq = GENESIS_HASH, 1
    checked = links_seen = legacy = 0
    legacy_digest = hashlib.sha256()
    legacy_sealed = False
    last = None

    def broken(seq, reason) -> ChainReport:
        return ChainReport(False, checked, seq, reason)

    for chunk in _chunks(AuditEntry.objects.order_by("seq"), chunk_size):
        links = _links_by_entry([entry.pk for entry in chunk])
        for entry in chunk:
            entry_links = links.get(entry.pk, [])
            links_seen += len(entry_links)
            if entry.seq != expected_seq:
                return broken(
                    expected_seq, f"entry #{expected_seq} is missing (next is #{entry.seq})"
                )
            if entry.prev_hash != expected_prev:
                return broken(entry.seq, "its previous seal does not match the entry before it")
            if entry.key_id == LEGACY_KEY_ID:
                if legacy != checked:
                    return broken(
                        entry.seq,
                        "it claims to be from before the log was keyed, "
                        "but keyed entries come before it (it was changed)",
                    )
                if entry.legacy_hash() != entry.hash:
                    return broken(entry.seq, "its content does not match its hash (it was changed)")
                legacy += 1
                legacy_digest.update(_legacy_line(entry, entry_links))
            else:
                key = ring.keys.get(entry.key_id)
                if key is None:
                    return broken(
                        entry.seq,
                        f"it was sealed with key {entry.key_id}, which is neither "
                        "AUDIT_KEY nor one of AUDIT_OLD_KEYS: the key differs from "
                        "the one that sealed the log (or the entry was changed)",
                    )
                if not hmac.compare_digest(entry.compute_seal(key, entry_links), entry.hash):
                    return broken(
                        entry.seq,
                        "its content, links or place in the chain do not match "
                        "its seal (it was changed)",
                    )
                recorded = entry.after if entry.action == SEAL_ACTION else None
                if isinstance(recorded, dict) and "legacy_entries" in recorded:
                    if (recorded["legacy_entries"], recorded.get("legacy_digest")) != (
                        legacy,
                        legacy_digest.hexdigest(),
                    ):
                        return broken(
                            entry.seq,
                            f"the {legacy} entries from before the log was keyed no "
                            "longer match what this seal entry recorded of them "
                            "(one of them or a link was changed)",
                        )
                    legacy_sealed = True
            expected_prev, expected_seq = entry.hash, entry.seq + 1
            last = entry
            checked += 1

    head = AuditHead.objects.filter(pk=1).first()
    if last is not None and head is None:
        return broken(checked, "the chain head is missing")
    if head is not None and (head.seq, head.hash) != (checked, expected_prev):
        return broken(
            head.seq if head.seq > checked else checked,
            f"the chain head records entry #{head.seq}, the log ends at #{checked}",
        )
    if last is not None and head is not None and head.entry_id != last.pk:
        return broken(checked, "the chain head does not name the last entry")
    stray = AuditLink.objects.count() - links_seen
    if stray:
        return broken(None, f"{stray} audit link(s) belong to no entry (they were added or moved)")

    report = ChainReport(True, checked, head_seq=checked, head_seal=expected_prev)
    if legacy and not legacy_sealed:
        report.ok, report.fixable, report.broken_seq = False, True, 1
        report.reason = (
            f"entries #1-#{legacy} were written before the log was sealed with a key and are not "
            "sealed yet: check them, then run `manage.py audit_verify --reseal` once"
        )
    elif last is not None and last.key_id not in (ring.current_id, LEGACY_KEY_ID):
        report.ok, report.fixable, report.broken_seq = False, True, last.seq
        report.reason = (
            "the newest entry is sealed with an old key (AUDIT_OLD_KEYS), not with AUDIT_KEY: "
            "after rotating the key, run `manage.py audit_verify --reseal`"
        )
    if report.fixable and legacy and not legacy_sealed:
        report.legacy_entries, report.legacy_digest = legacy, legacy_digest.hexdigest()
    return report


class ChainBroken(Exception):
    def __init__(self, report: ChainReport):
        super().__init__(report.reason)
        self.report = report


def reseal(*, actor=None) -> AuditEntry | None:
    """Append one entry under the current AUDIT_KEY that seals everything before it:
    once after the upgrade from the unkeyed log (it records a digest of every
    field and link of the unkeyed entries), and after each key rotation.

    Refuses (ChainBroken) a chain that is broken otherwise: sealing a changed log
    would bless the change. Returns None when there is nothing to seal.
    """
    with transaction.atomic():
        # The race: an entry appended between the check and the seal entry would
        # be sealed unchecked. The head's lock (or SQLite's write lock) keeps
        # writers out until this transaction ends.
        AuditHead.objects.select_for_update().filter(pk=1).first()
        report = verify_chain()
        if report.ok:
            return None
        if not report.fixable:
            raise ChainBroken(report)
        after: dict[str, object] = {"key_id": key_ring().current_id}
        if report.legacy_entries:
            after.update(legacy_entries=report.legacy_entries, legacy_digest=report.legacy_digest)
        return _append(
            actor=actor,
            action=SEAL_ACTION,
            object_type="",
            object_id="",
            object_repr="",
            description="audit_verify --reseal",
            before=None,
            after=after,
            items=[],
            links=set(),
        )
