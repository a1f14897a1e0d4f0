"""The dispatch workflows: recording requests, sending units, the one tap, not served."""

import datetime
import threading
import time
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, connections, transaction

from audit.models import Action, AuditEvent
from dispatch import services
from dispatch.exceptions import (
    DispatchInvalid,
    InvalidTransition,
    NotAllowed,
    UnitNotAvailable,
)
from dispatch.models import (
    ALLOWED_TRANSITIONS,
    Assignment,
    Credential,
    DispatchSettings,
    NotServedReason,
    RequestEvent,
    RequestSource,
    RequestStatus,
    Step,
    TeamRequest,
    UnitStatus,
)
from dispatch.services import intake
from tests.cases.factories import ClientFactory
from tests.dispatch.conftest import request_data
from tests.dispatch.factories import DispatchSettingsFactory


def kinds(request):
    return list(RequestEvent.objects.filter(request=request).values_list("kind", flat=True))


def audit_rows(request, action=None):
    rows = AuditEvent.objects.filter(object_type="teamrequest", object_id=str(request.pk))
    return rows.filter(action=action) if action else rows


class TestRecordRequest:
    def test_it_waits_with_its_received_event(self, dex, new_request):
        request = new_request()
        assert request.status == RequestStatus.WAITING
        assert request.agency_id == dex.agency_id
        assert request.created_by == dex
        assert request.latitude == Decimal("44.000000")
        event = RequestEvent.objects.get(request=request)
        assert (event.kind, event.at, event.actor) == ("received", request.received_at, dex)

    def test_a_supervisor_acting_as_dispatcher_records_one(self, sam, new_request):
        assert new_request(actor=sam).created_by == sam

    @pytest.mark.parametrize("persona", ["alice", "dana", "root"])
    def test_others_may_not(self, request, persona, new_request):
        with pytest.raises(NotAllowed):
            new_request(actor=request.getfixturevalue(persona))
        assert not TeamRequest.objects.exists()

    def test_naming_a_client_is_audited(self, dex, agency_a, new_request):
        client = ClientFactory(agency=agency_a)
        request = new_request(client=client)
        row = audit_rows(request).get()
        assert (row.action, row.client_id, row.actor, row.agency_id) == (
            Action.CREATE,
            client.pk,
            dex,
            agency_a.pk,
        )

    def test_naming_nobody_leaves_no_audit_row(self, new_request):
        assert not audit_rows(new_request()).exists()

    def test_another_agencys_client_is_refused(self, agency_b, new_request):
        with pytest.raises(NotAllowed):
            new_request(client=ClientFactory(agency=agency_b))

    def test_a_merged_client_is_recorded_as_the_survivor(self, agency_a, new_request):
        survivor = ClientFactory(agency=agency_a)
        merged = ClientFactory(agency=agency_a, merged_into=survivor)
        assert new_request(client=merged).client == survivor

    def test_latitude_without_longitude_is_refused(self, new_request):
        with pytest.raises(ValidationError) as refused:
            new_request(longitude=None)
        assert "longitude" in refused.value.message_dict

    def test_nowhere_to_go_is_refused(self, new_request):
        with pytest.raises(ValidationError):
            new_request(latitude=None, longitude=None, location_text="  ")

    def test_a_received_time_in_the_future_is_refused(self, new_request, frozen):
        with pytest.raises(DispatchInvalid) as refused:
            new_request(received_at=frozen.now + datetime.timedelta(minutes=5))
        assert refused.value.field == "received_at"

    def test_a_received_time_typed_late_is_kept(self, new_request, frozen):
        earlier = frozen.now - datetime.timedelta(minutes=7)
        request = new_request(received_at=earlier)
        assert request.received_at == earlier
        assert RequestEvent.objects.get(request=request).at == earlier

    def test_a_988_hand_off_keeps_the_centre(self, new_request):
        request = new_request(
            source=RequestSource.LIFELINE_988,
            centre_name="Lane County 988",
            centre_call_id="L-2231",
            warm_transfer=True,
            line_open_until_arrival=False,
            active_rescue="involuntary",
        )
        request.refresh_from_db()
        assert (request.centre_call_id, request.warm_transfer, request.active_rescue) == (
            "L-2231",
            True,
            "involuntary",
        )

    def test_an_unknown_field_is_a_programming_error(self, new_request):
        with pytest.raises(TypeError):
            new_request(status="completed")


class TestRecordCadIncident:
    def test_the_same_incident_twice_is_recorded_once(self, cad_key):
        data = request_data(reason="suicidal")
        del data["source"]  # a CAD hand-off unless it says otherwise (a police request)
        first, created = services.record_cad_incident(
            cad_key=cad_key, incident_number="E26-1001", data=data
        )
        again, created_again = services.record_cad_incident(
            cad_key=cad_key, incident_number=" E26-1001 ", data=request_data(reason="intoxication")
        )
        assert (created, created_again) == (True, False)
        assert again.pk == first.pk
        assert TeamRequest.objects.count() == 1
        first.refresh_from_db()
        assert (first.reason, first.source, first.cad_incident_number) == (
            "suicidal",
            RequestSource.CAD_911,
            "E26-1001",
        )
        assert (first.agency_id, first.cad_key, first.created_by) == (
            cad_key.agency_id,
            cad_key,
            None,
        )
        assert kinds(first) == ["received"]

    def test_another_agency_has_its_own_incident_numbers(self, cad_key, cad_key_b):
        services.record_cad_incident(cad_key=cad_key, incident_number="7", data=request_data())
        _, created = services.record_cad_incident(
            cad_key=cad_key_b, incident_number="7", data=request_data()
        )
        assert created
        assert TeamRequest.objects.count() == 2

    def test_a_blank_number_is_refused(self, cad_key):
        with pytest.raises(DispatchInvalid):
            services.record_cad_incident(cad_key=cad_key, incident_number="  ", data=request_data())

    def test_a_revoked_key_is_refused(self, cad_key):
        from dispatch.cad_keys import revoke_cad_key

        revoke_cad_key(key=cad_key, actor=None)
        with pytest.raises(NotAllowed):
            services.record_cad_incident(
                cad_key=cad_key, incident_number="E-1", data=request_data()
            )
        assert not TeamRequest.objects.exists()

    @pytest.mark.django_db(transaction=True, serialized_rollback=True)
    def test_two_posts_at_once_record_it_once(self, cad_key, monkeypatch):
        """The second post looks before the first commits and finds nothing; its insert
        waits on teamrequest_cad_unique, is refused when the first commits, and it
        returns the first request."""
        if connection.vendor != "postgresql":
            pytest.skip("SQLite lets one writer at a time: there is no race to lose")
        inserted, commit = threading.Event(), threading.Event()
        results = {}
        refused = []
        record = intake._record

        def watched(**kwargs):
            try:
                return record(**kwargs)
            except IntegrityError:
                refused.append(kwargs["cad_key"])
                raise

        monkeypatch.setattr(intake, "_record", watched)

        def post(name, hold):
            try:
                with transaction.atomic():
                    results[name] = services.record_cad_incident(
                        cad_key=cad_key, incident_number="E-9", data=request_data()
                    )
                    if hold:
                        inserted.set()
                        commit.wait(10)
            except Exception as exc:  # noqa: BLE001  # reported by the assertion below
                results[name] = exc
            finally:
                connections.close_all()

        first = threading.Thread(target=post, args=("first", True))
        first.start()
        assert inserted.wait(10)
        second = threading.Thread(target=post, args=("second", False))
        second.start()
        time.sleep(0.5)  # the second is now waiting on the first's uncommitted row
        commit.set()
        first.join(10)
        second.join(10)
        made, created = results["first"]
        assert created
        assert results["second"] == (made, False)
        assert refused == [cad_key]  # the second's insert was refused: it lost the race
        assert TeamRequest.objects.count() == 1


class TestAssignUnit:
    def test_it_sends_an_available_unit(self, dex, new_request, on_shift, alice, bob, frozen):
        request = new_request()
        assignment = services.assign_unit(request=request, unit=on_shift, actor=dex)
        request.refresh_from_db()
        on_shift.refresh_from_db()
        assert request.status == RequestStatus.ASSIGNED
        assert request.dispatched_at == frozen.now
        assert on_shift.status == UnitStatus.ASSIGNED
        assert assignment.members == [
            {"user_id": alice.pk, "name": str(alice), "credential": "licensed_clinician"},
            {"user_id": bob.pk, "name": str(bob), "credential": "peer_specialist"},
        ]
        assert kinds(request) == ["received", "dispatched"]

    def test_the_acknowledgement_deadline_is_the_agencys_default(
        self, dex, new_request, on_shift, frozen
    ):
        assignment = services.assign_unit(request=new_request(), unit=on_shift, actor=dex)
        assert assignment.acknowledge_by == frozen.now + datetime.timedelta(seconds=120)

    def test_the_acknowledgement_deadline_is_the_agencys_own(
        self, dex, agency_a, new_request, on_shift, frozen
    ):
        DispatchSettingsFactory(agency=agency_a, acknowledge_timeout_seconds=45)
        assignment = services.assign_unit(request=new_request(), unit=on_shift, actor=dex)
        assert assignment.acknowledge_by == frozen.now + datetime.timedelta(seconds=45)

    def test_settings_are_made_on_first_use(self, agency_a):
        made = services.settings_for(agency_a)
        assert made.pk and services.settings_for(agency_a.pk) == made
        assert DispatchSettings.objects.count() == 1

    def test_a_unit_off_shift_is_not_available(self, dex, new_request, van):
        request = new_request()
        with pytest.raises(UnitNotAvailable):
            services.assign_unit(request=request, unit=van, actor=dex)
        request.refresh_from_db()
        assert (request.status, request.dispatched_at) == (RequestStatus.WAITING, None)
        assert not Assignment.objects.exists()

    def test_a_unit_on_another_request_is_not_available(
        self, dex, request_at, new_request, on_shift
    ):
        request_at("assigned")
        with pytest.raises(UnitNotAvailable):
            services.assign_unit(request=new_request(), unit=on_shift, actor=dex)

    def test_another_agencys_unit_is_refused(self, dex, new_request, van_b, carol, bea):
        services.start_shift(unit=van_b, members=[(carol, Credential.NURSE)], actor=bea)
        with pytest.raises(NotAllowed):
            services.assign_unit(request=new_request(), unit=van_b, actor=dex)

    @pytest.mark.parametrize("persona", ["alice", "dana", "bea"])
    def test_only_the_agencys_dispatchers_send_units(self, request, persona, new_request, on_shift):
        with pytest.raises(NotAllowed):
            services.assign_unit(
                request=new_request(), unit=on_shift, actor=request.getfixturevalue(persona)
            )

    def test_a_request_naming_a_client_is_audited_when_changed(
        self, dex, agency_a, new_request, on_shift
    ):
        client = ClientFactory(agency=agency_a)
        request = new_request(client=client)
        services.assign_unit(request=request, unit=on_shift, actor=dex)
        row = audit_rows(request, Action.UPDATE).get()
        assert (row.client_id, row.detail["event"]) == (client.pk, "dispatched")


class TestAcknowledge:
    def test_a_member_acknowledges(self, dex, bob, new_request, on_shift, frozen):
        request = new_request()
        assignment = services.assign_unit(request=request, unit=on_shift, actor=dex)
        frozen.shift(seconds=30)
        services.acknowledge(assignment=assignment, actor=bob)
        request.refresh_from_db()
        assignment.refresh_from_db()
        assert request.acknowledged_at == assignment.acknowledged_at == frozen.now
        assert assignment.acknowledged_by == bob
        event = RequestEvent.objects.get(request=request, kind="acknowledged")
        assert event.detail["late"] is False

    def test_after_the_deadline_it_is_late(self, dex, bob, new_request, on_shift, frozen):
        assignment = services.assign_unit(request=new_request(), unit=on_shift, actor=dex)
        frozen.shift(seconds=121)
        assert list(Assignment.objects.awaiting_acknowledgement(frozen.now)) == [assignment]
        services.acknowledge(assignment=assignment, actor=bob)
        assert RequestEvent.objects.get(kind="acknowledged").detail["late"] is True
        assert not Assignment.objects.awaiting_acknowledgement(frozen.now).exists()

    def test_not_yet_due_is_not_awaited(self, dex, new_request, on_shift, frozen):
        services.assign_unit(request=new_request(), unit=on_shift, actor=dex)
        frozen.shift(seconds=119)
        assert not Assignment.objects.awaiting_acknowledgement(frozen.now).exists()

    @pytest.mark.parametrize("persona", ["erin", "dex"])
    def test_only_a_member_of_the_shift(self, request, persona, dex, new_request, on_shift):
        assignment = services.assign_unit(request=new_request(), unit=on_shift, actor=dex)
        with pytest.raises(NotAllowed):
            services.acknowledge(assignment=assignment, actor=request.getfixturevalue(persona))

    def test_once(self, dex, alice, bob, new_request, on_shift):
        assignment = services.assign_unit(request=new_request(), unit=on_shift, actor=dex)
        services.acknowledge(assignment=assignment, actor=alice)
        with pytest.raises(InvalidTransition):
            services.acknowledge(assignment=assignment, actor=bob)


STAMP_COLUMNS = [
    "en_route_at",
    "on_scene_at",
    "left_scene_at",
    "at_destination_at",
    "transfer_of_care_at",
    "back_in_service_at",
]


class TestAdvance:
    def test_one_tap_at_a_time_through_a_transport(self, dex, alice, new_request, on_shift, frozen):
        request = new_request()
        services.assign_unit(request=request, unit=on_shift, actor=dex)
        seen = {}
        for step, unit_status, status in [
            (None, UnitStatus.EN_ROUTE, RequestStatus.EN_ROUTE),
            (None, UnitStatus.ON_SCENE, RequestStatus.ON_SCENE),
            (Step.TRANSPORTING, UnitStatus.TRANSPORTING, RequestStatus.TRANSPORTING),
            (None, UnitStatus.AT_DESTINATION, RequestStatus.AT_DESTINATION),
            (None, UnitStatus.AT_DESTINATION, RequestStatus.AT_DESTINATION),  # transfer
            (None, UnitStatus.AVAILABLE, RequestStatus.COMPLETED),
        ]:
            seen[frozen.shift(minutes=4)] = step
            services.advance(
                unit=on_shift,
                actor=alice,
                to=step,
                destination="Hourglass crisis centre" if step == Step.TRANSPORTING else "",
            )
            request.refresh_from_db()
            on_shift.refresh_from_db()
            assert (request.status, on_shift.status) == (status, unit_status)
        times = list(seen)
        assert [getattr(request, c) for c in STAMP_COLUMNS] == times
        assert request.closed_at == times[-1]
        assert request.destination == "Hourglass crisis centre"
        left = RequestEvent.objects.get(request=request, kind="left_scene")
        assert left.detail == {"destination": "Hourglass crisis centre"}
        assert kinds(request) == [
            "received",
            "dispatched",
            "acknowledged",  # going en route acknowledges
            "en_route",
            "on_scene",
            "left_scene",
            "at_destination",
            "transfer_of_care",
            "back_in_service",
        ]
        assert not Assignment.objects.live().exists()
        assert Assignment.objects.get().released_at == times[-1]

    def test_back_in_service_from_the_scene_stamps_left_scene_too(
        self, request_at, on_shift, alice, frozen
    ):
        request = request_at("on_scene")
        at = frozen.shift(minutes=30)
        services.advance(unit=on_shift, actor=alice, to=Step.BACK_IN_SERVICE)
        request.refresh_from_db()
        assert request.left_scene_at == request.back_in_service_at == request.closed_at == at
        assert request.at_destination_at is None
        assert kinds(request)[-2:] == ["left_scene", "back_in_service"]

    def test_on_scene_the_team_must_say_which_way(self, request_at, on_shift, alice):
        request = request_at("on_scene")
        with pytest.raises(InvalidTransition) as refused:
            services.advance(unit=on_shift, actor=alice)
        assert refused.value.field == "to"
        request.refresh_from_db()
        assert request.status == RequestStatus.ON_SCENE

    def test_transporting_needs_a_destination(self, request_at, on_shift, alice):
        request_at("on_scene")
        with pytest.raises(DispatchInvalid) as refused:
            services.advance(unit=on_shift, actor=alice, to=Step.TRANSPORTING)
        assert refused.value.field == "destination"

    def test_each_stamp_is_set_once(self, request_at, on_shift, alice, frozen):
        request = request_at("at_destination")
        services.advance(unit=on_shift, actor=alice, to=Step.TRANSFER_OF_CARE)
        first = TeamRequest.objects.get(pk=request.pk).transfer_of_care_at
        frozen.shift(minutes=5)
        with pytest.raises(InvalidTransition):
            services.advance(unit=on_shift, actor=alice, to=Step.TRANSFER_OF_CARE)
        assert TeamRequest.objects.get(pk=request.pk).transfer_of_care_at == first
        assert kinds(request).count("transfer_of_care") == 1

    def test_a_time_before_the_previous_stamp_is_refused(self, request_at, on_shift, alice):
        request = request_at("en_route")
        with pytest.raises(DispatchInvalid):
            services.advance(
                unit=on_shift, actor=alice, at=request.en_route_at - datetime.timedelta(seconds=1)
            )

    def test_a_time_radioed_in_late_is_kept(self, request_at, on_shift, dex, frozen):
        request = request_at("en_route")
        frozen.shift(minutes=10)
        arrived = frozen.now - datetime.timedelta(minutes=6)
        services.advance(
            unit=on_shift, actor=dex, at=arrived, latitude="44.0001", longitude="-123.0002"
        )
        request.refresh_from_db()
        assert request.on_scene_at == arrived
        event = RequestEvent.objects.get(request=request, kind="on_scene")
        assert (event.at, event.actor, event.unit, event.latitude) == (
            arrived,
            dex,
            on_shift,
            Decimal("44.000100"),
        )

    def test_a_unit_on_no_request(self, on_shift, alice):
        with pytest.raises(InvalidTransition):
            services.advance(unit=on_shift, actor=alice)

    @pytest.mark.parametrize("persona", ["erin", "dana", "carol"])
    def test_only_the_team_or_a_dispatcher(self, request, persona, request_at, on_shift):
        request_at("assigned")
        with pytest.raises(NotAllowed):
            services.advance(unit=on_shift, actor=request.getfixturevalue(persona))


class TestReleaseAndReassign:
    def test_a_released_unit_frees_the_request_and_its_en_route_stamp(
        self, request_at, on_shift, dex
    ):
        request = request_at("en_route")
        dispatched = request.dispatched_at
        services.release_unit(request=request, actor=dex, reason="Diverted to a higher priority")
        request.refresh_from_db()
        on_shift.refresh_from_db()
        assert request.status == RequestStatus.WAITING
        assert (request.en_route_at, request.acknowledged_at) == (None, None)
        assert request.dispatched_at == dispatched  # the first time a team was sent
        assert on_shift.status == UnitStatus.AVAILABLE
        assert kinds(request)[-1] == "released"
        assert Assignment.objects.get().release_reason == "Diverted to a higher priority"

    def test_a_release_needs_a_reason(self, request_at, dex):
        with pytest.raises(DispatchInvalid):
            services.release_unit(request=request_at("assigned"), actor=dex, reason=" ")

    def test_a_unit_on_scene_is_not_released(self, request_at, dex):
        with pytest.raises(InvalidTransition):
            services.release_unit(request=request_at("on_scene"), actor=dex, reason="x")

    def test_reassigning_sends_the_other_unit_in_one_change(
        self, request_at, on_shift, van2_on_shift, dex
    ):
        request = request_at("en_route")
        assignment = services.reassign_unit(
            request=request, unit=van2_on_shift, actor=dex, reason="Van 1 has a flat"
        )
        request.refresh_from_db()
        on_shift.refresh_from_db()
        van2_on_shift.refresh_from_db()
        assert request.status == RequestStatus.ASSIGNED
        assert assignment.unit == van2_on_shift
        assert (on_shift.status, van2_on_shift.status) == ("available", "assigned")
        assert kinds(request)[-2:] == ["reassigned", "dispatched"]
        assert Assignment.objects.live().get() == assignment

    def test_reassigning_to_a_busy_unit_changes_nothing(
        self, request_at, new_request, van2_on_shift, dex
    ):
        request = request_at("assigned")
        services.assign_unit(request=new_request(), unit=van2_on_shift, actor=dex)
        with pytest.raises(UnitNotAvailable):
            services.reassign_unit(request=request, unit=van2_on_shift, actor=dex, reason="x")
        request.refresh_from_db()
        assert request.status == RequestStatus.ASSIGNED
        assert "reassigned" not in kinds(request)


class TestCloseNotServed:
    @pytest.mark.parametrize("reason", NotServedReason.values)
    def test_each_reason_closes_a_waiting_request(self, reason, new_request, dex, frozen):
        request = new_request()
        closed = frozen.shift(minutes=25)
        services.close_not_served(request=request, reason=reason, actor=dex, notes="Called back")
        request.refresh_from_db()
        assert (request.status, request.not_served_reason, request.closed_at) == (
            RequestStatus.NOT_SERVED,
            reason,
            closed,
        )
        assert request.not_served_notes == "Called back"
        event = RequestEvent.objects.get(request=request, kind="not_served")
        assert event.detail["reason"] == reason

    def test_no_unit_available_keeps_how_long_it_waited(self, new_request, dex, frozen):
        request = new_request(received_at=frozen.now - datetime.timedelta(minutes=3))
        frozen.shift(minutes=40)
        services.close_not_served(request=request, reason="no_unit_available", actor=dex)
        request.refresh_from_db()
        assert request.waited == datetime.timedelta(minutes=43)
        event = RequestEvent.objects.get(request=request, kind="not_served")
        assert event.detail["waited_seconds"] == 43 * 60

    def test_other_reasons_do_not_count_a_wait(self, new_request, dex):
        request = new_request()
        services.close_not_served(request=request, reason="declined", actor=dex)
        request.refresh_from_db()
        assert request.waited is None
        assert "waited_seconds" not in RequestEvent.objects.get(kind="not_served").detail

    @pytest.mark.parametrize("reason", ["no_one_found", "declined", "cancelled_before_arrival"])
    def test_the_team_en_route_closes_it_and_is_free(self, reason, request_at, on_shift, alice):
        request = request_at("en_route")
        services.close_not_served(request=request, reason=reason, actor=alice)
        request.refresh_from_db()
        on_shift.refresh_from_db()
        assert request.status == RequestStatus.NOT_SERVED
        assert on_shift.status == UnitStatus.AVAILABLE
        assert not Assignment.objects.live().exists()
        assert RequestEvent.objects.get(kind="not_served").unit == on_shift

    def test_no_unit_available_with_a_unit_on_it_is_refused(self, request_at, dex):
        with pytest.raises(DispatchInvalid):
            services.close_not_served(
                request=request_at("assigned"), reason="no_unit_available", actor=dex
            )

    def test_an_unknown_reason_is_refused(self, new_request, dex):
        with pytest.raises(DispatchInvalid):
            services.close_not_served(request=new_request(), reason="bored", actor=dex)


# The service that attempts a move to each status.
def attempt(to, request, unit, dex, alice):
    if to == "assigned":
        return services.assign_unit(request=request, unit=unit, actor=dex)
    if to == "waiting":
        return services.release_unit(request=request, actor=dex, reason="Diverted")
    if to == "not_served":
        return services.close_not_served(
            request=request, reason="cancelled_before_arrival", actor=dex
        )
    step = {
        "en_route": Step.EN_ROUTE,
        "on_scene": Step.ON_SCENE,
        "transporting": Step.TRANSPORTING,
        "at_destination": Step.AT_DESTINATION,
        "completed": Step.BACK_IN_SERVICE,
    }[to]
    return services.advance(
        unit=unit,
        actor=alice,
        to=step,
        destination="Crisis centre" if step == Step.TRANSPORTING else "",
    )


ALL_MOVES = [(a, b) for a in RequestStatus.values for b in RequestStatus.values if a != b]


class TestEveryTransition:
    @pytest.mark.parametrize(("frm", "to"), sorted(ALLOWED_TRANSITIONS))
    def test_an_allowed_move_is_made_by_its_service(
        self, frm, to, request_at, on_shift, van2_on_shift, dex, alice
    ):
        request = request_at(frm)
        # A waiting request is sent Van 2 (Van 1 may still be on another request).
        unit = van2_on_shift if to == "assigned" else on_shift
        before = len(kinds(request))
        attempt(to, request, unit, dex, alice)
        request.refresh_from_db()
        assert request.status == to
        assert len(kinds(request)) > before

    @pytest.mark.parametrize(("frm", "to"), [m for m in ALL_MOVES if m not in ALLOWED_TRANSITIONS])
    def test_a_move_not_allowed_is_refused_and_changes_nothing(
        self, frm, to, request_at, on_shift, van2_on_shift, dex, alice
    ):
        request = request_at(frm)
        unit = van2_on_shift if to == "assigned" else on_shift
        before = (kinds(request), Assignment.objects.count())
        with pytest.raises((InvalidTransition, DispatchInvalid)):
            attempt(to, request, unit, dex, alice)
        request.refresh_from_db()
        assert request.status == frm
        assert (kinds(request), Assignment.objects.count()) == before


class TestEditRequest:
    def test_it_records_which_fields_changed(self, new_request, dex):
        request = new_request()
        services.edit_request(
            request=request,
            actor=dex,
            data={"weapons": True, "police_present": True, "callback_number": "541-555-0142"},
        )
        request.refresh_from_db()
        assert (request.weapons, request.police_present) == (True, True)
        event = RequestEvent.objects.get(request=request, kind="edited")
        assert event.detail == {"fields": ["police_present", "weapons"]}

    def test_naming_a_client_later_is_audited_under_the_client(self, new_request, dex, agency_a):
        request = new_request()
        client = ClientFactory(agency=agency_a)
        services.edit_request(request=request, actor=dex, data={"client": client})
        row = audit_rows(request, Action.UPDATE).get()
        assert (row.client_id, row.detail["fields"]) == (client.pk, ["client"])

    def test_removing_the_client_is_audited_under_the_one_removed(self, new_request, dex, agency_a):
        client = ClientFactory(agency=agency_a)
        request = new_request(client=client)
        services.edit_request(request=request, actor=dex, data={"client": None})
        assert audit_rows(request, Action.UPDATE).get().client_id == client.pk

    def test_nothing_changed_writes_nothing(self, new_request, dex):
        request = new_request()
        services.edit_request(request=request, actor=dex, data={"weapons": False})
        assert kinds(request) == ["received"]

    def test_how_it_came_in_is_not_edited(self, new_request, dex):
        with pytest.raises(TypeError):
            services.edit_request(request=new_request(), actor=dex, data={"source": "police"})


class TestInvoluntaryOutcome:
    def test_it_is_recorded_when_the_team_leaves_with_the_person(self, request_at, on_shift, alice):
        request = request_at("on_scene")
        services.advance(
            unit=on_shift,
            actor=alice,
            to=Step.TRANSPORTING,
            destination="Emergency department",
            involuntary_hold=True,
            involuntary_transport=True,
        )
        request.refresh_from_db()
        assert (request.involuntary_hold, request.involuntary_transport) == (True, True)

    def test_not_saying_leaves_it_unrecorded(self, request_at, on_shift, alice):
        request = request_at("on_scene")
        services.advance(unit=on_shift, actor=alice, to=Step.BACK_IN_SERVICE)
        request.refresh_from_db()
        assert (request.involuntary_hold, request.involuntary_transport) == (None, None)

    def test_it_is_refused_before_the_scene_and_nothing_is_stamped(
        self, request_at, on_shift, alice
    ):
        request = request_at("assigned")
        with pytest.raises(DispatchInvalid) as refused:
            services.advance(unit=on_shift, actor=alice, involuntary_hold=False)
        assert refused.value.field == "involuntary_hold"
        request.refresh_from_db()
        assert request.en_route_at is None
