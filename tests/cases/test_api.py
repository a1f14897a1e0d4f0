"""The clients, cases and contacts API: happy paths, authorisation, audit rows and
query counts."""

import datetime

import pytest
from django.core.management import call_command
from django.utils import timezone

from audit.models import Action, AuditEvent
from cases import services
from cases.api.serializers import ContactFieldsSerializer
from cases.cssrs import RiskLevel
from cases.models import (
    AMENDABLE_FIELDS,
    CallNature,
    Case,
    CaseEventKind,
    CaseStatus,
    Client,
    ClientIdentifier,
    Concern,
    Contact,
    ContactAmendment,
)
from tests.cases.factories import CaseFactory, ContactFactory
from tests.conftest import new_client

UTC = datetime.UTC


@pytest.fixture
def as_user(api):
    """as_user(user) -> the API client signed in as that user (a browser session)."""

    def sign_in(user):
        api.force_login(user)
        return api

    return sign_in


def iso(moment):
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def denied_rows(user, object_type, object_id):
    return AuditEvent.objects.filter(
        actor=user, action=Action.DENIED, object_type=object_type, object_id=str(object_id)
    )


def results_ids(response):
    return [row["id"] for row in response.json()["results"]]


def contact_body(**overrides):
    received = timezone.now() - datetime.timedelta(hours=1)
    body = {
        "source": "988",
        "received_at": received.isoformat(),
        "dispatched_at": (received + datetime.timedelta(minutes=3)).isoformat(),
        "on_scene_at": (received + datetime.timedelta(minutes=18)).isoformat(),
        "cleared_at": (received + datetime.timedelta(minutes=60)).isoformat(),
        "call_nature": "suicidal",
        "location": "Bridge on 3rd",
        "presenting_concerns": ["mental-health", "suicide-risk"],
        "services_on_scene": ["counselling", "safety-planning"],
        "cssrs_performed": True,
        "cssrs_wish_dead": True,
        "cssrs_suicidal_thoughts": True,
        "cssrs_method": True,
        "cssrs_intent": False,
        "cssrs_plan": False,
        "cssrs_behavior": False,
        "cssrs_behavior_recent": None,
        "disposition": "referred",
        "narrative": "Talked through a safety plan with the client.",
    }
    body.update(overrides)
    return body


NEW_CLIENT = {
    "legal_name": "Riley Stone",
    "preferred_name": "Ri",
    "date_of_birth": "1988-02-29",
    "pronouns": "they/them",
    "preferred_language": "English",
    "phone": "541-555-0199",
    "where_to_find": "Library steps, mornings",
    "identifiers": [{"kind": "hmis", "value": "H-1001"}],
}


# --- Clients -----------------------------------------------------------------------------


class TestClientList:
    def test_a_worker_sees_the_clients_of_their_team_only(
        self, as_user, alice, alice_case, bob_case, erin_case, carol_case
    ):
        response = as_user(alice).get("/api/v1/clients/")

        assert response.status_code == 200
        assert sorted(results_ids(response)) == sorted([alice_case.client_id, bob_case.client_id])

    def test_search_finds_by_name_and_never_across_agencies(
        self, as_user, alice, carol, alice_case, carol_case
    ):
        api = as_user(alice)
        assert results_ids(api.get("/api/v1/clients/", {"q": "alice client"})) == [
            alice_case.client_id
        ]
        assert results_ids(api.get("/api/v1/clients/", {"q": "Carol Client"})) == []

        api = as_user(carol)
        assert results_ids(api.get("/api/v1/clients/", {"q": "Alice Client"})) == []
        assert results_ids(api.get("/api/v1/clients/")) == [carol_case.client_id]

    def test_has_open_case_filters_on_the_open_case_shown(
        self, as_user, alice, alice_case, bob_case
    ):
        services.close_case(actor=alice, case=bob_case, reason="stabilised")
        api = as_user(alice)

        open_ids = results_ids(api.get("/api/v1/clients/", {"has_open_case": "true"}))
        closed_ids = results_ids(api.get("/api/v1/clients/", {"has_open_case": "false"}))

        assert open_ids == [alice_case.client_id]
        assert closed_ids == [bob_case.client_id]
        rows = {r["id"]: r for r in api.get("/api/v1/clients/").json()["results"]}
        assert rows[alice_case.client_id]["open_case"] == alice_case.pk
        assert rows[bob_case.client_id]["open_case"] is None

    def test_has_open_case_other_than_true_or_false_is_a_400(self, as_user, alice, alice_case):
        # Once "2" and "yes" meant no filter at all: every client came back.
        api = as_user(alice)

        for value in ("2", "yes", "null"):
            response = api.get("/api/v1/clients/", {"has_open_case": value})
            assert response.status_code == 400, value
            assert list(response.json()) == ["has_open_case"]

    def test_the_list_is_audited_with_the_ids_shown(self, as_user, alice, alice_case, bob_case):
        as_user(alice).get("/api/v1/clients/", {"q": "Alice"})

        event = AuditEvent.objects.get(action=Action.LIST, object_type="client")
        assert event.actor == alice
        assert event.detail["ids"] == [alice_case.client_id]
        assert event.detail["client_ids"] == [alice_case.client_id]
        assert event.path == "/api/v1/clients/?q"

    def test_the_query_count_does_not_grow_with_the_rows(
        self, as_user, alice, django_assert_max_num_queries
    ):
        api = as_user(alice)
        for rows in (3, 20):
            for _ in range(rows - Client.objects.count()):
                case = CaseFactory(client__agency=alice.agency, assigned_worker=alice)
                ClientIdentifier.objects.create(
                    agency=alice.agency, client=case.client, kind="hmis", value=f"H{case.pk}"
                )
            # Session, user, agency time zone, count, the page's ids, the page,
            # identifiers, audit row, and the session's renewal (savepoint, update,
            # release).
            with django_assert_max_num_queries(11):
                response = api.get("/api/v1/clients/")
            assert response.json()["count"] == rows


class TestClientRetrieve:
    def test_a_worker_reads_a_client_with_identifiers_and_open_case(
        self, as_user, alice, record_contact_for
    ):
        client = services.create_client(
            actor=alice,
            data=new_client(legal_name="Sam Park"),
            identifiers=[("county", "C-77")],
        )
        case = record_contact_for(alice, client=client).case

        response = as_user(alice).get(f"/api/v1/clients/{client.pk}/")

        assert response.status_code == 200
        body = response.json()
        assert body["legal_name"] == "Sam Park"
        assert body["identifiers"] == [{"kind": "county", "value": "C-77"}]
        assert body["open_case"] == case.pk
        assert body["date_of_birth"] == "1990-04-12"
        view = AuditEvent.objects.get(action=Action.VIEW, object_type="client")
        assert (view.actor, view.object_id, view.client_id) == (alice, str(client.pk), client.pk)

    def test_another_agency_gets_404_and_the_attempt_is_audited(self, as_user, carol, alice_case):
        client_id = alice_case.client_id

        response = as_user(carol).get(f"/api/v1/clients/{client_id}/")

        assert response.status_code == 404
        assert response.json() == {"detail": "No client found."}
        denied = denied_rows(carol, "client", client_id).get()
        assert denied.agency_id == alice_case.agency_id

    def test_a_missing_id_answers_exactly_like_an_invisible_one(self, as_user, carol, alice_case):
        api = as_user(carol)
        invisible = api.get(f"/api/v1/clients/{alice_case.client_id}/")
        missing = api.get("/api/v1/clients/987654321/")

        assert (missing.status_code, missing.json()) == (invisible.status_code, invisible.json())

    def test_the_agency_admin_reads_any_client_of_the_agency(self, as_user, dana, erin_case):
        response = as_user(dana).get(f"/api/v1/clients/{erin_case.client_id}/")

        assert response.status_code == 200


class TestClientCreate:
    def test_a_worker_creates_a_client_with_identifiers(self, as_user, alice):
        response = as_user(alice).post("/api/v1/clients/", NEW_CLIENT, format="json")

        assert response.status_code == 201, response.json()
        client = Client.objects.get(pk=response.json()["id"])
        assert client.agency == alice.agency
        assert client.created_by == alice
        assert list(client.identifiers.values_list("kind", "value")) == [("hmis", "H-1001")]
        assert response.json()["identifiers"] == [{"kind": "hmis", "value": "H-1001"}]
        assert AuditEvent.objects.filter(
            action=Action.CREATE, object_type="client", object_id=str(client.pk)
        ).exists()

    def test_an_identifier_already_used_in_the_agency_is_refused(self, as_user, alice, bob):
        as_user(bob).post("/api/v1/clients/", NEW_CLIENT, format="json")

        response = as_user(alice).post(
            "/api/v1/clients/", {**NEW_CLIENT, "legal_name": "Other"}, format="json"
        )

        assert response.status_code == 400
        assert "already belongs" in response.json()["identifiers"][0]

    def test_the_same_identifier_in_another_agency_is_fine(self, as_user, alice, carol):
        as_user(alice).post("/api/v1/clients/", NEW_CLIENT, format="json")

        assert as_user(carol).post("/api/v1/clients/", NEW_CLIENT, format="json").status_code == 201

    def test_a_date_of_birth_and_an_estimated_age_together_are_refused(self, as_user, alice):
        body = {"legal_name": "X", "date_of_birth": "1990-01-01", "estimated_age": 40}

        response = as_user(alice).post("/api/v1/clients/", body, format="json")

        assert response.status_code == 400
        assert "estimated_age" in response.json()

    def test_a_future_date_of_birth_is_refused(self, as_user, alice):
        tomorrow = alice.agency.today() + datetime.timedelta(days=1)
        body = {"legal_name": "X", "date_of_birth": tomorrow.isoformat()}

        response = as_user(alice).post("/api/v1/clients/", body, format="json")

        assert response.status_code == 400
        assert "date_of_birth" in response.json()

    def test_the_agency_admin_cannot_create_clients(self, as_user, dana):
        response = as_user(dana).post("/api/v1/clients/", NEW_CLIENT, format="json")

        assert response.status_code == 403
        assert not Client.objects.exists()


class TestClientUpdate:
    def test_a_worker_changes_a_client_and_the_case_timeline_says_so(
        self, as_user, alice, bob_case
    ):
        url = f"/api/v1/clients/{bob_case.client_id}/"

        response = as_user(alice).patch(url, {"phone": "541-555-0111"}, format="json")

        assert response.status_code == 200, response.json()
        assert response.json()["phone"] == "541-555-0111"
        assert Client.objects.get(pk=bob_case.client_id).phone == "541-555-0111"
        assert bob_case.events.filter(kind=CaseEventKind.CLIENT_UPDATED).exists()
        assert AuditEvent.objects.filter(
            action=Action.UPDATE, object_type="client", actor=alice
        ).exists()

    def test_a_partial_change_still_needs_each_identifier_whole(self, as_user, alice, alice_case):
        # DRF skips missing nested fields in a PATCH: this was a 500 (KeyError).
        url = f"/api/v1/clients/{alice_case.client_id}/"

        response = as_user(alice).patch(url, {"identifiers": [{"value": "H-1"}, {}]}, format="json")

        assert response.status_code == 400
        # In a partial change DRF keys a list's errors by the index of each wrong item.
        assert response.json()["identifiers"] == {
            "0": {"kind": ["This field is required."]},
            "1": {"kind": ["This field is required."], "value": ["This field is required."]},
        }
        assert not ClientIdentifier.objects.filter(client_id=alice_case.client_id).exists()

    def test_identifiers_given_replace_the_set(self, as_user, alice, alice_case):
        url = f"/api/v1/clients/{alice_case.client_id}/"
        api = as_user(alice)

        api.patch(url, {"identifiers": [{"kind": "hmis", "value": "H-1"}]}, format="json")
        response = api.patch(
            url, {"identifiers": [{"kind": "county", "value": "C-2"}]}, format="json"
        )

        assert response.status_code == 200, response.json()
        assert response.json()["identifiers"] == [{"kind": "county", "value": "C-2"}]
        response = api.patch(url, {"pronouns": "she/her"}, format="json")
        assert response.json()["identifiers"] == [{"kind": "county", "value": "C-2"}]

    def test_an_identifier_in_use_answers_400(self, as_user, alice, alice_case, bob_case):
        api = as_user(alice)
        api.patch(
            f"/api/v1/clients/{bob_case.client_id}/",
            {"identifiers": [{"kind": "hmis", "value": "H-1"}]},
            format="json",
        )

        response = api.patch(
            f"/api/v1/clients/{alice_case.client_id}/",
            {"identifiers": [{"kind": "hmis", "value": "H-1"}]},
            format="json",
        )

        assert response.status_code == 400
        assert "identifiers" in response.json()

    def test_a_full_update_needs_the_legal_name(self, as_user, alice, alice_case):
        url = f"/api/v1/clients/{alice_case.client_id}/"

        response = as_user(alice).put(url, {"phone": "1"}, format="json")

        assert response.status_code == 400
        assert "legal_name" in response.json()

    def test_the_agency_admin_reads_but_cannot_change(self, as_user, dana, alice_case):
        url = f"/api/v1/clients/{alice_case.client_id}/"

        response = as_user(dana).patch(url, {"phone": "000"}, format="json")

        assert response.status_code == 403
        assert Client.objects.get(pk=alice_case.client_id).phone == "541-555-0100"
        assert denied_rows(dana, "client", alice_case.client_id).get().detail == {
            "reason": "read only"
        }

    def test_another_agency_gets_404(self, as_user, carol, alice_case):
        url = f"/api/v1/clients/{alice_case.client_id}/"

        response = as_user(carol).patch(url, {"phone": "000"}, format="json")

        assert response.status_code == 404
        assert denied_rows(carol, "client", alice_case.client_id).exists()
        assert Client.objects.get(pk=alice_case.client_id).phone == "541-555-0100"

    def test_clients_cannot_be_deleted(self, as_user, alice, alice_case):
        response = as_user(alice).delete(f"/api/v1/clients/{alice_case.client_id}/")

        assert response.status_code == 405
        assert Client.objects.filter(pk=alice_case.client_id).exists()


# --- Cases -------------------------------------------------------------------------------


class TestCaseList:
    def test_a_worker_sees_own_and_team_cases_only(
        self, as_user, alice, alice_case, bob_case, erin_case, carol_case
    ):
        response = as_user(alice).get("/api/v1/cases/")

        assert sorted(results_ids(response)) == sorted([alice_case.pk, bob_case.pk])

    def test_another_agency_sees_none_of_agency_a(
        self, as_user, carol, alice_case, erin_case, carol_case
    ):
        assert results_ids(as_user(carol).get("/api/v1/cases/")) == [carol_case.pk]

    def test_the_agency_admin_sees_every_case_of_the_agency(
        self, as_user, dana, alice_case, bob_case, erin_case, carol_case
    ):
        ids = results_ids(as_user(dana).get("/api/v1/cases/"))

        assert sorted(ids) == sorted([alice_case.pk, bob_case.pk, erin_case.pk])

    def test_filters(self, as_user, alice, bob, alice_case, bob_case):
        services.close_case(actor=bob, case=bob_case, reason="connected")
        api = as_user(alice)

        assert results_ids(api.get("/api/v1/cases/", {"status": "open"})) == [alice_case.pk]
        assert results_ids(api.get("/api/v1/cases/", {"assigned_worker": bob.pk})) == [bob_case.pk]
        assert results_ids(api.get("/api/v1/cases/", {"client": alice_case.client_id})) == [
            alice_case.pk
        ]
        assert len(results_ids(api.get("/api/v1/cases/", {"team": alice.team_id}))) == 2
        assert results_ids(api.get("/api/v1/cases/", {"risk_level": "high"})) == []
        later = iso(timezone.now() + datetime.timedelta(minutes=1))
        assert results_ids(api.get("/api/v1/cases/", {"opened_after": later})) == []
        assert len(results_ids(api.get("/api/v1/cases/", {"opened_before": later}))) == 2

    def test_a_bad_filter_value_is_a_400_naming_it(self, as_user, alice):
        response = as_user(alice).get("/api/v1/cases/", {"status": "sideways", "team": "x"})

        assert response.status_code == 400
        assert set(response.json()) == {"status", "team"}

    def test_page_size_is_honoured_and_capped(self, as_user, alice, alice_case, bob_case):
        api = as_user(alice)

        page = api.get("/api/v1/cases/", {"page_size": 1}).json()

        assert (page["count"], len(page["results"])) == (2, 1)
        assert page["next"] is not None
        assert len(api.get("/api/v1/cases/", {"page_size": 500}).json()["results"]) == 2
        assert api.get("/api/v1/cases/", {"page": 99}).status_code == 404

    def test_a_page_size_that_is_not_a_whole_number_from_1_is_a_400(self, as_user, alice):
        api = as_user(alice)

        for value in ("0", "-5", "null", "1.5", "1e3"):
            response = api.get("/api/v1/cases/", {"page_size": value})
            assert response.status_code == 400, value
            assert list(response.json()) == ["page_size"]

    def test_the_list_is_audited_with_case_and_client_ids(
        self, as_user, alice, alice_case, bob_case
    ):
        as_user(alice).get("/api/v1/cases/")

        event = AuditEvent.objects.get(action=Action.LIST, object_type="case")
        assert sorted(event.detail["ids"]) == sorted([alice_case.pk, bob_case.pk])
        assert event.detail["client_ids"] == sorted([alice_case.client_id, bob_case.client_id])

    def test_the_query_count_does_not_grow_with_the_rows(
        self, as_user, alice, django_assert_max_num_queries
    ):
        concerns = list(Concern.objects.all()[:2])
        api = as_user(alice)
        for rows in (3, 20):
            for _ in range(rows - Case.objects.count()):
                case = CaseFactory(client__agency=alice.agency, assigned_worker=alice)
                case.presenting_concerns.set(concerns)
            # As for clients, with the concerns in place of identifiers.
            with django_assert_max_num_queries(11):
                response = api.get("/api/v1/cases/", {"page_size": 50})
            assert len(response.json()["results"]) == rows


class TestCaseRetrieve:
    def test_the_case_with_client_worker_team_concerns_risk_and_links(
        self, as_user, alice, record_contact_for
    ):
        contact = record_contact_for(
            alice,
            cssrs_performed=True,
            cssrs_wish_dead=True,
            cssrs_suicidal_thoughts=False,
            cssrs_behavior=False,
        )
        case = contact.case
        case.presenting_concerns.add(Concern.objects.get(code="housing"))

        response = as_user(alice).get(f"/api/v1/cases/{case.pk}/")

        assert response.status_code == 200
        body = response.json()
        assert body["status"] == "open"
        assert body["client"]["id"] == case.client_id
        assert body["client"]["legal_name"] == "Jordan Rivers"
        assert body["assigned_worker"] == {"id": alice.pk, "username": "alice", "name": str(alice)}
        assert body["team"] == {"id": alice.team_id, "name": "Mobile crisis 1"}
        assert body["presenting_concerns"] == ["housing"]
        assert body["risk_level"] == RiskLevel.LOW
        assert body["last_contact_at"] == iso(contact.received_at)
        assert body["links"]["timeline"].endswith(f"/api/v1/cases/{case.pk}/timeline/")
        assert body["links"]["contacts"].endswith(f"/api/v1/contacts/?case={case.pk}")
        assert body["links"]["client"].endswith(f"/api/v1/clients/{case.client_id}/")
        assert AuditEvent.objects.filter(
            action=Action.VIEW, object_type="case", object_id=str(case.pk), actor=alice
        ).exists()

    def test_times_are_utc_although_the_agency_is_not(self, as_user, alice, alice_case):
        assert alice.agency.timezone == "America/Los_Angeles"

        body = as_user(alice).get(f"/api/v1/cases/{alice_case.pk}/").json()

        assert body["opened_at"].endswith("Z")
        assert body["opened_at"] == iso(alice_case.opened_at)

    def test_another_team_gets_404_and_the_attempt_is_audited(self, as_user, alice, erin_case):
        response = as_user(alice).get(f"/api/v1/cases/{erin_case.pk}/")

        assert response.status_code == 404
        assert denied_rows(alice, "case", erin_case.pk).get().detail == {"reason": "not visible"}

    def test_another_agency_gets_404_and_the_attempt_is_audited(self, as_user, carol, alice_case):
        response = as_user(carol).get(f"/api/v1/cases/{alice_case.pk}/")

        assert response.status_code == 404
        assert denied_rows(carol, "case", alice_case.pk).get().agency_id == alice_case.agency_id

    def test_the_agency_admin_reads_another_teams_case(self, as_user, dana, erin_case):
        response = as_user(dana).get(f"/api/v1/cases/{erin_case.pk}/")

        assert response.status_code == 200
        assert response.json()["id"] == erin_case.pk

    def test_cases_are_not_created_directly(self, as_user, alice, alice_case):
        response = as_user(alice).post(
            "/api/v1/cases/", {"client": alice_case.client_id}, format="json"
        )

        assert response.status_code == 405
        assert "contact" in response.json()["detail"]
        assert response["Allow"] == "GET, HEAD, OPTIONS"

    def test_cases_cannot_be_deleted_or_replaced(self, as_user, alice, alice_case):
        api = as_user(alice)

        assert api.delete(f"/api/v1/cases/{alice_case.pk}/").status_code == 405
        assert api.put(f"/api/v1/cases/{alice_case.pk}/", {}, format="json").status_code == 405


class TestCaseConcerns:
    def test_a_worker_replaces_the_presenting_concerns(self, as_user, alice, alice_case):
        url = f"/api/v1/cases/{alice_case.pk}/"

        response = as_user(alice).patch(
            url, {"presenting_concerns": ["housing", "medical"]}, format="json"
        )

        assert response.status_code == 200, response.json()
        assert sorted(response.json()["presenting_concerns"]) == ["housing", "medical"]
        codes = alice_case.presenting_concerns.values_list("code", flat=True)
        assert sorted(codes) == ["housing", "medical"]
        assert alice_case.events.filter(kind=CaseEventKind.CONCERNS_CHANGED).exists()

    def test_an_unknown_code_is_a_400_naming_the_field(self, as_user, alice, alice_case):
        response = as_user(alice).patch(
            f"/api/v1/cases/{alice_case.pk}/", {"presenting_concerns": ["nope"]}, format="json"
        )

        assert response.status_code == 400
        assert "presenting_concerns" in response.json()

    def test_a_closed_case_refuses_changes(self, as_user, alice, alice_case):
        services.close_case(actor=alice, case=alice_case, reason="stabilised")

        response = as_user(alice).patch(
            f"/api/v1/cases/{alice_case.pk}/", {"presenting_concerns": ["housing"]}, format="json"
        )

        assert response.status_code == 400
        assert response.json()["code"] == "case_closed"

    def test_the_agency_admin_gets_403(self, as_user, dana, alice_case):
        response = as_user(dana).patch(
            f"/api/v1/cases/{alice_case.pk}/", {"presenting_concerns": ["housing"]}, format="json"
        )

        assert response.status_code == 403
        assert not alice_case.presenting_concerns.exists()

    def test_another_agency_gets_404(self, as_user, carol, alice_case):
        response = as_user(carol).patch(
            f"/api/v1/cases/{alice_case.pk}/", {"presenting_concerns": ["housing"]}, format="json"
        )

        assert response.status_code == 404
        assert denied_rows(carol, "case", alice_case.pk).exists()


class TestCloseCase:
    def test_a_worker_closes_a_case_with_a_reason(self, as_user, alice, alice_case):
        response = as_user(alice).post(
            f"/api/v1/cases/{alice_case.pk}/close/",
            {"reason": "connected", "note": "Engaged with the clinic."},
            format="json",
        )

        assert response.status_code == 200, response.json()
        assert response.json()["status"] == "closed"
        alice_case.refresh_from_db()
        assert (alice_case.status, alice_case.close_reason) == (CaseStatus.CLOSED, "connected")
        assert alice_case.close_note == "Engaged with the clinic."
        assert AuditEvent.objects.filter(action=Action.CLOSE, object_id=str(alice_case.pk)).exists()

    def test_an_unknown_reason_is_a_400_naming_it(self, as_user, alice, alice_case):
        response = as_user(alice).post(
            f"/api/v1/cases/{alice_case.pk}/close/", {"reason": "bored"}, format="json"
        )

        assert response.status_code == 400
        assert "reason" in response.json()

    def test_closing_twice_is_a_400(self, as_user, alice, alice_case):
        api = as_user(alice)
        api.post(f"/api/v1/cases/{alice_case.pk}/close/", {"reason": "moved"}, format="json")

        response = api.post(
            f"/api/v1/cases/{alice_case.pk}/close/", {"reason": "moved"}, format="json"
        )

        assert response.status_code == 400
        assert response.json()["code"] == "case_closed"

    def test_the_agency_admin_gets_403(self, as_user, dana, alice_case):
        response = as_user(dana).post(
            f"/api/v1/cases/{alice_case.pk}/close/", {"reason": "moved"}, format="json"
        )

        assert response.status_code == 403
        alice_case.refresh_from_db()
        assert alice_case.is_open

    @pytest.mark.parametrize("who", ["carol", "erin"])
    def test_invisible_cases_answer_404_and_are_audited(self, request, as_user, who, alice_case):
        user = request.getfixturevalue(who)

        response = as_user(user).post(
            f"/api/v1/cases/{alice_case.pk}/close/", {"reason": "moved"}, format="json"
        )

        assert response.status_code == 404
        assert denied_rows(user, "case", alice_case.pk).exists()
        alice_case.refresh_from_db()
        assert alice_case.is_open


class TestReassignCase:
    def test_the_teams_supervisor_reassigns_by_id_or_username(
        self, as_user, sam, alice, bob, alice_case
    ):
        api = as_user(sam)
        url = f"/api/v1/cases/{alice_case.pk}/reassign/"

        response = api.post(url, {"assigned_worker": bob.pk}, format="json")

        assert response.status_code == 200, response.json()
        assert response.json()["assigned_worker"]["username"] == "bob"
        assert api.post(url, {"assigned_worker": "alice"}, format="json").status_code == 200
        alice_case.refresh_from_db()
        assert alice_case.assigned_worker == alice
        assert alice_case.events.filter(kind=CaseEventKind.REASSIGNED).count() == 2

    def test_a_worker_cannot_reassign(self, as_user, alice, bob, alice_case):
        response = as_user(alice).post(
            f"/api/v1/cases/{alice_case.pk}/reassign/", {"assigned_worker": bob.pk}, format="json"
        )

        assert response.status_code == 403
        alice_case.refresh_from_db()
        assert alice_case.assigned_worker == alice

    def test_a_user_of_another_agency_does_not_exist(self, as_user, sam, carol, alice_case):
        url = f"/api/v1/cases/{alice_case.pk}/reassign/"
        api = as_user(sam)

        by_id = api.post(url, {"assigned_worker": carol.pk}, format="json")
        by_name = api.post(url, {"assigned_worker": "carol"}, format="json")
        missing = api.post(url, {"assigned_worker": 987654321}, format="json")

        assert by_id.status_code == by_name.status_code == missing.status_code == 400
        assert by_id.json()["assigned_worker"] == [f"No user {carol.pk!r} in your agency."]
        assert missing.json()["assigned_worker"] == ["No user 987654321 in your agency."]

    def test_the_agency_admin_gets_403(self, as_user, dana, bob, alice_case):
        response = as_user(dana).post(
            f"/api/v1/cases/{alice_case.pk}/reassign/", {"assigned_worker": bob.pk}, format="json"
        )

        assert response.status_code == 403


class TestCaseTimeline:
    def test_the_timeline_lists_the_case_events_newest_first(self, as_user, alice, alice_case):
        services.close_case(actor=alice, case=alice_case, reason="stabilised")

        response = as_user(alice).get(f"/api/v1/cases/{alice_case.pk}/timeline/")

        assert response.status_code == 200
        kinds = [e["kind"] for e in response.json()["results"]]
        assert kinds[0] == CaseEventKind.CLOSED
        # The contact was resolved on scene: it enrolled the client in a post-crisis check.
        assert set(kinds) == {"opened", "contact", "followup", "closed"}
        assert response.json()["results"][0]["actor"]["username"] == "alice"
        assert AuditEvent.objects.filter(
            action=Action.VIEW, object_type="case", object_id=str(alice_case.pk)
        ).exists()

    def test_another_agency_gets_404_and_the_attempt_is_audited(self, as_user, carol, alice_case):
        response = as_user(carol).get(f"/api/v1/cases/{alice_case.pk}/timeline/")

        assert response.status_code == 404
        assert denied_rows(carol, "case", alice_case.pk).exists()


# --- Contacts ----------------------------------------------------------------------------


class TestContactList:
    def test_a_worker_sees_contacts_on_visible_cases_only(
        self, as_user, alice, alice_case, bob_case, erin_case, carol_case
    ):
        ids = results_ids(as_user(alice).get("/api/v1/contacts/"))

        expected = Contact.objects.filter(case__in=[alice_case, bob_case]).values_list(
            "pk", flat=True
        )
        assert sorted(ids) == sorted(expected)

    def test_another_agency_sees_none_of_agency_a(self, as_user, carol, alice_case, carol_case):
        ids = results_ids(as_user(carol).get("/api/v1/contacts/"))

        assert ids == [carol_case.contacts.get().pk]

    def test_filters(self, as_user, alice, alice_case, bob_case, record_contact_for):
        later = record_contact_for(
            alice,
            client=alice_case.client,
            source="988",
            disposition="er",
            received_at=timezone.now() - datetime.timedelta(minutes=30),
        )
        api = as_user(alice)

        assert results_ids(api.get("/api/v1/contacts/", {"source": "988"})) == [later.pk]
        assert results_ids(api.get("/api/v1/contacts/", {"disposition": "er"})) == [later.pk]
        assert len(results_ids(api.get("/api/v1/contacts/", {"case": alice_case.pk}))) == 2
        assert len(results_ids(api.get("/api/v1/contacts/", {"client": bob_case.client_id}))) == 1
        assert results_ids(api.get("/api/v1/contacts/", {"risk_level": "high"})) == []
        since = iso(timezone.now() - datetime.timedelta(minutes=45))
        assert results_ids(api.get("/api/v1/contacts/", {"received_after": since})) == [later.pk]
        assert later.pk not in results_ids(api.get("/api/v1/contacts/", {"received_before": since}))

    def test_a_time_filter_with_an_offset_past_15_hours_is_read_in_utc(
        self, as_user, alice, alice_case
    ):
        # PostgreSQL refuses offsets past 15:59 (a 500 once); Python reads them.
        received = alice_case.contacts.get().received_at
        just_before = (received - datetime.timedelta(minutes=1)).astimezone(
            datetime.timezone(-datetime.timedelta(hours=19, minutes=50))
        )
        api = as_user(alice)

        response = api.get("/api/v1/contacts/", {"received_after": just_before.isoformat()})

        assert response.status_code == 200
        assert results_ids(response) == [alice_case.contacts.get().pk]

    def test_a_time_filter_past_the_calendar_in_utc_is_a_400(self, as_user, alice):
        response = as_user(alice).get(
            "/api/v1/contacts/", {"received_after": "0001-01-01T00:00:00+05:00"}
        )

        assert response.status_code == 400
        assert list(response.json()) == ["received_after"]

    def test_a_filter_on_another_agencys_case_matches_nothing(
        self, as_user, carol, alice_case, carol_case
    ):
        response = as_user(carol).get("/api/v1/contacts/", {"case": alice_case.pk})

        assert response.status_code == 200
        assert response.json()["results"] == []

    def test_the_list_is_audited_with_contact_and_client_ids(self, as_user, alice, alice_case):
        as_user(alice).get("/api/v1/contacts/")

        event = AuditEvent.objects.get(action=Action.LIST, object_type="contact")
        assert event.detail["ids"] == [alice_case.contacts.get().pk]
        assert event.detail["client_ids"] == [alice_case.client_id]

    def test_the_query_count_does_not_grow_with_the_rows(
        self, as_user, alice, bob, django_assert_max_num_queries
    ):
        case = CaseFactory(client__agency=alice.agency, assigned_worker=alice)
        concerns = list(Concern.objects.all()[:2])
        api = as_user(alice)
        for rows in (3, 20):
            for _ in range(rows - Contact.objects.count()):
                contact = ContactFactory(case=case)
                contact.attended_by.set([alice, bob])
                contact.presenting_concerns.set(concerns)
            # As for clients, with attendees, concerns and services in place of identifiers.
            with django_assert_max_num_queries(13):
                response = api.get("/api/v1/contacts/", {"page_size": 50})
            assert len(response.json()["results"]) == rows


class TestContactRetrieve:
    def test_every_field_including_the_screen_and_response_time(
        self, as_user, alice, record_contact_for
    ):
        contact = record_contact_for(
            alice,
            cssrs_performed=True,
            cssrs_wish_dead=True,
            cssrs_suicidal_thoughts=True,
            cssrs_method=True,
            cssrs_intent=True,
            cssrs_plan=False,
            cssrs_behavior=True,
            cssrs_behavior_recent=False,
        )

        response = as_user(alice).get(f"/api/v1/contacts/{contact.pk}/")

        assert response.status_code == 200
        body = response.json()
        assert body["case"] == contact.case_id
        assert body["client"] == contact.client_id
        assert body["call_nature"] == "welfare-check"
        assert body["cssrs_intent"] is True
        assert body["cssrs_plan"] is False
        assert body["cssrs_behavior_recent"] is False
        assert body["risk_level"] == RiskLevel.HIGH
        assert body["response_minutes"] == 15
        assert body["amendment_count"] == 0
        assert body["received_at"] == iso(contact.received_at)
        assert body["recorded_by"]["username"] == "alice"
        assert [u["username"] for u in body["attended_by"]] == ["alice"]
        assert AuditEvent.objects.filter(
            action=Action.VIEW, object_type="contact", object_id=str(contact.pk)
        ).exists()

    def test_another_agency_gets_404_and_the_attempt_is_audited(self, as_user, carol, alice_case):
        contact = alice_case.contacts.get()

        response = as_user(carol).get(f"/api/v1/contacts/{contact.pk}/")

        assert response.status_code == 404
        assert denied_rows(carol, "contact", contact.pk).exists()


class TestRecordContact:
    def test_a_contact_for_a_new_client_opens_a_case_with_the_screens_risk(
        self, as_user, alice, bob
    ):
        body = contact_body(new_client=NEW_CLIENT, attended_by=["bob", alice.pk])

        response = as_user(alice).post("/api/v1/contacts/", body, format="json")

        assert response.status_code == 201, response.json()
        contact = Contact.objects.get(pk=response.json()["id"])
        case = contact.case
        assert response.json()["case"] == case.pk
        assert case.assigned_worker == alice
        assert case.risk_level == RiskLevel.MODERATE
        assert contact.client.legal_name == "Riley Stone"
        assert contact.client.identifiers.get().value == "H-1001"
        assert set(contact.attended_by.all()) == {alice, bob}
        assert sorted(response.json()["services_on_scene"]) == ["counselling", "safety-planning"]
        assert AuditEvent.objects.filter(
            action=Action.CREATE, object_type="contact", object_id=str(contact.pk)
        ).exists()

    def test_a_contact_for_an_existing_client_adds_to_the_open_case(self, as_user, alice, bob_case):
        body = contact_body(client=bob_case.client_id)

        response = as_user(alice).post("/api/v1/contacts/", body, format="json")

        assert response.status_code == 201, response.json()
        assert response.json()["case"] == bob_case.pk
        assert bob_case.contacts.count() == 2

    def test_a_client_of_another_agency_does_not_exist(self, as_user, carol, alice_case):
        response = as_user(carol).post(
            "/api/v1/contacts/", contact_body(client=alice_case.client_id), format="json"
        )
        missing = as_user(carol).post(
            "/api/v1/contacts/", contact_body(client=987654321), format="json"
        )

        assert response.status_code == 400
        assert response.json()["client"] == [
            f'Invalid pk "{alice_case.client_id}" - object does not exist.'
        ]
        assert missing.json()["client"] == ['Invalid pk "987654321" - object does not exist.']
        assert alice_case.contacts.count() == 1

    def test_an_attendee_of_another_agency_does_not_exist(self, as_user, alice, carol):
        body = contact_body(new_client=NEW_CLIENT, attended_by=["carol"])

        response = as_user(alice).post("/api/v1/contacts/", body, format="json")

        assert response.status_code == 400
        assert response.json()["attended_by"] == ["No user 'carol' in your agency."]
        assert not Client.objects.exists()

    def test_a_screen_breaking_the_skip_logic_is_a_400_naming_the_question(self, as_user, alice):
        body = contact_body(
            new_client=NEW_CLIENT,
            cssrs_suicidal_thoughts=False,
            cssrs_method=True,
            cssrs_intent=None,
            cssrs_plan=None,
        )

        response = as_user(alice).post("/api/v1/contacts/", body, format="json")

        assert response.status_code == 400
        assert response.json() == {
            "cssrs_method": ["Skipped when question 2 is no: leave it blank."]
        }
        assert not Contact.objects.exists()
        assert not Client.objects.exists()

    def test_answers_without_the_screen_ticked_are_refused(self, as_user, alice):
        body = contact_body(new_client=NEW_CLIENT, cssrs_performed=False)

        response = as_user(alice).post("/api/v1/contacts/", body, format="json")

        assert response.status_code == 400
        assert "cssrs_performed" in response.json()

    def test_times_before_the_call_are_refused(self, as_user, alice):
        received = timezone.now() - datetime.timedelta(hours=1)
        body = contact_body(
            new_client=NEW_CLIENT,
            received_at=received.isoformat(),
            on_scene_at=(received - datetime.timedelta(minutes=1)).isoformat(),
        )

        response = as_user(alice).post("/api/v1/contacts/", body, format="json")

        assert response.status_code == 400
        assert list(response.json()) == ["on_scene_at"]

    def test_a_call_received_in_the_future_is_refused(self, as_user, alice):
        body = contact_body(
            new_client=NEW_CLIENT,
            received_at=(timezone.now() + datetime.timedelta(days=2)).isoformat(),
            dispatched_at=None,
            on_scene_at=None,
            cleared_at=None,
        )

        response = as_user(alice).post("/api/v1/contacts/", body, format="json")

        assert response.status_code == 400
        assert list(response.json()) == ["received_at"]

    def test_times_out_of_order_after_the_call_are_refused(self, as_user, alice):
        received = timezone.now() - datetime.timedelta(hours=1)
        body = contact_body(
            new_client=NEW_CLIENT,
            received_at=received.isoformat(),
            dispatched_at=(received + datetime.timedelta(minutes=20)).isoformat(),
            on_scene_at=(received + datetime.timedelta(minutes=10)).isoformat(),
        )

        response = as_user(alice).post("/api/v1/contacts/", body, format="json")

        assert response.status_code == 400
        assert list(response.json()) == ["on_scene_at"]
        assert not Contact.objects.exists()

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("received_at", "1989-12-31T23:59:59Z"),
            ("received_at", "0001-01-01T00:00:00Z"),
            ("cleared_at", "9999-12-31T23:59:59Z"),
            ("dispatched_at", "0001-01-01T00:00:00+05:00"),
        ],
    )
    def test_a_time_before_1990_or_in_the_future_is_refused(self, as_user, alice, field, value):
        # Pages show call times in the agency's zone: year 1 would break the caseload page.
        body = contact_body(new_client=NEW_CLIENT, **{field: value})

        response = as_user(alice).post("/api/v1/contacts/", body, format="json")

        assert response.status_code == 400
        assert field in response.json()
        assert not Contact.objects.exists()

    def test_a_client_is_needed(self, as_user, alice):
        response = as_user(alice).post("/api/v1/contacts/", contact_body(), format="json")

        assert response.status_code == 400
        assert "client" in response.json()

    def test_both_an_existing_and_a_new_client_are_refused(self, as_user, alice, alice_case):
        body = contact_body(client=alice_case.client_id, new_client=NEW_CLIENT)

        response = as_user(alice).post("/api/v1/contacts/", body, format="json")

        assert response.status_code == 400
        assert "new_client" in response.json()

    def test_the_agency_admin_cannot_record_contacts(self, as_user, dana):
        response = as_user(dana).post(
            "/api/v1/contacts/", contact_body(new_client=NEW_CLIENT), format="json"
        )

        assert response.status_code == 403
        assert not Contact.objects.exists()

    def test_contacts_are_not_edited_in_place(self, as_user, alice, alice_case):
        contact = alice_case.contacts.get()
        api = as_user(alice)

        for method in (api.put, api.patch):
            response = method(f"/api/v1/contacts/{contact.pk}/", {"narrative": "x"}, format="json")
            assert response.status_code == 405
            assert "amendment" in response.json()["detail"]
            assert response["Allow"] == "GET, HEAD, OPTIONS"
        assert api.options(f"/api/v1/contacts/{contact.pk}/")["Allow"] == "GET, HEAD, OPTIONS"
        assert api.delete(f"/api/v1/contacts/{contact.pk}/").status_code == 405
        contact.refresh_from_db()
        assert contact.narrative == "Client calm after de-escalation."


class TestAmendContact:
    def test_every_amendable_field_is_accepted_and_no_other(self):
        assert set(ContactFieldsSerializer().fields) == set(AMENDABLE_FIELDS)

    def test_an_amendment_changes_the_contact_and_keeps_the_original(
        self, as_user, alice, alice_case
    ):
        contact = alice_case.contacts.get()
        api = as_user(alice)

        response = api.post(
            f"/api/v1/contacts/{contact.pk}/amend/",
            {
                "reason": "Wrong call nature and typo",
                "changes": {"narrative": "Client calm.", "call_nature": "intoxication"},
            },
            format="json",
        )

        assert response.status_code == 201, response.json()
        amendment = ContactAmendment.objects.get(pk=response.json()["id"])
        assert amendment.changes == {
            "narrative": {"from": "Client calm after de-escalation.", "to": "Client calm."},
            "call_nature": {
                "from": CallNature.objects.get(code="welfare-check").pk,
                "to": CallNature.objects.get(code="intoxication").pk,
            },
        }
        assert response.json()["amended_by"]["username"] == "alice"
        contact.refresh_from_db()
        assert (contact.narrative, contact.amendment_count) == ("Client calm.", 1)
        listed = api.get(f"/api/v1/contacts/{contact.pk}/amendments/").json()["results"]
        assert [a["id"] for a in listed] == [amendment.pk]
        assert listed[0]["changes"]["narrative"]["from"] == "Client calm after de-escalation."
        assert api.get(f"/api/v1/contacts/{contact.pk}/").json()["amendment_count"] == 1

    def test_a_mis_keyed_screen_is_corrected_and_the_risk_worked_out_again(
        self, as_user, alice, alice_case
    ):
        contact = alice_case.contacts.get()

        response = as_user(alice).post(
            f"/api/v1/contacts/{contact.pk}/amend/",
            {
                "reason": "Screen done on scene, not keyed",
                "changes": {
                    "cssrs_performed": True,
                    "cssrs_wish_dead": True,
                    "cssrs_suicidal_thoughts": False,
                    "cssrs_behavior": False,
                },
            },
            format="json",
        )

        assert response.status_code == 201, response.json()
        contact.refresh_from_db()
        assert (contact.cssrs_performed, contact.risk_level) == (True, RiskLevel.LOW)
        alice_case.refresh_from_db()
        assert alice_case.risk_level == RiskLevel.LOW

    def test_screen_answers_breaking_the_skip_logic_are_refused(self, as_user, alice, alice_case):
        contact = alice_case.contacts.get()

        response = as_user(alice).post(
            f"/api/v1/contacts/{contact.pk}/amend/",
            {"reason": "x", "changes": {"cssrs_plan": True}},
            format="json",
        )

        assert response.status_code == 400
        contact.refresh_from_db()
        assert contact.amendment_count == 0

    def test_a_field_that_cannot_be_amended_is_named(self, as_user, alice, alice_case):
        contact = alice_case.contacts.get()

        response = as_user(alice).post(
            f"/api/v1/contacts/{contact.pk}/amend/",
            {"reason": "x", "changes": {"recorded_by": 1, "risk_level": "low"}},
            format="json",
        )

        assert response.status_code == 400
        assert response.json()["changes"] == [
            "These fields cannot be amended: recorded_by, risk_level."
        ]

    def test_a_bad_value_is_named_inside_changes(self, as_user, alice, alice_case):
        contact = alice_case.contacts.get()

        response = as_user(alice).post(
            f"/api/v1/contacts/{contact.pk}/amend/",
            {"reason": "x", "changes": {"disposition": "vanished"}},
            format="json",
        )

        assert response.status_code == 400
        assert "disposition" in response.json()["changes"]

    def test_moving_the_call_after_the_arrival_is_refused(self, as_user, alice, alice_case):
        contact = alice_case.contacts.get()
        later = iso(contact.on_scene_at + datetime.timedelta(minutes=1))

        response = as_user(alice).post(
            f"/api/v1/contacts/{contact.pk}/amend/",
            {"reason": "Clock was wrong", "changes": {"received_at": later}},
            format="json",
        )

        assert response.status_code == 400
        assert "received_at" in response.json()["changes"]
        contact.refresh_from_db()
        assert contact.amendment_count == 0

    def test_nothing_changed_is_a_400(self, as_user, alice, alice_case):
        contact = alice_case.contacts.get()

        response = as_user(alice).post(
            f"/api/v1/contacts/{contact.pk}/amend/",
            {"reason": "x", "changes": {"narrative": contact.narrative}},
            format="json",
        )

        assert response.status_code == 400
        assert response.json()["code"] == "invalid_amendment"

    def test_the_agency_admin_gets_403(self, as_user, dana, alice_case):
        contact = alice_case.contacts.get()

        response = as_user(dana).post(
            f"/api/v1/contacts/{contact.pk}/amend/",
            {"reason": "x", "changes": {"narrative": "y"}},
            format="json",
        )

        assert response.status_code == 403
        assert not ContactAmendment.objects.exists()

    def test_another_agency_gets_404_for_amend_and_amendments(self, as_user, carol, alice_case):
        contact = alice_case.contacts.get()
        api = as_user(carol)

        amend = api.post(
            f"/api/v1/contacts/{contact.pk}/amend/",
            {"reason": "x", "changes": {"narrative": "y"}},
            format="json",
        )
        listing = api.get(f"/api/v1/contacts/{contact.pk}/amendments/")

        assert amend.status_code == listing.status_code == 404
        assert denied_rows(carol, "contact", contact.pk).count() == 2
        assert not ContactAmendment.objects.exists()


# --- Schema and docs ---------------------------------------------------------------------


class TestSchema:
    def test_the_schema_generates_without_warnings(self, tmp_path, db):
        call_command(
            "spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "s.yaml")
        )

        assert "/api/v1/contacts/{id}/amend/" in (tmp_path / "s.yaml").read_text()

    @pytest.fixture
    def schema(self, as_user, alice):
        return as_user(alice).get("/api/schema/", {"format": "json"}).json()

    def test_every_operation_documents_the_refusals_it_answers(self, schema):
        operations = {
            (method.upper(), path): operation
            for path, item in schema["paths"].items()
            for method, operation in item.items()
        }
        # Every app's API is in the one schema.
        for expected in [
            ("GET", "/api/v1/cases/"),
            ("GET", "/api/v1/directory/search/"),
            ("GET", "/api/v1/directory/services/{id}/"),
            ("POST", "/api/v1/referrals/"),
            ("POST", "/api/v1/referrals/{id}/transition/"),
            ("POST", "/api/v1/consents/{id}/revoke/"),
            ("GET", "/api/v1/reports/referrals/"),
            ("POST", "/api/v1/reports/exports/"),
        ]:
            assert expected in operations, expected
        for (method, path), operation in operations.items():
            codes = set(operation["responses"])
            token = path == "/api/v1/auth/token/"
            assert ("401" in codes) is not token, (method, path)
            if "{id}" in path:
                assert "404" in codes, (method, path)
            if method in ("POST", "PUT", "PATCH"):
                assert {"400", "413", "415"} <= codes, (method, path)
                assert ("403" in codes) is not token, (method, path)
        assert "429" in operations["POST", "/api/v1/auth/token/"]["responses"]
        assert "400" in operations["GET", "/api/v1/cases/"]["responses"]

    def test_bodies_are_documented_as_json_and_the_token_request_as_a_form_too(self, schema):
        for path, item in schema["paths"].items():
            for method, operation in item.items():
                media_types = set(operation.get("requestBody", {"content": {}})["content"])
                if path == "/api/v1/auth/token/":
                    assert "application/x-www-form-urlencoded" in media_types
                elif (method, path) == ("post", "/api/v1/attachments/"):
                    # A file travels in a multipart form (tests/attachments/test_api.py).
                    assert media_types == {"multipart/form-data"}
                else:
                    assert media_types <= {"application/json"}, (method, path)

    def test_an_open_cases_blank_close_reason_is_in_the_schema(self, schema, as_user, alice):
        close_reason = schema["components"]["schemas"]["Case"]["properties"]["close_reason"]

        assert {"$ref": "#/components/schemas/BlankEnum"} in close_reason["oneOf"]
        assert schema["components"]["schemas"]["BlankEnum"]["enum"] == [""]

    def test_the_docs_load_swagger_ui_from_our_own_static_files(self, as_user, alice):
        response = as_user(alice).get("/api/docs/")

        assert response.status_code == 200
        html = response.content.decode()
        assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in html
        assert "cdn" not in html.lower()
        assert "https://" not in html


class TestRoleRefusalsAreAudited:
    def test_an_agency_admin_creating_a_contact_is_refused_and_audited(self, as_user, dana):
        response = as_user(dana).post("/api/v1/contacts/", {}, format="json")

        assert response.status_code == 403
        row = AuditEvent.objects.get(actor=dana, action=Action.DENIED)
        assert row.detail == {"reason": "role"}
        assert row.object_type == "api:contacts"


class TestLateEntries:
    """A call received more than 30 days before the agency's today is a 400 on
    `received_at` unless `late_entry` is true; more than 2 years back is a 400 either
    way. Now: Saturday 5 December 2026, 19:00 in Los Angeles (6 December in UTC)."""

    @pytest.fixture(autouse=True)
    def _now(self, time_machine):
        time_machine.move_to(datetime.datetime(2026, 12, 6, 3, tzinfo=UTC), tick=False)

    def body(self, received_at, **overrides):
        return contact_body(
            new_client=NEW_CLIENT,
            received_at=received_at,
            dispatched_at=None,
            on_scene_at=None,
            cleared_at=None,
            **overrides,
        )

    def test_thirty_days_before_the_agencys_today_is_accepted(self, as_user, alice):
        # 5 Nov 10:00 in Los Angeles (18:00 UTC): 30 days before 5 Dec.
        response = as_user(alice).post(
            "/api/v1/contacts/", self.body("2026-11-05T18:00:00Z"), format="json"
        )
        assert response.status_code == 201, response.json()

    def test_an_older_call_needs_the_late_entry_flag(self, as_user, alice):
        # 5 Nov 04:00 UTC is 4 Nov 20:00 in Los Angeles: the message names 4 Nov.
        api = as_user(alice)
        refused = api.post("/api/v1/contacts/", self.body("2026-11-05T04:00:00Z"), format="json")
        assert refused.status_code == 400
        assert refused.json()["received_at"] == [
            "The call was received on Wed 4 Nov 2026, Los Angeles time, "
            '31 days before today. If that is right, send "late_entry": true.'
        ]
        assert not Contact.objects.exists()
        confirmed = api.post(
            "/api/v1/contacts/",
            self.body("2026-11-05T04:00:00Z", late_entry=True),
            format="json",
        )
        assert confirmed.status_code == 201, confirmed.json()
        assert "late_entry" not in confirmed.json()

    def test_years_back_is_refused_even_with_the_flag(self, as_user, alice):
        response = as_user(alice).post(
            "/api/v1/contacts/",
            self.body("1999-03-01T18:00:00Z", late_entry=True),
            format="json",
        )
        assert response.status_code == 400
        assert response.json()["received_at"] == [
            "The call would have been received on Mon 1 Mar 1999, Los Angeles time, "
            "more than 2 years ago: check the year."
        ]

    def test_an_amendment_cannot_move_the_call_years_back(self, as_user, alice, alice_case):
        contact = alice_case.contacts.get()
        response = as_user(alice).post(
            f"/api/v1/contacts/{contact.pk}/amend/",
            {"reason": "Wrong year", "changes": {"received_at": "1999-03-01T18:00:00Z"}},
            format="json",
        )
        assert response.status_code == 400
        assert "more than 2 years ago" in str(response.json())
        contact.refresh_from_db()
        assert contact.amendment_count == 0

    def test_the_flag_is_documented(self, as_user, alice):
        schema = as_user(alice).get("/api/schema/").content.decode()
        assert "Confirms a late entry" in schema


class TestSourcesAndDispositions:
    def test_self_and_other_sources_and_shelter_and_detox_are_accepted(
        self, as_user, alice, alice_case
    ):
        api = as_user(alice)
        for source, disposition in (("self", "shelter"), ("other", "detox")):
            response = api.post(
                "/api/v1/contacts/",
                contact_body(client=alice_case.client_id, source=source, disposition=disposition),
                format="json",
            )
            assert response.status_code == 201, response.json()
            assert (response.json()["source"], response.json()["disposition"]) == (
                source,
                disposition,
            )
