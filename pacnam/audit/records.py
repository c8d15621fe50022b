"""The records against their trail: `manage.py audit_verify --records` (docs/audit.md).

The chain proves the trail; this proves the rows still match it. Every entry
keeps, for each row it changed, a keyed digest of the state it left the row in
(AuditEntry.row_digests, pacnam.audit.trail.row_digest). Here the trail is read
once in order, keeping each row's LAST digest, then every audited table is read
in chunks and each row's digest recomputed: a row whose digest differs was
changed behind the registry's back (raw SQL, an edited database file); a row
the trail left but that is gone was deleted so; a row the trail deleted that is
there again was put back. Rows no entry kept a digest of (written before
digests were kept, or by a data migration) are counted as "no digest".

Memory: one 17-byte value per row the trail knows (a key index and the first 16
bytes of the digest), so a registry of a million members and their
memberships holds a few hundred MB at most for the length of the check.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field

from django.apps import apps

from pacnam.audit.trail import history_fields, key_ring, row_digest, row_state
from pacnam.models import AuditEntry, AuditLink

CHUNK = 5000
DIGEST_BYTES = 16
# How many changed rows are named in full (the rest are counted).
NAMED = 50


@dataclass
class Mismatch:
    table: str
    pk: str
    what: str  # "changed", "deleted", "put back"
    fields: list = field(default_factory=list)

    def __str__(self) -> str:
        detail = f" ({', '.join(self.fields)})" if self.fields else ""
        return f"{self.table} #{self.pk} {self.what}{detail}"


@dataclass
class RecordsReport:
    ok: bool = True
    checked: int = 0
    matched: int = 0
    no_digest: int = 0
    unknown_key: int = 0
    mismatches: list = field(default_factory=list)
    by_table: dict = field(default_factory=dict)  # label -> rows checked


def audited_models() -> list:
    """The models whose every save reaches the trail (they have simple-history)."""
    return sorted(
        (m for m in apps.get_models() if history_fields(m) is not None),
        key=lambda m: m._meta.label_lower,
    )


def _last_digests(ring) -> tuple[dict, list]:
    """{table: {pk text: bytes or None}} of the last digest each row was left with."""
    key_ids = sorted(ring.keys)
    index = {kid: n for n, kid in enumerate(key_ids)}
    last: dict[str, dict[str, bytes | None]] = {}
    rows = (
        AuditEntry.objects.filter(row_digests__isnull=False)
        .order_by("seq")
        .values_list("key_id", "row_digests")
    )
    for key_id, digests in rows.iterator(chunk_size=2000):
        n = index.get(key_id)
        for row, digest in (digests or {}).items():
            table, _, pk = row.rpartition(":")
            if digest is None:
                value = None
            elif n is None:
                value = b"\xff"  # a key this service does not hold: cannot be checked
            else:
                value = bytes([n]) + bytes.fromhex(digest)[:DIGEST_BYTES]
            last.setdefault(table, {})[pk] = value
    return last, [ring.keys[kid] for kid in key_ids]


def verify_records(chunk_size: int = CHUNK) -> RecordsReport:
    """Every row of every audited table against its last digest in the trail."""
    ring = key_ring()
    last, keys = _last_digests(ring)
    report = RecordsReport()
    for model in audited_models():
        label = model._meta.label_lower
        known = last.pop(label, {})
        tracked = history_fields(model)
        assert tracked is not None  # audited_models() keeps only the models with a history
        names = [f.attname for f in tracked]
        pk_name = model._meta.pk.attname
        at = names.index(pk_name)
        rows = model._base_manager.order_by("pk").values_list(*names)
        count = 0
        for values in rows.iterator(chunk_size=chunk_size):
            count += 1
            pk = str(values[at])
            expected = known.pop(pk, False)
            if expected is False:
                report.no_digest += 1
                continue
            if expected is None:
                report.mismatches.append(Mismatch(label, pk, "put back (the trail deleted it)"))
                continue
            if expected == b"\xff":
                report.unknown_key += 1
                continue
            digest = row_digest(
                keys[expected[0]], model, values[at], dict(zip(names, values, strict=True))
            )
            if hmac.compare_digest(bytes.fromhex(digest)[:DIGEST_BYTES], expected[1:]):
                report.matched += 1
            else:
                report.mismatches.append(Mismatch(label, pk, "changed"))
        report.by_table[label] = count
        report.checked += count
        for pk, expected in known.items():
            if expected is not None:
                report.mismatches.append(Mismatch(label, pk, "deleted"))
    for label, known in last.items():  # a table the code no longer audits
        for pk, expected in known.items():
            if expected is not None:
                report.mismatches.append(Mismatch(label, pk, "deleted (its table is gone)"))
    report.ok = not report.mismatches
    for mismatch in report.mismatches[:NAMED]:
        if mismatch.what == "changed":
            mismatch.fields = changed_fields(mismatch.table, mismatch.pk)
    return report


def trail_state(label: str, pk: str) -> dict:
    """A row's state as the trail tells it: its creation's values, then each change's.
    (An update keeps only the fields it changed; a row created in bulk, only its key.)"""
    entry_ids = AuditLink.objects.filter(object_type=label, object_id=pk).values("entry_id")
    state: dict = {}
    entries = AuditEntry.objects.filter(pk__in=entry_ids).order_by("seq")
    for entry in entries.only("object_type", "object_id", "action", "after", "items"):
        steps = []
        if (entry.object_type, entry.object_id) == (label, pk):
            steps.append((entry.action, entry.after))
        steps += [
            (item.get("op"), item.get("after"))
            for item in entry.items or ()
            if (item.get("type"), item.get("id")) == (label, pk)
        ]
        for op, after in steps:
            if op == "create":
                state = dict(after or {})
            elif op == "update":
                state.update(after or {})
    return state


def changed_fields(label: str, pk: str) -> list[str]:
    """The fields whose value today differs from the trail's (where the trail has one)."""
    model = apps.get_model(label)
    tracked = history_fields(model)
    assert tracked is not None  # a changed row is a row of an audited table
    names = [f.attname for f in tracked]
    row = model._base_manager.filter(pk=pk).values(*names).first()
    if row is None:
        return []
    now = row_state(model, row)
    trail = {k: v for k, v in trail_state(label, pk).items() if k in names}
    told = row_state(model, trail)
    if "password" in trail:  # the trail keeps its fingerprint already
        told["password"] = trail["password"]
    return [k for k in names if k in trail and now.get(k) != told.get(k)]
