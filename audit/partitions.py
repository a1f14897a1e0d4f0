"""The audit trail's monthly partitions on PostgreSQL: created ahead, checked, and archived
once past the retention period.

Migration 0005 made `audit_auditevent` a table partitioned by range of `at`: one partition
a UTC month, named `audit_auditevent_y2026m12`, and a DEFAULT partition that takes any row
no month covers, so that recording an event never fails for want of a partition. A page
that names dates reads only their months (partition pruning); archiving takes whole months.

Only the owner of the table may create, detach or drop a partition. The application's role
owns nothing (audit/roles.py) and reaches the partitions through the audit table only. So
months are created ahead by whoever connects as the owner: `migrate`, once every app's
migrations ran (audit/receivers.py), `manage.py ensure_audit_partitions`, and the daily
beat task when the worker connects as the owner (an installation with a single role).
Connected as the application's role, the task only checks, and logs an error when fewer
than WARN_MONTHS months are left or rows wait in the DEFAULT partition. SQLite keeps one
plain table: every function here does nothing there.
"""

import datetime
import logging
import re

from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.utils import CursorWrapper
from django.utils import timezone
from psycopg import sql

from audit.models import AuditEvent

logger = logging.getLogger(__name__)

TABLE = AuditEvent._meta.db_table
DEFAULT_PARTITION = f"{TABLE}_default"
MONTH_NAME = re.compile(rf"^{TABLE}_y(\d{{4}})m(\d{{2}})$")
# The same names as PostgreSQL matches them: a detached month is a table of its own.
MONTH_NAME_SQL = rf"^{TABLE}_y[0-9]{{4}}m[0-9]{{2}}$"
# Migration 0002's trigger and its function, refusing UPDATE and DELETE (each partition
# holds a clone of the audit table's trigger).
TRIGGER = "audit_event_no_update"
TRIGGER_FUNCTION = "audit_event_append_only"

# Months created ahead of this one, and the fewest an installation may be left with before
# the daily check logs an error (`migrate` tops up to MONTHS_AHEAD on every deploy).
MONTHS_AHEAD = 12
WARN_MONTHS = 3
# Six years, as HIPAA keeps documentation (45 CFR 164.316(b)(2)(i)).
RETENTION_MONTHS = 72
# Creating or detaching a partition locks the audit table, and every request that records
# an event would queue behind a lock still waiting: wait this long at most, and try again
# another day (there are months to spare).
LOCK_TIMEOUT = "3s"
# Serialises whoever changes the partitions (two beat runs, a migrate, a command).
ADVISORY_LOCK = 0x61756469745F70  # "audit_p"

AT_IN_RANGE = sql.SQL("at >= %s AND at < %s")


class RetentionError(Exception):
    """A partition asked for is inside the retention period (the message says which)."""


def month_of(moment: datetime.datetime) -> datetime.date:
    """The first day of `moment`'s month in UTC, the partitions' calendar."""
    utc = moment.astimezone(datetime.UTC)
    return datetime.date(utc.year, utc.month, 1)


def add_months(month: datetime.date, count: int) -> datetime.date:
    index = month.year * 12 + month.month - 1 + count
    return datetime.date(index // 12, index % 12 + 1, 1)


def partition_name(month: datetime.date) -> str:
    return f"{TABLE}_y{month.year:04d}m{month.month:02d}"


def month_of_partition(name: str) -> datetime.date | None:
    match = MONTH_NAME.match(name)
    return datetime.date(int(match[1]), int(match[2]), 1) if match else None


def retention_start(now: datetime.datetime) -> datetime.date:
    """The oldest month still inside the retention period at `now`: every row of an
    earlier month is more than RETENTION_MONTHS old."""
    return add_months(month_of(now), -RETENTION_MONTHS)


def _range(month: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
    end = add_months(month, 1)
    return (
        datetime.datetime(month.year, month.month, 1, tzinfo=datetime.UTC),
        datetime.datetime(end.year, end.month, 1, tzinfo=datetime.UTC),
    )


def _bounds(month: datetime.date) -> sql.Composable:
    # Partition bounds are literals, not parameters.
    start, end = _range(month)
    return sql.SQL("FOR VALUES FROM ({}) TO ({})").format(sql.Literal(start), sql.Literal(end))


def is_partitioned(connection: BaseDatabaseWrapper) -> bool:
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)", [TABLE])
        row = cursor.fetchone()
    return row is not None and row[0] == "p"


def can_manage(connection: BaseDatabaseWrapper) -> bool:
    """Whether this connection's role owns the audit table (or is a member of the role
    that does), as creating, detaching and dropping partitions needs."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_has_role(current_user, relowner, 'USAGE') FROM pg_class "
            "WHERE oid = to_regclass(%s)",
            [TABLE],
        )
        row = cursor.fetchone()
    return bool(row and row[0])


def attached_months(cursor: CursorWrapper) -> set[datetime.date]:
    cursor.execute(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = to_regclass(%s)",
        [TABLE],
    )
    return {month for (name,) in cursor.fetchall() if (month := month_of_partition(name))}


def default_partition(cursor: CursorWrapper) -> sql.Identifier | None:
    """The DEFAULT partition, None when there is none."""
    cursor.execute(
        "SELECT c.relname FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partdefid "
        "WHERE p.partrelid = to_regclass(%s)",
        [TABLE],
    )
    row = cursor.fetchone()
    return sql.Identifier(row[0]) if row else None


def audit_tables(cursor: CursorWrapper) -> list[str]:
    """The audit table's partitions and the months detached from it, not yet dropped."""
    cursor.execute(
        "SELECT c.relname FROM pg_class c WHERE c.relkind = 'r' "
        "AND c.relnamespace = current_schema()::regnamespace AND (c.relname ~ %s "
        "OR c.oid IN (SELECT inhrelid FROM pg_inherits WHERE inhparent = to_regclass(%s))) "
        "ORDER BY c.relname",
        [MONTH_NAME_SQL, TABLE],
    )
    return [name for (name,) in cursor.fetchall()]


def detached_months(cursor: CursorWrapper) -> dict[str, datetime.date]:
    """The month tables detached by `detach_partitions`, waiting to be dumped and dropped."""
    cursor.execute(
        "SELECT relname FROM pg_class WHERE relkind = 'r' AND NOT relispartition "
        "AND relnamespace = current_schema()::regnamespace AND relname ~ %s ORDER BY relname",
        [MONTH_NAME_SQL],
    )
    return {name: month for (name,) in cursor.fetchall() if (month := month_of_partition(name))}


def lock_down(cursor: CursorWrapper, table: str) -> None:
    """Take back every privilege on `table` but its owner's. A partition is read and
    written through the audit table, whose grants alone count then; default privileges
    would otherwise give the application's role UPDATE and DELETE on each new one."""
    cursor.execute(
        "SELECT DISTINCT r.rolname FROM pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) a "
        "LEFT JOIN pg_roles r ON r.oid = a.grantee "
        "WHERE c.oid = to_regclass(%s) AND a.grantee <> c.relowner",
        [table],
    )
    for (role,) in cursor.fetchall():
        grantee = sql.Identifier(role) if role else sql.SQL("PUBLIC")
        cursor.execute(sql.SQL("REVOKE ALL ON {} FROM {}").format(sql.Identifier(table), grantee))


def _take_lock(cursor: CursorWrapper) -> None:
    """Call inside the transaction that changes partitions."""
    cursor.execute("SELECT set_config('lock_timeout', %s, true)", [LOCK_TIMEOUT])
    cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ADVISORY_LOCK])


def _months_waiting(cursor: CursorWrapper) -> dict[datetime.date, int]:
    """How many events of each month no month partition covers (normally none): those in
    the DEFAULT partition. Read through the audit table with only the times outside every
    month, which PostgreSQL prunes to the DEFAULT partition: the application's role may
    read the audit table, not the partition itself."""
    outside, params = [], []
    after = None
    for month in sorted(attached_months(cursor)):
        start, end = _range(month)
        if after is None:
            outside.append(sql.SQL("at < %s"))
            params.append(start)
        elif after < start:
            outside.append(AT_IN_RANGE)
            params += [after, start]
        after = end
    if after is not None:
        outside.append(sql.SQL("at >= %s"))
        params.append(after)
    cursor.execute(
        sql.SQL(
            "SELECT date_trunc('month', at, 'UTC'), count(*) FROM {} WHERE {} GROUP BY 1 ORDER BY 1"
        ).format(sql.Identifier(TABLE), sql.SQL(" OR ").join(outside or [sql.SQL("true")])),
        params,
    )
    return {month_of(start): count for start, count in cursor.fetchall()}


def ensure_partitions(
    months_ahead: int = MONTHS_AHEAD,
    *,
    since: datetime.date | None = None,
    using: str = DEFAULT_DB_ALIAS,
) -> list[str]:
    """Create what is missing of the DEFAULT partition and of the months from this one (or
    from the month of `since`, for rows about to be written with past times) to
    `months_ahead` months after this one; returns the names created. Idempotent, and safe
    to run from several processes at once. Run as the owner of the audit table.

    A month whose events already wait in the DEFAULT partition is left out (`problems`
    names it; `move_default_rows` moves them). Raises DatabaseError when PostgreSQL
    refuses, e.g. when the audit table stayed locked for LOCK_TIMEOUT; what was created
    before stays created."""
    connection = connections[using]
    if not is_partitioned(connection):
        return []
    this_month = month_of(timezone.now())
    with connection.cursor() as cursor:
        present = attached_months(cursor)
        has_default = default_partition(cursor) is not None
    created = []
    if not has_default and _create(connection, DEFAULT_PARTITION, None):
        created.append(DEFAULT_PARTITION)
    month = min(since.replace(day=1), this_month) if since else this_month
    last = add_months(this_month, months_ahead)
    while month <= last:
        if month not in present and _create(connection, partition_name(month), month):
            created.append(partition_name(month))
        month = add_months(month, 1)
    if created:
        logger.info("Created the audit trail's partitions %s", ", ".join(created))
    return created


def _create(connection: BaseDatabaseWrapper, name: str, month: datetime.date | None) -> bool:
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        _take_lock(cursor)
        cursor.execute("SELECT to_regclass(%s) IS NULL", [name])
        if not cursor.fetchone()[0]:
            return False  # made meanwhile by another process
        if month is not None:
            # The month has no partition: this reads the DEFAULT partition only.
            cursor.execute(
                sql.SQL("SELECT EXISTS (SELECT 1 FROM {} WHERE {})").format(
                    sql.Identifier(TABLE), AT_IN_RANGE
                ),
                _range(month),
            )
            if cursor.fetchone()[0]:
                return False
        cursor.execute(
            sql.SQL("CREATE TABLE IF NOT EXISTS {} PARTITION OF {} {}").format(
                sql.Identifier(name),
                sql.Identifier(TABLE),
                _bounds(month) if month is not None else sql.SQL("DEFAULT"),
            )
        )
        lock_down(cursor, name)
    return True


def move_default_rows(*, using: str = DEFAULT_DB_ALIAS) -> dict[str, int]:
    """Give the events waiting in the DEFAULT partition partitions of their months, made
    for them; returns how many rows went to each. Run as the owner of the audit table.

    One transaction a month: the DEFAULT partition is locked (an event recorded meanwhile
    for a month without a partition waits), the month's rows are copied into a new table
    and deleted from the DEFAULT partition with its append-only trigger disabled inside
    that transaction only, and the table is attached as the month's partition. No row is
    lost or seen twice. The lock lasts as long as the copy: run it in a quiet hour when
    many rows wait."""
    connection = connections[using]
    if not is_partitioned(connection):
        return {}
    with connection.cursor() as cursor:
        waiting = _months_waiting(cursor)
    return {partition_name(month): _move_month(connection, month) for month in waiting}


def _move_month(connection: BaseDatabaseWrapper, month: datetime.date) -> int:
    name, table = sql.Identifier(partition_name(month)), sql.Identifier(TABLE)
    columns = sql.SQL(", ").join(
        [sql.Identifier(field.attname) for field in AuditEvent._meta.concrete_fields]
    )
    trigger = sql.Identifier(TRIGGER)
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        _take_lock(cursor)
        default = default_partition(cursor)
        cursor.execute(sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE").format(default))
        cursor.execute(
            sql.SQL("CREATE TABLE {} (LIKE {} INCLUDING DEFAULTS INCLUDING STORAGE)").format(
                name, table
            )
        )
        cursor.execute(
            sql.SQL("INSERT INTO {} ({}) SELECT {} FROM {} WHERE {}").format(
                name, columns, columns, default, AT_IN_RANGE
            ),
            _range(month),
        )
        moved: int = cursor.rowcount
        cursor.execute(sql.SQL("ALTER TABLE {} DISABLE TRIGGER {}").format(default, trigger))
        cursor.execute(
            sql.SQL("DELETE FROM {} WHERE {}").format(default, AT_IN_RANGE), _range(month)
        )
        cursor.execute(sql.SQL("ALTER TABLE {} ENABLE TRIGGER {}").format(default, trigger))
        cursor.execute(
            sql.SQL("ALTER TABLE {} ATTACH PARTITION {} {}").format(table, name, _bounds(month))
        )
        lock_down(cursor, partition_name(month))
    logger.info(
        "Moved %s audit events from the DEFAULT partition to %s", moved, partition_name(month)
    )
    return moved


def problems(*, using: str = DEFAULT_DB_ALIAS) -> list[str]:
    """What an operator must see to (none when all is well): fewer than WARN_MONTHS
    months ahead with their partitions, no DEFAULT partition, events waiting in it."""
    connection = connections[using]
    if not is_partitioned(connection):
        return []
    this_month = month_of(timezone.now())
    with connection.cursor() as cursor:
        present = attached_months(cursor)
        default = default_partition(cursor)
        waiting = _months_waiting(cursor)
    ahead = 0
    while add_months(this_month, ahead) in present:
        ahead += 1
    found = []
    remedy = (
        "run `python manage.py ensure_audit_partitions` (or `migrate`) as the owner of the "
        "tables (DATABASE_URL=$MIGRATION_DATABASE_URL)"
    )
    if ahead < WARN_MONTHS:
        last = f"through {add_months(this_month, ahead - 1):%Y-%m}" if ahead else "none yet"
        found.append(
            f"The audit trail has monthly partitions for {ahead} month(s) from this one "
            f"({last}): {remedy}. Events of a month without one go to the DEFAULT partition."
        )
    if default is None:
        found.append(f"The audit trail has no DEFAULT partition, recording may fail: {remedy}.")
    if waiting:
        months = ", ".join(f"{month:%Y-%m} ({count})" for month, count in waiting.items())
        found.append(
            f"Audit events wait in the DEFAULT partition, by month: {months}. Run "
            "`python manage.py ensure_audit_partitions --move-default` as the owner of the "
            "tables, in a quiet hour (it locks the DEFAULT partition while it copies them)."
        )
    return found


def top_up(*, using: str = DEFAULT_DB_ALIAS) -> list[str]:
    """What `migrate` and the daily task run: `ensure_partitions` when this connection owns
    the audit table, then each of `problems` logged as an error. Returns the names created.
    Never raises for PostgreSQL's refusal (logged): recording events must go on."""
    connection = connections[using]
    created: list[str] = []
    try:
        if not is_partitioned(connection):
            return created
        if can_manage(connection):
            created = ensure_partitions(using=using)
        for problem in problems(using=using):
            logger.error(problem)
    except DatabaseError:
        logger.exception("Could not create or check the audit trail's partitions")
    return created


def detach_partitions(before: datetime.date, *, using: str = DEFAULT_DB_ALIAS) -> dict[str, int]:
    """Detach the month partitions older than `before` (a month's first day) from the audit
    trail; returns how many rows each holds. Each becomes a table of its own, kept
    append-only by its own copy of the trigger, readable by its owner only, until
    `drop_detached` drops it. Raises RetentionError when `before` is later than the
    retention period allows. Run as the owner of the audit table."""
    _refuse_inside_retention(before)
    connection = connections[using]
    if not is_partitioned(connection):
        return {}
    with connection.cursor() as cursor:
        months = sorted(month for month in attached_months(cursor) if month < before)
    return {partition_name(month): _detach(connection, month) for month in months}


def _refuse_inside_retention(before: datetime.date) -> None:
    limit = retention_start(timezone.now())
    if before > limit:
        raise RetentionError(
            f"{add_months(before, -1):%Y-%m} is inside the retention period: the audit "
            f"trail keeps {RETENTION_MONTHS // 12} years (45 CFR 164.316(b)(2)), so the "
            f"newest month that may go is {add_months(limit, -1):%Y-%m} "
            f"(--before {limit:%Y-%m} at most)."
        )


def _detach(connection: BaseDatabaseWrapper, month: datetime.date) -> int:
    name = sql.Identifier(partition_name(month))
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        _take_lock(cursor)
        cursor.execute(
            sql.SQL("ALTER TABLE {} DETACH PARTITION {}").format(sql.Identifier(TABLE), name)
        )
        # Detaching drops the partition's clone of the trigger: the table gets its own.
        cursor.execute(
            sql.SQL(
                "CREATE TRIGGER {} BEFORE UPDATE OR DELETE ON {} FOR EACH ROW EXECUTE FUNCTION {}()"
            ).format(sql.Identifier(TRIGGER), name, sql.Identifier(TRIGGER_FUNCTION))
        )
        lock_down(cursor, partition_name(month))
        cursor.execute(sql.SQL("SELECT count(*) FROM {}").format(name))
        rows: int = cursor.fetchone()[0]
    logger.info("Detached %s (%s rows) from the audit trail", partition_name(month), rows)
    return rows


def drop_detached(before: datetime.date, *, using: str = DEFAULT_DB_ALIAS) -> list[str]:
    """Drop the month tables detached earlier by `detach_partitions` that are older than
    `before`; returns their names. Never a partition still attached, never a month inside
    the retention period (RetentionError). Run as their owner, once they are archived."""
    _refuse_inside_retention(before)
    connection = connections[using]
    if connection.vendor != "postgresql":
        return []
    dropped = []
    with transaction.atomic(using=using), connection.cursor() as cursor:
        for name, month in detached_months(cursor).items():
            if month < before:
                cursor.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(name)))
                dropped.append(name)
    for name in dropped:
        logger.info("Dropped %s, detached from the audit trail", name)
    return dropped
