"""Writing, sealing, verifying and reading the audit trail (the log itself is
pacnam.models.AuditEntry).

Every change to a registry model is logged without anyone calling anything:
each model has simple-history's HistoricalRecords, and `_record_change` below
turns every historical record (create, update, delete) into an audit entry
with the fields before and after.

Bulk operations are ONE entry with their items::

    from pacnam.audit.trail import audit_batch

    with audit_batch("branch_dissolve", actor=user, description="Quyết định 12-QĐ/ĐU",
                     subject=branch) as batch:
        for member in members:
            membership_move(member=member, to_branch=..., on=...)
        # optional: batch.note(member, "no village branch: decided by hand")

While the block runs, the changes it makes are collected as items instead of
being written one by one; when it ends without an exception, one entry with
all the items is written inside the same transaction (audit_batch opens
`transaction.atomic()`), so the changes and their entry commit together or
not at all. An exception inside the block rolls back both.

Events that are not a model save (a refused import, an export) can be
logged with `audit_log(...)`.

Locks: the first audited save in a transaction locks the chain's head row
until the transaction ends, so audited writers queue there one after the
other (see `_lock_head`). A service that locks rows with select_for_update
must therefore take those locks BEFORE its first save: otherwise two
transactions can deadlock on PostgreSQL (one holds the head and waits for a
member's row, the other holds that row and waits for the head). audit_batch
takes the head only at its very end, after all the batch's row locks.

Changes made with QuerySet.update() or bulk_create() bypass simple-history and
so the log: services that change registry rows use save(), or log the change
with `audit_log`.

Sealing: each entry is sealed with HMAC-SHA256 under settings.AUDIT_KEY over
every stored field, its links and the previous seal (AuditEntry.sealed_fields);
`verify_chain` recomputes the seals with AUDIT_KEY and AUDIT_OLD_KEYS, and
`reseal` appends a seal entry under the current key after the upgrade from the
unkeyed log or after a key rotation (docs/audit.md).

Reading: `audit_entries_for(obj)`, `audit_for_member(member)`,
`audit_for_branch(branch)`, one query each; render them with
`{% include "pacnam/_audit.html" with audit_entries=... %}`.
"""

from __future__ import annotations

import base64
import contextvars
import datetime
import decimal
import functools
import hashlib
import hmac
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection, models, transaction
from django.db.models import Max
from django.dispatch import receiver
from django.utils import timezone
from simple_history.models import HistoricalRecords
from simple_history.signals import post_create_historical_record

from pacnam.audit.anchor import anchor_after_commit
from pacnam.models import GENESIS_HASH, AuditEntry, AuditHead, AuditLink, canonical_json

REPR_MAX = 300
OPS = {"+": "create", "~": "update", "-": "delete"}


def jsonable(value):
    """A value as it is stored (and hashed) in the log: JSON types only, dates as ISO text."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, datetime.datetime):
        if timezone.is_aware(value):
            value = value.astimezone(datetime.UTC)
        return value.isoformat()
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, (decimal.Decimal, uuid.UUID)):
        return str(value)
    if isinstance(value, datetime.timedelta):
        return value.total_seconds()
    if isinstance(value, (bytes, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [jsonable(v) for v in value]
        return sorted(items, key=repr) if isinstance(value, (set, frozenset)) else items
    if isinstance(value, models.Model):
        return value.pk
    return str(value)


def _key(obj) -> tuple[str, str]:
    return obj._meta.label_lower, str(obj.pk)


def _repr(obj) -> str:
    return str(obj)[:REPR_MAX]


def _actor(user):
    """(user id, username) of an actor; None stands for the system (a command)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None, ""
    return user.pk, user.get_username()


# --- Keys ---


def key_id(key: str) -> str:
    """A short name for a key, stored with each entry it sealed. An HMAC of a
    constant: it tells which key sealed an entry without telling the key."""
    return hmac.new(key.encode(), b"pacnam audit key id", hashlib.sha256).hexdigest()[:16]


@dataclass(frozen=True)
class KeyRing:
    current_id: str
    current_key: bytes
    keys: dict  # key id -> key bytes, the current key and every old one


def key_ring() -> KeyRing:
    """AUDIT_KEY seals new entries; AUDIT_OLD_KEYS only verify older ones."""
    return _key_ring(settings.AUDIT_KEY, tuple(getattr(settings, "AUDIT_OLD_KEYS", ())))


@functools.lru_cache(maxsize=8)
def _key_ring(current: str, old: tuple) -> KeyRing:
    if not current:
        raise RuntimeError("AUDIT_KEY is not set: the audit trail cannot be sealed.")
    keys = {key_id(k): k.encode() for k in old if k}
    keys[key_id(current)] = current.encode()
    return KeyRing(current_id=key_id(current), current_key=current.encode(), keys=keys)


# --- The state of a row, as a keyed digest kept in the entry that left it so ---


def history_fields(model) -> list | None:
    """The fields simple-history tracks for a model (the row's state the trail
    keeps), or None when the model has no history (it is not audited)."""
    attribute = getattr(model._meta, "simple_history_manager_attribute", None)
    if attribute is None:
        return None
    return list(getattr(model, attribute).model.tracked_fields)


def row_state(model, values: dict) -> dict:
    """A row's values {attname: value} as the digest covers them: JSON types, each
    value as the database gives it back (a Decimal with its field's places, a
    date typed as text parsed), the password of a user as its fingerprint."""
    state = {}
    for f in history_fields(model) or ():
        value = values.get(f.attname)
        if value is not None:
            try:
                value = f.to_python(value)
            except Exception:  # a value the field cannot read is kept as it is
                pass
            if (
                isinstance(value, decimal.Decimal)
                and getattr(f, "decimal_places", None) is not None
            ):
                value = value.quantize(decimal.Decimal(1).scaleb(-f.decimal_places))
            elif isinstance(value, datetime.datetime) and timezone.is_naive(value):
                value = timezone.make_aware(value, datetime.UTC)
        state[f.attname] = jsonable(value)
    if "password" in state and model is get_user_model():
        state["password"] = _fingerprint(state["password"])
    return state


def row_key(model, pk) -> str:
    return f"{model._meta.label_lower}:{pk}"


def row_digest(key: bytes, model, pk, values: dict) -> str:
    """HMAC-SHA256 under the audit key of a row's whole state: whoever changes the
    row without the key cannot make its digest match again."""
    message = canonical_json({"row": row_key(model, pk), "state": row_state(model, values)})
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()


def _object_values(obj) -> dict:
    return {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields}


# --- Batches ---


@dataclass
class Batch:
    action: str
    actor: object = None
    description: str = ""
    subject: models.Model | None = None
    items: list = field(default_factory=list)
    links: set = field(default_factory=set)
    # The state each row was left in: {row key: digest, or None when deleted}.
    digests: dict = field(default_factory=dict)

    def keep_state(self, obj: models.Model, *, deleted: bool = False) -> None:
        """Keep the digest of `obj`'s current state (a row written in bulk, without
        simple-history's signal): `audit_verify --records` checks the row against it."""
        if history_fields(type(obj)) is None:
            return
        self.digests[row_key(type(obj), obj.pk)] = (
            None
            if deleted
            else row_digest(key_ring().current_key, type(obj), obj.pk, _object_values(obj))
        )

    def add(
        self,
        *,
        op: str,
        object_type: str,
        object_id: str,
        object_repr: str,
        before=None,
        after=None,
        links: Iterable[tuple[str, str]] = (),
    ) -> None:
        self.items.append(
            {
                "op": op,
                "type": object_type,
                "id": object_id,
                "repr": object_repr,
                "before": before,
                "after": after,
            }
        )
        self.links.add((object_type, object_id))
        self.links.update(links)

    def record(self, obj: models.Model, op: str = "create", before: dict | None = None) -> None:
        """Add a change that bypassed save() (bulk_create, bulk_create_with_history,
        QuerySet.update) as an item: simple-history sends no signal for those.
        `obj` is in its new state; `before` holds the old values of what changed."""
        fields = obj._meta.concrete_fields
        state = {f.attname: jsonable(getattr(obj, f.attname)) for f in fields}
        object_type, object_id = _key(obj)
        after = state if before is None else {k: state.get(k) for k in before}
        self.keep_state(obj, deleted=op == "delete")
        self.add(
            op=op,
            object_type=object_type,
            object_id=object_id,
            object_repr=_repr(obj),
            before=jsonable(before),
            after=after,
            links=_related_links(obj, fields, state, jsonable(before)),
        )

    def note(self, obj: models.Model, text: str) -> None:
        """An item that is not a change: a decision, a skipped row, a warning."""
        object_type, object_id = _key(obj)
        self.add(
            op="note",
            object_type=object_type,
            object_id=object_id,
            object_repr=_repr(obj),
            after={"note": str(text)},
        )


_current_batch: contextvars.ContextVar[Batch | None] = contextvars.ContextVar(
    "pacnam_audit_batch", default=None
)


@contextmanager
def audit_batch(
    action: str, actor=None, description: str = "", *, subject: models.Model | None = None
) -> Iterator[Batch]:
    """Run a bulk operation as one transaction that leaves ONE audit entry.

    `action` is a stable code ("import", "branch_dissolve", "undo"), `actor` the
    user who asked (None for a command), `description` free text for people
    (the decision number, the file name), `subject` the record the whole
    operation is about (the dissolved branch), if any. A batch inside a batch
    adds its items to the outer one.
    """
    outer = _current_batch.get()
    if outer is not None:
        yield outer
        return
    if actor is None:
        actor = _request_user()
    batch = Batch(action=action, actor=actor, description=str(description), subject=subject)
    token = _current_batch.set(batch)
    token_active = True
    try:
        with transaction.atomic():
            yield batch
            _current_batch.reset(token)
            token_active = False
            object_type = object_id = object_repr = ""
            links = set(batch.links)
            if subject is not None:
                object_type, object_id = _key(subject)
                object_repr = _repr(subject)
                links.add((object_type, object_id))
            _append(
                actor=batch.actor,
                # batch.action, not `action`: a service may name the entry by what
                # it turned out to write (meetings.services.roll).
                action=batch.action,
                object_type=object_type,
                object_id=object_id,
                object_repr=object_repr,
                description=batch.description,
                before=None,
                after=None,
                items=batch.items,
                links=links,
                row_digests=batch.digests,
            )
    finally:
        if token_active:
            _current_batch.reset(token)


def current_batch() -> Batch | None:
    """The batch being collected, for a service that writes rows in bulk (bulk_create,
    bulk_update bypass simple-history): it records them with `batch.record(obj)`."""
    return _current_batch.get()


def running_batch() -> Batch:
    """current_batch() in a service that always runs in one (under @audited)."""
    batch = _current_batch.get()
    assert batch is not None, "a bulk write outside @audited or audit_batch()"
    return batch


def _request_user():
    """The user of the web request being served (simple-history's middleware keeps
    it), for a batch whose service takes a scope rather than a user; None in a
    command, which acts as the system."""
    request = getattr(HistoricalRecords.context, "request", None)
    user = getattr(request, "user", None)
    return user if getattr(user, "is_authenticated", False) else None


def audited(action: str, *, subject: str | None = None):
    """A service whose writes are ONE audit entry with its items: `action`, by the
    service's `by` argument (else the request's user), about its `subject`
    argument. For the steps that write several rows (a receipt, a candidate's
    step, the attendance of a meeting)."""

    def decorate(func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            about = kwargs.get(subject) if subject else None
            with audit_batch(action, actor=kwargs.get("by"), subject=about):
                return func(*args, **kwargs)

        return wrapper

    return decorate


def audit_log(
    action: str,
    *,
    actor=None,
    obj: models.Model | None = None,
    description: str = "",
    before: dict | None = None,
    after: dict | None = None,
) -> AuditEntry | None:
    """Log an event that is not a model save (an export, a refused import).

    Inside an audit_batch it becomes an item of the batch (and None is returned).
    """
    object_type = object_id = object_repr = ""
    if obj is not None:
        object_type, object_id = _key(obj)
        object_repr = _repr(obj)
    batch = _current_batch.get()
    if batch is not None:
        batch.add(
            op=action,
            object_type=object_type,
            object_id=object_id,
            object_repr=object_repr,
            before=jsonable(before),
            after=jsonable({**(after or {}), **({"note": description} if description else {})}),
        )
        return None
    links = {(object_type, object_id)} if obj is not None else set()
    return _append(
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=object_id,
        object_repr=object_repr,
        description=str(description),
        before=jsonable(before),
        after=jsonable(after),
        items=[],
        links=links,
    )


# --- Appending to the chain ---


def _lock_head() -> AuditHead:
    """The chain's head row, locked until the caller's transaction ends.

    The race: two transactions appending at once would both read "last entry
    #41, hash H", both write #42 chained to H, and the chain would fork (or one
    would fail on the unique seq with a server error). select_for_update makes
    the second wait until the first commits, then read #42 and write #43.
    On SQLite the IMMEDIATE transaction mode (settings) already serialises
    writers; select_for_update is a no-op there.
    """
    head = AuditHead.objects.select_for_update().filter(pk=1).first()
    if head is not None:
        return head
    # No head yet (a new database, or one emptied by `flush`): start where the log ends.
    last = AuditEntry.objects.order_by("-seq").first()
    last_id = AuditEntry.objects.aggregate(last_id=Max("id"))["last_id"] or 0
    try:
        with transaction.atomic():
            return AuditHead.objects.create(
                pk=1,
                seq=last.seq if last else 0,
                hash=last.hash if last else GENESIS_HASH,
                entry_id=last_id,
            )
    except IntegrityError:
        # Another writer created it first: wait for it like everyone else.
        return AuditHead.objects.select_for_update().get(pk=1)


# An import links its entry to every member it wrote: 100,000 links were 5 of an
# import's 34 seconds through bulk_create. Beyond this many they are
# written with COPY; a page's save keeps its one INSERT.
COPY_LINKS_FROM = 500


def _append(
    *,
    actor,
    action,
    object_type,
    object_id,
    object_repr,
    description,
    before,
    after,
    items,
    links,
    row_digests=None,
) -> AuditEntry:
    actor_id, actor_name = _actor(actor)
    ring = key_ring()
    keys = [(t, i) for t, i in sorted(links) if t]
    with transaction.atomic():
        head = _lock_head()
        entry = AuditEntry(
            # The id is chosen here, not by the database, so that the seal covers it.
            id=head.entry_id + 1,
            seq=head.seq + 1,
            at=timezone.now(),
            actor_id=actor_id,
            actor_name=actor_name,
            action=action,
            object_type=object_type,
            object_id=object_id,
            object_repr=object_repr[:REPR_MAX],
            description=description,
            before=before,
            after=after,
            items=items,
            key_id=ring.current_id,
            prev_hash=head.hash,
            row_digests=dict(row_digests or {}),
        )
        entry.hash = entry.compute_seal(ring.current_key, keys)
        entry.save()
        if len(keys) > COPY_LINKS_FROM and connection.vendor == "postgresql":
            from pacnam.lib.bulk import copy_insert_values

            copy_insert_values(
                AuditLink,
                [{"entry_id": entry.pk, "object_type": t, "object_id": i} for t, i in keys],
            )
        else:
            AuditLink.objects.bulk_create(
                AuditLink(entry=entry, object_type=t, object_id=i) for t, i in keys
            )
        head.seq, head.hash, head.entry_id = entry.seq, entry.hash, entry.pk
        head.save(update_fields=["seq", "hash", "entry_id"])
        anchor_after_commit(entry.seq, entry.hash, entry.at)
    return entry


# --- Every change to a model with HistoricalRecords ---


def _values(record, fields) -> dict:
    values = {f.attname: jsonable(getattr(record, f.attname)) for f in fields}
    if "password" in values and record.instance_type is get_user_model():
        # The log shows THAT a password changed, not the hash itself.
        values["password"] = _fingerprint(values["password"])
    return values


def _fingerprint(secret: str | None) -> str:
    if not secret:
        return ""
    return "sha256:" + hashlib.sha256(secret.encode()).hexdigest()[:12]


def _related_links(instance, fields, *states: dict | None) -> set[tuple[str, str]]:
    """The records a change points to, before and after: a membership's member and
    both its old and new branch, so it shows in each of their logs."""
    links = set()
    for f in fields:
        model_field = instance._meta.get_field(f.name)
        if not (model_field.many_to_one or model_field.one_to_one):
            continue
        label = model_field.related_model._meta.label_lower
        for state in states:
            value = (state or {}).get(f.attname)
            if value is not None:
                links.add((label, str(value)))
    extra = getattr(instance, "audit_links", None)
    if callable(extra):  # a model may name more records it concerns
        links.update(_key(obj) for obj in extra() if obj is not None and obj.pk is not None)
    return links


@receiver(post_create_historical_record, dispatch_uid="pacnam_audit_record_change")
def _record_change(
    sender, instance, history_instance, history_user=None, history_change_reason=None, **kwargs
) -> None:
    op = OPS.get(history_instance.history_type, "update")
    fields = history_instance.tracked_fields
    current = _values(history_instance, fields)
    previous = None
    if op == "create":
        before, after = None, current
    elif op == "delete":
        before, after = current, None
    else:
        prev = history_instance.prev_record
        if prev is None:
            before, after = None, current
        else:
            previous = _values(prev, fields)
            changed = [k for k in current if previous.get(k) != current[k]]
            if not changed:
                return  # a save that changed nothing is not a change
            before = {k: previous.get(k) for k in changed}
            after = {k: current[k] for k in changed}
    object_type, object_id = _key(instance)
    object_repr = _repr(instance)
    model = type(instance)
    digest = None
    if op != "delete":
        values = {f.attname: getattr(history_instance, f.attname) for f in fields}
        digest = row_digest(key_ring().current_key, model, instance.pk, values)
    # Links from the whole record, not just the diff: closing a membership still
    # concerns its branch although the branch did not change.
    links = _related_links(instance, fields, current, previous) | {(object_type, object_id)}
    batch = _current_batch.get()
    if batch is not None:
        batch.add(
            op=op,
            object_type=object_type,
            object_id=object_id,
            object_repr=object_repr,
            before=before,
            after=after,
            links=links,
        )
        batch.digests[row_key(model, instance.pk)] = digest
        return
    _append(
        actor=history_user,
        action=op,
        object_type=object_type,
        object_id=object_id,
        object_repr=object_repr,
        description=str(history_change_reason or ""),
        before=before,
        after=after,
        items=[],
        links=links,
        row_digests={row_key(model, instance.pk): digest},
    )


# --- Reading: one query each, for the member and branch pages ---


def audit_entries_for(obj: models.Model, *, limit: int = 50) -> list[AuditEntry]:
    """The newest `limit` entries that concern `obj`: its own changes, changes of
    records that point to it, and batches that touched it. One query.

    The caller has already checked that the user may see `obj` (get_in_scope_or_404).
    """
    object_type, object_id = _key(obj)
    return list(
        AuditEntry.objects.filter(
            links__object_type=object_type, links__object_id=object_id
        ).order_by("-seq")[:limit]
    )


def audit_for_member(member, *, limit: int = 50) -> list[AuditEntry]:
    """The member's log: edits of the member, their memberships, transfers, batches."""
    return audit_entries_for(member, limit=limit)


def audit_for_branch(branch, *, limit: int = 50) -> list[AuditEntry]:
    """The branch's log: edits of the branch, of its members and memberships, batches."""
    return audit_entries_for(branch, limit=limit)
