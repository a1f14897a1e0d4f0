"""The audit trail partitioned by month on PostgreSQL (audit/partitions.py keeps it so).

`audit_auditevent` becomes a table PARTITION BY RANGE (at): a partition per UTC month,
from the oldest row's month (this month on an empty table) to MONTHS_AHEAD months ahead,
and a DEFAULT partition for any other row. Every column, the id identity (continuing
after the old table's last id), each index (made on the partitioned table, so every
partition has its own), the foreign keys, the append-only trigger (cloned on every
partition) and the grants are kept, and the rows are copied, in one transaction. The
primary key becomes (id, at), as PostgreSQL requires the partition key in it; Django's
state keeps `id` as the primary key, which it only ever reads back from an INSERT's
RETURNING and looks rows up by. The reverse copies the rows back into one plain table.

The audit table is locked while its rows are copied (see the README before migrating a
large trail). SQLite keeps its one table: nothing to do there. Months detached for
archiving (`archive_audit_partitions`) are tables of their own, which the reverse leaves.
"""

import datetime

from django.db import migrations, models
from django.utils import timezone

TABLE = "audit_auditevent"
OLD = "audit_auditevent_old"
DEFAULT_PARTITION = "audit_auditevent_default"
# audit.partitions.MONTHS_AHEAD when this was written; `migrate` tops up from there.
MONTHS_AHEAD = 12
COPIED = "INCLUDING DEFAULTS INCLUDING IDENTITY INCLUDING STORAGE INCLUDING CONSTRAINTS"


def add_months(month, count):
    index = month.year * 12 + month.month - 1 + count
    return datetime.date(index // 12, index % 12 + 1, 1)


def month_of(moment):
    utc = moment.astimezone(datetime.UTC)
    return datetime.date(utc.year, utc.month, 1)


def fetch(cursor, sql, params=None):
    cursor.execute(sql, params)
    return cursor.fetchall()


def set_aside(cursor):
    """Rename the audit table out of the way (locked); return what the new one must get
    back: its indexes, foreign keys, triggers, grants and last id."""
    cursor.execute(f"LOCK TABLE {TABLE} IN ACCESS EXCLUSIVE MODE")
    kept = {
        # The primary key's index is made anew, with the key's new columns.
        "indexes": [
            definition.replace(" ON ONLY ", " ON ")
            for (definition,) in fetch(
                cursor,
                "SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i WHERE i.indrelid = "
                "%s::regclass AND NOT EXISTS (SELECT 1 FROM pg_constraint c "
                "WHERE c.conindid = i.indexrelid) ORDER BY i.indexrelid",
                [TABLE],
            )
        ],
        "foreign_keys": fetch(
            cursor,
            "SELECT quote_ident(conname), pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = %s::regclass AND contype = 'f' ORDER BY conname",
            [TABLE],
        ),
        "triggers": [
            definition
            for (definition,) in fetch(
                cursor,
                "SELECT pg_get_triggerdef(oid) FROM pg_trigger WHERE tgrelid = %s::regclass "
                "AND NOT tgisinternal AND tgparentid = 0 ORDER BY tgname",
                [TABLE],
            )
        ],
        "grants": fetch(
            cursor,
            "SELECT coalesce(quote_ident(r.rolname), 'PUBLIC'), string_agg(a.privilege_type, "
            "', ') FROM pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) a "
            "LEFT JOIN pg_roles r ON r.oid = a.grantee WHERE c.oid = %s::regclass "
            "AND a.grantee <> c.relowner GROUP BY 1",
            [TABLE],
        ),
    }
    (sequence,) = fetch(cursor, "SELECT pg_get_serial_sequence(%s, 'id')", [TABLE])[0]
    (kept["last_id"],) = fetch(cursor, "SELECT pg_sequence_last_value(%s::regclass)", [sequence])[0]
    cursor.execute(f"ALTER TABLE {TABLE} RENAME TO {OLD}")
    # So that the new table's identity takes the usual name.
    cursor.execute(f"ALTER SEQUENCE {sequence} RENAME TO {OLD}_id_seq")
    return kept


def lock_down(cursor, table):
    """No grant on `table` but its owner's (a partition is reached through the audit
    table; a new table would otherwise get the default privileges)."""
    for (role,) in fetch(
        cursor,
        "SELECT DISTINCT coalesce(quote_ident(r.rolname), 'PUBLIC') FROM pg_class c "
        "CROSS JOIN LATERAL aclexplode(c.relacl) a LEFT JOIN pg_roles r ON r.oid = a.grantee "
        "WHERE c.oid = %s::regclass AND a.grantee <> c.relowner",
        [table],
    ):
        cursor.execute(f"REVOKE ALL ON {table} FROM {role}")


def move_in(cursor, kept, primary_key):
    """Copy the rows of the table set aside into the new one, drop the old, and give the
    new one its key, indexes, foreign keys, triggers, grants and next id."""
    # The same columns in the same order: the new table was made LIKE the old.
    cursor.execute("INSERT INTO audit_auditevent SELECT * FROM audit_auditevent_old")
    cursor.execute(f"DROP TABLE {OLD}")
    cursor.execute(f"ALTER TABLE {TABLE} ADD CONSTRAINT {TABLE}_pkey PRIMARY KEY {primary_key}")
    for definition in kept["indexes"]:
        cursor.execute(definition)
    for name, definition in kept["foreign_keys"]:
        cursor.execute(f"ALTER TABLE {TABLE} ADD CONSTRAINT {name} {definition}")
    for definition in kept["triggers"]:
        cursor.execute(definition)
    lock_down(cursor, TABLE)
    for role, privileges in kept["grants"]:
        cursor.execute(f"GRANT {privileges} ON {TABLE} TO {role}")
    cursor.execute(
        "SELECT setval(pg_get_serial_sequence('audit_auditevent', 'id'), "
        "greatest(%s, max(id), 1), greatest(%s, max(id)) IS NOT NULL) FROM audit_auditevent",
        [kept["last_id"], kept["last_id"]],
    )
    cursor.execute(f"ANALYZE {TABLE}")


def partition(cursor, month):
    name = f"{TABLE}_y{month.year:04d}m{month.month:02d}"
    cursor.execute(
        f"CREATE TABLE {name} PARTITION OF {TABLE} FOR VALUES "
        f"FROM ('{month.isoformat()} 00:00:00+00') TO ('{add_months(month, 1).isoformat()} 00:00:00+00')"
    )
    lock_down(cursor, name)


def partition_by_month(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        kept = set_aside(cursor)
        cursor.execute(f"CREATE TABLE {TABLE} (LIKE {OLD} {COPIED}) PARTITION BY RANGE (at)")
        (oldest,) = fetch(cursor, "SELECT min(at) FROM audit_auditevent_old")[0]
        this_month = month_of(timezone.now())
        month = min(month_of(oldest), this_month) if oldest else this_month
        while month <= add_months(this_month, MONTHS_AHEAD):
            partition(cursor, month)
            month = add_months(month, 1)
        cursor.execute(f"CREATE TABLE {DEFAULT_PARTITION} PARTITION OF {TABLE} DEFAULT")
        lock_down(cursor, DEFAULT_PARTITION)
        move_in(cursor, kept, "(id, at)")


def one_table(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        kept = set_aside(cursor)
        cursor.execute(f"CREATE TABLE {TABLE} (LIKE {OLD} {COPIED})")
        move_in(cursor, kept, "(id)")


class Migration(migrations.Migration):
    dependencies = [("audit", "0004_merge_action")]

    operations = [
        migrations.RunPython(partition_by_month, one_table),
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(fields=["at", "id"], name="audit_at_idx"),
        ),
    ]
