"""Writing synthetic rows fast: COPY on PostgreSQL, bulk_create elsewhere, with the
indexes, triggers and tallies set aside during a load and put back after it.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable

from django.db import connection, models

from branches.models import (
    Branch,
    BranchInCommune,
    Commune,
    CommuneInProvince,
    Village,
    VillageInCommune,
)
from meetings.models import (
    Attendance,
    Meeting,
    Task,
    TaskReview,
)
from members.models import (
    DissolutionBatch,
    DissolutionMove,
    Member,
    Membership,
    Transfer,
)
from pacnam.lib.bulk import copy_text

# --- Writers: COPY on PostgreSQL, bulk_create elsewhere ---------------------

# The auto_now(_add) timestamp of every synthetic row: the same for a seed.
CREATED_AT = datetime.datetime(2026, 7, 1, tzinfo=datetime.UTC)


def _columns(model) -> list[models.Field]:
    return [f for f in model._meta.concrete_fields]


class Writer:
    """Buffers rows per model and writes them in chunks of `chunk` rows."""

    def __init__(self, chunk: int = 20000):
        self.chunk = chunk
        self.buffers: dict = {}
        self.counts: dict = {}
        self.defaults: dict = {}

    def add(self, model, row: dict) -> None:
        buffer = self.buffers.setdefault(model, [])
        buffer.append(row)
        if len(buffer) >= self.chunk:
            self.flush(model)

    def flush(self, model=None) -> None:
        for m in [model] if model else list(self.buffers):
            rows = self.buffers.get(m)
            if rows:
                self.write(m, rows)
                self.counts[m] = self.counts.get(m, 0) + len(rows)
                self.buffers[m] = []

    def complete(self, model, row: dict) -> list:
        """The row in the model's column order; columns added by other apps get
        their field default, so the generator keeps working as models grow."""
        fields = self.defaults.get(model)
        if fields is None:
            fields = self.defaults[model] = _columns(model)
        values = []
        for f in fields:
            if f.attname in row:
                values.append(row[f.attname])
            elif f.has_default() or f.null:
                values.append(f.get_default())
            elif isinstance(f, models.DateTimeField):  # auto_now(_add)
                values.append(CREATED_AT)
            elif isinstance(f, models.CharField | models.TextField) and f.blank:
                values.append("")
            else:
                raise ValueError(f"synthetic data: no value for {model.__name__}.{f.attname}")
        return values

    def write(self, model, rows: list[dict]) -> None:
        raise NotImplementedError


class BulkCreateWriter(Writer):
    def write(self, model, rows):
        model.objects.bulk_create([model(**row) for row in rows], batch_size=500)


class CopyWriter(Writer):
    def write(self, model, rows):
        fields = self.defaults.get(model) or _columns(model)
        table = model._meta.db_table
        columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
        lines = []
        for row in rows:
            lines.append("\t".join(copy_text(v) for v in self.complete(model, row)))
        lines.append("")
        with connection.cursor() as cursor:
            with cursor.copy(
                f"COPY {connection.ops.quote_name(table)} ({columns}) FROM STDIN"
            ) as copy:
                copy.write("\n".join(lines))


# --- Bulk-load helpers on PostgreSQL ----------------------------------------

MODELS = (
    Commune,
    CommuneInProvince,
    Village,
    VillageInCommune,
    Branch,
    BranchInCommune,
    Member,
    Membership,
    Meeting,
    Attendance,
    Task,
    Task.assignees.through,
    TaskReview,
    Transfer,
    DissolutionBatch,
    DissolutionMove,
)
BIG_TABLES = (
    Member,
    Membership,
    Meeting,
    Attendance,
    Task,
    Task.assignees.through,
    TaskReview,
    Transfer,
    DissolutionMove,
)


def _drop_for_load(cursor, table: str) -> list[str]:
    """Drop the foreign keys, unique constraints and indexes of `table` (not its primary
    key) and return the statements that put them back. Rebuilt after the load, each is
    one sort or one join instead of millions of index inserts and deferred trigger
    events; the whole load is one transaction, so a failure puts everything back."""
    quote = connection.ops.quote_name
    restore_indexes, restore_constraints = [], []
    cursor.execute(
        """
        SELECT c.conname, c.contype, pg_get_constraintdef(c.oid)
        FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid
        WHERE t.relname = %s AND c.contype IN ('f', 'u')
        ORDER BY c.contype DESC, c.conname
        """,
        [table],
    )
    for name, _kind, definition in cursor.fetchall():
        cursor.execute(f"ALTER TABLE {quote(table)} DROP CONSTRAINT {quote(name)}")
        restore_constraints.append(
            f"ALTER TABLE {quote(table)} ADD CONSTRAINT {quote(name)} {definition}"
        )
    cursor.execute(
        """
        SELECT i.relname, pg_get_indexdef(ix.indexrelid)
        FROM pg_index ix
        JOIN pg_class i ON i.oid = ix.indexrelid
        JOIN pg_class t ON t.oid = ix.indrelid
        WHERE t.relname = %s AND NOT ix.indisprimary
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = ix.indexrelid)
        ORDER BY i.relname
        """,
        [table],
    )
    for name, definition in cursor.fetchall():
        cursor.execute(f"DROP INDEX {quote(name)}")
        restore_indexes.append(definition)
    return restore_indexes + restore_constraints


TALLY_TABLE = "members_branch_tally"
RECOUNT_TALLIES_SQL = """
DELETE FROM members_branch_tally;
INSERT INTO members_branch_tally (branch_id, members, full_members, cadres)
SELECT branch_id, count(*), count(full_on), count(*) FILTER (WHERE is_commune_cadre)
FROM members_member WHERE status <> 'left' GROUP BY branch_id;
INSERT INTO members_member_name (folded_name)
SELECT DISTINCT folded_name FROM members_member ON CONFLICT DO NOTHING;
DELETE FROM members_admission_tally;
INSERT INTO members_admission_tally (year, members)
SELECT extract(year FROM admitted_on)::int, count(*) FROM members_member GROUP BY 1;
"""
# The members' insert triggers that keep those tallies (members 0005 and 0007).
TALLY_TRIGGERS = ["members_tally_insert", "members_name_insert", "members_admission_insert"]


def _has_table(cursor, name: str) -> bool:
    cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [name])
    return cursor.fetchone()[0]


def _reset_sequences(models_: Iterable) -> None:
    with connection.cursor() as cursor:
        for sql in connection.ops.sequence_reset_sql(_NoStyle(), list(models_)):
            cursor.execute(sql)


class _NoStyle:
    def __getattr__(self, name):
        return lambda text: text
