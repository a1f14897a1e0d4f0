"""Take the audit trail's months past the retention period out of the database, in two
steps with an archive in between (audit/partitions.py, README "Audit trail: partitions
and retention").

1. `archive_audit_partitions [--before YYYY-MM]` detaches every month partition older than
   --before (default: the oldest month the retention period still covers, six years back)
   and prints how to dump each one. A detached month is out of the trail and out of the
   application's reach, still in the database, still append-only.
2. Once each is dumped and the dump stored offline, `archive_audit_partitions --before
   YYYY-MM --drop` drops the months detached earlier. Nothing is ever dropped otherwise.

A month inside the retention period is refused. Run it as the role that owns the tables
(DATABASE_URL=$MIGRATION_DATABASE_URL).
"""

import datetime

from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.utils import timezone

from audit import partitions


def month_argument(value: str) -> datetime.date:
    try:
        # A calendar month, no time of day: no zone to attach.
        return datetime.datetime.strptime(value, "%Y-%m").date()  # noqa: DTZ007
    except ValueError:
        raise CommandError(f"--before takes a month as YYYY-MM, not {value!r}.") from None


class Command(BaseCommand):
    help = (
        "Detach the audit trail's monthly partitions older than the retention period (six "
        "years) and print how to dump them; with --drop, drop those detached earlier."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--before",
            metavar="YYYY-MM",
            help="Months before this one (default and latest allowed: six years ago).",
        )
        parser.add_argument(
            "--drop",
            action="store_true",
            help="Drop the months detached by an earlier run (after dumping them); detach none.",
        )
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)

    def handle(self, *args, before, drop, database, **options):
        connection = connections[database]
        if not partitions.is_partitioned(connection):
            raise CommandError(
                f"The audit table is not partitioned on this {connection.vendor} database: "
                "nothing to archive (PostgreSQL only)."
            )
        if not partitions.can_manage(connection):
            raise CommandError(
                "Only the owner of the audit table may detach or drop its partitions: run "
                "this with DATABASE_URL=$MIGRATION_DATABASE_URL."
            )
        limit = partitions.retention_start(timezone.now())
        month = month_argument(before) if before else limit
        try:
            if drop:
                self._drop(month, database)
            else:
                self._detach(month, database)
        except partitions.RetentionError as exc:
            raise CommandError(str(exc)) from exc
        except DatabaseError as exc:
            raise CommandError(f"PostgreSQL refused: {exc}".strip()) from exc

    def _detach(self, month, database):
        detached = partitions.detach_partitions(month, using=database)
        for name, rows in detached.items():
            self.stdout.write(f"Detached {name} ({rows} events) from the audit trail.")
        if not detached:
            self.stdout.write(f"No month partition before {month:%Y-%m} to detach.")
        with connections[database].cursor() as cursor:
            waiting = partitions.detached_months(cursor)
        if waiting:
            self.stdout.write(self._instructions(waiting, database))

    def _drop(self, month, database):
        dropped = partitions.drop_detached(month, using=database)
        for name in dropped:
            self.stdout.write(f"Dropped {name}.")
        if not dropped:
            self.stdout.write(f"No detached month before {month:%Y-%m} to drop.")

    def _instructions(self, waiting, database):
        with connections[database].cursor() as cursor:
            cursor.execute("SELECT current_schema()")
            (schema,) = cursor.fetchone()
        newest = max(waiting.values())
        lines = [
            "",
            "Detached, waiting to be archived and dropped: " + ", ".join(waiting) + ".",
            "Dump each one as the owner, check the dump, store it offline (encrypted: it "
            "names users, clients and addresses), then drop them:",
            "",
        ]
        for name in waiting:
            lines += [
                f'  pg_dump --format=custom --table={schema}.{name} --file={name}.dump "$MIGRATION_DATABASE_URL"',
                f"  pg_restore --list {name}.dump",
            ]
        following = partitions.add_months(newest, 1)
        lines += [
            "",
            f"  python manage.py archive_audit_partitions --before {following:%Y-%m} --drop",
        ]
        return "\n".join(lines)
