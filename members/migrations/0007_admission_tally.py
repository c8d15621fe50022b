"""PostgreSQL only (issue 7): members admitted per year, kept by triggers for the
district dashboard's "admissions per year".

A province's dashboard shows the admissions of the last five years as totals.
Counting them read about 85,000 entries of an index at a million members (about
50 ms, the largest part of the page). `members_admission_tally` holds, per year
of the admission decision, how many members the registry has (whatever their
status: the figure is "admitted that year"), changed by triggers in the same
transaction as every insert, delete or change of admitted_on, like the branch
tallies of 0005: never stale, no cache. The triggers are per statement, so an
import of 100,000 members costs one grouped upsert per batch, and they touch the
year rows in year order, so two statements cannot deadlock on them. Creating
members admitted in the same year serializes on that year's row until commit,
as creating them in one branch already does on the branch tally: a short wait,
never a lost count. SQLite (development, the demo) counts directly.
"""

from django.db import migrations

ADMISSION_UPSERT = """
    INSERT INTO members_admission_tally AS t (year, members)
    SELECT year, sum(n) FROM deltas GROUP BY year ORDER BY year
    ON CONFLICT (year) DO UPDATE SET members = t.members + EXCLUDED.members;
"""

TALLY_SQL = f"""
CREATE TABLE members_admission_tally (
    year integer PRIMARY KEY,
    members bigint NOT NULL DEFAULT 0
);

CREATE FUNCTION members_admission_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    WITH deltas AS (
        SELECT extract(year FROM admitted_on)::int AS year, 1 AS n FROM new_rows
    ) {ADMISSION_UPSERT}
    RETURN NULL;
END
$$;

CREATE FUNCTION members_admission_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    WITH deltas AS (
        SELECT extract(year FROM admitted_on)::int AS year, -1 AS n FROM old_rows
    ) {ADMISSION_UPSERT}
    RETURN NULL;
END
$$;

CREATE FUNCTION members_admission_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    WITH changed AS (
        SELECT extract(year FROM o.admitted_on)::int AS old_year,
               extract(year FROM n.admitted_on)::int AS new_year
        FROM old_rows o JOIN new_rows n ON n.id = o.id
        WHERE extract(year FROM o.admitted_on) <> extract(year FROM n.admitted_on)
    ), deltas AS (
        SELECT old_year AS year, -1 AS n FROM changed
        UNION ALL
        SELECT new_year, 1 FROM changed
    ) {ADMISSION_UPSERT}
    RETURN NULL;
END
$$;

CREATE TRIGGER members_admission_insert AFTER INSERT ON members_member
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION members_admission_insert();
CREATE TRIGGER members_admission_delete AFTER DELETE ON members_member
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION members_admission_delete();
CREATE TRIGGER members_admission_update AFTER UPDATE ON members_member
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION members_admission_update();

CREATE FUNCTION members_admission_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM members_admission_tally;
    RETURN NULL;
END
$$;

CREATE TRIGGER members_admission_truncate
    AFTER TRUNCATE ON members_member
    FOR EACH STATEMENT EXECUTE FUNCTION members_admission_truncate();

INSERT INTO members_admission_tally (year, members)
SELECT extract(year FROM admitted_on)::int, count(*) FROM members_member GROUP BY 1;
"""

DROP_SQL = """
DROP TRIGGER IF EXISTS members_admission_truncate ON members_member;
DROP TRIGGER IF EXISTS members_admission_update ON members_member;
DROP TRIGGER IF EXISTS members_admission_delete ON members_member;
DROP TRIGGER IF EXISTS members_admission_insert ON members_member;
DROP FUNCTION IF EXISTS members_admission_truncate();
DROP FUNCTION IF EXISTS members_admission_update();
DROP FUNCTION IF EXISTS members_admission_delete();
DROP FUNCTION IF EXISTS members_admission_insert();
DROP TABLE IF EXISTS members_admission_tally;
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(TALLY_SQL)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_SQL)


class Migration(migrations.Migration):
    dependencies = [
        ("members", "0006_probation_covering_index"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
