import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from audit.models import Action, AuditEvent
from cases import services
from cases.models import Case, CaseEventKind, CaseStatus
from tests.cases.factories import CaseFactory, ClientFactory
from tests.conftest import new_client


def reassign_url(case):
    return reverse("supervision:reassign_case", args=[case.pk])


CASELOAD_URL = reverse("supervision:reassign_caseload")


@pytest.mark.django_db
class TestReassignCase:
    def test_the_form_offers_the_supervised_teams_active_workers(
        self, login, sam, alice, bob, erin, carol, alice_case
    ):
        response = login(sam).get(reassign_url(alice_case))
        assert response.status_code == 200
        choices = set(response.context["form"].fields["to_worker"].queryset)
        # alice already has the case; erin and carol are outside sam's teams.
        assert choices == {bob}

    def test_a_deactivated_worker_is_not_offered(self, login, sam, bob, alice_case):
        bob.is_active = False
        bob.save()
        response = login(sam).get(reassign_url(alice_case))
        assert list(response.context["form"].fields["to_worker"].queryset) == []

    def test_supervisor_reassigns_the_case(self, login, sam, alice, bob, alice_case):
        response = login(sam).post(reassign_url(alice_case), {"to_worker": bob.pk})
        assert response.status_code == 302
        assert response.url == reverse("casework:case_detail", args=[alice_case.pk])
        alice_case.refresh_from_db()
        assert alice_case.assigned_worker == bob
        assert not Case.objects.filter(assigned_worker=alice, status=CaseStatus.OPEN).exists()
        event = alice_case.events.get(kind=CaseEventKind.REASSIGNED)
        assert event.actor == sam
        assert event.detail["from_worker"] == alice.pk
        assert event.detail["to_worker"] == bob.pk
        audit_row = AuditEvent.objects.get(action=Action.REASSIGN, object_id=str(alice_case.pk))
        assert audit_row.actor == sam
        assert audit_row.client_id == alice_case.client_id
        messages = [str(m) for m in get_messages(response.wsgi_request)]
        assert messages == [f"Case reassigned to {bob}."]

    @pytest.mark.parametrize("outsider", ["carol", "erin"])
    def test_a_worker_outside_the_teams_is_a_form_error(
        self, login, request, sam, alice, alice_case, outsider
    ):
        worker = request.getfixturevalue(outsider)
        response = login(sam).post(reassign_url(alice_case), {"to_worker": worker.pk})
        assert response.status_code == 200
        assert response.context["form"].errors["to_worker"]
        alice_case.refresh_from_db()
        assert alice_case.assigned_worker == alice
        assert not AuditEvent.objects.filter(action=Action.REASSIGN).exists()

    @pytest.mark.parametrize("value", ["", "not-a-number", "999999"])
    def test_garbage_is_a_form_error(self, login, sam, alice_case, value):
        response = login(sam).post(reassign_url(alice_case), {"to_worker": value})
        assert response.status_code == 200
        assert response.context["form"].errors["to_worker"]

    def test_a_closed_case_shows_the_domain_error_on_the_form(
        self, login, sam, alice, bob, alice_case
    ):
        services.close_case(actor=alice, case=alice_case, reason="stabilised")
        response = login(sam).post(reassign_url(alice_case), {"to_worker": bob.pk})
        assert response.status_code == 200
        assert response.context["form"].non_field_errors() == [
            "A closed case cannot be reassigned."
        ]
        alice_case.refresh_from_db()
        assert alice_case.assigned_worker == alice

    def test_a_teammate_cannot_reassign(self, login, bob, alice, alice_case):
        response = login(bob).post(reassign_url(alice_case), {"to_worker": bob.pk})
        assert response.status_code == 403
        alice_case.refresh_from_db()
        assert alice_case.assigned_worker == alice
        assert AuditEvent.objects.filter(
            actor=bob, action=Action.DENIED, object_id=str(alice_case.pk)
        ).exists()

    def test_an_agency_admin_cannot_reassign(self, login, dana, alice_case):
        assert login(dana).get(reassign_url(alice_case)).status_code == 403

    @pytest.mark.parametrize("persona", ["erin", "carol"])
    def test_an_invisible_case_answers_404(self, login, request, alice_case, persona):
        user = request.getfixturevalue(persona)
        response = login(user).get(reassign_url(alice_case))
        assert response.status_code == 404
        assert AuditEvent.objects.filter(
            actor=user, action=Action.DENIED, object_id=str(alice_case.pk)
        ).exists()

    def test_a_case_of_another_team_answers_404_to_the_supervisor(self, login, sam, erin_case):
        assert login(sam).get(reassign_url(erin_case)).status_code == 404


@pytest.mark.django_db
class TestReassignCaseload:
    @pytest.fixture
    def alice_caseload(self, alice, alice_case, record_contact_for, team_a, team_a2):
        """Two open cases of alice on her team, one closed, one open on another team."""
        second = record_contact_for(
            alice, new_client_data=new_client(legal_name="Second Client", phone="541-555-0999")
        ).case
        closed = record_contact_for(
            alice, new_client_data=new_client(legal_name="Closed Client", phone="541-555-0998")
        ).case
        services.close_case(actor=alice, case=closed, reason="stabilised")
        elsewhere = CaseFactory(
            client=ClientFactory(agency=team_a.agency), assigned_worker=alice, team=team_a2
        )
        return {"open": [alice_case, second], "closed": closed, "elsewhere": elsewhere}

    def test_the_first_step_shows_how_many_cases_will_move(
        self, login, sam, alice, bob, alice_caseload
    ):
        response = login(sam).post(CASELOAD_URL, {"from_worker": alice.pk, "to_worker": bob.pk})
        assert response.status_code == 200
        assert response.context["count"] == 2
        assert "2 open cases will move" in response.content.decode()
        assert Case.objects.filter(assigned_worker=bob).count() == 0

    def test_confirming_moves_exactly_the_open_cases_in_supervised_teams(
        self, login, sam, alice, bob, alice_caseload
    ):
        response = login(sam).post(
            CASELOAD_URL, {"from_worker": alice.pk, "to_worker": bob.pk, "confirm": "1"}
        )
        assert response.status_code == 302
        assert response.url == reverse("supervision:team")
        moved = {c.pk for c in alice_caseload["open"]}
        assert set(Case.objects.filter(assigned_worker=bob).values_list("pk", flat=True)) == moved
        assert Case.objects.get(pk=alice_caseload["closed"].pk).assigned_worker == alice
        assert Case.objects.get(pk=alice_caseload["elsewhere"].pk).assigned_worker == alice
        assert AuditEvent.objects.filter(action=Action.REASSIGN, actor=sam).count() == 2
        messages = [str(m) for m in get_messages(response.wsgi_request)]
        assert messages == [f"2 cases moved from {alice} to {bob}."]

    def test_a_deactivated_worker_caseload_can_still_be_moved(
        self, login, sam, alice, bob, alice_case
    ):
        alice.is_active = False
        alice.save()
        response = login(sam).post(
            CASELOAD_URL, {"from_worker": alice.pk, "to_worker": bob.pk, "confirm": "1"}
        )
        assert response.status_code == 302
        alice_case.refresh_from_db()
        assert alice_case.assigned_worker == bob

    def test_the_same_worker_twice_is_a_form_error(self, login, sam, alice, alice_case):
        response = login(sam).post(
            CASELOAD_URL, {"from_worker": alice.pk, "to_worker": alice.pk, "confirm": "1"}
        )
        assert response.status_code == 200
        assert response.context["form"].errors["to_worker"]

    def test_a_worker_without_open_cases_is_a_form_error(self, login, sam, alice, bob):
        response = login(sam).post(CASELOAD_URL, {"from_worker": bob.pk, "to_worker": alice.pk})
        assert response.status_code == 200
        assert response.context["form"].errors["from_worker"]

    @pytest.mark.parametrize("field", ["from_worker", "to_worker"])
    def test_workers_outside_the_teams_are_form_errors(
        self, login, sam, alice, bob, carol, erin_case, alice_case, field
    ):
        data = {"from_worker": alice.pk, "to_worker": bob.pk, "confirm": "1"}
        data[field] = carol.pk if field == "to_worker" else erin_case.assigned_worker_id
        response = login(sam).post(CASELOAD_URL, data)
        assert response.status_code == 200
        assert response.context["form"].errors[field]
        assert not AuditEvent.objects.filter(action=Action.REASSIGN).exists()

    def test_the_form_renders_for_a_supervisor(self, login, sam):
        assert login(sam).get(CASELOAD_URL).status_code == 200

    @pytest.mark.parametrize("persona", ["alice", "dana", "carol"])
    def test_other_roles_are_refused(self, login, request, persona, alice, bob, alice_case):
        user = request.getfixturevalue(persona)
        response = login(user).post(
            CASELOAD_URL, {"from_worker": alice.pk, "to_worker": bob.pk, "confirm": "1"}
        )
        assert response.status_code == 403
        alice_case.refresh_from_db()
        assert alice_case.assigned_worker == alice
