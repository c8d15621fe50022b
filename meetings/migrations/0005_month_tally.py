"""PostgreSQL only (issue 14): meetings that took place per month, kept by triggers
for a province's dashboard.

The dashboard's "meetings held" tiles and its chart count a province's meetings
per month: about 30,000 a month at a million members, an index-only count of
8 ms a month, the largest part of the page. `meetings_month_tally` holds, per
month, how many meetings (of every kind) were held or had their minutes adopted
(meetings.selectors.TOOK_PLACE), changed by triggers in the same transaction as
every insert, delete or change of a meeting's date or status, like the members'
tallies (members 0005, 0007): never stale, no cache. The triggers are per
statement and touch the month rows in month order, so two statements cannot
deadlock on them; recording meetings of the same month serializes on that
month's row until commit, a short wait, never a lost count. A scope narrower
than everything, and SQLite, count the meetings directly.
"""

from django.db import migrations

TOOK_PLACE = "('held', 'adopted')"

UPSERT = """
    INSERT INTO meetings_month_tally AS t (month, took_place)
    SELECT month, sum(n) FROM deltas GROUP BY month ORDER BY month
    ON CONFLICT (month) DO UPDATE SET took_place = t.took_place + EXCLUDED.took_place;
"""

TALLY_SQL = f"""
CREATE TABLE meetings_month_tally (
    month date PRIMARY KEY,
    took_place bigint NOT NULL DEFAULT 0
);

CREATE FUNCTION meetings_month_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    WITH deltas AS (
        SELECT date_trunc('month', date)::date AS month, 1 AS n FROM new_rows
        WHERE status IN {TOOK_PLACE}
    ) {UPSERT}
    RETURN NULL;
END
$$;

CREATE FUNCTION meetings_month_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    WITH deltas AS (
        SELECT date_trunc('month', date)::date AS month, -1 AS n FROM old_rows
        WHERE status IN {TOOK_PLACE}
    ) {UPSERT}
    RETURN NULL;
END
$$;

CREATE FUNCTION meetings_month_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    WITH deltas AS (
        SELECT date_trunc('month', o.date)::date AS month, -1 AS n
        FROM old_rows o JOIN new_rows n ON n.id = o.id
        WHERE o.status IN {TOOK_PLACE}
          AND (n.status NOT IN {TOOK_PLACE} OR date_trunc('month', n.date) <> date_trunc('month', o.date))
        UNION ALL
        SELECT date_trunc('month', n.date)::date, 1
        FROM old_rows o JOIN new_rows n ON n.id = o.id
        WHERE n.status IN {TOOK_PLACE}
          AND (o.status NOT IN {TOOK_PLACE} OR date_trunc('month', n.date) <> date_trunc('month', o.date))
    ) {UPSERT}
    RETURN NULL;
END
$$;

CREATE FUNCTION meetings_month_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM meetings_month_tally;
    RETURN NULL;
END
$$;

CREATE TRIGGER meetings_month_insert AFTER INSERT ON meetings_meeting
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION meetings_month_insert();
CREATE TRIGGER meetings_month_delete AFTER DELETE ON meetings_meeting
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION meetings_month_delete();
CREATE TRIGGER meetings_month_update AFTER UPDATE ON meetings_meeting
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION meetings_month_update();
CREATE TRIGGER meetings_month_truncate AFTER TRUNCATE ON meetings_meeting
    FOR EACH STATEMENT EXECUTE FUNCTION meetings_month_truncate();

INSERT INTO meetings_month_tally (month, took_place)
SELECT date_trunc('month', date)::date, count(*) FROM meetings_meeting
WHERE status IN {TOOK_PLACE} GROUP BY 1;
"""

DROP_SQL = """
DROP TRIGGER IF EXISTS meetings_month_truncate ON meetings_meeting;
DROP TRIGGER IF EXISTS meetings_month_update ON meetings_meeting;
DROP TRIGGER IF EXISTS meetings_month_delete ON meetings_meeting;
DROP TRIGGER IF EXISTS meetings_month_insert ON meetings_meeting;
DROP FUNCTION IF EXISTS meetings_month_truncate();
DROP FUNCTION IF EXISTS meetings_month_update();
DROP FUNCTION IF EXISTS meetings_month_delete();
DROP FUNCTION IF EXISTS meetings_month_insert();
DROP TABLE IF EXISTS meetings_month_tally;
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(TALLY_SQL)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_SQL)


class Migration(migrations.Migration):
    dependencies = [
        ("meetings", "0004_meeting_took_place_index"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
