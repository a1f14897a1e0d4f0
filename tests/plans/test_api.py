"""The safety plan and crisis response plan API: each endpoint's happy path, the scope
matrix (404 and a DENIED row when invisible, 403 for the agency admin's read-only access,
nothing at all for a dispatcher or the system admin), audit rows, per-field 400s, the
workflow's refusals, query counts and the schema."""

import datetime

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from accounts.models import Role
from audit.models import Action, AuditEvent
from cases import services as case_services
from cases.models import CloseReason
from plans import services
from plans.models import CrisisPlan, CrisisPlanStatus, SafetyPlan, SafetyPlanLink
from plans.services.links import issue_safety_plan_link
from tests.accounts.factories import UserFactory
from tests.directory.factories import PhoneFactory, ServiceFactory
from tests.followups.factories import due_followup, make_case
from tests.plans.factories import crisis_content, make_approved_crisis_plan, make_safety_plan

pytestmark = pytest.mark.django_db

SAFETY = "/api/v1/safety-plans/"
CRISIS = "/api/v1/crisis-plans/"
LINKS = "/api/v1/safety-plan-links/"


@pytest.fixture
def as_user(api):
    def sign_in(user):
        api.force_authenticate(user)
        return api

    return sign_in


@pytest.fixture
def dex(agency_a, team_a):
    """A dispatcher of Agency A, even given a team: dispatchers work no cases."""
    return UserFactory(username="dex", agency=agency_a, team=team_a, role=Role.DISPATCHER)


def ids(response):
    assert response.status_code == 200, response.content[:300]
    return [row["id"] for row in response.json()["results"]]


def denied_rows(user, object_type, object_id):
    return AuditEvent.objects.filter(
        actor=user, action=Action.DENIED, object_type=object_type, object_id=str(object_id)
    )


def plan_body(case, /, **overrides):
    body = {
        "case": case.pk,
        "change_note": "Made with the client at the kitchen table",
        "warning_signs": ["Not sleeping", "Staying in my room"],
        "coping": ["Walk the dog"],
        "distractions": [{"name": "The library on 5th", "phone": ""}],
        "help_people": [{"name": "My sister Ana", "phone": "541-555-0101"}],
        "professionals": [{"name": "Dr Lee", "phone": "541-555-0199"}],
        "services": [],
        "means": [
            {"kind": "medications", "step": "Pharmacy keeps the refill", "who": "Ana"},
        ],
        "reasons": ["My kids"],
    }
    body.update(overrides)
    return body


def safety_plan_of(case):
    return SafetyPlan.objects.get(client_id=case.client_id)


# --- Safety plans: lists -----------------------------------------------------------------


class TestSafetyPlanList:
    def test_a_worker_lists_the_plans_of_the_clients_they_see_and_it_is_audited(
        self, as_user, alice, bob, erin, alice_case, bob_case, erin_case
    ):
        for worker, case in ((alice, alice_case), (bob, bob_case), (erin, erin_case)):
            make_safety_plan(worker, case)
        mine = [safety_plan_of(alice_case).pk, safety_plan_of(bob_case).pk]

        assert sorted(ids(as_user(alice).get(SAFETY))) == sorted(mine)

        event = AuditEvent.objects.get(actor=alice, action=Action.LIST, object_type="safetyplan")
        assert sorted(event.detail["ids"]) == sorted(mine)
        assert event.detail["client_ids"] == sorted([alice_case.client_id, bob_case.client_id])

    def test_the_row_carries_the_current_version(self, as_user, alice, alice_case):
        make_safety_plan(alice, alice_case)
        make_safety_plan(alice, alice_case, coping=["Walk the dog", "Call Ana"])

        row = as_user(alice).get(SAFETY).json()["results"][0]

        assert row["client"]["id"] == alice_case.client_id
        assert row["case"] == alice_case.pk
        assert row["current"]["number"] == 2
        assert row["current"]["coping"] == ["Walk the dog", "Call Ana"]
        assert row["created_by"]["username"] == "alice"

    def test_filters(self, as_user, alice, bob, alice_case, bob_case):
        make_safety_plan(alice, alice_case)
        later = timezone.now() + datetime.timedelta(hours=1)
        with time_machine.travel(later + datetime.timedelta(minutes=5), tick=False):
            make_safety_plan(bob, bob_case)
        api = as_user(alice)

        assert ids(api.get(SAFETY, {"client": alice_case.client_id})) == [
            safety_plan_of(alice_case).pk
        ]
        assert ids(api.get(SAFETY, {"updated_since": later.isoformat()})) == [
            safety_plan_of(bob_case).pk
        ]

    def test_a_client_filter_of_another_agency_finds_nothing(
        self, as_user, alice, carol, carol_case
    ):
        make_safety_plan(carol, carol_case)

        assert ids(as_user(alice).get(SAFETY, {"client": carol_case.client_id})) == []

    @pytest.mark.parametrize(
        "query",
        [
            {"client": "abc"},
            {"client": 2**64},
            {"client": -1},
            {"updated_since": "yesterday"},
            {"updated_since": "2024-13-45"},
        ],
    )
    def test_bad_filters_are_a_400_naming_the_filter(self, query, as_user, alice):
        response = as_user(alice).get(SAFETY, query)

        assert response.status_code == 400
        assert set(query) <= set(response.json())

    @pytest.mark.parametrize("url", [SAFETY, CRISIS])
    def test_garbage_query_parameters_never_500(self, url, as_user, alice):
        api = as_user(alice)
        for params in [
            {"client": "\x00"},
            {"client": "1.5"},
            {"status": "\x00"},
            {"review_overdue": "2"},
            {"updated_since": "\x00"},
            {"updated_since": "x" * 10_000},
            # PostgreSQL refuses offsets past 15:59; Python reads them, and years that
            # overflow UTC.
            {"updated_since": "0360-03-17T18:23:26-19:50"},
            {"updated_since": "0001-01-01T00:00:00+05:00"},
            {"updated_since": "9999-12-31T23:59:59-05:00"},
            {"page": "abc"},
            {"page_size": str(2**64)},
        ]:
            response = api.get(url, params)
            assert response.status_code in (200, 400, 404), (params, response.content[:200])
            assert response["Content-Type"].startswith("application/json")

    def test_the_query_count_does_not_grow_with_the_rows(
        self, as_user, alice, django_assert_max_num_queries
    ):
        api = as_user(alice)
        means = [
            {"kind": "firearms", "step": "Locked at a friend's", "who": "Sam", "confirmed": True},
            {"kind": "medications", "step": "Pharmacy keeps the refill", "who": "Ana"},
        ]
        for rows in (2, 6):
            while SafetyPlan.objects.count() < rows:
                response = api.post(SAFETY, plan_body(make_case(alice), means=means), format="json")
                assert response.status_code == 201, response.json()
            with django_assert_max_num_queries(5):
                response = api.get(SAFETY, {"page_size": 50})
            assert response.json()["count"] == rows


# --- Safety plans: a plan and its versions -----------------------------------------------


class TestSafetyPlanRetrieve:
    def test_the_current_version_in_full_and_it_is_audited(self, as_user, alice, bob, alice_case):
        service = ServiceFactory(name="County crisis line")
        PhoneFactory(service=service, number="541-555-0111")
        body = plan_body(
            alice_case,
            services=[str(service.pk)],
            means=[
                {
                    "kind": "firearms",
                    "step": "Locked at a friend's",
                    "who": "Sam",
                    "confirmed": True,
                }
            ],
        )
        assert as_user(alice).post(SAFETY, body, format="json").status_code == 201
        plan = safety_plan_of(alice_case)

        response = as_user(bob).get(f"{SAFETY}{plan.pk}/")

        assert response.status_code == 200
        current = response.json()["current"]
        assert current["number"] == 1
        assert current["created_by"]["username"] == "alice"
        assert current["change_note"] == "Made with the client at the kitchen table"
        assert current["warning_signs"] == ["Not sleeping", "Staying in my room"]
        assert current["help_people"] == [{"name": "My sister Ana", "phone": "541-555-0101"}]
        assert current["services"] == [
            {"service_id": str(service.pk), "name": "County crisis line", "phone": "541-555-0111"}
        ]
        assert current["agency_line"] == alice_case.agency.crisis_line
        [means] = current["means"]
        assert (means["kind"], means["who"], means["confirmed"]) == ("firearms", "Sam", True)
        assert means["confirmed_by"]["username"] == "alice"
        assert means["confirmed_at"] is not None
        view = AuditEvent.objects.get(actor=bob, action=Action.VIEW, object_type="safetyplan")
        assert (view.object_id, view.client_id) == (str(plan.pk), alice_case.client_id)

    @pytest.mark.parametrize("persona", ["erin", "carol", "dex", "root"])
    def test_others_get_a_404_and_a_denied_row(self, persona, request, as_user, alice, alice_case):
        make_safety_plan(alice, alice_case)
        plan = safety_plan_of(alice_case)
        user = request.getfixturevalue(persona)
        api = as_user(user)

        for url in ("", "versions/", "versions/1/", "links/"):
            assert api.get(f"{SAFETY}{plan.pk}/{url}").status_code == 404, url
        assert denied_rows(user, "safetyplan", plan.pk).count() == 4

    def test_another_agencys_denial_is_in_the_owning_agencys_trail(
        self, as_user, carol, alice, alice_case
    ):
        make_safety_plan(alice, alice_case)
        plan = safety_plan_of(alice_case)

        as_user(carol).get(f"{SAFETY}{plan.pk}/")

        assert denied_rows(carol, "safetyplan", plan.pk).get().agency == alice.agency

    @pytest.mark.parametrize("pk", ["abc", "1.5", "0", str(2**64)])
    def test_an_id_that_cannot_be_one_is_a_json_404(self, pk, as_user, alice):
        response = as_user(alice).get(f"{SAFETY}{pk}/")

        assert response.status_code == 404
        assert response["Content-Type"].startswith("application/json")


class TestSafetyPlanVersions:
    def test_the_history_newest_first_and_one_version(self, as_user, alice, bob, alice_case):
        make_safety_plan(alice, alice_case)
        make_safety_plan(bob, alice_case, coping=["Walk the dog", "Call Ana"])
        plan = safety_plan_of(alice_case)
        api = as_user(alice)

        rows = api.get(f"{SAFETY}{plan.pk}/versions/").json()["results"]
        assert [(r["number"], r["created_by"]["username"]) for r in rows] == [
            (2, "bob"),
            (1, "alice"),
        ]
        first = api.get(f"{SAFETY}{plan.pk}/versions/1/")
        assert first.status_code == 200
        assert first.json()["coping"] == ["Walk the dog", "Music"]
        assert (
            AuditEvent.objects.filter(
                actor=alice, action=Action.VIEW, object_type="safetyplan", object_id=str(plan.pk)
            ).count()
            == 2
        )

    @pytest.mark.parametrize("number", ["3", "0", "abc", str(2**64)])
    def test_a_version_that_is_not_there_is_a_404(self, number, as_user, alice, alice_case):
        make_safety_plan(alice, alice_case)
        plan = safety_plan_of(alice_case)

        response = as_user(alice).get(f"{SAFETY}{plan.pk}/versions/{number}/")

        assert response.status_code == 404
        assert response["Content-Type"].startswith("application/json")

    def test_the_query_count_does_not_grow_with_the_versions(
        self, as_user, alice, alice_case, django_assert_max_num_queries
    ):
        api = as_user(alice)
        plan = None
        for versions in (2, 6):
            while plan is None or plan.versions.count() < versions:
                n = plan.versions.count() if plan else 0
                make_safety_plan(alice, alice_case, reasons=[f"Reason {n}"])
                plan = safety_plan_of(alice_case)
            with django_assert_max_num_queries(7):
                response = api.get(f"{SAFETY}{plan.pk}/versions/")
            assert response.json()["count"] == versions


# --- Safety plans: writing ---------------------------------------------------------------


class TestSafetyPlanCreate:
    def test_a_worker_makes_the_plan_and_then_its_next_version(
        self, as_user, alice, bob, alice_case
    ):
        response = as_user(alice).post(SAFETY, plan_body(alice_case), format="json")

        assert response.status_code == 201, response.json()
        plan = safety_plan_of(alice_case)
        assert response.json()["id"] == plan.pk
        assert response.json()["current"]["number"] == 1
        created = AuditEvent.objects.get(
            actor=alice, action=Action.CREATE, object_type="safetyplan"
        )
        assert created.client_id == alice_case.client_id

        again = as_user(bob).post(
            SAFETY, plan_body(alice_case, reasons=["My kids", "Art"]), format="json"
        )

        assert again.status_code == 201, again.json()
        assert again.json()["id"] == plan.pk
        assert again.json()["current"]["number"] == 2
        assert again.json()["current"]["created_by"]["username"] == "bob"

    def test_made_during_a_contact_and_on_a_follow_up(self, as_user, alice, alice_case):
        contact = alice_case.contacts.get()
        followup = due_followup(alice_case)

        response = as_user(alice).post(
            SAFETY,
            plan_body(alice_case, contact=contact.pk, followup=followup.pk),
            format="json",
        )

        assert response.status_code == 201, response.json()
        assert response.json()["current"]["contact"] == contact.pk
        assert response.json()["current"]["followup"] == followup.pk

    def test_a_contact_or_follow_up_of_another_case_is_a_400_on_the_field(
        self, as_user, alice, alice_case, bob_case
    ):
        api = as_user(alice)
        other = bob_case.contacts.get()
        response = api.post(SAFETY, plan_body(alice_case, contact=other.pk), format="json")
        assert response.status_code == 400
        assert "contact" in response.json()

        followup = due_followup(bob_case)
        response = api.post(SAFETY, plan_body(alice_case, followup=followup.pk), format="json")
        assert response.status_code == 400
        assert "followup" in response.json()
        assert not SafetyPlan.objects.exists()

    def test_an_unchanged_plan_is_a_400(self, as_user, alice, alice_case):
        api = as_user(alice)
        api.post(SAFETY, plan_body(alice_case), format="json")

        response = api.post(SAFETY, plan_body(alice_case), format="json")

        assert response.status_code == 400
        assert response.json()["code"] == "invalid"
        assert safety_plan_of(alice_case).versions.count() == 1

    def test_a_closed_case_is_a_400(self, as_user, alice, alice_case):
        case_services.close_case(actor=alice, case=alice_case, reason=CloseReason.STABILISED)

        response = as_user(alice).post(SAFETY, plan_body(alice_case), format="json")

        assert response.status_code == 400
        assert "detail" in response.json()

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("warning_signs", []),
            ("warning_signs", ["   "]),
            ("warning_signs", "Not sleeping"),
            ("warning_signs", [{"a": 1}]),
            ("warning_signs", ["x" * 201]),
            ("coping", None),
            ("coping", [f"Thing {n}" for n in range(13)]),
            ("reasons", ["a\x00b"]),
            ("distractions", ["The library"]),
            ("distractions", [{"phone": "541-555-0101"}]),
            ("distractions", [{"name": "", "phone": "541-555-0101"}]),
            ("help_people", [{"name": f"Person {n}"} for n in range(13)]),
            ("professionals", {"name": "Dr Lee"}),
            ("services", ["not-a-uuid"]),
            ("services", ["00000000-0000-0000-0000-000000000000"]),
            ("services", "00000000-0000-0000-0000-000000000000"),
            ("means", [{"kind": "knives", "step": "x", "who": "y"}]),
            ("means", [{"kind": "firearms", "step": "Locked away", "who": ""}]),
            ("means", [{"kind": "firearms", "step": "x", "who": "y", "confirmed": "maybe"}]),
            ("means", [{"kind": "other", "step": f"Step {n}", "who": "Ana"} for n in range(9)]),
            ("change_note", "x" * 301),
            ("change_note", ["x"]),
            ("case", "abc"),
            ("case", 2**64),
            ("case", None),
            ("contact", 2**64),
            ("contact", "abc"),
            ("followup", -1),
        ],
    )
    def test_bad_input_is_a_400_naming_the_field(self, field, value, as_user, alice, alice_case):
        response = as_user(alice).post(
            SAFETY, plan_body(alice_case, **{field: value}), format="json"
        )

        assert response.status_code == 400, response.content[:300]
        assert field in response.json(), response.json()
        assert not SafetyPlan.objects.exists()

    @pytest.mark.parametrize("body", [[1, 2], "plan", 5, None])
    def test_a_body_that_is_not_an_object_is_a_400(self, body, as_user, alice):
        response = as_user(alice).post(SAFETY, body, format="json")

        assert response.status_code == 400
        assert not SafetyPlan.objects.exists()

    def test_another_agencys_service_is_not_in_the_directory(
        self, as_user, alice, alice_case, agency_b
    ):
        theirs = ServiceFactory(agency=agency_b)

        response = as_user(alice).post(
            SAFETY, plan_body(alice_case, services=[str(theirs.pk)]), format="json"
        )

        assert response.status_code == 400
        assert "services" in response.json()

    def test_a_case_one_cannot_see_does_not_exist(self, as_user, erin, carol, alice_case):
        for user in (erin, carol):
            response = as_user(user).post(SAFETY, plan_body(alice_case), format="json")
            assert response.status_code == 400
            assert "case" in response.json()
        assert not SafetyPlan.objects.exists()

    @pytest.mark.parametrize("persona", ["dana", "dex", "root"])
    def test_who_works_no_cases_is_refused_and_audited(self, persona, request, as_user, alice_case):
        user = request.getfixturevalue(persona)

        response = as_user(user).post(SAFETY, plan_body(alice_case), format="json")

        assert response.status_code == 403
        row = AuditEvent.objects.get(actor=user, action=Action.DENIED)
        assert (row.object_type, row.detail) == ("api:safety-plans", {"reason": "role"})
        assert not SafetyPlan.objects.exists()


# --- Safety plans: links -----------------------------------------------------------------


class TestSafetyPlanLinks:
    def test_send_list_and_revoke_without_ever_showing_a_token(self, as_user, alice, alice_case):
        make_safety_plan(alice, alice_case)
        plan = safety_plan_of(alice_case)
        api = as_user(alice)

        sent = api.post(
            f"{SAFETY}{plan.pk}/links/",
            {"channel": "text", "address": "541-555-0177"},
            format="json",
        )

        assert sent.status_code == 201, sent.json()
        link = SafetyPlanLink.objects.get()
        shown = {key: sent.json()[key] for key in ("id", "sent_to", "usable", "delivery")}
        assert shown == {"id": link.pk, "sent_to": "••• ••77", "usable": True, "delivery": "queued"}
        listed = api.get(f"{SAFETY}{plan.pk}/links/")
        assert ids(listed) == [link.pk]
        for response in (sent, listed):
            body = response.content.decode()
            assert link.token() not in body
            assert str(link.public_id) not in body
            assert "0177" not in body

        revoked = api.post(f"{LINKS}{link.pk}/revoke/", format="json")

        assert revoked.status_code == 200, revoked.json()
        body = revoked.json()
        assert (body["revoked_by"]["username"], body["usable"]) == ("alice", False)
        assert body["revoked_at"] is not None
        again = api.post(f"{LINKS}{link.pk}/revoke/", format="json")
        assert again.status_code == 400

    def test_by_default_the_link_goes_to_the_clients_phone(self, as_user, alice, alice_case):
        make_safety_plan(alice, alice_case)
        plan = safety_plan_of(alice_case)

        response = as_user(alice).post(
            f"{SAFETY}{plan.pk}/links/", {"channel": "text"}, format="json"
        )

        assert response.status_code == 201, response.json()
        assert SafetyPlanLink.objects.get().sent_to == alice_case.client.phone

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"channel": "pigeon"}, "channel"),
            ({}, "channel"),
            ({"channel": "email", "address": "not-an-email"}, "address"),
            ({"channel": "email"}, "address"),  # the client has no email on record
            ({"channel": "text", "address": "12"}, "address"),
            ({"channel": "text", "address": "x" * 255}, "address"),
            ({"channel": "text", "address": ["541-555-0177"]}, "address"),
        ],
    )
    def test_bad_input_is_a_400_naming_the_field(self, body, field, as_user, alice, alice_case):
        make_safety_plan(alice, alice_case)
        plan = safety_plan_of(alice_case)

        response = as_user(alice).post(f"{SAFETY}{plan.pk}/links/", body, format="json")

        assert response.status_code == 400
        assert field in response.json()
        assert not SafetyPlanLink.objects.exists()

    def test_the_agency_admin_reads_the_links_but_sends_and_revokes_none(
        self, as_user, alice, dana, alice_case
    ):
        make_safety_plan(alice, alice_case)
        plan = safety_plan_of(alice_case)
        link = issue_safety_plan_link(actor=alice, plan=plan, channel="text")
        api = as_user(dana)

        assert ids(api.get(f"{SAFETY}{plan.pk}/links/")) == [link.pk]
        sent = api.post(f"{SAFETY}{plan.pk}/links/", {"channel": "text"}, format="json")
        assert sent.status_code == 403
        assert api.post(f"{LINKS}{link.pk}/revoke/").status_code == 403
        assert denied_rows(dana, "safetyplan", plan.pk).exists()
        assert denied_rows(dana, "safetyplanlink", link.pk).get().detail == {"reason": "read only"}
        link.refresh_from_db()
        assert link.revoked_at is None
        assert SafetyPlanLink.objects.count() == 1

    @pytest.mark.parametrize("persona", ["erin", "carol", "dex", "root"])
    def test_others_get_a_404_and_a_denied_row(self, persona, request, as_user, alice, alice_case):
        make_safety_plan(alice, alice_case)
        plan = safety_plan_of(alice_case)
        link = issue_safety_plan_link(actor=alice, plan=plan, channel="text")
        user = request.getfixturevalue(persona)

        response = as_user(user).post(f"{LINKS}{link.pk}/revoke/")

        assert response.status_code == 404
        row = denied_rows(user, "safetyplanlink", link.pk).get()
        assert row.agency == alice.agency
        link.refresh_from_db()
        assert link.revoked_at is None

    @pytest.mark.parametrize("pk", ["abc", "0", str(2**64)])
    def test_a_link_id_that_cannot_be_one_is_a_json_404(self, pk, as_user, alice):
        response = as_user(alice).post(f"{LINKS}{pk}/revoke/")

        assert response.status_code == 404
        assert response["Content-Type"].startswith("application/json")

    def test_the_query_count_does_not_grow_with_the_links(
        self, as_user, alice, alice_case, django_assert_max_num_queries
    ):
        make_safety_plan(alice, alice_case)
        plan = safety_plan_of(alice_case)
        api = as_user(alice)
        for rows in (2, 6):
            while plan.links.count() < rows:
                n = plan.links.count()
                issue_safety_plan_link(
                    actor=alice, plan=plan, channel="text", address=f"541-555-01{n:02d}"
                )
            with django_assert_max_num_queries(6):
                response = api.get(f"{SAFETY}{plan.pk}/links/")
            assert response.json()["count"] == rows


# --- Crisis response plans ---------------------------------------------------------------


def crisis_body(case, /, **overrides):
    body = {
        "case": case.pk,
        "triggers": "Loud arguments",
        "helps": "Speak slowly, offer water",
        "avoid": "Do not stand between him and the door",
        "contacts": [{"name": "Ana Ruiz", "relation": "sister", "phone": "541-555-0101"}],
        "preferred_care": "Riverbend crisis centre",
        "hazards": "Large dog in the yard",
    }
    body.update(overrides)
    return body


def draft(worker, case, **overrides):
    return services.save_crisis_plan(actor=worker, case=case, content=crisis_content(**overrides))


def submitted(worker, case):
    return services.submit_crisis_plan(actor=worker, plan=draft(worker, case))


class TestCrisisPlanList:
    def test_a_worker_lists_the_plans_of_the_clients_they_see_and_it_is_audited(
        self, as_user, alice, bob, erin, carol, alice_case, bob_case, erin_case, carol_case
    ):
        plans = {
            name: draft(worker, case)
            for name, worker, case in (
                ("alice", alice, alice_case),
                ("bob", bob, bob_case),
                ("erin", erin, erin_case),
                ("carol", carol, carol_case),
            )
        }
        mine = sorted([plans["alice"].pk, plans["bob"].pk])

        assert sorted(ids(as_user(alice).get(CRISIS))) == mine

        event = AuditEvent.objects.get(actor=alice, action=Action.LIST, object_type="crisisplan")
        assert sorted(event.detail["ids"]) == mine
        assert event.detail["client_ids"] == sorted([alice_case.client_id, bob_case.client_id])

    def test_filters(self, as_user, alice, bob, sam, alice_case, bob_case):
        approved = make_approved_crisis_plan(alice, sam, alice_case)
        pending = submitted(bob, bob_case)
        api = as_user(alice)

        assert ids(api.get(CRISIS, {"client": bob_case.client_id})) == [pending.pk]
        assert ids(api.get(CRISIS, {"status": "approved"})) == [approved.pk]
        assert ids(api.get(CRISIS, {"status": "submitted"})) == [pending.pk]
        assert ids(api.get(CRISIS, {"review_overdue": "true"})) == []
        days = alice_case.agency.crisis_plan_review_days
        with time_machine.travel(timezone.now() + datetime.timedelta(days=days, hours=1)):
            assert ids(api.get(CRISIS, {"review_overdue": "true"})) == [approved.pk]
            assert ids(api.get(CRISIS, {"review_overdue": "false"})) == [pending.pk]
            row = api.get(f"{CRISIS}{approved.pk}/").json()
            assert row["review_overdue"] is True

    @pytest.mark.parametrize(
        "query",
        [
            {"status": "lost"},
            {"client": "abc"},
            {"client": 2**64},
            {"review_overdue": "maybe"},
        ],
    )
    def test_bad_filters_are_a_400_naming_the_filter(self, query, as_user, alice):
        response = as_user(alice).get(CRISIS, query)

        assert response.status_code == 400
        assert set(query) <= set(response.json())

    def test_the_query_count_does_not_grow_with_the_rows(
        self, as_user, alice, sam, django_assert_max_num_queries
    ):
        api = as_user(alice)
        for rows in (2, 6):
            while CrisisPlan.objects.count() < rows:
                make_approved_crisis_plan(alice, sam, make_case(alice))
            with django_assert_max_num_queries(4):
                response = api.get(CRISIS, {"page_size": 50})
            assert response.json()["count"] == rows


class TestCrisisPlanWrite:
    def test_a_worker_writes_a_draft_and_posting_again_replaces_it(
        self, as_user, alice, alice_case
    ):
        api = as_user(alice)

        made = api.post(CRISIS, crisis_body(alice_case), format="json")

        assert made.status_code == 201, made.json()
        body = made.json()
        assert (body["status"], body["number"], body["author"]["username"]) == (
            "draft",
            1,
            "alice",
        )
        assert body["contacts"] == [
            {"name": "Ana Ruiz", "relation": "sister", "phone": "541-555-0101"}
        ]
        created = AuditEvent.objects.get(
            actor=alice, action=Action.CREATE, object_type="crisisplan"
        )
        assert created.client_id == alice_case.client_id

        again = api.post(CRISIS, crisis_body(alice_case, hazards="None known"), format="json")

        assert again.status_code == 200, again.json()
        assert again.json()["id"] == body["id"]
        assert again.json()["hazards"] == "None known"
        assert CrisisPlan.objects.count() == 1

    def test_patch_changes_a_draft_field_by_field(self, as_user, alice, bob, alice_case):
        plan = draft(alice, alice_case)

        response = as_user(bob).patch(f"{CRISIS}{plan.pk}/", {"hazards": "Two dogs"}, format="json")

        assert response.status_code == 200, response.json()
        assert response.json()["hazards"] == "Two dogs"
        assert response.json()["triggers"] == plan.triggers
        plan.refresh_from_db()
        assert plan.hazards == "Two dogs"

    @pytest.mark.parametrize("status", ["submitted", "approved"])
    def test_patch_changes_only_a_draft(self, status, as_user, alice, sam, alice_case):
        plan = (
            submitted(alice, alice_case)
            if status == "submitted"
            else make_approved_crisis_plan(alice, sam, alice_case)
        )

        response = as_user(alice).patch(f"{CRISIS}{plan.pk}/", {"hazards": "x"}, format="json")

        assert response.status_code == 400
        assert response.json()["code"] == "invalid_transition"
        plan.refresh_from_db()
        assert plan.hazards == "Large dog in the yard"
        assert CrisisPlan.objects.count() == 1

    def test_a_version_waiting_for_approval_is_not_replaced(self, as_user, alice, alice_case):
        plan = submitted(alice, alice_case)

        response = as_user(alice).post(CRISIS, crisis_body(alice_case), format="json")

        assert response.status_code == 400
        assert response.json()["code"] == "invalid_transition"
        assert list(CrisisPlan.objects.values_list("pk", "status")) == [(plan.pk, "submitted")]

    def test_put_is_not_allowed(self, as_user, alice, alice_case):
        plan = draft(alice, alice_case)

        response = as_user(alice).put(f"{CRISIS}{plan.pk}/", {"hazards": "x"}, format="json")

        assert response.status_code == 405

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("triggers", "x" * 2001),
            ("triggers", {"a": 1}),
            ("preferred_care", "x" * 301),
            ("hazards", "a\x00b"),
            ("contacts", "Ana"),
            ("contacts", ["Ana"]),
            ("contacts", [{"relation": "sister"}]),
            ("contacts", [{"name": "", "phone": "541-555-0101"}]),
            ("contacts", [{"name": f"Person {n}"} for n in range(9)]),
            ("case", "abc"),
            ("case", None),
        ],
    )
    def test_bad_input_is_a_400_naming_the_field(self, field, value, as_user, alice, alice_case):
        response = as_user(alice).post(
            CRISIS, crisis_body(alice_case, **{field: value}), format="json"
        )

        assert response.status_code == 400, response.content[:300]
        assert field in response.json(), response.json()
        assert not CrisisPlan.objects.exists()

    def test_a_case_of_another_agency_does_not_exist(self, as_user, carol, alice_case):
        response = as_user(carol).post(CRISIS, crisis_body(alice_case), format="json")

        assert response.status_code == 400
        assert "case" in response.json()

    @pytest.mark.parametrize("persona", ["dana", "dex", "root"])
    def test_who_works_no_cases_writes_none(self, persona, request, as_user, alice, alice_case):
        plan = draft(alice, alice_case)
        user = request.getfixturevalue(persona)
        api = as_user(user)

        assert api.post(CRISIS, crisis_body(alice_case), format="json").status_code == 403
        row = AuditEvent.objects.get(actor=user, action=Action.DENIED)
        assert (row.object_type, row.detail) == ("api:crisis-plans", {"reason": "role"})
        expected = 403 if persona == "dana" else 404
        patched = api.patch(f"{CRISIS}{plan.pk}/", {"hazards": "x"}, format="json")
        assert patched.status_code == expected
        assert api.post(f"{CRISIS}{plan.pk}/submit/").status_code == expected
        plan.refresh_from_db()
        assert (plan.status, plan.hazards) == ("draft", "Large dog in the yard")


class TestCrisisPlanWorkflow:
    def test_submit_return_submit_approve_review_and_withdraw(
        self, as_user, alice, sam, alice_case
    ):
        plan = draft(alice, alice_case)

        def move(user, action, **data):
            response = as_user(user).post(f"{CRISIS}{plan.pk}/{action}/", data, format="json")
            assert response.status_code == 200, response.json()
            body = response.json()
            people = {k: body[k] and body[k]["username"] for k in ("approved_by", "ended_by")}
            return body, people

        body, _ = move(alice, "submit")
        assert (body["status"], body["submitted_at"] is not None) == ("submitted", True)
        body, _ = move(sam, "return", note="Add who to call at night")
        assert (body["status"], body["returned_note"]) == ("draft", "Add who to call at night")
        move(alice, "submit")
        body, people = move(sam, "approve")
        assert (body["status"], people["approved_by"], body["review_overdue"]) == (
            "approved",
            "sam",
            False,
        )
        assert body["review_due_at"] is not None
        body, _ = move(sam, "review")
        assert body["reviewed_by"]["username"] == "sam"
        body, people = move(sam, "withdraw")
        assert (body["status"], people["ended_by"]) == ("withdrawn", "sam")
        updates = AuditEvent.objects.filter(
            action=Action.UPDATE, object_type="crisisplan", object_id=str(plan.pk)
        )
        assert updates.count() == 6

    def test_a_supervisor_cannot_approve_their_own_plan(self, as_user, sam, alice_case):
        plan = submitted(sam, alice_case)

        response = as_user(sam).post(f"{CRISIS}{plan.pk}/approve/")

        assert response.status_code == 403
        plan.refresh_from_db()
        assert plan.status == CrisisPlanStatus.SUBMITTED

    def test_a_worker_cannot_approve_return_or_review(self, as_user, alice, bob, alice_case):
        plan = submitted(alice, alice_case)
        api = as_user(bob)

        assert api.post(f"{CRISIS}{plan.pk}/approve/").status_code == 403
        returned = api.post(f"{CRISIS}{plan.pk}/return/", {"note": "No"}, format="json")
        assert returned.status_code == 403
        assert api.post(f"{CRISIS}{plan.pk}/review/").status_code == 403
        plan.refresh_from_db()
        assert plan.status == CrisisPlanStatus.SUBMITTED

    def test_a_move_the_status_does_not_allow_is_a_400(self, as_user, alice, sam, alice_case):
        plan = draft(alice, alice_case)

        response = as_user(sam).post(f"{CRISIS}{plan.pk}/approve/")

        assert response.status_code == 400
        assert response.json()["code"] == "invalid_transition"
        assert "detail" in response.json()

    def test_submitting_an_empty_draft_is_a_400(self, as_user, alice, alice_case):
        plan = draft(alice, alice_case, triggers="", helps="", avoid="", hazards="", contacts=[])

        response = as_user(alice).post(f"{CRISIS}{plan.pk}/submit/")

        assert response.status_code == 400
        assert "detail" in response.json()

    @pytest.mark.parametrize("note", [None, "", "   ", "x" * 301, {"a": 1}])
    def test_returning_needs_a_note(self, note, as_user, alice, sam, alice_case):
        plan = submitted(alice, alice_case)
        body = {} if note is None else {"note": note}

        response = as_user(sam).post(f"{CRISIS}{plan.pk}/return/", body, format="json")

        assert response.status_code == 400
        assert "note" in response.json()

    def test_a_worker_withdraws_a_draft_but_not_an_approved_plan(
        self, as_user, alice, bob, sam, alice_case, bob_case
    ):
        plan = draft(alice, alice_case)
        approved = make_approved_crisis_plan(bob, sam, bob_case)
        api = as_user(bob)

        assert api.post(f"{CRISIS}{plan.pk}/withdraw/").json()["status"] == "withdrawn"
        assert api.post(f"{CRISIS}{approved.pk}/withdraw/").status_code == 403


# --- The scope matrix --------------------------------------------------------------------

PERSONAS = ["alice", "bob", "erin", "sam", "dana", "carol", "dex", "root"]
TARGETS = ["alice", "bob", "erin", "carol"]
# Whose plans each persona may see, written out from the access rules (as
# tests/test_permission_matrix.py): a dispatcher and the system admin see none.
VISIBLE = {
    "alice": {"alice", "bob"},
    "bob": {"alice", "bob"},
    "erin": {"erin"},
    "sam": {"alice", "bob"},
    "dana": {"alice", "bob", "erin"},
    "carol": {"carol"},
    "dex": set(),
    "root": set(),
}
WRITABLE = {
    name: (set() if name in ("dana", "dex", "root") else seen) for name, seen in VISIBLE.items()
}


@pytest.fixture
def plan_world(
    alice, bob, erin, sam, dana, carol, dex, root, alice_case, bob_case, erin_case, carol_case
):
    users = {u.username: u for u in (alice, bob, erin, sam, dana, carol, dex, root)}
    cases = {"alice": alice_case, "bob": bob_case, "erin": erin_case, "carol": carol_case}
    plans = {}
    for name, case in cases.items():
        worker = case.assigned_worker
        make_safety_plan(worker, case)
        safety = safety_plan_of(case)
        plans[name] = {
            "safety": safety,
            "link": issue_safety_plan_link(actor=worker, plan=safety, channel="text"),
            "crisis": draft(worker, case),
        }
    return users, plans


def _last_audit_id():
    return AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def _where(persona, target, name, response):
    return f"{persona} on {target}'s plan, {name}: answered {response.status_code}"


READS = [
    ("safety plan", lambda p: f"{SAFETY}{p['safety'].pk}/"),
    ("safety plan versions", lambda p: f"{SAFETY}{p['safety'].pk}/versions/"),
    ("safety plan version", lambda p: f"{SAFETY}{p['safety'].pk}/versions/1/"),
    ("safety plan links", lambda p: f"{SAFETY}{p['safety'].pk}/links/"),
    ("crisis plan", lambda p: f"{CRISIS}{p['crisis'].pk}/"),
]
# Bodies a writer gets a 400 for (or, for the revoke and the submit, a 200).
WRITES = [
    ("send link", "post", lambda p: f"{SAFETY}{p['safety'].pk}/links/", {"channel": "pigeon"}),
    ("revoke link", "post", lambda p: f"{LINKS}{p['link'].pk}/revoke/", {}),
    ("change crisis plan", "patch", lambda p: f"{CRISIS}{p['crisis'].pk}/", {"triggers": 5}),
    ("return crisis plan", "post", lambda p: f"{CRISIS}{p['crisis'].pk}/return/", {}),
    ("submit crisis plan", "post", lambda p: f"{CRISIS}{p['crisis'].pk}/submit/", {}),
]


@pytest.mark.parametrize("persona", PERSONAS)
class TestScopeMatrix:
    def test_reads(self, as_user, plan_world, persona):
        users, plans = plan_world
        user = users[persona]
        api = as_user(user)
        for target in TARGETS:
            for name, url in READS:
                before = _last_audit_id()
                response = api.get(url(plans[target]))
                seen = target in VISIBLE[persona]
                assert response.status_code == (200 if seen else 404), _where(
                    persona, target, name, response
                )
                action = Action.VIEW if seen else Action.DENIED
                assert AuditEvent.objects.filter(
                    pk__gt=before, actor=user, action=action
                ).exists(), (persona, target, name)

    def test_lists(self, as_user, plan_world, persona):
        users, plans = plan_world
        api = as_user(users[persona])
        shown = VISIBLE[persona]

        listed = set(ids(api.get(SAFETY, {"page_size": 100})))
        assert listed == {plans[t]["safety"].pk for t in shown}
        listed = set(ids(api.get(CRISIS, {"page_size": 100})))
        assert listed == {plans[t]["crisis"].pk for t in shown}

    def test_writes(self, as_user, plan_world, persona):
        users, plans = plan_world
        user = users[persona]
        api = as_user(user)
        for target in TARGETS:
            for name, method, url, body in WRITES:
                before = _last_audit_id()
                response = getattr(api, method)(url(plans[target]), body, format="json")
                if target in WRITABLE[persona]:
                    ok = (200, 400)
                    assert response.status_code in ok, _where(persona, target, name, response)
                    continue
                expected = 403 if target in VISIBLE[persona] else 404
                assert response.status_code == expected, _where(persona, target, name, response)
                assert AuditEvent.objects.filter(
                    pk__gt=before, actor=user, action=Action.DENIED
                ).exists(), (persona, target, name)
        if not WRITABLE[persona]:
            assert not SafetyPlanLink.objects.filter(revoked_at__isnull=False).exists()
            assert set(CrisisPlan.objects.values_list("status", flat=True)) == {"draft"}


# --- The schema --------------------------------------------------------------------------


class TestSchema:
    def test_the_schema_generates_without_warnings_and_holds_every_route(self, tmp_path):
        call_command(
            "spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "s.yaml")
        )

        schema = (tmp_path / "s.yaml").read_text()
        for path in [
            "/api/v1/safety-plans/:",
            "/api/v1/safety-plans/{id}/:",
            "/api/v1/safety-plans/{id}/versions/:",
            "/api/v1/safety-plans/{id}/versions/{number}/:",
            "/api/v1/safety-plans/{id}/links/:",
            "/api/v1/safety-plan-links/{id}/revoke/:",
            "/api/v1/crisis-plans/:",
            "/api/v1/crisis-plans/{id}/:",
            "/api/v1/crisis-plans/{id}/submit/:",
            "/api/v1/crisis-plans/{id}/return/:",
            "/api/v1/crisis-plans/{id}/approve/:",
            "/api/v1/crisis-plans/{id}/review/:",
            "/api/v1/crisis-plans/{id}/withdraw/:",
        ]:
            assert f"  {path}\n" in schema, path

    def test_every_write_documents_its_refusals(self, as_user, alice):
        schema = as_user(alice).get("/api/schema/", {"format": "json"}).json()

        for path, item in schema["paths"].items():
            if "plan" not in path:
                continue
            for method, operation in item.items():
                codes = set(operation["responses"])
                assert {"401", "404"} <= codes or "{id}" not in path, (method, path)
                if method in ("post", "patch"):
                    assert {"400", "403", "413", "415"} <= codes, (method, path)
                    media_types = set(operation.get("requestBody", {"content": {}})["content"])
                    assert media_types <= {"application/json"}, (method, path)
