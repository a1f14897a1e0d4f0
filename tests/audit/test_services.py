import pytest
from django.db import DatabaseError, connection, transaction

from audit.models import Action, AuditEvent
from audit.services import record


class TestAuditTrailIsAppendOnly:
    def test_the_model_refuses_changes_and_deletion(self, alice):
        event = record(actor=alice, action=Action.VIEW, object_type="case", object_id=1)
        with pytest.raises(TypeError):
            event.save()
        with pytest.raises(TypeError):
            event.delete()
        with pytest.raises(TypeError):
            AuditEvent.objects.filter(pk=event.pk).update(action=Action.LOGIN)
        with pytest.raises(TypeError):
            AuditEvent.objects.filter(pk=event.pk).delete()

    def test_the_database_refuses_changes_and_deletion(self, alice):
        event = record(actor=alice, action=Action.VIEW, object_type="case", object_id=1)
        for sql in (
            "UPDATE audit_auditevent SET action = 'login' WHERE id = %s",
            "DELETE FROM audit_auditevent WHERE id = %s",
        ):
            with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(sql, [event.pk])
        assert AuditEvent.objects.get(pk=event.pk).action == Action.VIEW

    def test_it_records_who_what_and_the_agency(self, alice):
        event = record(actor=alice, action=Action.SEARCH, object_type="client", detail={"q": "x"})
        assert event.actor_username == "alice"
        assert event.agency_id == alice.agency_id


class TestSignInIsAudited:
    def test_login_failure_and_logout_are_recorded(self, client, alice):
        client.post("/accounts/login/", {"username": "alice", "password": "wrong"})
        client.post("/accounts/login/", {"username": "alice", "password": "pw-for-tests"})
        client.post("/accounts/logout/")
        actions = list(AuditEvent.objects.order_by("pk").values_list("action", flat=True))
        assert actions == [Action.LOGIN_FAILED, Action.LOGIN, Action.LOGOUT]
        failed = AuditEvent.objects.get(action=Action.LOGIN_FAILED)
        assert failed.detail == {"username": "alice"}
        assert failed.ip_address == "127.0.0.1"


class TestBruteForceProtection:
    def test_five_failures_lock_the_account_even_with_the_right_password(self, client, alice):
        for _ in range(5):
            client.post("/accounts/login/", {"username": "alice", "password": "wrong"})
        response = client.post(
            "/accounts/login/", {"username": "alice", "password": "pw-for-tests"}
        )
        assert response.status_code == 429
        assert b"Too many failed log-in attempts" in response.content
        assert "_auth_user_id" not in client.session


class TestDetailIsAlwaysStorable:
    def test_nul_characters_are_dropped_from_the_detail(self, alice):
        event = record(actor=alice, action=Action.SEARCH, detail={"q": "a\x00b", "list": ["\x00"]})
        event.refresh_from_db()
        assert event.detail == {"q": "ab", "list": [""]}
