"""The state machines as written down, and one object's rules."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from accounts.models import Role
from dispatch.geo import as_degrees, distance_km
from dispatch.models import (
    ALLOWED_TRANSITIONS,
    POSITION_FRESH_FOR,
    STEPS,
    UNIT_STATUS_FOR,
    UNIT_TRANSITIONS,
    DispatchSettings,
    NotServedReason,
    Priority,
    RequestSource,
    RequestStatus,
    Step,
    TeamRequest,
    UnitStatus,
)
from tests.accounts.factories import UserFactory
from tests.dispatch.factories import TeamRequestFactory, UnitFactory

# Written out by hand from the timeline (received → dispatched → en route → on
# scene → left scene → at destination → transfer of care → back in service, or not
# served before on scene), not read from the code.
EXPECTED_REQUEST_MOVES = {
    ("waiting", "assigned"),
    ("assigned", "en_route"),
    ("en_route", "on_scene"),
    ("on_scene", "transporting"),
    ("on_scene", "completed"),
    ("transporting", "at_destination"),
    ("at_destination", "completed"),
    ("assigned", "waiting"),
    ("en_route", "waiting"),
    ("waiting", "not_served"),
    ("assigned", "not_served"),
    ("en_route", "not_served"),
}
EXPECTED_UNIT_MOVES = {
    ("off_shift", "available"),
    ("available", "off_shift"),
    ("out_of_service", "off_shift"),
    ("available", "out_of_service"),
    ("out_of_service", "available"),
    ("available", "assigned"),
    ("assigned", "en_route"),
    ("en_route", "on_scene"),
    ("on_scene", "transporting"),
    ("transporting", "at_destination"),
    ("on_scene", "available"),
    ("at_destination", "available"),
    ("assigned", "available"),
    ("en_route", "available"),
}


class TestTheTables:
    def test_the_request_moves_are_the_timeline(self):
        assert set(ALLOWED_TRANSITIONS) == EXPECTED_REQUEST_MOVES

    def test_the_unit_moves_are_the_timeline(self):
        assert set(UNIT_TRANSITIONS) == EXPECTED_UNIT_MOVES

    def test_nothing_leaves_an_ending(self):
        assert not [pair for pair in ALLOWED_TRANSITIONS if pair[0] in ("completed", "not_served")]

    @pytest.mark.parametrize(("key", "rule"), list(STEPS.items()))
    def test_every_step_moves_the_request_and_unit_as_the_tables_allow(self, key, rule):
        status, _step = key
        assert rule.to == status or (status, rule.to) in ALLOWED_TRANSITIONS
        unit_from, unit_to = UNIT_STATUS_FOR[status], UNIT_STATUS_FOR[rule.to]
        assert unit_from == unit_to or (unit_from, unit_to) in UNIT_TRANSITIONS

    def test_every_stamp_of_a_step_is_a_column(self):
        columns = {f.name for f in TeamRequest._meta.get_fields()}
        assert {s for rule in STEPS.values() for s in rule.stamps} <= columns


class TestNextStep:
    @pytest.mark.parametrize(
        ("status", "expected"),
        [
            ("waiting", None),
            ("assigned", Step.EN_ROUTE),
            ("en_route", Step.ON_SCENE),
            ("on_scene", None),  # the fork: transporting or back in service
            ("transporting", Step.AT_DESTINATION),
            ("at_destination", Step.TRANSFER_OF_CARE),
            ("completed", None),
            ("not_served", None),
        ],
    )
    def test_one_tap_goes_to_the_next_stamp(self, status, expected):
        assert TeamRequest(status=status).next_step() == expected

    def test_after_transfer_of_care_one_tap_is_back_in_service(self):
        request = TeamRequest(
            status="at_destination", transfer_of_care_at=datetime.datetime.now(datetime.UTC)
        )
        assert request.next_step() == Step.BACK_IN_SERVICE
        assert request.allowed_steps() == [Step.BACK_IN_SERVICE]

    def test_on_scene_offers_both_branches(self):
        assert TeamRequest(status="on_scene").allowed_steps() == [
            Step.TRANSPORTING,
            Step.BACK_IN_SERVICE,
        ]


class TestRequestRules:
    def test_it_needs_somewhere_to_go(self, agency_a):
        request = TeamRequestFactory.build(agency=agency_a, location_text=" ")
        with pytest.raises(ValidationError) as refused:
            request.clean()
        assert "location_text" in refused.value.message_dict

    def test_coordinates_are_enough(self, agency_a):
        request = TeamRequestFactory.build(
            agency=agency_a, location_text="", latitude=Decimal("44"), longitude=Decimal("-123")
        )
        request.clean()

    def test_988_details_only_on_a_988_hand_off(self, agency_a):
        request = TeamRequestFactory.build(
            agency=agency_a, source=RequestSource.POLICE, warm_transfer=True
        )
        with pytest.raises(ValidationError) as refused:
            request.clean()
        assert "source" in refused.value.message_dict
        request.source = RequestSource.LIFELINE_988
        request.clean()

    def test_not_served_needs_its_reason_in_the_database(self, agency_a):
        with pytest.raises(IntegrityError), transaction.atomic():
            TeamRequestFactory(agency=agency_a, status=RequestStatus.NOT_SERVED)

    def test_a_reason_only_when_not_served(self, agency_a):
        with pytest.raises(IntegrityError), transaction.atomic():
            TeamRequestFactory(agency=agency_a, not_served_reason=NotServedReason.DECLINED)

    def test_the_same_cad_number_twice_in_an_agency_is_refused_by_the_database(
        self, agency_a, agency_b
    ):
        TeamRequestFactory(agency=agency_a, cad_incident_number="E-1")
        TeamRequestFactory(agency=agency_b, cad_incident_number="E-1")
        TeamRequestFactory(agency=agency_a, cad_incident_number="")
        TeamRequestFactory(agency=agency_a, cad_incident_number="")
        with pytest.raises(IntegrityError), transaction.atomic():
            TeamRequestFactory(agency=agency_a, cad_incident_number="E-1")

    def test_response_time_is_on_scene_minus_received(self):
        received = datetime.datetime(2026, 12, 6, 3, 30, tzinfo=datetime.UTC)
        request = TeamRequest(
            received_at=received, on_scene_at=received + datetime.timedelta(minutes=42)
        )
        assert request.response_time == datetime.timedelta(minutes=42)
        assert TeamRequest(received_at=received).response_time is None


class TestUnitWhere:
    NOW = datetime.datetime(2026, 12, 6, 3, 30, tzinfo=datetime.UTC)

    def unit(self, **fields):
        return UnitFactory.build(
            base_latitude=Decimal("44.1"), base_longitude=Decimal("-123"), **fields
        )

    def test_a_fresh_shared_position(self):
        unit = self.unit(
            shares_position=True,
            last_latitude=Decimal("44.05"),
            last_longitude=Decimal("-123"),
            last_position_at=self.NOW - POSITION_FRESH_FOR,
        )
        assert unit.where(self.NOW) == (Decimal("44.05"), Decimal("-123"), "position")

    def test_a_stale_position_falls_back_to_the_base(self):
        unit = self.unit(
            shares_position=True,
            last_latitude=Decimal("44.05"),
            last_longitude=Decimal("-123"),
            last_position_at=self.NOW - POSITION_FRESH_FOR - datetime.timedelta(seconds=1),
        )
        assert unit.where(self.NOW) == (Decimal("44.1"), Decimal("-123"), "base")

    def test_a_position_not_shared_is_not_used(self):
        unit = self.unit(
            shares_position=False,
            last_latitude=Decimal("44.05"),
            last_longitude=Decimal("-123"),
            last_position_at=self.NOW,
        )
        assert unit.where(self.NOW)[2] == "base"

    def test_nowhere_known(self):
        unit = UnitFactory.build(base_latitude=None, base_longitude=None)
        assert unit.where(self.NOW) is None


class TestSettings:
    def test_targets_per_priority(self):
        found = DispatchSettings(emergent_target_minutes=45, urgent_target_minutes=100)
        assert found.target_minutes(Priority.EMERGENT) == 45
        assert found.target_minutes(Priority.URGENT) == 100

    def test_the_defaults_are_the_published_targets(self):
        found = DispatchSettings()
        # DOMAIN: on scene within 1 h is a common contract target, within 2 h a state
        # maximum in Colorado.
        assert (found.emergent_target_minutes, found.urgent_target_minutes) == (60, 120)
        assert found.acknowledge_timeout_seconds == 120
        assert found.check_in_minutes == 20
        assert found.position_retention_hours == 24


class TestDistance:
    def test_a_degree_of_latitude(self):
        # 2π × 6371.0088 km / 360
        assert distance_km(44, -123, 45, -123) == pytest.approx(111.1951, abs=1e-3)

    def test_along_a_parallel_it_shrinks_with_the_cosine(self):
        # At the equator a degree of longitude is a degree of latitude.
        assert distance_km(0, 0, 0, 1) == pytest.approx(111.1951, abs=1e-3)
        assert distance_km(60, 0, 60, 1) == pytest.approx(55.5975, abs=1e-2)

    def test_the_same_place(self):
        assert distance_km(44, -123, 44, -123) == 0

    @pytest.mark.parametrize("value", ["abc", "91", "NaN", "Infinity", True])
    def test_degrees_out_of_range_or_not_numbers_are_refused(self, value):
        with pytest.raises(ValueError):
            as_degrees(value, 90)

    def test_degrees_are_kept_to_six_places(self):
        assert as_degrees(44.12345678, 90) == Decimal("44.123457")


class TestCanDispatch:
    @pytest.mark.parametrize(
        ("role", "expected"),
        [
            (Role.DISPATCHER, True),
            (Role.SUPERVISOR, True),
            (Role.SOCIAL_WORKER, False),
            (Role.AGENCY_ADMIN, False),
        ],
    )
    def test_dispatchers_and_supervisors(self, agency_a, role, expected):
        assert UserFactory(role=role, agency=agency_a).can_dispatch is expected

    def test_a_dispatcher_works_no_cases(self, agency_a):
        assert not UserFactory(role=Role.DISPATCHER, agency=agency_a).works_cases

    def test_a_unit_starts_off_shift(self, agency_a):
        assert UnitFactory(agency=agency_a).status == UnitStatus.OFF_SHIFT
