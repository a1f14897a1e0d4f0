"""The audit trail partitioned by month on PostgreSQL (migration 0005, audit/partitions.py):
rows land in their UTC month's partition, or the DEFAULT partition rather than failing;
the rows stay append-only on every partition; months are created ahead idempotently;
browsing reads only the months a date range names, by index; and the months past the
retention period are detached, then dropped only when asked again.

Partition changes here happen inside each test's transaction and are rolled back with it.
The application's role (which may create, detach or drop none) is tested in
test_database_roles.py."""

import datetime
import json
import logging
from io import StringIO

import psycopg
import pytest
import time_machine
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.core.management.sql import emit_post_migrate_signal
from django.db import DatabaseError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse

from audit import partitions
from audit.forms import TrailFilterForm
from audit.models import Action, AuditEvent
from audit.services import record
from audit.tasks import top_up_partitions

pytestmark = pytest.mark.django_db
postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="SQLite keeps the audit trail in one plain table: it has no partitions",
)

UTC = datetime.UTC


def at(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime.datetime:
    return datetime.datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def partition_of(event: AuditEvent) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tableoid::regclass::text FROM audit_auditevent WHERE id = %s", [event.pk]
        )
        return cursor.fetchone()[0]


def exists(table: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [table])
        return cursor.fetchone()[0]


def is_attached(table: str) -> bool:
    with connection.cursor() as cursor:
        return partitions.month_of_partition(table) in partitions.attached_months(cursor)


def months_ahead_from(instant: datetime.datetime, months: int) -> None:
    """The partitions `migrate` would have made at `instant`, `months` months ahead."""
    with time_machine.travel(instant, tick=False):
        partitions.ensure_partitions(months)


def record_at(instant: datetime.datetime, actor) -> AuditEvent:
    with time_machine.travel(instant, tick=False):
        return record(actor=actor, action=Action.VIEW, object_type="case", object_id=1)


@postgresql_only
class TestTheTable:
    def test_it_is_partitioned_by_range_of_at_with_a_default_partition(self):
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_get_partkeydef('audit_auditevent'::regclass), "
                "pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid = 'audit_auditevent'::regclass AND contype = 'p'"
            )
            assert cursor.fetchone() == ("RANGE (at)", "PRIMARY KEY (id, at)")
            assert partitions.default_partition(cursor) is not None

    def test_every_index_of_the_model_is_on_the_partitioned_table(self):
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                "WHERE i.indrelid = 'audit_auditevent'::regclass"
            )
            names = {name for (name,) in cursor.fetchall()}
        assert {index.name for index in AuditEvent._meta.indexes} <= names

    def test_a_new_partition_has_the_indexes_foreign_keys_and_trigger(self):
        months_ahead_from(at(2041, 3, 10), 0)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT (SELECT count(*) FROM pg_index WHERE indrelid = %(t)s::regclass), "
                "(SELECT count(*) FROM pg_constraint WHERE conrelid = %(t)s::regclass "
                "AND contype = 'f'), (SELECT count(*) FROM pg_trigger WHERE tgrelid = "
                "%(t)s::regclass AND tgname = 'audit_event_no_update' AND tgenabled = 'O')",
                {"t": "audit_auditevent_y2041m03"},
            )
            # The primary key, the model's four indexes and the two foreign keys' own.
            assert cursor.fetchone() == (7, 2, 1)


@postgresql_only
class TestTheMigration:
    def relkind(self) -> str:
        with connection.cursor() as cursor:
            cursor.execute("SELECT relkind FROM pg_class WHERE oid = 'audit_auditevent'::regclass")
            return cursor.fetchone()[0]

    def migrate(self, target: str) -> None:
        executor = MigrationExecutor(connection)
        executor.migrate([("audit", target)])

    def test_it_keeps_every_row_and_id_both_ways_and_ids_go_on_counting(self, alice):
        old = record_at(at(2024, 3, 5, 12, 0), alice)
        new = record(actor=alice, action=Action.VIEW, object_type="case", object_id=2)
        rows = list(AuditEvent.objects.order_by("pk").values())
        with connection.cursor() as cursor:
            # Their foreign keys checked now, as they are once their transaction committed.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")

        self.migrate("0004_merge_action")
        assert self.relkind() == "r"
        assert list(AuditEvent.objects.order_by("pk").values()) == rows

        self.migrate("0005_partition_by_month")
        assert self.relkind() == "p"
        assert list(AuditEvent.objects.order_by("pk").values()) == rows
        # From the oldest row's month on, a partition each.
        assert partition_of(old) == "audit_auditevent_y2024m03"
        assert partition_of(new) == partitions.partition_name(partitions.month_of(new.at))
        with connection.cursor() as cursor:
            assert partitions.add_months(partitions.month_of(old.at), 1) in (
                partitions.attached_months(cursor)
            )
        after = record(actor=alice, action=Action.VIEW, object_type="case", object_id=3)
        assert after.pk > new.pk
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [old.pk])


@postgresql_only
class TestWhereRowsLand:
    def test_each_in_its_utc_months_partition(self, alice):
        months_ahead_from(at(2031, 2, 15), 1)
        # 1 March 00:00 UTC is still February in the agency's zone: the partition is UTC's.
        last_of_february = record_at(at(2031, 2, 28, 23, 59, 59), alice)
        first_of_march = record_at(at(2031, 3, 1, 0, 0), alice)
        assert partition_of(last_of_february) == "audit_auditevent_y2031m02"
        assert partition_of(first_of_march) == "audit_auditevent_y2031m03"

    def test_ids_keep_counting_and_each_row_is_found_by_its_id(self, alice):
        first = record(actor=alice, action=Action.VIEW, object_type="case", object_id=1)
        second = record(actor=alice, action=Action.VIEW, object_type="case", object_id=2)
        assert second.pk > first.pk
        assert AuditEvent.objects.get(pk=second.pk).object_id == "2"

    def test_a_row_no_month_covers_lands_in_the_default_partition_rather_than_failing(self, alice):
        far = record_at(at(2090, 6, 15, 12, 0), alice)
        assert partition_of(far) == "audit_auditevent_default"
        assert AuditEvent.objects.filter(pk=far.pk).exists()
        assert any("2090-06 (1)" in problem for problem in partitions.problems())


@postgresql_only
class TestRowsStayAppendOnlyOnEveryPartition:
    @pytest.mark.parametrize(
        "statement",
        [
            "UPDATE {table} SET actor_username = 'someone-else' WHERE id = %s",
            "DELETE FROM {table} WHERE id = %s",
        ],
    )
    @pytest.mark.parametrize(
        "instant", [at(2031, 2, 15), at(2090, 6, 15)], ids=["month", "default"]
    )
    def test_the_trigger_refuses_changes_made_on_the_partition_itself(
        self, alice, statement, instant
    ):
        months_ahead_from(at(2031, 2, 15), 0)
        event = record_at(instant, alice)
        table = partition_of(event)
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement.format(table=table), [event.pk])
        assert AuditEvent.objects.get(pk=event.pk).actor_username == "alice"


@postgresql_only
class TestEnsurePartitions:
    def test_it_creates_this_month_and_the_next_ones_then_nothing_more(self):
        with time_machine.travel(at(2040, 5, 10), tick=False):
            created = partitions.ensure_partitions(months_ahead=2)
            assert created == [
                "audit_auditevent_y2040m05",
                "audit_auditevent_y2040m06",
                "audit_auditevent_y2040m07",
            ]
            assert partitions.ensure_partitions(months_ahead=2) == []
            assert partitions.problems() == []
        assert all(is_attached(name) for name in created)

    def test_a_month_whose_events_wait_in_the_default_partition_is_left_until_moved(self, alice):
        months_ahead_from(at(2040, 5, 10), 0)
        waiting = record_at(at(2040, 7, 3), alice)
        with time_machine.travel(at(2040, 5, 10), tick=False):
            created = partitions.ensure_partitions(months_ahead=2)
            assert created == ["audit_auditevent_y2040m06"]
            assert "2040-07 (1)" in " ".join(partitions.problems())
            with connection.cursor() as cursor:
                # Its foreign keys checked now, as they are once its transaction committed.
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            moved = partitions.move_default_rows()
            assert moved == {"audit_auditevent_y2040m07": 1}
            assert partitions.problems() == []
        assert partition_of(waiting) == "audit_auditevent_y2040m07"
        assert AuditEvent.objects.get(pk=waiting.pk).actor_username == "alice"
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT tgrelid::regclass::text, tgenabled FROM pg_trigger "
                "WHERE tgname = 'audit_event_no_update' AND tgrelid = ANY(%s::regclass[])",
                [["audit_auditevent_default", "audit_auditevent_y2040m07"]],
            )
            assert dict(cursor.fetchall()) == {
                "audit_auditevent_default": "O",
                "audit_auditevent_y2040m07": "O",
            }

    def test_a_missing_default_partition_is_made_again(self):
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE audit_auditevent DETACH PARTITION audit_auditevent_default")
            cursor.execute("DROP TABLE audit_auditevent_default")
        assert any("no DEFAULT partition" in problem for problem in partitions.problems())
        assert "audit_auditevent_default" in partitions.ensure_partitions(months_ahead=0)
        with connection.cursor() as cursor:
            assert partitions.default_partition(cursor) is not None

    def test_it_waits_only_so_long_for_a_busy_table(self, monkeypatch, caplog):
        monkeypatch.setattr(partitions, "LOCK_TIMEOUT", "100ms")
        other = psycopg.connect(
            host=connection.settings_dict["HOST"] or "127.0.0.1",
            port=connection.settings_dict["PORT"] or 5432,
            dbname=connection.settings_dict["NAME"],
            user=connection.settings_dict["USER"],
            password=connection.settings_dict["PASSWORD"],
            autocommit=True,
        )
        try:
            # As another process making partitions would hold it.
            other.execute("SELECT pg_advisory_lock(%s)", [partitions.ADVISORY_LOCK])
            with time_machine.travel(at(2040, 5, 10), tick=False):
                with pytest.raises(DatabaseError, match="lock timeout"):
                    partitions.ensure_partitions(months_ahead=0)
                # What `migrate` and the daily task run: logged, never raised.
                with caplog.at_level(logging.ERROR, logger="audit.partitions"):
                    assert partitions.top_up() == []
        finally:
            other.close()
        assert "Could not create or check the audit trail's partitions" in caplog.text
        assert not exists("audit_auditevent_y2040m05")

    def test_migrate_and_the_daily_task_top_up_a_year_ahead(self):
        with time_machine.travel(at(2042, 3, 10), tick=False):
            emit_post_migrate_signal(verbosity=0, interactive=False, db="default")
            assert exists("audit_auditevent_y2043m03")
        with time_machine.travel(at(2043, 1, 10), tick=False):
            assert top_up_partitions() == [
                partitions.partition_name(partitions.add_months(datetime.date(2043, 4, 1), n))
                for n in range(10)
            ]
        entry = settings.CELERY_BEAT_SCHEDULE["audit-partitions"]
        assert entry == {"task": "audit.tasks.top_up_partitions", "schedule": 60.0 * 60 * 24}

    def test_the_check_fails_when_few_months_are_left(self):
        with time_machine.travel(at(2044, 8, 1), tick=False):
            with pytest.raises(CommandError, match="monthly partitions for 0 month"):
                call_command("ensure_audit_partitions", check=True, stdout=StringIO())
            out = StringIO()
            call_command("ensure_audit_partitions", months_ahead=3, stdout=out)
            assert "Created audit_auditevent_y2044m11." in out.getvalue()
            call_command("ensure_audit_partitions", check=True, stdout=out)
        assert out.getvalue().endswith("The audit trail's partitions are in order.\n")


@postgresql_only
class TestBrowsing:
    @pytest.fixture
    def two_months(self, alice):
        months_ahead_from(at(2031, 2, 15), 1)
        return [
            record_at(at(2031, 2, 11, 18, 0), alice),
            record_at(at(2031, 3, 20, 18, 0), alice),
        ]

    def test_the_audit_page_reads_across_partitions_and_by_dates(self, login, dana, two_months):
        page = login(dana)
        ours = {event.pk for event in two_months}
        events = page.get(reverse("audit:trail")).context["events"]
        assert [event.pk for event in events if event.pk in ours] == [
            two_months[1].pk,
            two_months[0].pk,
        ]
        response = page.get(
            reverse("audit:trail"), {"date_from": "2031-02-10", "date_to": "2031-02-12"}
        )
        assert [e.pk for e in response.context["events"]] == [two_months[0].pk]

    def test_the_admin_lists_drills_down_by_date_and_opens_one_event(self, login, root, two_months):
        page = login(root)
        listing = page.get("/admin/audit/auditevent/")
        assert listing.status_code == 200
        february = page.get("/admin/audit/auditevent/", {"at__year": 2031, "at__month": 2})
        assert [e.pk for e in february.context["cl"].result_list] == [two_months[0].pk]
        one = page.get(f"/admin/audit/auditevent/{two_months[1].pk}/change/")
        assert one.status_code == 200

    @pytest.fixture
    def busy_february(self, dana, two_months):
        """A month of events every ten minutes, one in twenty of dana's agency, the others
        of none (sign-ins refused), and the planner's statistics of it."""
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO audit_auditevent (at, actor_username, action, object_type, "
                "object_id, path, detail, agency_id) SELECT timestamptz '2031-02-01 00:00+00' "
                "+ n * interval '10 minutes', '', 'view', 'case', '', '/', '{}', "
                "CASE WHEN n %% 20 = 0 THEN %s END FROM generate_series(0, 3999) n",
                [dana.agency_id],
            )
            cursor.execute("ANALYZE audit_auditevent_y2031m02")

    def test_the_pages_query_for_an_agency_and_dates_reads_only_their_months_by_index(
        self, dana, busy_february
    ):
        form = TrailFilterForm({"date_from": "2031-02-10", "date_to": "2031-02-12"})
        assert form.is_valid()
        events = form.filter(AuditEvent.objects.for_agency(dana.agency).order_by("-at", "-id"))
        plan = plan_nodes(events[:50])
        # Which of the month's indexes is the cheapest depends on its size; at a few thousand
        # rows it is not the (agency, at) one that a month of millions would take.
        assert {relation for _, relation, _ in plan if relation} == {"audit_auditevent_y2031m02"}
        assert all(
            index.startswith("audit_auditevent_y2031m02_agency_id") for _, _, index in plan if index
        )
        assert "Seq Scan" not in {node for node, _, _ in plan}

    def test_without_dates_every_month_is_read_by_index(self, dana, busy_february):
        events = AuditEvent.objects.for_agency(dana.agency).order_by("-at", "-id")
        plan = plan_nodes(events[:50])
        assert "audit_auditevent_default" in {relation for _, relation, _ in plan}
        assert "Seq Scan" not in {node for node, _, _ in plan}

    def test_the_admins_list_of_every_agency_reads_the_newest_month_first_by_index(
        self, busy_february
    ):
        plan = plan_nodes(AuditEvent.objects.order_by("-at", "-id")[:100])
        nodes = {node for node, _, _ in plan}
        # Each month's (at, id) index read backwards and merged: nothing sorted, nothing read
        # whole, whatever the rows (an Append month after month is not possible beside a
        # DEFAULT partition, which may hold any month).
        assert "Sort" not in nodes
        assert "Seq Scan" not in nodes
        assert all(index.endswith("_at_id_idx") for _, _, index in plan if index)


def plan_nodes(queryset) -> list[tuple[str, str, str]]:
    """(node type, relation, index) of each node of the query's plan. On a few rows a
    sequential scan is cheapest; the planner is told what millions of rows would tell it
    (tests/casework/test_query_plans.py)."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        plan = json.loads(queryset.explain(format="json"))
    nodes = []

    def walk(node):
        nodes.append((node["Node Type"], node.get("Relation Name", ""), node.get("Index Name", "")))
        for child in node.get("Plans", []):
            walk(child)

    walk(plan[0]["Plan"])
    return nodes


@postgresql_only
class TestArchiving:
    """At 10 May 2011, six years back is May 2005: April 2005 and before may go. (In the
    past, so that no month the test database was made with is old enough to go.)"""

    NOW = at(2011, 5, 10, 3, 30)

    @pytest.fixture
    def old_months(self, alice):
        months_ahead_from(at(2005, 2, 10), 3)
        months_ahead_from(self.NOW, 0)
        event = record_at(at(2005, 2, 20), alice)
        with connection.cursor() as cursor:
            # Its foreign keys checked now, as they are once its transaction committed.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        return event

    def archive(self, **options) -> str:
        out = StringIO()
        with time_machine.travel(self.NOW, tick=False):
            call_command("archive_audit_partitions", stdout=out, **options)
        return out.getvalue()

    @pytest.mark.parametrize("before", ["2005-06", "2011-05", "2012-01"])
    def test_it_refuses_a_month_inside_the_retention_period(self, old_months, before):
        with pytest.raises(CommandError, match="inside the retention period"):
            self.archive(before=before)
        with pytest.raises(CommandError, match="inside the retention period"):
            self.archive(before=before, drop=True)
        assert is_attached("audit_auditevent_y2005m05")

    def test_it_detaches_the_old_months_and_says_how_to_dump_and_drop_them(self, old_months):
        out = self.archive(before="2005-04")
        assert "Detached audit_auditevent_y2005m02 (1 events)" in out
        assert "Detached audit_auditevent_y2005m03 (0 events)" in out
        assert (
            "pg_dump --format=custom --table=public.audit_auditevent_y2005m02 "
            "--file=audit_auditevent_y2005m02.dump" in out
        )
        assert "archive_audit_partitions --before 2005-04 --drop" in out
        assert not is_attached("audit_auditevent_y2005m02")
        assert is_attached("audit_auditevent_y2005m04")
        assert is_attached("audit_auditevent_y2005m05")
        # Out of the trail, still in the database, still append-only.
        assert not AuditEvent.objects.filter(pk=old_months.pk).exists()
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute("DELETE FROM audit_auditevent_y2005m02")

    def test_by_default_it_takes_every_month_before_the_retention_period(self, old_months):
        out = self.archive()
        assert "audit_auditevent_y2005m04" in out
        assert is_attached("audit_auditevent_y2005m05")

    def test_it_drops_only_months_detached_by_an_earlier_run(self, old_months):
        assert "No detached month" in self.archive(before="2005-04", drop=True)
        assert is_attached("audit_auditevent_y2005m02")
        self.archive(before="2005-03")
        out = self.archive(before="2005-05", drop=True)
        assert out == "Dropped audit_auditevent_y2005m02.\n"
        assert not exists("audit_auditevent_y2005m02")
        assert is_attached("audit_auditevent_y2005m03")

    def test_a_bad_month_is_refused(self):
        with pytest.raises(CommandError, match="YYYY-MM"):
            self.archive(before="2005-13")


@pytest.mark.skipif(
    connection.vendor != "sqlite",
    reason="the SQLite path (PostgreSQL partitions the trail: tested above)",
)
class TestOnSqlite:
    def test_there_is_nothing_to_create_check_or_archive(self, alice):
        event = record(actor=alice, action=Action.VIEW, object_type="case", object_id=1)
        assert partitions.top_up() == []
        assert partitions.ensure_partitions() == []
        assert partitions.problems() == []
        assert partitions.move_default_rows() == {}
        assert AuditEvent.objects.get(pk=event.pk).object_id == "1"

    @pytest.mark.parametrize("command", ["ensure_audit_partitions", "archive_audit_partitions"])
    def test_the_commands_say_so(self, command):
        with pytest.raises(CommandError, match="not partitioned on this sqlite database"):
            call_command(command, stdout=StringIO())
