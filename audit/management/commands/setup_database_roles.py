"""Create or update the PostgreSQL role the application connects as (audit/roles.py).

Run it as the role that owns the tables (the one in MIGRATION_DATABASE_URL), after the
first `migrate`; run it again at any time, it only ever brings the role back to the same
grants. `migrate` re-applies the grants by itself afterwards when DATABASE_APP_ROLE
names the role (audit/apps.py).
"""

import os

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections, transaction

from audit.roles import RoleError, check_role_name, ensure_role, grant_app_privileges


class Command(BaseCommand):
    help = (
        "Create or update the application's PostgreSQL role: SELECT/INSERT/UPDATE/DELETE "
        "on every table, SELECT/INSERT only on the audit trail, owner of nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--app-role",
            default=settings.DATABASE_APP_ROLE,
            help="The role the application connects as (default: DATABASE_APP_ROLE).",
        )
        parser.add_argument(
            "--password-from-env",
            metavar="VAR",
            help="Set the role's password from this environment variable (never argv).",
        )
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)

    def handle(self, *args, app_role, password_from_env, database, **options):
        connection = connections[database]
        if connection.vendor != "postgresql":
            raise CommandError(
                f"The {connection.vendor} database has no roles: nothing to set up "
                "(the audit trail is kept append-only by its triggers)."
            )
        if not app_role:
            raise CommandError("Name the role: --app-role NAME (or set DATABASE_APP_ROLE).")
        try:
            check_role_name(app_role)
        except RoleError as exc:
            raise CommandError(str(exc)) from exc
        password = None
        if password_from_env:
            password = os.environ.get(password_from_env)
            if not password:
                raise CommandError(f"The environment variable {password_from_env} is empty.")
        try:
            with transaction.atomic(using=database):
                created = ensure_role(connection, app_role, password)
                grant_app_privileges(connection, app_role)
        except RoleError as exc:
            raise CommandError(str(exc)) from exc
        except DatabaseError as exc:
            # Typically: the role running this may not create roles or owns no table.
            raise CommandError(f"PostgreSQL refused: {exc}".strip()) from exc
        verb = "Created" if created else "Updated"
        self.stdout.write(
            f"{verb} role {app_role}: read and write on every table, "
            "SELECT and INSERT only on the audit trail, owner of nothing."
        )
