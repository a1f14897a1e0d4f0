"""The CAD endpoint: signed in by the agency's CAD key alone, idempotent per incident,
confined to the key's agency, rate-limited per key, every call audited. The clock is
stopped at 03:30 UTC (the evening before in the agencies' zones: conftest.frozen)."""

import datetime

import pytest

from audit.models import Action, AuditEvent
from dispatch.cad_keys import create_cad_key, revoke_cad_key
from dispatch.models import RequestSource, TeamRequest

URL = "/api/v1/dispatch/cad/incidents/"


def incident(**overrides):
    data = {
        "incident_number": "E-2026-0042",
        "received_at": "2026-01-01T00:00:00Z",
        "location_text": "5th and Main",
        "latitude": 44.0501234,
        "longitude": -123.09,
        "reason": "welfare_check",
        "priority": "urgent",
        "weapons": False,
        "hazard_notes": "Uneven ground",
        "callback_number": "541-555-0100",
        "notes": "Caller worried about a neighbour.",
    }
    data.update(overrides)
    return data


@pytest.fixture
def received(frozen):
    return frozen.now - datetime.timedelta(minutes=6)


@pytest.fixture
def key_a(agency_a):
    return create_cad_key(agency=agency_a, name="Lane County CAD", actor=None)


@pytest.fixture
def key_b(agency_b):
    return create_cad_key(agency=agency_b, name="Denver CAD", actor=None)


@pytest.fixture
def post(api, received):
    """post(raw key or None, **body overrides) -> the response."""

    def send(raw, **overrides):
        headers = {} if raw is None else {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
        body = incident(**{"received_at": received.isoformat(), **overrides})
        return api.post(URL, body, format="json", **headers)

    return send


def cad_rows(**filters):
    return AuditEvent.objects.filter(detail__has_key="cad_key", **filters)


class TestPosting:
    def test_a_good_key_records_the_incident_in_its_agency(self, post, key_a, agency_a, received):
        key, raw = key_a

        response = post(raw)

        assert response.status_code == 201
        created = TeamRequest.objects.get()
        assert response.json() == {
            "id": created.pk,
            "incident_number": "E-2026-0042",
            "status": "waiting",
            "created": True,
        }
        assert (created.agency_id, created.source, created.received_at) == (
            agency_a.pk,
            RequestSource.CAD_911,
            received,
        )
        assert (created.reason_notes, created.hazard_notes, str(created.latitude)) == (
            "Caller worried about a neighbour.",
            "Uneven ground",
            "44.050123",
        )
        # Recorded by the key, not by a person.
        assert (created.created_by, created.cad_key.agency_id) == (None, agency_a.pk)
        row = cad_rows(action=Action.CREATE).get()
        assert (row.actor, row.agency_id, row.object_type, row.object_id) == (
            None,
            agency_a.pk,
            "teamrequest",
            str(created.pk),
        )
        assert row.detail["result"] == "created"
        assert row.detail["cad_key"] == key.prefix

    def test_the_same_incident_again_answers_the_same_id_and_records_nothing(self, post, key_a):
        _, raw = key_a
        first = post(raw)

        again = post(raw, reason="suicidal")

        assert again.status_code == 200
        assert again.json()["id"] == first.json()["id"]
        assert again.json()["created"] is False
        assert TeamRequest.objects.get().reason == "welfare_check"
        assert cad_rows(action=Action.VIEW).get().detail["result"] == "repeated"

    def test_the_agency_is_the_keys_never_the_bodys(self, post, key_b, agency_a, agency_b):
        _, raw = key_b

        response = post(raw, agency=agency_a.pk, agency_id=agency_a.pk)

        assert response.status_code == 201
        assert TeamRequest.objects.get().agency_id == agency_b.pk

    def test_a_key_of_another_agency_never_reaches_its_incident(
        self, post, key_a, key_b, agency_a, agency_b
    ):
        ours = post(key_a[1]).json()["id"]

        theirs = post(key_b[1])

        assert theirs.status_code == 201
        assert theirs.json()["id"] != ours
        assert dict(TeamRequest.objects.values_list("agency_id", "cad_incident_number")) == {
            agency_a.pk: "E-2026-0042",
            agency_b.pk: "E-2026-0042",
        }
        assert cad_rows(agency_id=agency_b.pk, action=Action.CREATE).count() == 1

    def test_a_body_that_is_wrong_is_a_400_with_its_fields_and_audited(self, post, key_a):
        _, raw = key_a

        response = post(raw, reason="bored", latitude=95, incident_number="")

        assert response.status_code == 400
        assert set(response.json()) == {"reason", "latitude", "incident_number"}
        row = cad_rows(action=Action.DENIED).get()
        assert row.detail["fields"] == ["incident_number", "latitude", "reason"]
        assert "bored" not in str(row.detail)
        assert not TeamRequest.objects.exists()

    def test_somewhere_to_go_is_required(self, post, key_a):
        response = post(key_a[1], location_text="", latitude=None, longitude=None)

        assert response.status_code == 400
        assert "location_text" in response.json()

    def test_a_time_in_the_future_is_a_400_on_received_at(self, post, key_a, frozen):
        ahead = (frozen.now + datetime.timedelta(hours=1)).isoformat()

        response = post(key_a[1], received_at=ahead)

        assert response.status_code == 400
        assert response.json()["received_at"] == ["The time cannot be in the future."]
        assert cad_rows(action=Action.DENIED).get().detail["fields"] == ["received_at"]


class TestRefusedKeys:
    def test_a_wrong_secret_is_a_401_audited_in_the_keys_agency(self, post, key_a, agency_a):
        key, raw = key_a

        response = post(raw[:-2] + "xx")

        assert response.status_code == 401
        assert response["WWW-Authenticate"] == 'Bearer realm="cad"'
        row = AuditEvent.objects.get(action=Action.DENIED, object_type="cadkey")
        assert (row.agency_id, row.object_id, row.detail) == (
            agency_a.pk,
            key.prefix,
            {"reason": "bad cad key"},
        )
        assert not TeamRequest.objects.exists()

    def test_a_revoked_key_is_a_401(self, post, key_a, dana):
        key, raw = key_a
        revoke_cad_key(key=key, actor=dana)

        assert post(raw).status_code == 401
        assert not TeamRequest.objects.exists()

    @pytest.mark.parametrize("header", [None, "cad_nothing", "Token abc", "Bearer"])
    def test_no_key_is_a_401_audited(self, db, api, header):
        headers = {} if header is None else {"HTTP_AUTHORIZATION": header}

        response = api.post(URL, incident(), format="json", **headers)

        assert response.status_code == 401
        row = AuditEvent.objects.get(action=Action.DENIED, object_type="cadkey")
        assert row.agency_id is None

    def test_a_signed_in_dispatcher_is_not_a_cad(self, api, dex):
        api.force_login(dex)

        assert api.post(URL, incident(), format="json").status_code == 401

    def test_a_cad_key_opens_nothing_else(self, api, key_a, new_request):
        new_request()
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {key_a[1]}")

        assert api.get("/api/v1/dispatch/requests/").status_code == 401

    def test_an_address_sending_bad_keys_is_slowed_down(self, post, key_a, settings):
        settings.DISPATCH_CAD_REFUSED_RATE = "2/m"
        _, raw = key_a

        answers = [post("cad_bad_key").status_code for _ in range(4)]

        assert answers == [401, 401, 429, 429]
        # Two refusals, and the first refusal of the window past the limit.
        assert AuditEvent.objects.filter(action=Action.DENIED, object_type="cadkey").count() == 3
        assert post(raw).status_code == 201


class TestRateLimit:
    def test_a_key_past_its_rate_gets_429_and_one_audit_row(
        self, post, key_a, key_b, settings, agency_a
    ):
        settings.DISPATCH_CAD_RATE = "2/m"
        _, raw = key_a

        answers = [post(raw, incident_number=f"E-{n}").status_code for n in range(4)]

        assert answers == [201, 201, 429, 429]
        assert TeamRequest.objects.count() == 2
        limited = post(raw, incident_number="E-9")
        assert "Too many incidents from this CAD key" in limited.json()["detail"]
        assert int(limited["Retry-After"]) > 0
        row = cad_rows(action=Action.DENIED).get()
        assert (row.agency_id, row.detail["reason"]) == (agency_a.pk, "rate limited")
        # Each key has its own count.
        assert post(key_b[1]).status_code == 201

    def test_with_the_cache_down_nothing_is_limited(self, post, key_a, settings, cache_down):
        settings.DISPATCH_CAD_RATE = "1/m"

        answers = [post(key_a[1], incident_number=f"E-{n}").status_code for n in range(3)]

        assert answers == [201, 201, 201]


class TestSchema:
    def test_the_endpoint_documents_the_cad_key(self, api, dex):
        api.force_login(dex)
        schema = api.get("/api/schema/", {"format": "json"}).json()

        operation = schema["paths"][URL]["post"]
        assert operation["security"] == [{"cadKey": []}]
        assert {"200", "201", "400", "401", "429"} <= set(operation["responses"])
        assert schema["components"]["securitySchemes"]["cadKey"]["scheme"] == "bearer"
        body = operation["requestBody"]["content"]["application/json"]["schema"]
        assert body == {"$ref": "#/components/schemas/CadIncidentRequest"}
        fields = schema["components"]["schemas"]["CadIncidentRequest"]["properties"]
        assert "agency" not in fields
