"""The referrals and consents API: happy paths, authorisation (404 and a DENIED row for
another agency, 403 for read-only roles), per-field 400s, audit rows and query counts."""

import datetime

import pytest
from django.core import mail
from django.utils import timezone

from audit.models import Action, AuditEvent
from referrals.models import Consent, Referral, Status
from tests.cases.factories import CaseFactory
from tests.directory.factories import ServiceFactory
from tests.referrals.factories import (
    ConsentFactory,
    ReferralFactory,
    give_consent,
    make_referral,
    part2_fields,
    sent_referral,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def as_user(api):
    def sign_in(user):
        api.force_login(user)
        return api

    return sign_in


def denied_rows(user, object_type, object_id):
    return AuditEvent.objects.filter(
        actor=user, action=Action.DENIED, object_type=object_type, object_id=str(object_id)
    )


def ids(response):
    return [row["id"] for row in response.json()["results"]]


def referral_body(on_case, **overrides):
    body = {
        "case": on_case.pk,
        "provider_name": "Eugene Mission",
        "provider_email": "intake@mission.example",
        "need_category": "housing",
        "reason": "Needs a bed tonight",
        "shared_items": ["name", "phone"],
    }
    body.update(overrides)
    return body


def consent_body(on_case, **overrides):
    body = {
        "client": on_case.client_id,
        "method": "verbal",
        "scope": ["name", "phone"],
        "recipients": "Any provider I am referred to",
        "purpose": "Referral for housing",
    }
    body.update(overrides)
    return body


class TestReferralList:
    def test_a_worker_lists_the_referrals_of_their_cases(
        self, as_user, alice, alice_case, bob_case, erin_case, carol, carol_case
    ):
        mine = make_referral(alice, alice_case)
        teammate = make_referral(alice, bob_case)
        other_team = ReferralFactory(case=erin_case)
        other_agency = make_referral(carol, carol_case)
        response = as_user(alice).get("/api/v1/referrals/")
        assert response.status_code == 200
        assert sorted(ids(response)) == sorted([mine.pk, teammate.pk])
        assert other_team.pk not in ids(response)
        assert other_agency.pk not in ids(response)
        event = AuditEvent.objects.get(action=Action.LIST, object_type="referral")
        assert sorted(event.detail["ids"]) == sorted([mine.pk, teammate.pk])
        assert event.detail["client_ids"] == sorted({alice_case.client_id, bob_case.client_id})

    def test_the_agency_admin_reads_all_of_the_agency(
        self, as_user, dana, alice, alice_case, erin_case, carol, carol_case
    ):
        make_referral(alice, alice_case)
        ReferralFactory(case=erin_case)
        make_referral(carol, carol_case)
        assert as_user(dana).get("/api/v1/referrals/").json()["count"] == 2

    def test_the_system_admin_sees_none(self, as_user, root, alice, alice_case):
        make_referral(alice, alice_case)
        assert as_user(root).get("/api/v1/referrals/").json()["count"] == 0

    def test_filters(self, as_user, alice, alice_case, bob_case):
        housing = make_referral(alice, alice_case)
        food = make_referral(alice, alice_case, need_category="food")
        sent = sent_referral(alice, bob_case)
        api = as_user(alice)
        assert ids(api.get("/api/v1/referrals/", {"case": bob_case.pk})) == [sent.pk]
        assert ids(api.get("/api/v1/referrals/", {"status": "requested"})) == [sent.pk]
        assert ids(api.get("/api/v1/referrals/", {"need_category": "food"})) == [food.pk]
        assert housing.pk in ids(api.get("/api/v1/referrals/", {"status": "draft"}))

    @pytest.mark.parametrize(
        "query", [{"status": "lost"}, {"case": "abc"}, {"case": 2**64}, {"need_category": "x"}]
    )
    def test_bad_filters_are_a_400(self, query, as_user, alice):
        assert as_user(alice).get("/api/v1/referrals/", query).status_code == 400

    def test_the_query_count_does_not_grow_with_the_rows(
        self, as_user, alice, django_assert_max_num_queries
    ):
        api = as_user(alice)
        for rows in (3, 20):
            for _ in range(rows - Referral.objects.count()):
                case = CaseFactory(client__agency=alice.agency, assigned_worker=alice)
                ReferralFactory(case=case, service=ServiceFactory(), status=Status.REQUESTED)
            with django_assert_max_num_queries(10):
                response = api.get("/api/v1/referrals/", {"page_size": 50})
            assert response.json()["count"] == rows


class TestReferralRetrieve:
    def test_a_worker_reads_a_referral_and_it_is_audited(self, as_user, alice, alice_case):
        referral = sent_referral(alice, alice_case)
        response = as_user(alice).get(f"/api/v1/referrals/{referral.pk}/")
        assert response.status_code == 200
        body = response.json()
        assert body["status"] == "requested"
        assert body["client"]["legal_name"] == "Alice Client"
        assert body["consent"] == referral.consent_id
        assert body["allowed_next"] == {
            "requester": ["cancelled", "entered-in-error"],
            "performer": ["accepted", "rejected", "cancelled"],
        }
        assert AuditEvent.objects.filter(
            actor=alice, action=Action.VIEW, object_type="referral", object_id=str(referral.pk)
        ).exists()

    @pytest.mark.parametrize("persona", ["carol", "erin", "root"])
    def test_others_get_a_404_and_a_denied_row(self, persona, request, as_user, alice, alice_case):
        user = request.getfixturevalue(persona)
        referral = make_referral(alice, alice_case)
        api = as_user(user)
        for url in ("", "events/", "provider-links/"):
            response = api.get(f"/api/v1/referrals/{referral.pk}/{url}")
            assert response.status_code == 404
        assert denied_rows(user, "referral", referral.pk).count() == 3

    def test_another_agencys_denial_is_in_the_owning_agencys_trail(
        self, as_user, carol, alice, alice_case
    ):
        referral = make_referral(alice, alice_case)
        as_user(carol).get(f"/api/v1/referrals/{referral.pk}/")
        assert denied_rows(carol, "referral", referral.pk).get().agency == alice.agency

    def test_events_are_the_referrals_history(self, as_user, alice, alice_case):
        referral = sent_referral(alice, alice_case)
        response = as_user(alice).get(f"/api/v1/referrals/{referral.pk}/events/")
        assert [e["kind"] for e in response.json()["results"]] == [
            "created",
            "status",
            "link_sent",
        ]

    def test_provider_links_are_listed_without_their_tokens(self, as_user, alice, alice_case):
        referral = sent_referral(alice, alice_case)
        link = referral.links.get()
        response = as_user(alice).get(f"/api/v1/referrals/{referral.pk}/provider-links/")
        assert response.status_code == 200
        assert response.json()["results"][0]["sent_to"] == "intake@mission.example"
        assert link.token() not in response.content.decode()


class TestReferralCreate:
    def test_a_worker_drafts_a_referral(self, as_user, alice, alice_case):
        response = as_user(alice).post(
            "/api/v1/referrals/", referral_body(alice_case), format="json"
        )
        assert response.status_code == 201, response.json()
        referral = Referral.objects.get(pk=response.json()["id"])
        assert referral.status == Status.DRAFT
        assert referral.created_by == alice

    def test_send_true_sends_through_the_consent_gate(
        self, as_user, alice, alice_case, django_capture_on_commit_callbacks
    ):
        give_consent(alice, alice_case)
        with django_capture_on_commit_callbacks(execute=True):
            response = as_user(alice).post(
                "/api/v1/referrals/", referral_body(alice_case, send=True), format="json"
            )
        assert response.status_code == 201
        assert response.json()["status"] == "requested"
        assert len(mail.outbox) == 1

    def test_send_without_consent_is_a_400_and_nothing_is_saved(self, as_user, alice, alice_case):
        response = as_user(alice).post(
            "/api/v1/referrals/", referral_body(alice_case, send=True), format="json"
        )
        assert response.status_code == 400
        assert response.json()["code"] == "consent_required"
        assert "consent" in response.json()
        assert not Referral.objects.exists()

    def test_a_directory_service(self, as_user, alice, alice_case):
        service = ServiceFactory(email="beds@shelter.example")
        body = referral_body(alice_case, service=str(service.pk))
        del body["provider_name"], body["provider_email"]
        response = as_user(alice).post("/api/v1/referrals/", body, format="json")
        assert response.status_code == 201
        assert response.json()["service"] == str(service.pk)
        assert response.json()["provider_email"] == "beds@shelter.example"

    def test_another_agencys_service_does_not_exist(self, as_user, alice, alice_case, agency_b):
        service = ServiceFactory(agency=agency_b)
        body = referral_body(alice_case, service=str(service.pk), provider_name="")
        response = as_user(alice).post("/api/v1/referrals/", body, format="json")
        assert response.status_code == 400
        assert "service" in response.json()

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("need_category", "spa"),
            ("shared_items", []),
            ("shared_items", ["name", "shoe_size"]),
            ("shared_items", "name"),
            ("reason", ""),
            ("reason", "a\x00b"),
            ("provider_email", "not-an-email"),
            ("urgency", "later"),
            ("case", 2**64),
            ("case", "abc"),
            ("consent", 999999),
            ("service", "not-a-uuid"),
            ("send", "maybe"),
        ],
    )
    def test_bad_input_is_a_400_naming_the_field(self, field, value, as_user, alice, alice_case):
        body = referral_body(alice_case, **{field: value})
        response = as_user(alice).post("/api/v1/referrals/", body, format="json")
        assert response.status_code == 400
        assert field in response.json()

    def test_service_and_provider_name_together_are_a_400(self, as_user, alice, alice_case):
        body = referral_body(alice_case, service=str(ServiceFactory().pk))
        response = as_user(alice).post("/api/v1/referrals/", body, format="json")
        assert response.status_code == 400
        assert "provider_name" in response.json()

    def test_another_agencys_case_does_not_exist(self, as_user, carol, alice_case):
        response = as_user(carol).post(
            "/api/v1/referrals/", referral_body(alice_case), format="json"
        )
        assert response.status_code == 400
        assert "case" in response.json()

    def test_the_agency_admin_may_not_refer(self, as_user, dana, alice_case):
        response = as_user(dana).post(
            "/api/v1/referrals/", referral_body(alice_case), format="json"
        )
        assert response.status_code == 403
        assert AuditEvent.objects.filter(actor=dana, action=Action.DENIED).exists()
        assert not Referral.objects.exists()


class TestReferralActions:
    def test_send(self, as_user, alice, alice_case):
        give_consent(alice, alice_case)
        referral = make_referral(alice, alice_case)
        response = as_user(alice).post(f"/api/v1/referrals/{referral.pk}/send/")
        assert response.status_code == 200
        assert response.json()["status"] == "requested"

    def test_send_with_too_narrow_a_consent_names_what_is_missing(self, as_user, alice, alice_case):
        consent = give_consent(alice, alice_case, scope=["name"])
        referral = make_referral(alice, alice_case, consent=consent)
        response = as_user(alice).post(f"/api/v1/referrals/{referral.pk}/send/")
        assert response.status_code == 400
        assert "does not cover: phone number" in response.json()["consent"][0]

    def test_transition_for_the_provider(self, as_user, alice, alice_case):
        referral = sent_referral(alice, alice_case)
        response = as_user(alice).post(
            f"/api/v1/referrals/{referral.pk}/transition/",
            {"status": "accepted", "via": "staff_for_provider", "note": "Intake phoned"},
            format="json",
        )
        assert response.status_code == 200, response.json()
        assert response.json()["status"] == "accepted"
        assert response.json()["accepted_at"]

    def test_completion(self, as_user, alice, alice_case):
        referral = sent_referral(alice, alice_case)
        api = as_user(alice)
        url = f"/api/v1/referrals/{referral.pk}/transition/"
        api.post(
            url,
            {"status": "accepted", "via": "staff_for_provider", "note": "Phoned"},
            format="json",
        )
        response = api.post(
            url,
            {
                "status": "completed",
                "via": "staff_for_provider",
                "note": "Provider emailed",
                "service_date": alice.agency.today().isoformat(),
            },
            format="json",
        )
        assert response.status_code == 200, response.json()
        assert response.json()["outcome"] == "got_help"
        assert response.json()["loop_closed"] is True

    def test_an_impossible_transition_is_a_400_with_a_clear_message(
        self, as_user, alice, alice_case
    ):
        referral = sent_referral(alice, alice_case)
        response = as_user(alice).post(
            f"/api/v1/referrals/{referral.pk}/transition/",
            {"status": "accepted", "via": "staff"},
            format="json",
        )
        assert response.status_code == 400
        assert response.json()["code"] == "invalid_transition"
        assert "only by the receiving provider" in response.json()["detail"]

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"status": "rejected", "via": "staff_for_provider", "note": "x"}, "outcome"),
            ({"status": "accepted", "via": "staff_for_provider"}, "note"),
            ({"status": "accepted", "via": "provider_link"}, "via"),
            ({"status": "nope", "via": "staff"}, "status"),
            ({"status": "cancelled", "via": "staff", "outcome": "bored"}, "outcome"),
            ({"status": "completed", "via": "staff", "service_date": "soon"}, "service_date"),
            ({"status": "accepted", "via": "staff_for_provider", "note": "a\x00"}, "note"),
        ],
    )
    def test_bad_transitions_name_the_field(self, body, field, as_user, alice, alice_case):
        referral = sent_referral(alice, alice_case)
        response = as_user(alice).post(
            f"/api/v1/referrals/{referral.pk}/transition/", body, format="json"
        )
        assert response.status_code == 400
        assert field in response.json()

    def test_the_agency_admin_reads_but_may_not_act(self, as_user, dana, alice, alice_case):
        referral = sent_referral(alice, alice_case)
        api = as_user(dana)
        assert api.get(f"/api/v1/referrals/{referral.pk}/").status_code == 200
        response = api.post(
            f"/api/v1/referrals/{referral.pk}/transition/",
            {"status": "cancelled", "via": "staff", "outcome": "declined"},
            format="json",
        )
        assert response.status_code == 403
        assert denied_rows(dana, "referral", referral.pk).exists()
        referral.refresh_from_db()
        assert referral.status == Status.REQUESTED

    @pytest.mark.parametrize(
        "action", ["send/", "transition/", "appointment/", "provider-links/", "revoke-link/"]
    )
    def test_another_agency_gets_a_404_on_every_action(
        self, action, as_user, carol, alice, alice_case
    ):
        referral = sent_referral(alice, alice_case)
        response = as_user(carol).post(
            f"/api/v1/referrals/{referral.pk}/{action}", {}, format="json"
        )
        assert response.status_code == 404
        assert denied_rows(carol, "referral", referral.pk).exists()

    def test_appointment(self, as_user, alice, alice_case):
        referral = sent_referral(alice, alice_case)
        when = (timezone.now() + datetime.timedelta(days=1)).replace(microsecond=0)
        response = as_user(alice).post(
            f"/api/v1/referrals/{referral.pk}/appointment/",
            {"appointment_at": when.isoformat(), "via": "staff_for_provider"},
            format="json",
        )
        assert response.status_code == 200
        referral.refresh_from_db()
        assert referral.appointment_at == when

    def test_a_bad_appointment_time_is_a_400(self, as_user, alice, alice_case):
        referral = sent_referral(alice, alice_case)
        response = as_user(alice).post(
            f"/api/v1/referrals/{referral.pk}/appointment/",
            {"appointment_at": "tomorrow"},
            format="json",
        )
        assert response.status_code == 400
        assert "appointment_at" in response.json()

    def test_a_new_provider_link_and_revoking_it(
        self, as_user, alice, alice_case, django_capture_on_commit_callbacks
    ):
        referral = sent_referral(alice, alice_case)
        api = as_user(alice)
        with django_capture_on_commit_callbacks(execute=True):
            response = api.post(
                f"/api/v1/referrals/{referral.pk}/provider-links/",
                {"email": "someone@mission.example"},
                format="json",
            )
        assert response.status_code == 201
        assert mail.outbox[-1].to == ["someone@mission.example"]
        assert referral.links.usable().get().pk == response.json()["id"]
        response = api.post(
            f"/api/v1/referrals/{referral.pk}/revoke-link/",
            {"link": response.json()["id"]},
            format="json",
        )
        assert response.status_code == 200
        assert response.json()["usable"] is False
        assert not referral.links.usable().exists()

    def test_revoking_another_referrals_link_is_a_400(self, as_user, alice, alice_case):
        one = sent_referral(alice, alice_case)
        other = sent_referral(alice, alice_case)
        response = as_user(alice).post(
            f"/api/v1/referrals/{one.pk}/revoke-link/",
            {"link": other.links.get().pk},
            format="json",
        )
        assert response.status_code == 400
        assert "link" in response.json()


class TestConsents:
    def test_record_and_read(self, as_user, alice, alice_case):
        api = as_user(alice)
        response = api.post("/api/v1/consents/", consent_body(alice_case), format="json")
        assert response.status_code == 201, response.json()
        body = response.json()
        assert body["case"] == alice_case.pk
        assert body["active"] is True
        assert body["scope"] == ["name", "phone"]
        response = api.get(f"/api/v1/consents/{body['id']}/")
        assert response.status_code == 200

    def test_a_part2_consent(self, as_user, alice, alice_case):
        fields = part2_fields()
        fields["expires_on"] = fields["expires_on"].isoformat()
        fields["signed_on"] = fields["signed_on"].isoformat()
        response = as_user(alice).post(
            "/api/v1/consents/", consent_body(alice_case, **fields), format="json"
        )
        assert response.status_code == 201, response.json()
        assert response.json()["is_part2"] is True

    def test_an_incomplete_part2_consent_is_a_400_listing_what_is_missing(
        self, as_user, alice, alice_case
    ):
        response = as_user(alice).post(
            "/api/v1/consents/",
            consent_body(alice_case, is_part2=True, scope=["name", "substance_use"]),
            format="json",
        )
        assert response.status_code == 400
        message = response.json()["is_part2"][0]
        assert "written consent" in message
        assert "the signature" in message
        assert not Consent.objects.exists()

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("scope", []),
            ("scope", ["telepathy"]),
            ("recipients", ""),
            ("purpose", "\x00"),
            ("method", "carrier pigeon"),
            ("expires_on", "2020-01-01"),
            ("client", 2**64),
            ("recipient_organization", "nope"),
        ],
    )
    def test_bad_input_is_a_400_naming_the_field(self, field, value, as_user, alice, alice_case):
        response = as_user(alice).post(
            "/api/v1/consents/", consent_body(alice_case, **{field: value}), format="json"
        )
        assert response.status_code == 400
        assert field in response.json()

    def test_list_filter_by_client_and_audit(self, as_user, alice, alice_case, bob_case):
        mine = give_consent(alice, alice_case)
        give_consent(alice, bob_case)
        api = as_user(alice)
        response = api.get("/api/v1/consents/", {"client": alice_case.client_id})
        assert ids(response) == [mine.pk]
        assert AuditEvent.objects.filter(
            action=Action.LIST, object_type="consent", detail__ids=[mine.pk]
        ).exists()

    def test_another_agency_never_sees_a_consent(self, as_user, carol, alice, alice_case):
        consent = give_consent(alice, alice_case)
        api = as_user(carol)
        assert api.get("/api/v1/consents/").json()["count"] == 0
        assert api.get(f"/api/v1/consents/{consent.pk}/").status_code == 404
        assert api.post(f"/api/v1/consents/{consent.pk}/revoke/").status_code == 404
        assert denied_rows(carol, "consent", consent.pk).count() == 2

    def test_revoke(self, as_user, alice, alice_case):
        consent = give_consent(alice, alice_case)
        api = as_user(alice)
        response = api.post(
            f"/api/v1/consents/{consent.pk}/revoke/", {"note": "Client asked"}, format="json"
        )
        assert response.status_code == 200
        assert response.json()["active"] is False
        assert response.json()["revocation_note"] == "Client asked"
        again = api.post(f"/api/v1/consents/{consent.pk}/revoke/", {}, format="json")
        assert again.status_code == 400
        assert again.json()["code"] == "consent_invalid"

    def test_the_agency_admin_reads_but_may_not_record_or_revoke(
        self, as_user, dana, alice, alice_case
    ):
        consent = give_consent(alice, alice_case)
        api = as_user(dana)
        assert api.get(f"/api/v1/consents/{consent.pk}/").status_code == 200
        assert api.post(f"/api/v1/consents/{consent.pk}/revoke/").status_code == 403
        response = api.post("/api/v1/consents/", consent_body(alice_case), format="json")
        assert response.status_code == 403

    def test_the_query_count_does_not_grow_with_the_rows(
        self, as_user, alice, django_assert_max_num_queries
    ):
        api = as_user(alice)
        for rows in (3, 20):
            for _ in range(rows - Consent.objects.count()):
                case = CaseFactory(client__agency=alice.agency, assigned_worker=alice)
                ConsentFactory(case=case, is_part2=False)
            with django_assert_max_num_queries(10):
                response = api.get("/api/v1/consents/", {"page_size": 50})
            assert response.json()["count"] == rows


def test_referral_and_consent_routes_are_in_the_schema(as_user, alice):
    paths = as_user(alice).get("/api/schema/", {"format": "json"}).json()["paths"]
    for path in (
        "/api/v1/referrals/",
        "/api/v1/referrals/{id}/",
        "/api/v1/referrals/{id}/send/",
        "/api/v1/referrals/{id}/transition/",
        "/api/v1/referrals/{id}/appointment/",
        "/api/v1/referrals/{id}/events/",
        "/api/v1/referrals/{id}/provider-links/",
        "/api/v1/referrals/{id}/revoke-link/",
        "/api/v1/consents/",
        "/api/v1/consents/{id}/",
        "/api/v1/consents/{id}/revoke/",
    ):
        assert path in paths, path
