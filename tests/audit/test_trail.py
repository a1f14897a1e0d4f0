"""The trail the agency admin browses cannot be rewritten: not through the ORM, and on
PostgreSQL not through raw SQL either (trigger in audit/migrations/0002)."""

import pytest
from django.db import DatabaseError, connection, transaction

from audit.models import Action, AuditEvent
from audit.services import record


@pytest.fixture
def trail(alice, dana):
    return [
        record(actor=alice, action=Action.VIEW, object_type="case", object_id=1, client_id=9),
        record(actor=dana, action=Action.VIEW, object_type="audit_trail"),
    ]


@pytest.mark.django_db
class TestTrailThroughTheOrm:
    def test_a_bulk_update_raises_type_error(self, trail, dana):
        with pytest.raises(TypeError):
            AuditEvent.objects.for_agency(dana.agency).update(actor_username="someone-else")
        assert AuditEvent.objects.get(pk=trail[0].pk).actor_username == "alice"

    def test_a_bulk_delete_raises_type_error(self, trail, dana):
        with pytest.raises(TypeError):
            AuditEvent.objects.filter(actor_username="alice").delete()
        assert AuditEvent.objects.filter(pk=trail[0].pk).exists()

    def test_saving_a_changed_event_raises_type_error(self, trail):
        event = AuditEvent.objects.get(pk=trail[0].pk)
        event.client_id = 10
        with pytest.raises(TypeError):
            event.save()
        assert AuditEvent.objects.get(pk=event.pk).client_id == 9

    def test_deleting_one_event_raises_type_error(self, trail):
        with pytest.raises(TypeError):
            trail[0].delete()
        assert AuditEvent.objects.filter(pk=trail[0].pk).exists()


@pytest.mark.django_db
class TestTrailInThePostgresqlDatabase:
    @pytest.fixture(autouse=True)
    def postgresql_only(self):
        if connection.vendor != "postgresql":
            pytest.skip("the append-only trigger under test is PostgreSQL's")

    @pytest.mark.parametrize(
        "sql",
        [
            "UPDATE audit_auditevent SET actor_username = 'someone-else' WHERE id = %s",
            "UPDATE audit_auditevent SET client_id = NULL WHERE id = %s",
            "DELETE FROM audit_auditevent WHERE id = %s",
        ],
    )
    def test_raw_sql_changes_are_refused_by_the_trigger(self, trail, sql):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql, [trail[0].pk])
        event = AuditEvent.objects.get(pk=trail[0].pk)
        assert (event.actor_username, event.client_id) == ("alice", 9)

    def test_inserting_still_works_after_a_refusal(self, trail, alice):
        with (
            pytest.raises(DatabaseError),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute("DELETE FROM audit_auditevent")
        record(actor=alice, action=Action.VIEW, object_type="case", object_id=2)
        assert AuditEvent.objects.count() == len(trail) + 1
