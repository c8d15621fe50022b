from django.db import migrations, models

TABLE = "pacnam_auditentry"


def trigger_again(apps, schema_editor):
    """On SQLite, adding a JSON column rebuilds the table (its JSON_VALID check),
    which drops the append-only trigger of 0002: it is made again."""
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute(
            f"CREATE TRIGGER IF NOT EXISTS {TABLE}_append_only BEFORE UPDATE ON {TABLE} "
            "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only: UPDATE refused'); END;"
        )


class Migration(migrations.Migration):
    dependencies = [
        ("pacnam", "0005_read_log"),
    ]

    operations = [
        migrations.AddField(
            model_name="auditentry",
            name="row_digests",
            field=models.JSONField(blank=True, default=None, null=True, verbose_name="row digests"),
        ),
        migrations.RunPython(trigger_again, migrations.RunPython.noop, elidable=False),
    ]
