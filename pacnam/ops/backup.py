"""A complete, deterministic archive of the registry, and its restore.

The archive is gzip-compressed JSON lines: a header line, then one line per
row, table by table in dependency order, rows by primary key, keys sorted, no
timestamp in the gzip header. The same data therefore always gives the same
bytes: backup -> restore into an empty database -> backup is byte-identical.

What is in it: every model of the apps in BACKUP_APPS (their simple-history
tables included, since historical models live in their app), any other
historical model, the audit trail and the read log (pacnam), users and groups with their
memberships and permissions (password hashes included: it is a backup; keep
it as secret as the database). Permissions and content types are written as
natural keys (app, model, codename), because their ids differ between
databases. Not in it: sessions, login-failure records (django-axes), the
admin's own action log. Second-factor devices and recovery codes are in
it (BACKUP_APPS). New models of the apps below are included without
any change here.

The file is written with mode 0600 (only its owner can read it: it holds
every password hash and all personal data), and with a passphrase
(BACKUP_KEY) it is encrypted in chunks (pacnam.security.encryption); the restore reads
both kinds.

For production, pg_dump is the primary backup (docs/backups.md); this archive
is the portable, checkable one.
"""

from __future__ import annotations

import base64
import datetime
import gzip
import io
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.core.management.color import no_style
from django.db import DEFAULT_DB_ALIAS, connections, models, transaction
from django.db.migrations.recorder import MigrationRecorder
from simple_history.models import HistoricalChanges

from pacnam.audit.trail import jsonable
from pacnam.security.encryption import (
    MAGIC,
    DecryptingReader,
    DecryptionError,
    EncryptingWriter,
    is_encrypted,
)

FORMAT = "pacnam-registry-backup"
VERSION = 1
# otp_totp and otp_static: the users' second-factor devices and recovery codes,
# so that officers still sign in with their phones after a restore.
BACKUP_APPS = ("pacnam", "branches", "members", "meetings", "otp_totp", "otp_static")
BATCH = 1000


class BackupError(Exception):
    """The archive cannot be restored here; the message says why."""


def _is_backed_up(model) -> bool:
    opts = model._meta
    return opts.managed and not opts.proxy and not opts.swapped


def backup_models() -> list[type[models.Model]]:
    """Every model the archive holds, parents before the rows that point to them."""
    chosen: set[type[models.Model]] = {get_user_model(), Group}
    for label in BACKUP_APPS:
        try:
            chosen.update(apps.get_app_config(label).get_models())
        except LookupError:  # an app not installed here
            continue
    chosen.update(m for m in apps.get_models() if issubclass(m, HistoricalChanges))
    chosen = {m for m in chosen if _is_backed_up(m)}
    # Automatic many-to-many tables (user groups, group permissions, ...).
    for model in list(chosen):
        for field in model._meta.local_many_to_many:
            through = field.remote_field.through
            if through is not None and through._meta.auto_created:
                chosen.add(through)
    return _dependency_order(chosen)


def _dependency_order(chosen: set) -> list:
    """Topological order over foreign keys; ties broken by label, so always the same."""
    deps = {}
    for model in chosen:
        deps[model] = {
            f.related_model._meta.concrete_model
            for f in model._meta.concrete_fields
            if f.is_relation and f.related_model is not None
        } & chosen - {model}
    ordered: list = []
    done: set = set()
    while len(ordered) < len(chosen):
        ready = sorted(
            (m for m in chosen if m not in done and deps[m] <= done),
            key=lambda m: m._meta.label_lower,
        )
        if not ready:  # a cycle between tables: break it by label (FKs are deferred)
            ready = [min((m for m in chosen if m not in done), key=lambda m: m._meta.label_lower)]
        ordered.append(ready[0])
        done.add(ready[0])
    return ordered


def _natural_model(field):
    """Permission and ContentType ids differ between databases: refer to them by name."""
    if field.is_relation and field.related_model in (Permission, ContentType):
        return field.related_model
    return None


def _fields(model):
    return list(model._meta.local_concrete_fields)


def _encode(field, obj, naturals: dict):
    value = getattr(obj, field.attname)
    if value is None:
        return None
    natural = _natural_model(field)
    if natural is not None:
        return naturals[natural][value]
    if isinstance(field, models.JSONField):
        return value
    return jsonable(value)


def _decode(field, value, naturals: dict):
    if value is None:
        return None
    natural = _natural_model(field)
    if natural is not None:
        try:
            return naturals[natural][tuple(value)]
        except KeyError as exc:
            raise BackupError(
                f"{natural._meta.label} {value} does not exist in this database: run migrate first."
            ) from exc
    if isinstance(field, models.JSONField):
        return value
    if isinstance(field, models.BinaryField):
        return base64.b64decode(value)
    if isinstance(field, models.DurationField):
        return datetime.timedelta(seconds=value)
    return field.to_python(value)


def _naturals(direction: str) -> dict:
    """{Permission: {id: key}, ContentType: {id: key}} or the reverse, key -> id."""
    content_types = {ct.pk: [ct.app_label, ct.model] for ct in ContentType.objects.all()}
    permissions = {
        p.pk: [*content_types[p.content_type_id], p.codename] for p in Permission.objects.all()
    }
    if direction == "out":
        return {ContentType: content_types, Permission: permissions}
    return {
        ContentType: {tuple(k): pk for pk, k in content_types.items()},
        Permission: {tuple(k): pk for pk, k in permissions.items()},
    }


def _migration_state(using: str, model_list) -> dict:
    labels = sorted({m._meta.app_label for m in model_list} | {"auth", "contenttypes"})
    applied = MigrationRecorder(connections[using]).applied_migrations()
    return {label: sorted(name for app, name in applied if app == label) for label in labels}


def _line(data) -> bytes:
    return (
        json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n"
    ).encode()


def _audit_head(using: str):
    from pacnam.models import AuditHead

    head = AuditHead.objects.using(using).filter(pk=1).first()
    return None if head is None else {"seq": head.seq, "hash": head.hash}


def write_backup(fileobj, *, using: str = DEFAULT_DB_ALIAS) -> dict:
    """Write the archive to a binary file object; returns {model label: row count}.

    On PostgreSQL the whole backup reads one snapshot (REPEATABLE READ), so
    people may keep working while it runs; SQLite's transaction is one anyway.
    """
    connection = connections[using]
    snapshot = connection.vendor == "postgresql" and not connection.in_atomic_block
    model_list = backup_models()
    counts = {}
    # mtime=0 and no file name: the gzip header carries nothing that changes.
    with (
        gzip.GzipFile(filename="", mode="wb", fileobj=fileobj, mtime=0, compresslevel=6) as out,
        transaction.atomic(using=using),
    ):
        if snapshot:
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        naturals = _naturals("out")
        out.write(
            _line(
                {
                    "format": FORMAT,
                    "version": VERSION,
                    "migrations": _migration_state(using, model_list),
                    "tables": [m._meta.label_lower for m in model_list],
                    # The audit trail's head in the same snapshot: a copy of it
                    # kept outside the database, with every archive.
                    "audit_head": _audit_head(using),
                }
            )
        )
        for model in model_list:
            label = model._meta.label_lower
            fields = _fields(model)
            count = 0
            rows = model._base_manager.using(using).order_by("pk").iterator(chunk_size=BATCH)
            for obj in rows:
                out.write(
                    _line({"m": label, "f": {f.attname: _encode(f, obj, naturals) for f in fields}})
                )
                count += 1
            counts[label] = count
    return counts


def backup_to_path(path, *, passphrase: str = "") -> dict:
    """Write the archive to `path`, encrypted when a passphrase is given.

    The file is created with mode 0600 from the start (mkstemp), never readable
    by others even for a moment, and takes its name only once complete: a
    failed backup leaves no half-written archive under the name of a good one.
    """
    path = Path(path)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            if passphrase:
                with EncryptingWriter(f, passphrase) as encrypted:
                    counts = write_backup(encrypted)
            else:
                counts = write_backup(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return counts


def _read_lines(fileobj) -> Iterator[dict]:
    with gzip.GzipFile(fileobj=fileobj, mode="rb") as raw:
        for number, line in enumerate(io.TextIOWrapper(raw, encoding="utf-8"), start=1):
            try:
                yield json.loads(line)
            except json.JSONDecodeError as exc:
                raise BackupError(f"Line {number} of the archive is damaged: {exc}.") from exc


def migration_seeds() -> dict[str, list[dict]]:
    """{model label: rows} that the migrations put in every new database, as the
    apps declare them (AppConfig.migration_seeds): a new, migrated database
    holds them, and it is still empty of registry data."""
    seeds: dict[str, list[dict]] = {}
    for config in apps.get_app_configs():
        for label, rows in (getattr(config, "migration_seeds", None) or {}).items():
            seeds.setdefault(label, []).extend(rows)
    return seeds


def _only_seeds(model, using: str) -> bool:
    """True when the table holds exactly the migrations' rows, unchanged."""
    rows = migration_seeds().get(model._meta.label_lower)
    if not rows:
        return False
    lookups = sorted({k for row in rows for k in row})
    found = list(model._base_manager.using(using).values_list(*lookups))
    wanted = [tuple(row.get(k) for k in lookups) for row in rows]
    return sorted(found, key=repr) == sorted(wanted, key=repr)


def non_empty_tables(using: str = DEFAULT_DB_ALIAS) -> list[str]:
    """The tables that hold registry data: rows other than the migrations' own."""
    return [
        m._meta.label_lower
        for m in backup_models()
        if m._base_manager.using(using).exists() and not _only_seeds(m, using)
    ]


def _remove_seeds(model_list, using: str) -> None:
    """Delete the migrations' rows before the archive's own copies go in (the
    archive holds them too, with their history, under their ids). Raw deletes,
    children first: no signal, so no history and no audit entry of their going."""
    for model in reversed(model_list):
        queryset = model._base_manager.using(using).all()
        if model._meta.label_lower in migration_seeds() and queryset.exists():
            queryset._raw_delete(using)


def restore_backup(fileobj, *, using: str = DEFAULT_DB_ALIAS) -> dict:
    """Load an archive into an EMPTY, migrated database, in one transaction.

    Rows go in as they are (raw inserts: no save(), no signals, no new history
    or audit entries, auto_now fields untouched), so the audit chain verifies
    afterwards and a new backup is byte-identical to the archive.
    """
    lines = _read_lines(fileobj)
    try:
        header = next(lines)
    except (StopIteration, OSError, EOFError) as exc:
        raise BackupError("This file is not a registry backup (it is empty or not gzip).") from exc
    if header.get("format") != FORMAT or header.get("version") != VERSION:
        raise BackupError("This file is not a registry backup of a version this code can read.")
    model_list = backup_models()
    by_label = {m._meta.label_lower: m for m in model_list}
    unknown = [t for t in header.get("tables", []) if t not in by_label]
    if unknown:
        raise BackupError(
            f"The archive holds tables this code does not know: {', '.join(unknown)}."
        )
    state = _migration_state(using, model_list)
    if header.get("migrations") != state:
        raise BackupError(
            "The archive was made with another database schema (migrations differ). "
            "Restore it with the code version that made it, or migrate to the same version."
        )
    counts: dict[str, int] = {}
    connection = connections[using]
    with transaction.atomic(using=using):
        # Checked inside the transaction that writes: on SQLite it holds the
        # write lock from its start (IMMEDIATE), so no row can slip in between.
        busy = non_empty_tables(using)
        if busy:
            raise BackupError(
                "The database is not empty ("
                + ", ".join(busy[:5])
                + (", ..." if len(busy) > 5 else "")
                + "). Restore only into a new, migrated, empty database."
            )
        _remove_seeds(model_list, using)
        naturals = _naturals("in")
        pending: list = []
        pending_model = None

        def flush_pending():
            if pending:
                pending_model._base_manager.using(using)._insert(
                    pending, fields=_fields(pending_model), raw=True, using=using
                )
                pending.clear()

        for number, row in enumerate(lines, start=2):
            model = by_label.get(row.get("m", ""))
            if model is None:
                raise BackupError(f"Line {number} names an unknown table {row.get('m')!r}.")
            if model is not pending_model:
                flush_pending()
                pending_model = model
            values = row["f"]
            try:
                kwargs = {
                    f.attname: _decode(f, values[f.attname], naturals)
                    for f in _fields(model)
                    if f.attname in values
                }
            except (KeyError, ValueError, TypeError) as exc:
                raise BackupError(f"Line {number} cannot be read: {exc}.") from exc
            pending.append(model(**kwargs))
            counts[model._meta.label_lower] = counts.get(model._meta.label_lower, 0) + 1
            if len(pending) >= BATCH:
                flush_pending()
        flush_pending()
        # Dangling references in a damaged archive fail here, not later.
        connection.check_constraints(table_names=[m._meta.db_table for m in model_list])
        # Rows came with their ids: move PostgreSQL's sequences past them.
        with connection.cursor() as cursor:
            for sql in connection.ops.sequence_reset_sql(no_style(), model_list):
                cursor.execute(sql)
    return counts


def restore_from_path(path, *, passphrase: str = "") -> dict:
    """Restore a plain or an encrypted archive (which needs the passphrase it was made with)."""
    with open(path, "rb") as f:
        if not is_encrypted(f.read(len(MAGIC))):
            f.seek(0)
            return restore_backup(f)
        if not passphrase:
            raise BackupError(
                "This archive is encrypted: set BACKUP_KEY to the key it was made with."
            )
        f.seek(0)
        try:
            return restore_backup(io.BufferedReader(DecryptingReader(f, passphrase)))
        except DecryptionError as exc:
            raise BackupError(f"This archive cannot be decrypted with BACKUP_KEY: {exc}.") from exc
