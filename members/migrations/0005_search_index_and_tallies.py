"""PostgreSQL only (issue 7): a trigram index for the name search, and member tallies
per branch kept by triggers for the district dashboard.

Search: `folded_name LIKE '%text%'` cannot use a B-tree. A pg_trgm GIN index on
the members' names is slow at a million rows because names repeat (every
trigram of "nguyen van" has a posting list of a third of the table). So the
distinct folded names are kept in `members_member_name` (a trigger adds each
new one), the trigram index is on that much smaller table, and the search
finds the matching names there, then the members by the B-tree on
members_member.folded_name (MemberQuerySet.search). A name no longer used
stays in the table: harmless, the members are always read from members_member.
The extensions are created where the database user may (pg_trgm and unaccent
are trusted extensions: a database owner may); where it may not, the search
scans the distinct names, still far fewer than the members.

Tallies: counting a million members for the dashboard's tiles takes too long
for a page. `members_branch_tally` holds, per branch, the current members, the
full members and the commune cadres, changed by triggers on members_member in
the same transaction as the change, so the figures are never stale: there is
no cache to expire. The triggers are per statement (with transition tables),
so a bulk insert costs one grouped upsert; they touch tally rows in branch
order, so two opposite moves cannot deadlock. TRUNCATE (test flushes)
empties the tally too. SQLite (development, the demo) counts directly.
"""

from django.db import migrations, transaction

NAMES_SQL = """
CREATE TABLE members_member_name (folded_name varchar(100) PRIMARY KEY);

CREATE FUNCTION members_name_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO members_member_name (folded_name)
    SELECT DISTINCT folded_name FROM new_rows ORDER BY 1 ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$$;

CREATE FUNCTION members_name_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO members_member_name (folded_name)
    SELECT DISTINCT n.folded_name FROM new_rows n JOIN old_rows o ON o.id = n.id
    WHERE o.folded_name IS DISTINCT FROM n.folded_name ORDER BY 1 ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$$;

CREATE TRIGGER members_name_insert AFTER INSERT ON members_member
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION members_name_insert();
CREATE TRIGGER members_name_update AFTER UPDATE ON members_member
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION members_name_update();

INSERT INTO members_member_name (folded_name)
SELECT DISTINCT folded_name FROM members_member ON CONFLICT DO NOTHING;
"""

NAMES_DROP_SQL = """
DROP TRIGGER IF EXISTS members_name_update ON members_member;
DROP TRIGGER IF EXISTS members_name_insert ON members_member;
DROP FUNCTION IF EXISTS members_name_update();
DROP FUNCTION IF EXISTS members_name_insert();
DROP TABLE IF EXISTS members_member_name;
"""

# Statement-level triggers with transition tables: one grouped upsert per
# statement, so a bulk insert of a thousand members costs one query, not a
# thousand. Deltas are applied in branch order, so concurrent changes lock the
# tally rows in the same order and cannot deadlock.
TALLY_UPSERT = """
    INSERT INTO members_branch_tally AS t (branch_id, members, full_members, cadres)
    SELECT branch_id, sum(m), sum(f), sum(c) FROM deltas GROUP BY branch_id ORDER BY branch_id
    ON CONFLICT (branch_id) DO UPDATE SET
        members = t.members + EXCLUDED.members,
        full_members = t.full_members + EXCLUDED.full_members,
        cadres = t.cadres + EXCLUDED.cadres;
"""

TALLY_SQL = f"""
CREATE TABLE members_branch_tally (
    branch_id bigint PRIMARY KEY,
    members bigint NOT NULL DEFAULT 0,
    full_members bigint NOT NULL DEFAULT 0,
    cadres bigint NOT NULL DEFAULT 0
);

CREATE FUNCTION members_tally_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    WITH deltas AS (
        SELECT branch_id, 1 AS m, (full_on IS NOT NULL)::int AS f, is_commune_cadre::int AS c
        FROM new_rows WHERE status <> 'left'
    ) {TALLY_UPSERT}
    RETURN NULL;
END
$$;

CREATE FUNCTION members_tally_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    WITH deltas AS (
        SELECT branch_id, -1 AS m, -(full_on IS NOT NULL)::int AS f, -is_commune_cadre::int AS c
        FROM old_rows WHERE status <> 'left'
    ) {TALLY_UPSERT}
    RETURN NULL;
END
$$;

CREATE FUNCTION members_tally_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    WITH changed AS (
        SELECT o.branch_id AS old_branch, o.status <> 'left' AS old_counts,
               o.full_on IS NOT NULL AS old_full, o.is_commune_cadre AS old_cadre,
               n.branch_id AS new_branch, n.status <> 'left' AS new_counts,
               n.full_on IS NOT NULL AS new_full, n.is_commune_cadre AS new_cadre
        FROM old_rows o JOIN new_rows n ON n.id = o.id
        WHERE (o.branch_id, o.status <> 'left', o.full_on IS NULL, o.is_commune_cadre)
              IS DISTINCT FROM (n.branch_id, n.status <> 'left', n.full_on IS NULL, n.is_commune_cadre)
    ), deltas AS (
        SELECT old_branch AS branch_id, -1 AS m, -old_full::int AS f, -old_cadre::int AS c
        FROM changed WHERE old_counts
        UNION ALL
        SELECT new_branch, 1, new_full::int, new_cadre::int FROM changed WHERE new_counts
    ) {TALLY_UPSERT}
    RETURN NULL;
END
$$;

CREATE TRIGGER members_tally_insert AFTER INSERT ON members_member
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION members_tally_insert();
CREATE TRIGGER members_tally_delete AFTER DELETE ON members_member
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION members_tally_delete();
CREATE TRIGGER members_tally_update AFTER UPDATE ON members_member
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION members_tally_update();

CREATE FUNCTION members_tally_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM members_branch_tally;
    RETURN NULL;
END
$$;

CREATE TRIGGER members_tally_truncate
    AFTER TRUNCATE ON members_member
    FOR EACH STATEMENT EXECUTE FUNCTION members_tally_truncate();

INSERT INTO members_branch_tally (branch_id, members, full_members, cadres)
SELECT branch_id, count(*), count(full_on), count(*) FILTER (WHERE is_commune_cadre)
FROM members_member WHERE status <> 'left' GROUP BY branch_id;
"""

TALLY_DROP_SQL = """
DROP TRIGGER IF EXISTS members_tally_truncate ON members_member;
DROP TRIGGER IF EXISTS members_tally_update ON members_member;
DROP TRIGGER IF EXISTS members_tally_delete ON members_member;
DROP TRIGGER IF EXISTS members_tally_insert ON members_member;
DROP FUNCTION IF EXISTS members_tally_truncate();
DROP FUNCTION IF EXISTS members_tally_update();
DROP FUNCTION IF EXISTS members_tally_delete();
DROP FUNCTION IF EXISTS members_tally_insert();
DROP TABLE IF EXISTS members_branch_tally;
"""


def forwards(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        trigram = True
        for extension in ("pg_trgm", "unaccent"):
            try:
                with transaction.atomic(), connection.cursor() as inner:
                    inner.execute(f"CREATE EXTENSION IF NOT EXISTS {extension}")
            except Exception:  # noqa: BLE001 - not allowed here: the search works without it
                trigram = trigram and extension != "pg_trgm"
        cursor.execute(NAMES_SQL)
        if trigram:
            cursor.execute(
                "CREATE INDEX member_name_trgm ON members_member_name USING gin (folded_name gin_trgm_ops)"
            )
        cursor.execute(TALLY_SQL)


def backwards(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(NAMES_DROP_SQL)
        cursor.execute(TALLY_DROP_SQL)


class Migration(migrations.Migration):
    dependencies = [
        ("members", "0004_scale_indexes"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
