"""The application's PostgreSQL role (audit/roles.py, `manage.py setup_database_roles`):
it can append to the audit trail and read it, work every other table, and nothing more.
Whoever holds the application's password cannot rewrite or hide the trail.

Roles belong to the whole PostgreSQL cluster, so each test makes a role named after its
own process and drops it (and what it holds) when done. The grants must be committed for
a second connection to see them: these tests commit, and flush after.
"""

import datetime
import logging
import os
import secrets
from contextlib import suppress
from io import StringIO

import psycopg
import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError
from django.core.management.sql import emit_post_migrate_signal
from django.db import DatabaseError, connection
from django.test import override_settings
from django.utils import timezone
from psycopg import errors, sql

from audit import partitions
from audit.models import Action, AuditEvent
from audit.roles import drop_role
from cases.models import Client, Contact
from tests.cases.factories import ClientFactory

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="SQLite has no roles: the trail relies on its triggers alone there",
)
commits = pytest.mark.django_db(transaction=True, serialized_rollback=True)

PASSWORD_VAR = "CASEBOOK_TEST_APP_ROLE_PASSWORD"


def role_name() -> str:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    return f"casebook_app_test_{worker}_{os.getpid()}"


class AppRole:
    """The role, set up by the command, and connections made as it."""

    def __init__(self, name: str, password: str):
        self.name = name
        self.password = password
        self.connections: list[psycopg.Connection] = []

    def connect(self) -> psycopg.Connection:
        settings = connection.settings_dict
        conn = psycopg.connect(
            host=settings["HOST"] or "127.0.0.1",
            port=settings["PORT"] or 5432,
            dbname=settings["NAME"],
            user=self.name,
            password=self.password,
            autocommit=True,
        )
        self.connections.append(conn)
        return conn

    def close(self):
        for conn in self.connections:
            conn.close()


@pytest.fixture
def app_role(monkeypatch):
    name = role_name()
    password = secrets.token_urlsafe(24)
    monkeypatch.setenv(PASSWORD_VAR, password)
    call_command(
        "setup_database_roles", app_role=name, password_from_env=PASSWORD_VAR, stdout=StringIO()
    )
    role = AppRole(name, password)
    yield role
    role.close()
    with connection.cursor() as cursor:
        cursor.execute("RESET ROLE")
    drop_role(connection, name)


def has_privilege(role: str, table: str, privilege: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT has_table_privilege(%s, %s, %s)", [role, table, privilege])
        return bool(cursor.fetchone()[0])


@pytest.fixture
def event(alice):
    return AuditEvent.objects.create(
        actor=alice, actor_username="alice", action=Action.VIEW, object_type="case"
    )


@pytest.fixture
def partition():
    """This month's partition of the trail, which `event` lands in."""
    partitions.ensure_partitions(months_ahead=0)
    return partitions.partition_name(partitions.month_of(timezone.now()))


@pytest.fixture
def as_app_role(app_role):
    """Django's own connection working as the application's role."""
    with connection.cursor() as cursor:
        cursor.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(app_role.name)))
    yield app_role
    with connection.cursor() as cursor:
        cursor.execute("RESET ROLE")


TRAIL = "audit_auditevent"
DEFAULT_PARTITION = "audit_auditevent_default"
TAMPERING = [
    ("update", "UPDATE audit_auditevent SET action = 'login' WHERE id = {id}"),
    ("delete", "DELETE FROM audit_auditevent WHERE id = {id}"),
    ("truncate", "TRUNCATE audit_auditevent"),
    ("disable triggers", "ALTER TABLE audit_auditevent DISABLE TRIGGER ALL"),
    ("drop trigger", "DROP TRIGGER audit_event_no_update ON audit_auditevent"),
    (
        "replace the trigger's function",
        "CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger AS "
        "$$ BEGIN RETURN NEW; END; $$ LANGUAGE plpgsql",
    ),
    ("drop table", "DROP TABLE audit_auditevent"),
    ("take ownership", "ALTER TABLE audit_auditevent OWNER TO {role}"),
    ("skip triggers", "SET session_replication_role = replica"),
    ("make a table", "CREATE TABLE audit_shadow (id int)"),
    # The partitions (audit/partitions.py): the same, and more ways to lose a month.
    ("update a partition", "UPDATE {partition} SET action = 'login' WHERE id = {id}"),
    ("delete from a partition", "DELETE FROM {partition} WHERE id = {id}"),
    ("truncate a partition", "TRUNCATE {partition}"),
    ("truncate the default partition", f"TRUNCATE {DEFAULT_PARTITION}"),
    ("disable a partition's triggers", "ALTER TABLE {partition} DISABLE TRIGGER ALL"),
    ("drop a partition's trigger", "DROP TRIGGER audit_event_no_update ON {partition}"),
    ("alter a partition", "ALTER TABLE {partition} RENAME TO audit_hidden"),
    ("detach a partition", "ALTER TABLE audit_auditevent DETACH PARTITION {partition}"),
    (
        "detach the default partition",
        f"ALTER TABLE audit_auditevent DETACH PARTITION {DEFAULT_PARTITION}",
    ),
    ("drop a partition", "DROP TABLE {partition}"),
    ("drop the default partition", f"DROP TABLE {DEFAULT_PARTITION}"),
    ("take a partition", "ALTER TABLE {partition} OWNER TO {role}"),
    (
        "add a partition",
        "CREATE TABLE audit_auditevent_y2199m01 PARTITION OF audit_auditevent "
        "FOR VALUES FROM ('2199-01-01') TO ('2199-02-01')",
    ),
]


@commits
class TestTheApplicationRoleCannotTamperWithTheTrail:
    @pytest.mark.parametrize(("what", "statement"), TAMPERING, ids=[t[0] for t in TAMPERING])
    def test_it_is_refused(self, app_role, partition, event, what, statement):
        conn = app_role.connect()
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute(statement.format(id=event.pk, role=app_role.name, partition=partition))
        AuditEvent.objects.get(pk=event.pk, action=Action.VIEW)
        with connection.cursor() as cursor:
            assert partitions.month_of(event.at) in partitions.attached_months(cursor)

    def test_it_cannot_grant_itself_more(self, app_role):
        conn = app_role.connect()
        for grant in ("UPDATE, DELETE, TRUNCATE", "ALL"):
            # PostgreSQL only warns when a role holding some privileges grants one it
            # cannot: what counts is that nothing was granted.
            with suppress(errors.InsufficientPrivilege):
                conn.execute(
                    sql.SQL("GRANT {} ON audit_auditevent TO {}").format(
                        sql.SQL(grant), sql.Identifier(app_role.name)
                    )
                )
        for privilege in ("UPDATE", "DELETE", "TRUNCATE", "TRIGGER", "REFERENCES"):
            assert not has_privilege(app_role.name, TRAIL, privilege), privilege

    def test_it_holds_nothing_on_the_partitions(self, app_role, partition):
        for table in (partition, DEFAULT_PARTITION):
            for privilege in ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "TRIGGER"):
                assert not has_privilege(app_role.name, table, privilege), (table, privilege)

    def test_it_owns_nothing_and_belongs_to_no_role(self, app_role):
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner "
                "WHERE r.rolname = %s",
                [app_role.name],
            )
            assert cursor.fetchone()[0] == 0
            cursor.execute(
                "SELECT rolsuper, rolcreaterole, rolcreatedb, rolbypassrls, rolcanlogin "
                "FROM pg_roles WHERE rolname = %s",
                [app_role.name],
            )
            assert cursor.fetchone() == (False, False, False, False, True)
            cursor.execute(
                "SELECT count(*) FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.member "
                "WHERE r.rolname = %s",
                [app_role.name],
            )
            assert cursor.fetchone()[0] == 0


@commits
class TestTheApplicationRoleDoesItsWork:
    def test_it_appends_to_the_trail_and_reads_it(self, app_role, event):
        conn = app_role.connect()
        added = conn.execute(
            "INSERT INTO audit_auditevent (at, actor_username, action, object_type, "
            "object_id, path, detail) VALUES (now(), '', 'view', 'case', '1', '/', '{}') "
            "RETURNING id"
        ).fetchone()[0]
        seen = {row[0] for row in conn.execute("SELECT id FROM audit_auditevent")}
        assert seen == {event.pk, added}

    def test_it_reads_and_writes_the_other_tables(self, app_role, agency_a):
        client = ClientFactory(agency=agency_a, legal_name="Before")
        conn = app_role.connect()
        columns = ", ".join(f.column for f in Client._meta.concrete_fields if not f.primary_key)
        copy = conn.execute(
            f"INSERT INTO cases_client ({columns}) SELECT {columns} FROM cases_client "  # noqa: S608
            "WHERE id = %s RETURNING id",
            [client.pk],
        ).fetchone()[0]
        conn.execute("UPDATE cases_client SET legal_name = 'After' WHERE id = %s", [client.pk])
        assert conn.execute(
            "SELECT legal_name FROM cases_client WHERE id = %s", [client.pk]
        ).fetchone() == ("After",)
        conn.execute("DELETE FROM cases_client WHERE id = %s", [copy])
        assert list(Client.objects.values_list("pk", "legal_name")) == [(client.pk, "After")]

    def test_the_application_works_under_it(self, app_role, alice, record_contact_for, login):
        with connection.cursor() as cursor:
            cursor.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(app_role.name)))
            cursor.execute("SELECT current_user")
            assert cursor.fetchone() == (app_role.name,)
        contact = record_contact_for(alice)
        page = login(alice)
        assert page.get("/cases/").status_code == 200
        assert page.get(f"/cases/{contact.case_id}/").status_code == 200
        assert page.get("/cases/clients/", {"q": "Jordan"}).status_code == 200
        with connection.cursor() as cursor:
            cursor.execute("RESET ROLE")
        assert Contact.objects.filter(pk=contact.pk).exists()
        viewed = AuditEvent.objects.filter(action=Action.VIEW, object_id=str(contact.case_id))
        assert viewed.exists()

    def test_it_appends_to_a_partition_made_later_which_grants_it_nothing(self, app_role):
        with time_machine.travel(datetime.datetime(2150, 1, 10, tzinfo=datetime.UTC)):
            assert "audit_auditevent_y2150m01" in partitions.ensure_partitions(months_ahead=0)
        try:
            for privilege in ("SELECT", "INSERT", "UPDATE", "DELETE"):
                assert not has_privilege(app_role.name, "audit_auditevent_y2150m01", privilege)
            conn = app_role.connect()
            landed = conn.execute(
                "INSERT INTO audit_auditevent (at, actor_username, action, object_type, "
                "object_id, path, detail) VALUES ('2150-01-15', '', 'view', 'case', '1', '/', "
                "'{}') RETURNING tableoid::regclass::text"
            ).fetchone()[0]
            assert landed == "audit_auditevent_y2150m01"
        finally:
            app_role.close()
            with connection.cursor() as cursor:
                cursor.execute("DROP TABLE audit_auditevent_y2150m01")

    def test_a_table_made_by_a_later_migration_is_granted_too(self, app_role):
        with connection.cursor() as cursor:
            cursor.execute("CREATE TABLE audit_later_table (id bigserial PRIMARY KEY, v int)")
        try:
            conn = app_role.connect()
            conn.execute("INSERT INTO audit_later_table (v) VALUES (1)")
            conn.execute("UPDATE audit_later_table SET v = 2")
            assert conn.execute("SELECT v FROM audit_later_table").fetchall() == [(2,)]
            conn.execute("DELETE FROM audit_later_table")
            with pytest.raises(errors.InsufficientPrivilege):
                conn.execute("TRUNCATE audit_later_table")
        finally:
            app_role.close()
            with connection.cursor() as cursor:
                cursor.execute("DROP TABLE audit_later_table")


@commits
class TestPartitionsUnderTheApplicationRole:
    """A worker connected as the application's role: the daily task cannot make the
    months ahead, so it checks them, loudly, and recording an event never fails."""

    FAR = datetime.datetime(2151, 3, 10, tzinfo=datetime.UTC)

    def test_the_daily_task_only_checks_and_logs_what_the_owner_must_do(
        self, as_app_role, alice, caplog
    ):
        with (
            time_machine.travel(self.FAR),
            caplog.at_level(logging.ERROR, logger="audit.partitions"),
        ):
            assert partitions.top_up() == []
            event = AuditEvent.objects.create(actor=alice, action=Action.VIEW)
            partitions.top_up()
        assert "monthly partitions for 0 month(s)" in caplog.text
        assert "2151-03 (1)" in caplog.text
        assert "ensure_audit_partitions --move-default" in caplog.text
        with connection.cursor() as cursor:
            cursor.execute("RESET ROLE")
            cursor.execute("SELECT to_regclass('audit_auditevent_y2151m03')")
            assert cursor.fetchone() == (None,)
        assert AuditEvent.objects.get(pk=event.pk).at.year == 2151

    def test_postgresql_refuses_it_the_partitions(self, as_app_role):
        with time_machine.travel(self.FAR), pytest.raises(DatabaseError):
            partitions.ensure_partitions(months_ahead=0)

    @pytest.mark.parametrize("command", ["ensure_audit_partitions", "archive_audit_partitions"])
    def test_the_commands_ask_for_the_owner(self, as_app_role, command):
        with pytest.raises(CommandError, match="Only the owner"):
            call_command(command, stdout=StringIO())


@commits
class TestSetupDatabaseRolesCommand:
    def test_a_second_run_changes_nothing_and_takes_back_what_was_added(self, app_role):
        with connection.cursor() as cursor:
            cursor.execute(
                sql.SQL("GRANT UPDATE, DELETE, TRUNCATE ON audit_auditevent TO {}").format(
                    sql.Identifier(app_role.name)
                )
            )
        out = StringIO()
        call_command("setup_database_roles", app_role=app_role.name, stdout=out)
        assert out.getvalue().startswith(f"Updated role {app_role.name}")
        for privilege in ("UPDATE", "DELETE", "TRUNCATE"):
            assert not has_privilege(app_role.name, TRAIL, privilege), privilege
        assert has_privilege(app_role.name, TRAIL, "INSERT")
        assert has_privilege(app_role.name, "cases_client", "UPDATE")

    def test_migrate_grants_again_when_the_role_is_configured(self, app_role, partition):
        with connection.cursor() as cursor:
            # As a migration that rebuilt the tables would leave them.
            cursor.execute(
                sql.SQL(
                    "REVOKE ALL ON cases_client FROM {0}; GRANT ALL ON {1} TO {0}; "
                    "GRANT ALL ON {2} TO {0}"
                ).format(
                    sql.Identifier(app_role.name),
                    sql.Identifier(TRAIL),
                    sql.Identifier(partition),
                )
            )
        assert not has_privilege(app_role.name, "cases_client", "SELECT")
        with override_settings(DATABASE_APP_ROLE=app_role.name):
            # What `migrate` sends once every app's migrations have run.
            emit_post_migrate_signal(verbosity=0, interactive=False, db="default")
        assert has_privilege(app_role.name, "cases_client", "SELECT")
        assert not has_privilege(app_role.name, TRAIL, "TRUNCATE")
        assert not has_privilege(app_role.name, TRAIL, "UPDATE")
        assert not has_privilege(app_role.name, partition, "DELETE")

    def test_migrate_leaves_roles_alone_when_none_is_configured(self, app_role):
        with connection.cursor() as cursor:
            cursor.execute(
                sql.SQL("REVOKE ALL ON cases_client FROM {}").format(sql.Identifier(app_role.name))
            )
        with override_settings(DATABASE_APP_ROLE=""):
            emit_post_migrate_signal(verbosity=0, interactive=False, db="default")
        assert not has_privilege(app_role.name, "cases_client", "SELECT")


class TestSetupDatabaseRolesRefusals:
    @pytest.mark.parametrize(
        ("arguments", "message"),
        [
            ({"app_role": "Robert'); DROP"}, "not a usable role name"),
            ({"app_role": ""}, "Name the role"),
            ({"app_role": "casebook_x", "password_from_env": "CASEBOOK_UNSET_VAR"}, "is empty"),
        ],
    )
    def test_bad_arguments_are_refused_clearly(self, monkeypatch, arguments, message):
        monkeypatch.delenv("CASEBOOK_UNSET_VAR", raising=False)
        with pytest.raises(CommandError, match=message):
            call_command("setup_database_roles", stdout=StringIO(), **arguments)
