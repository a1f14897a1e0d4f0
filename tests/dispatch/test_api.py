"""The dispatch API: requests and units, per-object authorisation with its audit rows,
every action's answer and refusals, and list query counts. The clock is stopped at 03:30
UTC (the evening before in the agencies' zones: conftest.frozen)."""

import datetime

import pytest

from audit.models import Action, AuditEvent
from dispatch import services
from dispatch.models import (
    Credential,
    RequestEvent,
    RequestStatus,
    Step,
    TeamRequest,
    UnitPosition,
    UnitStatus,
)
from tests.cases.factories import ClientFactory
from tests.dispatch.conftest import SCENE
from tests.dispatch.factories import TeamRequestFactory, UnitFactory

REQUESTS = "/api/v1/dispatch/requests/"
UNITS = "/api/v1/dispatch/units/"
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


def ids(response):
    return [row["id"] for row in response.json()["results"]]


def denied(user, object_type, object_id):
    return AuditEvent.objects.filter(
        actor=user, action=Action.DENIED, object_type=object_type, object_id=str(object_id)
    )


def body(**overrides):
    data = {
        "source": "team_line",
        "callback_number": "541-555-0142",
        "location_text": "Skinner Butte Park",
        "latitude": "44.000000",
        "longitude": "-123.000000",
        "reason": "mental_health_crisis",
        "priority": "emergent",
        "weapons": False,
    }
    data.update(overrides)
    return data


@pytest.fixture
def client_a(agency_a):
    return ClientFactory(agency=agency_a)


# --- Requests: who sees what -------------------------------------------------------------


class TestRequestList:
    def test_a_dispatcher_sees_the_agencys_requests_newest_first(
        self, as_user, dex, new_request, frozen, bea
    ):
        first = new_request(received_at=frozen.now - datetime.timedelta(minutes=30))
        second = new_request()
        services.record_request(actor=bea, data={**body(), "source": "team_line"})

        response = as_user(dex).get(REQUESTS)

        assert response.status_code == 200
        assert ids(response) == [second.pk, first.pk]
        row = response.json()["results"][0]
        assert row["status"] == "waiting"
        assert row["received_at"] == iso(frozen.now)
        assert row["live_unit"] is None

    def test_it_filters_by_status_priority_and_when_received(
        self, as_user, dex, new_request, request_at, frozen
    ):
        old = new_request(received_at=frozen.now - datetime.timedelta(hours=3), priority="urgent")
        assigned = request_at("assigned")
        api = as_user(dex)

        by_status = api.get(REQUESTS, {"status": "assigned"})
        by_priority = api.get(REQUESTS, {"priority": "urgent"})
        by_period = api.get(
            REQUESTS,
            {"received_before": iso(frozen.now - datetime.timedelta(hours=1))},
        )
        bad = api.get(REQUESTS, {"status": "lost", "received_after": "yesterday"})

        assert ids(by_status) == [assigned.pk]
        assert by_status.json()["results"][0]["live_unit"]["call_sign"] == "Van 1"
        assert ids(by_priority) == [old.pk]
        assert ids(by_period) == [old.pk]
        assert bad.status_code == 400
        assert set(bad.json()) == {"status", "received_after"}

    def test_a_page_naming_a_client_is_audited_with_its_ids(
        self, as_user, dex, new_request, client_a
    ):
        named = new_request(client=client_a)
        nobody = new_request()

        as_user(dex).get(REQUESTS)

        row = AuditEvent.objects.get(action=Action.LIST)
        assert row.detail == {"ids": [nobody.pk, named.pk], "client_ids": [client_a.pk]}
        assert (row.actor, row.object_type) == (dex, "teamrequest")

    def test_a_page_naming_nobody_is_not_audited(self, as_user, dex, new_request):
        new_request()

        as_user(dex).get(REQUESTS)

        assert not AuditEvent.objects.filter(action=Action.LIST).exists()

    def test_a_worker_off_shift_sees_only_the_requests_they_answered(
        self, as_user, request_at, new_request, on_shift, alice, dex
    ):
        answered = request_at("on_scene")
        services.advance(unit=on_shift, actor=alice, to=Step.BACK_IN_SERVICE)
        services.end_shift(unit=on_shift, actor=dex)
        new_request()

        assert ids(as_user(alice).get(REQUESTS)) == [answered.pk]

    def test_another_agency_sees_none_of_them(self, as_user, carol, bea, new_request):
        new_request()

        assert ids(as_user(carol).get(REQUESTS)) == []
        assert ids(as_user(bea).get(REQUESTS)) == []

    @pytest.mark.parametrize("rows", [2, 12])
    @pytest.mark.parametrize(("persona", "bound"), [("dex", 11), ("erin", 12)])
    def test_the_queries_do_not_grow_with_the_rows(
        self,
        request,
        rows,
        persona,
        bound,
        as_user,
        agency_a,
        dex,
        on_shift,
        van2_on_shift,
        django_assert_max_num_queries,
    ):
        for n in range(rows):
            TeamRequestFactory(
                agency=agency_a,
                created_by=dex,
                client=ClientFactory(agency=agency_a) if n % 2 else None,
            )
        services.assign_unit(request=TeamRequest.objects.first(), unit=on_shift, actor=dex)
        api = as_user(request.getfixturevalue(persona))

        # Session, user, agency time zone, (a worker: whether on a shift), count, the
        # page's ids, the page, live assignments with their units, the audit row, and
        # the session's renewal (savepoint, update, release).
        with django_assert_max_num_queries(bound):
            response = api.get(REQUESTS)

        assert len(response.json()["results"]) == rows


class TestRequestDetail:
    def test_a_dispatcher_reads_it_with_its_timeline_and_the_read_is_audited(
        self, as_user, dex, request_at, client_a
    ):
        target = request_at("en_route", client=client_a)

        response = as_user(dex).get(f"{REQUESTS}{target.pk}/")

        assert response.status_code == 200
        data = response.json()
        assert [e["kind"] for e in data["events"]] == [
            "received",
            "dispatched",
            "acknowledged",
            "en_route",
        ]
        assert data["events"][-1]["actor"]["username"] == "alice"
        assert [a["unit"]["call_sign"] for a in data["assignments"]] == ["Van 1"]
        assert data["assignments"][0]["is_live"] is True
        assert data["allowed_steps"] == ["on_scene"]
        assert data["client"]["id"] == client_a.pk
        row = AuditEvent.objects.get(action=Action.VIEW)
        assert (row.actor, row.client_id, row.object_id) == (dex, client_a.pk, str(target.pk))

    @pytest.mark.parametrize("persona", ["carol", "bea", "root"])
    def test_another_agency_gets_404_and_a_denied_row(
        self, request, persona, as_user, new_request, client_a
    ):
        user = request.getfixturevalue(persona)
        target = new_request(client=client_a)

        response = as_user(user).get(f"{REQUESTS}{target.pk}/")

        assert response.status_code == 404
        row = denied(user, "teamrequest", target.pk).get()
        assert (row.agency_id, row.detail["reason"]) == (target.agency_id, "not visible")

    def test_a_worker_off_shift_who_did_not_answer_it_gets_404(self, as_user, alice, new_request):
        target = new_request()

        assert as_user(alice).get(f"{REQUESTS}{target.pk}/").status_code == 404
        assert denied(alice, "teamrequest", target.pk).exists()

    def test_a_worker_on_shift_reads_the_board(self, as_user, erin, van2_on_shift, new_request):
        target = new_request()

        assert as_user(erin).get(f"{REQUESTS}{target.pk}/").status_code == 200

    def test_an_id_that_is_no_id_is_404(self, as_user, dex):
        assert as_user(dex).get(f"{REQUESTS}1.5/").status_code == 404


# --- Requests: recording and correcting -----------------------------------------------------


class TestCreateRequest:
    def test_a_dispatcher_records_one(self, as_user, dex, frozen):
        received = frozen.now - datetime.timedelta(minutes=4)

        response = as_user(dex).post(
            REQUESTS, body(received_at=iso(received), hazard_notes="Dog"), format="json"
        )

        assert response.status_code == 201
        created = TeamRequest.objects.get(pk=response.json()["id"])
        assert (created.agency_id, created.created_by, created.received_at) == (
            dex.agency_id,
            dex,
            received,
        )
        assert (created.hazard_notes, created.latitude) == ("Dog", SCENE[0])
        assert response.json()["events"][0]["kind"] == "received"

    def test_a_supervisor_records_one_naming_their_client(self, as_user, sam, alice_case):
        response = as_user(sam).post(REQUESTS, body(client=alice_case.client_id), format="json")

        assert response.status_code == 201
        assert response.json()["client"]["id"] == alice_case.client_id
        assert AuditEvent.objects.filter(
            actor=sam, action=Action.CREATE, object_type="teamrequest"
        ).exists()

    @pytest.mark.parametrize("persona", ["alice", "dana"])
    def test_anyone_else_is_refused_and_audited(self, request, persona, as_user):
        user = request.getfixturevalue(persona)

        response = as_user(user).post(REQUESTS, body(), format="json")

        assert response.status_code == 403
        assert denied(user, "api:dispatch-requests", "").exists()
        assert not TeamRequest.objects.exists()

    def test_another_agencys_client_does_not_exist(self, as_user, sam, carol_case):
        response = as_user(sam).post(REQUESTS, body(client=carol_case.client_id), format="json")

        assert response.status_code == 400
        assert "client" in response.json()

    @pytest.mark.parametrize(
        ("overrides", "field"),
        [
            ({"reason": "bored"}, "reason"),
            ({"latitude": "91"}, "latitude"),
            ({"location_text": "", "latitude": None, "longitude": None}, "location_text"),
            ({"longitude": None}, "longitude"),
            ({"centre_name": "988 Oregon"}, "source"),
        ],
    )
    def test_what_is_wrong_is_a_400_on_its_field(self, as_user, dex, overrides, field):
        response = as_user(dex).post(REQUESTS, body(**overrides), format="json")

        assert response.status_code == 400
        assert field in response.json()
        assert not TeamRequest.objects.exists()

    def test_a_time_in_the_future_is_a_400_on_received_at(self, as_user, dex, frozen):
        ahead = iso(frozen.now + datetime.timedelta(minutes=10))

        response = as_user(dex).post(REQUESTS, body(received_at=ahead), format="json")

        assert response.status_code == 400
        assert response.json()["received_at"] == ["The time cannot be in the future."]

    def test_a_cad_incident_already_recorded_is_a_400(self, as_user, dex):
        api = as_user(dex)
        api.post(REQUESTS, body(source="cad_911", cad_incident_number="E-1"), format="json")

        again = api.post(REQUESTS, body(source="cad_911", cad_incident_number="E-1"), format="json")

        assert again.status_code == 400
        assert "cad_incident_number" in again.json()
        assert TeamRequest.objects.count() == 1


class TestEditRequest:
    def test_a_dispatcher_corrects_only_what_is_given(self, as_user, dex, new_request):
        target = new_request()

        response = as_user(dex).patch(
            f"{REQUESTS}{target.pk}/",
            {"weapons": True, "police_requested": True, "involuntary_hold": False},
            format="json",
        )

        assert response.status_code == 200
        target.refresh_from_db()
        assert (target.weapons, target.police_requested, target.involuntary_hold) == (
            True,
            True,
            False,
        )
        assert target.callback_number == "541-555-0142"
        edited = RequestEvent.objects.get(request=target, kind="edited")
        assert edited.detail == {"fields": ["involuntary_hold", "police_requested", "weapons"]}

    def test_a_worker_on_shift_may_read_but_not_correct_it(
        self, as_user, erin, van2_on_shift, new_request
    ):
        target = new_request()

        response = as_user(erin).patch(f"{REQUESTS}{target.pk}/", {"weapons": True}, format="json")

        assert response.status_code == 403
        assert denied(erin, "teamrequest", target.pk).get().detail["reason"] == "read only"

    def test_a_bad_value_is_a_400_on_its_field(self, as_user, dex, new_request):
        target = new_request()

        response = as_user(dex).patch(f"{REQUESTS}{target.pk}/", {"priority": "x"}, format="json")

        assert response.status_code == 400
        assert "priority" in response.json()

    def test_put_is_not_offered(self, as_user, dex, new_request):
        target = new_request()

        assert as_user(dex).put(f"{REQUESTS}{target.pk}/", body(), format="json").status_code == 405


# --- Requests: the timeline -----------------------------------------------------------------


def post(api, target, name, data=None):
    return api.post(f"{REQUESTS}{target.pk}/{name}/", data or {}, format="json")


class TestAssign:
    def test_a_dispatcher_sends_an_available_unit(self, as_user, dex, new_request, on_shift):
        target = new_request()

        response = post(as_user(dex), target, "assign", {"unit": on_shift.pk})

        assert response.status_code == 200
        assert response.json()["status"] == "assigned"
        assert response.json()["live_unit"]["call_sign"] == "Van 1"
        on_shift.refresh_from_db()
        assert on_shift.status == UnitStatus.ASSIGNED

    def test_a_unit_off_shift_is_a_400_on_unit(self, as_user, dex, new_request, van):
        response = post(as_user(dex), new_request(), "assign", {"unit": van.pk})

        assert response.status_code == 400
        assert response.json()["code"] == "unit_not_available"
        assert "unit" in response.json()

    def test_another_agencys_unit_does_not_exist(self, as_user, dex, new_request, van_b):
        response = post(as_user(dex), new_request(), "assign", {"unit": van_b.pk})

        assert response.status_code == 400
        assert "unit" in response.json()

    def test_the_crew_may_not_send_themselves(self, as_user, alice, new_request, on_shift):
        target = new_request()

        response = post(as_user(alice), target, "assign", {"unit": on_shift.pk})

        assert response.status_code == 403
        assert denied(alice, "teamrequest", target.pk).exists()

    def test_another_agencys_request_is_404(self, as_user, bea, new_request):
        target = new_request()

        assert post(as_user(bea), target, "assign", {"unit": 1}).status_code == 404


class TestAcknowledge:
    def test_the_crew_acknowledges(self, as_user, alice, request_at, frozen):
        target = request_at("assigned")

        response = post(as_user(alice), target, "acknowledge")

        assert response.status_code == 200
        assert response.json()["acknowledged_at"] == iso(frozen.now)

    def test_twice_is_a_400(self, as_user, alice, bob, request_at):
        target = request_at("assigned")
        post(as_user(alice), target, "acknowledge")

        response = post(as_user(bob), target, "acknowledge")

        assert response.status_code == 400
        assert response.json()["code"] == "invalid_transition"

    def test_without_a_unit_it_is_a_400(self, as_user, alice, new_request, on_shift):
        assert post(as_user(alice), new_request(), "acknowledge").status_code == 400

    def test_a_dispatcher_is_not_the_crew(self, as_user, dex, request_at):
        target = request_at("assigned")

        assert post(as_user(dex), target, "acknowledge").status_code == 403
        assert denied(dex, "teamrequest", target.pk).get().detail["reason"] == "not permitted"


class TestAdvance:
    def test_one_tap_goes_en_route_with_where_the_unit_was(self, as_user, alice, request_at):
        target = request_at("assigned")

        response = post(
            as_user(alice), target, "advance", {"latitude": "44.05123456", "longitude": -123.09}
        )

        assert response.status_code == 200
        assert response.json()["status"] == "en_route"
        event = RequestEvent.objects.get(request=target, kind="en_route")
        assert (str(event.latitude), str(event.longitude)) == ("44.051235", "-123.090000")

    def test_a_dispatcher_records_what_the_team_radioed(self, as_user, dex, request_at, frozen):
        target = request_at("en_route")
        frozen.shift(minutes=10)
        at = frozen.now - datetime.timedelta(minutes=3)

        response = post(as_user(dex), target, "advance", {"to": "on_scene", "at": iso(at)})

        assert response.status_code == 200
        assert response.json()["on_scene_at"] == iso(at)

    def test_on_scene_the_team_must_say_which_way(self, as_user, alice, request_at):
        target = request_at("on_scene")

        response = post(as_user(alice), target, "advance")

        assert response.status_code == 400
        assert "to" in response.json()

    def test_leaving_with_the_person_needs_a_destination(self, as_user, alice, request_at):
        response = post(as_user(alice), request_at("on_scene"), "advance", {"to": "transporting"})

        assert response.status_code == 400
        assert response.json()["destination"] == ["Say where the team is taking the person."]

    def test_a_time_in_the_future_is_a_400_on_at(self, as_user, alice, request_at, frozen):
        ahead = iso(frozen.now + datetime.timedelta(minutes=10))

        response = post(as_user(alice), request_at("assigned"), "advance", {"at": ahead})

        assert response.status_code == 400
        assert "at" in response.json()

    def test_an_unknown_step_is_a_400(self, as_user, alice, request_at):
        response = post(as_user(alice), request_at("assigned"), "advance", {"to": "flying"})

        assert response.status_code == 400
        assert "to" in response.json()

    def test_another_crew_may_not(self, as_user, erin, van2_on_shift, request_at):
        target = request_at("assigned")

        assert post(as_user(erin), target, "advance").status_code == 403
        assert denied(erin, "teamrequest", target.pk).exists()

    def test_back_in_service_completes_it(self, as_user, alice, request_at, on_shift):
        target = request_at("on_scene")

        response = post(as_user(alice), target, "advance", {"to": Step.BACK_IN_SERVICE})

        assert response.json()["status"] == "completed"
        assert response.json()["assignments"][0]["is_live"] is False
        on_shift.refresh_from_db()
        assert on_shift.status == UnitStatus.AVAILABLE


class TestRelease:
    def test_a_dispatcher_releases_the_unit(self, as_user, dex, request_at, on_shift):
        target = request_at("en_route")

        response = post(as_user(dex), target, "release", {"reason": "Diverted"})

        assert response.status_code == 200
        assert (response.json()["status"], response.json()["live_unit"]) == ("waiting", None)

    def test_a_reason_is_required(self, as_user, dex, request_at):
        response = post(as_user(dex), request_at("assigned"), "release", {"reason": " "})

        assert response.status_code == 400
        assert "reason" in response.json()

    def test_without_a_unit_it_is_a_400(self, as_user, dex, new_request):
        response = post(as_user(dex), new_request(), "release", {"reason": "x"})

        assert response.status_code == 400
        assert response.json()["code"] == "invalid_transition"

    def test_the_crew_may_not(self, as_user, alice, request_at):
        assert (
            post(as_user(alice), request_at("assigned"), "release", {"reason": "x"}).status_code
            == 403
        )


class TestReassign:
    def test_another_unit_takes_it_over(self, as_user, dex, request_at, van2_on_shift):
        target = request_at("assigned")

        response = post(
            as_user(dex), target, "reassign", {"unit": van2_on_shift.pk, "reason": "Closer"}
        )

        assert response.status_code == 200
        assert response.json()["live_unit"]["call_sign"] == "Van 2"
        assert [a["is_live"] for a in response.json()["assignments"]] == [False, True]

    def test_the_same_unit_is_a_400_on_unit(self, as_user, dex, request_at, on_shift):
        response = post(
            as_user(dex), request_at("assigned"), "reassign", {"unit": on_shift.pk, "reason": "x"}
        )

        assert response.status_code == 400
        assert "unit" in response.json()


class TestCloseNotServed:
    def test_the_crew_closes_it_when_nobody_is_found(self, as_user, alice, request_at):
        target = request_at("en_route")

        response = post(
            as_user(alice),
            target,
            "close-not-served",
            {"reason": "no_one_found", "notes": "Searched the park"},
        )

        assert response.status_code == 200
        assert (response.json()["status"], response.json()["not_served_reason"]) == (
            "not_served",
            "no_one_found",
        )

    def test_no_unit_available_with_a_unit_on_it_is_a_400(self, as_user, dex, request_at):
        response = post(
            as_user(dex),
            request_at("assigned"),
            "close-not-served",
            {"reason": "no_unit_available"},
        )

        assert response.status_code == 400
        assert "reason" in response.json()

    def test_an_unknown_reason_is_a_400(self, as_user, dex, new_request):
        response = post(as_user(dex), new_request(), "close-not-served", {"reason": "bored"})

        assert response.status_code == 400
        assert "reason" in response.json()

    def test_a_request_already_completed_is_a_400(self, as_user, dex, request_at):
        response = post(
            as_user(dex), request_at("completed"), "close-not-served", {"reason": "declined"}
        )

        assert response.status_code == 400
        assert response.json()["code"] == "invalid_transition"


class TestSuggestions:
    def test_the_available_units_nearest_first(
        self, as_user, dex, new_request, agency_a, alice, erin
    ):
        near = UnitFactory(
            agency=agency_a, call_sign="Near", base_latitude=SCENE[0], base_longitude=SCENE[1]
        )
        far = UnitFactory(agency=agency_a, call_sign="Far")
        services.start_shift(unit=far, members=[(alice, Credential.NURSE)], actor=dex)
        services.start_shift(unit=near, members=[(erin, Credential.NURSE)], actor=dex)

        response = as_user(dex).get(f"{REQUESTS}{new_request().pk}/suggestions/")

        assert response.status_code == 200
        rows = response.json()
        assert [r["unit"]["call_sign"] for r in rows] == ["Near", "Far"]
        assert rows[0]["distance_km"] == 0.0
        assert rows[0]["measured_from"] == "base"

    def test_another_agency_gets_404(self, as_user, carol, new_request):
        assert as_user(carol).get(f"{REQUESTS}{new_request().pk}/suggestions/").status_code == 404


# --- Units ----------------------------------------------------------------------------------


def unit_post(api, unit, name, data=None):
    return api.post(f"{UNITS}{unit.pk}/{name}/", data or {}, format="json")


class TestUnitList:
    def test_the_agency_sees_status_crew_and_live_request(
        self, as_user, alice, dex, request_at, van2, van_b
    ):
        target = request_at("assigned")

        response = as_user(alice).get(UNITS)

        assert response.status_code == 200
        rows = {row["call_sign"]: row for row in response.json()["results"]}
        assert set(rows) == {"Van 1", "Van 2"}
        assert rows["Van 1"]["status"] == "assigned"
        assert rows["Van 1"]["live_request"] == target.pk
        assert [(m["user"]["username"], m["credential"]) for m in rows["Van 1"]["crew"]] == [
            ("alice", "licensed_clinician"),
            ("bob", "peer_specialist"),
        ]
        assert (rows["Van 2"]["status"], rows["Van 2"]["crew"], rows["Van 2"]["live_request"]) == (
            "off_shift",
            [],
            None,
        )
        assert not AuditEvent.objects.filter(action__in=[Action.LIST, Action.VIEW]).exists()

    def test_the_last_position_shows_only_while_shared(self, as_user, dex, alice, on_shift, frozen):
        services.set_position_sharing(unit=on_shift, actor=alice, shares=True)
        services.record_position(unit=on_shift, actor=alice, latitude=44.05, longitude=-123.09)
        api = as_user(dex)

        shared = api.get(f"{UNITS}{on_shift.pk}/").json()["last_position"]
        services.set_position_sharing(unit=on_shift, actor=alice, shares=False)
        hidden = api.get(f"{UNITS}{on_shift.pk}/").json()["last_position"]

        assert shared == {"latitude": 44.05, "longitude": -123.09, "at": iso(frozen.now)}
        assert hidden is None

    def test_it_filters_by_status(self, as_user, dex, on_shift, van2):
        response = as_user(dex).get(UNITS, {"status": "off_shift"})

        assert ids(response) == [van2.pk]

    @pytest.mark.parametrize("persona", ["carol", "bea", "root"])
    def test_another_agency_sees_none_and_gets_404(self, request, persona, as_user, on_shift):
        user = request.getfixturevalue(persona)
        api = as_user(user)

        assert ids(api.get(UNITS)) == []
        assert api.get(f"{UNITS}{on_shift.pk}/").status_code == 404
        assert denied(user, "unit", on_shift.pk).exists()

    @pytest.mark.parametrize("units", [2, 8])
    def test_the_queries_do_not_grow_with_the_units(
        self, units, as_user, dex, agency_a, on_shift, request_at, django_assert_max_num_queries
    ):
        request_at("assigned")
        for _ in range(units):
            UnitFactory(agency=agency_a)
        api = as_user(dex)

        # Session, user, agency time zone, count, the page's ids, the page, open shifts,
        # their members, live assignments, and the session's renewal (savepoint, update,
        # release).
        with django_assert_max_num_queries(12):
            response = api.get(UNITS)

        assert len(response.json()["results"]) == units + 1


class TestShifts:
    def test_a_dispatcher_starts_a_shift(self, as_user, dex, van, alice, bob):
        response = unit_post(
            as_user(dex),
            van,
            "start-shift",
            {
                "members": [
                    {"user": alice.pk, "credential": "licensed_clinician"},
                    {"user": bob.pk, "credential": "peer_specialist"},
                ],
                "shares_position": True,
            },
        )

        assert response.status_code == 200
        data = response.json()
        assert (data["status"], data["shares_position"]) == ("available", True)
        assert [m["user"]["username"] for m in data["crew"]] == ["alice", "bob"]

    def test_a_member_of_another_agency_does_not_exist(self, as_user, dex, van, carol):
        response = unit_post(
            as_user(dex),
            van,
            "start-shift",
            {"members": [{"user": carol.pk, "credential": "nurse"}]},
        )

        assert response.status_code == 400
        assert "members" in response.json()

    def test_someone_already_on_a_shift_is_a_400_on_members(
        self, as_user, dex, on_shift, van2, alice
    ):
        response = unit_post(
            as_user(dex),
            van2,
            "start-shift",
            {"members": [{"user": alice.pk, "credential": "nurse"}]},
        )

        assert response.status_code == 400
        assert response.json()["code"] == "dispatch_invalid"
        assert "members" in response.json()

    def test_no_members_is_a_400(self, as_user, dex, van):
        response = unit_post(as_user(dex), van, "start-shift", {"members": []})

        assert response.status_code == 400
        assert "members" in response.json()

    def test_a_worker_may_not_start_a_shift_for_others(self, as_user, alice, bob, van):
        response = unit_post(
            as_user(alice),
            van,
            "start-shift",
            {"members": [{"user": bob.pk, "credential": "nurse"}]},
        )

        assert response.status_code == 403
        assert denied(alice, "unit", van.pk).exists()

    def test_the_crew_ends_its_shift(self, as_user, alice, on_shift):
        response = unit_post(as_user(alice), on_shift, "end-shift")

        assert response.status_code == 200
        assert (response.json()["status"], response.json()["crew"]) == ("off_shift", [])

    def test_a_unit_off_shift_cannot_end_one(self, as_user, dex, van):
        response = unit_post(as_user(dex), van, "end-shift")

        assert response.status_code == 400
        assert response.json()["code"] == "not_on_shift"


class TestService:
    def test_out_of_service_and_back(self, as_user, alice, on_shift):
        api = as_user(alice)

        out = unit_post(api, on_shift, "out-of-service", {"reason": "Restocking"})
        back = unit_post(api, on_shift, "return-to-service")

        assert (out.status_code, out.json()["status"]) == (200, "out_of_service")
        assert (back.status_code, back.json()["status"]) == (200, "available")

    def test_out_of_service_needs_a_reason(self, as_user, dex, on_shift):
        response = unit_post(as_user(dex), on_shift, "out-of-service", {})

        assert response.status_code == 400
        assert "reason" in response.json()

    def test_a_unit_on_a_request_cannot_go_out_of_service(self, as_user, dex, request_at, on_shift):
        request_at("assigned")

        response = unit_post(as_user(dex), on_shift, "out-of-service", {"reason": "Break"})

        assert response.status_code == 400
        assert response.json()["code"] == "invalid_transition"

    def test_returning_a_unit_in_service_is_a_400(self, as_user, dex, on_shift):
        assert unit_post(as_user(dex), on_shift, "return-to-service").status_code == 400


class TestPositions:
    def test_the_crew_shares_and_records_where_it_is(self, as_user, alice, on_shift, frozen):
        api = as_user(alice)

        sharing = unit_post(api, on_shift, "sharing", {"shares_position": True})
        response = unit_post(
            api, on_shift, "position", {"latitude": 44.05, "longitude": -123.09, "accuracy_m": 5}
        )

        assert sharing.json()["shares_position"] is True
        assert response.status_code == 201
        assert response.json()["at"] == iso(frozen.now)
        position = UnitPosition.objects.get()
        assert (str(position.latitude), position.accuracy_m) == ("44.050000", 5.0)

    def test_a_unit_that_does_not_share_stores_nothing(self, as_user, alice, on_shift):
        response = unit_post(as_user(alice), on_shift, "position", {"latitude": 1, "longitude": 2})

        assert response.status_code == 400
        assert response.json()["code"] == "position_not_shared"
        assert not UnitPosition.objects.exists()

    def test_coordinates_out_of_range_are_a_400_on_their_field(self, as_user, alice, on_shift):
        services.set_position_sharing(unit=on_shift, actor=alice, shares=True)

        response = unit_post(as_user(alice), on_shift, "position", {"latitude": 95, "longitude": 2})

        assert response.status_code == 400
        assert set(response.json()) == {"latitude"}

    def test_only_the_crew_chooses_to_share(self, as_user, dex, on_shift):
        response = unit_post(as_user(dex), on_shift, "sharing", {"shares_position": True})

        assert response.status_code == 403
        assert denied(dex, "unit", on_shift.pk).exists()

    def test_another_agency_cannot_post_a_position(self, as_user, carol, on_shift):
        response = unit_post(as_user(carol), on_shift, "position", {"latitude": 1, "longitude": 2})

        assert response.status_code == 404


# --- Schema ---------------------------------------------------------------------------------


class TestSchema:
    def test_every_endpoint_is_in_the_schema(self, as_user, dex):
        schema = as_user(dex).get("/api/schema/", {"format": "json"}).json()
        paths = schema["paths"]

        for path, method in [
            ("/api/v1/dispatch/requests/", "get"),
            ("/api/v1/dispatch/requests/", "post"),
            ("/api/v1/dispatch/requests/{id}/", "get"),
            ("/api/v1/dispatch/requests/{id}/", "patch"),
            ("/api/v1/dispatch/requests/{id}/assign/", "post"),
            ("/api/v1/dispatch/requests/{id}/acknowledge/", "post"),
            ("/api/v1/dispatch/requests/{id}/advance/", "post"),
            ("/api/v1/dispatch/requests/{id}/release/", "post"),
            ("/api/v1/dispatch/requests/{id}/reassign/", "post"),
            ("/api/v1/dispatch/requests/{id}/close-not-served/", "post"),
            ("/api/v1/dispatch/requests/{id}/suggestions/", "get"),
            ("/api/v1/dispatch/units/", "get"),
            ("/api/v1/dispatch/units/{id}/", "get"),
            ("/api/v1/dispatch/units/{id}/start-shift/", "post"),
            ("/api/v1/dispatch/units/{id}/end-shift/", "post"),
            ("/api/v1/dispatch/units/{id}/out-of-service/", "post"),
            ("/api/v1/dispatch/units/{id}/return-to-service/", "post"),
            ("/api/v1/dispatch/units/{id}/sharing/", "post"),
            ("/api/v1/dispatch/units/{id}/position/", "post"),
            ("/api/v1/dispatch/cad/incidents/", "post"),
        ]:
            assert method in paths.get(path, {}), (method, path)
        assert "put" not in paths["/api/v1/dispatch/requests/{id}/"]
        advance = paths["/api/v1/dispatch/requests/{id}/advance/"]["post"]
        assert advance["requestBody"]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/AdvanceRequest"
        }
        suggestions = paths["/api/v1/dispatch/requests/{id}/suggestions/"]["get"]
        assert suggestions["responses"]["200"]["content"]["application/json"]["schema"]["type"] == (
            "array"
        )
        assert RequestStatus.WAITING in str(schema["components"]["schemas"])
