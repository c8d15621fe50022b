"""Writing a validated import in one transaction: all rows or none, as one audit entry."""

from __future__ import annotations

import datetime

from django.db import IntegrityError, connection, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from pacnam.audit.trail import audit_batch, current_batch
from pacnam.lib.errors import DomainError
from pacnam.lib.fields import own_field
from pacnam.lib.text import excerpt, fold

from ..models import (
    Member,
)
from ..services.members import member_create_many
from .validate import (
    CREATE,
    UNCHANGED,
    UPDATE,
    ImportPlan,
    RowError,
    RowPlan,
    chunks,
    validate_table,
)


class ImportAborted(Exception):
    """A write failed half-way (a race with another user); the transaction rolled back."""

    def __init__(self, error: RowError):
        super().__init__(str(error))
        self.error = error


# Rows written between two reports of import_plan_apply's `progress`.
WRITE_PROGRESS_EVERY = 1000


def _column(field: models.Field) -> str:
    assert field.column is not None  # a concrete field has its column
    return field.column


def _update_members(updates: dict[int, RowPlan], progress=None) -> None:
    """Write the changed columns of many members: one executemany per set of changed
    columns, and their history rows in bulk. Django's bulk_update builds a CASE per
    row and column, which costs minutes for 100,000 rows; this costs seconds."""
    now = timezone.now()
    meta = Member._meta
    for chunk in chunks(list(updates), 1000):
        groups: dict[tuple, list[Member]] = {}
        members = list(Member.objects.filter(pk__in=chunk))
        for member in members:
            plan = updates[member.pk]
            for name in plan.changes:
                setattr(member, name, plan.extra["values"][name])
            # Member.save and auto_now do not run here: keep their fields by hand.
            member.folded_name = fold(member.full_name)
            member.updated_at = now
            # The version bump makes an edit form opened before the import warn.
            member.version += 1
            fields = {*plan.changes, "updated_at", "version"}
            if "full_name" in fields:
                fields.add("folded_name")
            groups.setdefault(tuple(sorted(fields)), []).append(member)
        with connection.cursor() as cursor:
            for names, group in groups.items():
                columns = [own_field(Member, name) for name in names]
                assignments = ", ".join(
                    f"{connection.ops.quote_name(_column(f))} = %s" for f in columns
                )
                sql = f"UPDATE {connection.ops.quote_name(meta.db_table)} SET {assignments} WHERE id = %s"
                cursor.executemany(
                    sql,
                    [
                        [f.get_db_prep_save(getattr(m, f.attname), connection) for f in columns]
                        + [m.pk]
                        for m in group
                    ],
                )
        Member.history.bulk_history_create(members, update=True)
        batch = current_batch()
        if batch is not None:
            for member in members:
                batch.keep_state(member)  # executemany sends no signal
        if progress is not None:
            progress(len(chunk))


@transaction.atomic
def import_plan_apply(
    *, plan: ImportPlan, actor=None, source: str = "", progress=None
) -> dict[str, int]:
    """Apply a plan as ONE audit entry ("import"), each created or updated row an
    item of it: the audit trail shows the file as one operation.

    `progress(rows)` is called as each thousand or so rows of members are written
    (the rows of that step): the writing is one transaction, so only a reporter on
    a connection of its own can show it (members.io.jobs)."""
    with audit_batch("import", actor=actor, description=f"{plan.kind} {source}".strip()) as batch:
        counts = _import_plan_apply(plan=plan, progress=progress)
        # Bulk inserts and executemany bypass simple-history's signal: record each
        # row here, as its key and what changed, rather than every column.
        for row in plan.rows if plan.kind == "members" else ():
            # (Other kinds are written with save(): history logs them already.)
            if row.action == UNCHANGED:
                continue
            obj = row.obj
            batch.add(
                op="create" if row.action == CREATE else "update",
                object_type=obj._meta.label_lower if obj is not None else plan.kind,
                object_id=str(getattr(obj, "pk", "") or row.key),
                object_repr=str(row.label)[:300],
                after={"key": row.key, "changed": list(row.changes)}
                if row.action == UPDATE
                else {"key": row.key},
            )
        return counts


def _import_plan_apply(*, plan: ImportPlan, progress=None) -> dict[str, int]:
    """Write a validated plan (no errors) in one transaction: all rows or none.

    New members go through members.services.members.member_create_many (member_create's
    rules, with bulk inserts), so their first membership opens exactly as a
    member added by hand. Raises ImportAborted
    (and writes nothing) if the database refuses a row, e.g. because someone
    else registered the same citizen ID since the file was validated.
    """
    if plan.errors:
        raise ValueError("a plan with errors cannot be applied")
    current = None
    try:
        if plan.kind == "members":
            updates = {p.extra["pk"]: p for p in plan.rows if p.action == UPDATE}
            _update_members(updates, progress)
            current = None
            new = [
                (p.obj, p.extra["branch"], p.extra["since"])
                for p in plan.rows
                if p.action == CREATE
            ]
            if progress is None:
                member_create_many(rows=new)
            else:
                # In steps, each said: the same inserts, a query or two more a step.
                for step in chunks(new, WRITE_PROGRESS_EVERY):
                    member_create_many(rows=step)
                    progress(len(step))
        else:
            for current in plan.rows:
                if current.action == CREATE:
                    current.obj.save()
                elif current.action == UPDATE:
                    fields = list(current.changes)
                    if hasattr(current.obj, "version"):
                        current.obj.version += 1
                        fields.append("version")
                    current.obj.save(update_fields=fields)
    except (IntegrityError, DomainError) as exc:
        row = current.row if current else 1
        raise ImportAborted(
            RowError(
                row,
                "row",
                _("The database refused this row (%(error)s); nothing was written.")
                % {"error": excerpt(str(exc), 200)},
            )
        ) from exc
    return plan.counts


def import_rows(
    *,
    kind: str,
    table,
    scope=None,
    dry_run: bool = False,
    today: datetime.date | None = None,
    actor=None,
    source: str = "",
) -> ImportPlan:
    """Validate `table` and, if every row is right and this is no dry run, write it.

    `table` is read_table's Table or plain rows of text, header first. Returns the
    plan: `plan.errors` (nothing written when there are any) and `plan.counts`
    (created/updated/unchanged).
    """
    plan = validate_table(kind=kind, table=table, scope=scope, today=today)
    if plan.errors or dry_run:
        return plan
    try:
        import_plan_apply(plan=plan, actor=actor, source=source)
    except ImportAborted as exc:
        plan.errors.append(exc.error)
    return plan
