"""The application's own PostgreSQL role: it reads and writes the tables and appends to
the audit trail, and can do nothing else.

The role that runs the migrations owns every table. The role the application connects
as owns nothing, so it cannot TRUNCATE, ALTER, disable or drop the audit table's trigger,
drop a table or grant anything; on the audit table it may only SELECT and INSERT, so a
leaked application password cannot rewrite the trail. It holds nothing on the audit
table's monthly partitions (audit/partitions.py), which it reads and writes through the
audit table, nor on the months detached for archiving. SQLite has no roles: there the
trail relies on the model and its triggers alone.
"""

import re

from django.db.backends.base.base import BaseDatabaseWrapper

from audit.models import AuditEvent
from audit.partitions import audit_tables

ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
TABLE_GRANTS = "SELECT, INSERT, UPDATE, DELETE"
AUDIT_GRANTS = "SELECT, INSERT"
SEQUENCE_GRANTS = "USAGE, SELECT"


class RoleError(Exception):
    """A role that cannot be set up as asked (the message says why)."""


def check_role_name(name: str) -> str:
    if not ROLE_NAME.match(name):
        raise RoleError(
            f"{name!r} is not a usable role name: lower-case letters, digits and _, "
            "not starting with a digit, at most 63 characters."
        )
    return name


def role_exists(connection: BaseDatabaseWrapper, name: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [name])
        return cursor.fetchone() is not None


def current_role(connection: BaseDatabaseWrapper) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        row = cursor.fetchone()
    return str(row[0]) if row else ""


def ensure_role(connection: BaseDatabaseWrapper, name: str, password: str | None) -> bool:
    """Create the login role `name`, or bring an existing one back to no privileges of its
    own (no superuser, no CREATEROLE, no membership of any role). True when created."""
    role = connection.ops.quote_name(check_role_name(name))
    created = not role_exists(connection, name)
    attributes = "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT"
    with connection.cursor() as cursor:
        cursor.execute(f"{'CREATE' if created else 'ALTER'} ROLE {role} {attributes}")
        if password is not None:
            # Bound on the client side (Django's psycopg cursor), quoted as a literal.
            cursor.execute(f"ALTER ROLE {role} PASSWORD %s", [password])  # noqa: S608
        cursor.execute(
            "SELECT r.rolname FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid "
            "JOIN pg_roles u ON u.oid = m.member WHERE u.rolname = %s",
            [name],
        )
        for (granted,) in cursor.fetchall():
            cursor.execute(f"REVOKE {connection.ops.quote_name(granted)} FROM {role}")
    return created


def grant_app_privileges(connection: BaseDatabaseWrapper, name: str) -> None:
    """Revoke everything `name` holds in this database's schema, then grant exactly what
    the application needs: SELECT, INSERT, UPDATE, DELETE on every table but the audit
    trail's (SELECT and INSERT only) and its partitions' (nothing), USAGE and SELECT on
    every sequence. Default privileges give tables that later migrations create (as the
    role running this) the same; a new partition is stripped of them as it is made. Run as
    the role that owns the tables; idempotent."""
    role = connection.ops.quote_name(check_role_name(name))
    if current_role(connection) == name:
        raise RoleError(f"Run this as the role that owns the tables, not as {name}.")
    database = connection.ops.quote_name(str(connection.settings_dict["NAME"]))
    audit_table = connection.ops.quote_name(AuditEvent._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_schema()")
        row = cursor.fetchone()
        schema = connection.ops.quote_name(str(row[0]) if row else "public")
        partitions = [connection.ops.quote_name(table) for table in audit_tables(cursor)]
        statements = [
            f"REVOKE ALL ON DATABASE {database} FROM {role}",
            f"GRANT CONNECT, TEMPORARY ON DATABASE {database} TO {role}",
            f"REVOKE ALL ON SCHEMA {schema} FROM {role}",
            f"GRANT USAGE ON SCHEMA {schema} TO {role}",
            f"REVOKE ALL ON ALL TABLES IN SCHEMA {schema} FROM {role}",
            f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {schema} FROM {role}",
            f"GRANT {TABLE_GRANTS} ON ALL TABLES IN SCHEMA {schema} TO {role}",
            f"REVOKE UPDATE, DELETE ON {audit_table} FROM {role}",
            *(f"REVOKE ALL ON {partition} FROM {role}" for partition in partitions),
            f"GRANT {SEQUENCE_GRANTS} ON ALL SEQUENCES IN SCHEMA {schema} TO {role}",
            f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT {TABLE_GRANTS} ON TABLES TO {role}",
            f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} "
            f"GRANT {SEQUENCE_GRANTS} ON SEQUENCES TO {role}",
        ]
        for statement in statements:
            cursor.execute(statement)


def drop_role(connection: BaseDatabaseWrapper, name: str) -> None:
    """Remove `name` and what it holds in this database (its grants and default
    privileges). A role with privileges in another database must be dropped there too."""
    if not role_exists(connection, name):
        return
    role = connection.ops.quote_name(check_role_name(name))
    with connection.cursor() as cursor:
        cursor.execute(f"DROP OWNED BY {role}")
        cursor.execute(f"DROP ROLE {role}")
