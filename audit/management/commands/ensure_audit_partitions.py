"""Create the audit trail's monthly partitions ahead, move events out of the DEFAULT
partition, or only check (audit/partitions.py).

Run it as the role that owns the tables (DATABASE_URL=$MIGRATION_DATABASE_URL); `migrate`
does the same after every deploy. With --check it changes nothing, may run as any role,
and exits non-zero when something needs the owner: for monitoring.
"""

from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections

from audit import partitions


class Command(BaseCommand):
    help = (
        "Create the audit trail's missing monthly partitions from this month to "
        "--months-ahead months ahead (PostgreSQL, as the owner of the tables)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--months-ahead",
            type=int,
            default=partitions.MONTHS_AHEAD,
            help=f"How many months after this one (default {partitions.MONTHS_AHEAD}).",
        )
        parser.add_argument(
            "--move-default",
            action="store_true",
            help="First move the events waiting in the DEFAULT partition into partitions of "
            "their months (locks the DEFAULT partition while it copies: run in a quiet hour).",
        )
        parser.add_argument(
            "--check",
            action="store_true",
            help="Change nothing: list what needs doing, and fail when anything does.",
        )
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)

    def handle(self, *args, months_ahead, move_default, check, database, **options):
        connection = connections[database]
        if not partitions.is_partitioned(connection):
            raise CommandError(
                f"The audit table is not partitioned on this {connection.vendor} database: "
                "nothing to do (PostgreSQL only, after `migrate`)."
            )
        if not 0 <= months_ahead <= 120:
            raise CommandError("--months-ahead must be between 0 and 120.")
        if not check:
            self._create(connection, months_ahead, move_default)
        found = partitions.problems(using=database)
        if found:
            raise CommandError("\n".join(found))
        self.stdout.write("The audit trail's partitions are in order.")

    def _create(self, connection, months_ahead, move_default):
        if not partitions.can_manage(connection):
            raise CommandError(
                "Only the owner of the audit table may create partitions: run this with "
                "DATABASE_URL=$MIGRATION_DATABASE_URL (or use --check)."
            )
        try:
            if move_default:
                for name, rows in partitions.move_default_rows(using=connection.alias).items():
                    self.stdout.write(f"Moved {rows} events from the DEFAULT partition to {name}.")
            created = partitions.ensure_partitions(months_ahead, using=connection.alias)
        except DatabaseError as exc:
            raise CommandError(f"PostgreSQL refused: {exc}".strip()) from exc
        for name in created:
            self.stdout.write(f"Created {name}.")
