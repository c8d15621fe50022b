"""Database triggers that refuse UPDATE and DELETE of the audit log.

The application already refuses (model, QuerySet, admin); the triggers stop a
stray raw SQL statement or a script that bypasses Django.

PostgreSQL: UPDATE and DELETE are refused. TRUNCATE is not: it needs the table
owner's rights, is what `manage.py flush` (and the test runner) uses to empty a
database, and production grants the application role no TRUNCATE (docs/backups.md).
SQLite: UPDATE is refused. DELETE is not, because `flush` empties SQLite tables
with DELETE and the test suite flushes between live-server tests.
"""

from django.db import migrations

TABLES = ("pacnam_auditentry", "pacnam_auditlink")

PG_FUNCTION = """
CREATE OR REPLACE FUNCTION pacnam_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only: % on % refused', TG_OP, TG_TABLE_NAME;
END;
$$ LANGUAGE plpgsql;
"""


def forwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_FUNCTION, params=None)  # the % are plpgsql's, not placeholders
        for table in TABLES:
            schema_editor.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                f"FOR EACH ROW EXECUTE FUNCTION pacnam_audit_append_only();"
            )
    elif vendor == "sqlite":
        for table in TABLES:
            schema_editor.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE ON {table} "
                f"BEGIN SELECT RAISE(ABORT, 'the audit log is append-only: UPDATE refused'); END;"
            )


def backwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        for table in TABLES:
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table};")
        schema_editor.execute("DROP FUNCTION IF EXISTS pacnam_audit_append_only();")
    elif vendor == "sqlite":
        for table in TABLES:
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_append_only;")


class Migration(migrations.Migration):
    dependencies = [("pacnam", "0001_audit_trail")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
