"""Units: shifts, service, shared positions and their purge, the nearest units."""

import datetime
from decimal import Decimal

import pytest

from dispatch import services, tasks
from dispatch.exceptions import (
    DispatchInvalid,
    InvalidTransition,
    NotAllowed,
    NotOnShift,
    PositionNotShared,
)
from dispatch.models import (
    POSITION_FRESH_FOR,
    Credential,
    Shift,
    UnitEvent,
    UnitPosition,
    UnitStatus,
)
from tests.accounts.factories import UserFactory
from tests.dispatch.factories import DispatchSettingsFactory, UnitFactory, UnitPositionFactory

C = Credential


def unit_kinds(unit):
    return list(UnitEvent.objects.filter(unit=unit).values_list("kind", flat=True))


class TestStartShift:
    def test_the_unit_is_available_with_its_members(self, van, alice, bob, dex, frozen):
        shift = services.start_shift(
            unit=van, members=[(alice, C.LICENSED_CLINICIAN), (bob, C.PEER_SPECIALIST)], actor=dex
        )
        van.refresh_from_db()
        assert (van.status, van.status_changed_at) == (UnitStatus.AVAILABLE, frozen.now)
        assert [(m.user, m.credential) for m in shift.members.all()] == [
            (alice, "licensed_clinician"),
            (bob, "peer_specialist"),
        ]
        assert unit_kinds(van) == ["shift_started"]

    def test_a_member_starts_their_own_unit(self, van, alice):
        assert services.start_shift(unit=van, members=[(alice, C.NURSE)], actor=alice).pk

    def test_a_worker_may_not_start_another_crew(self, van, alice, bob):
        with pytest.raises(NotAllowed):
            services.start_shift(unit=van, members=[(bob, C.NURSE)], actor=alice)

    def test_someone_on_another_units_shift_is_refused(self, on_shift, van2, alice, dex):
        with pytest.raises(DispatchInvalid) as refused:
            services.start_shift(unit=van2, members=[(alice, C.NURSE)], actor=dex)
        assert "Van 1" in str(refused.value)
        assert not Shift.objects.filter(unit=van2).exists()

    @pytest.mark.parametrize("persona", ["carol", "dex", "dana"])
    def test_only_the_agencys_workers_go_out(self, request, persona, van, dex):
        with pytest.raises(DispatchInvalid):
            services.start_shift(
                unit=van, members=[(request.getfixturevalue(persona), C.OTHER)], actor=dex
            )

    def test_an_unknown_credential_is_refused(self, van, alice, dex):
        with pytest.raises(DispatchInvalid):
            services.start_shift(unit=van, members=[(alice, "wizard")], actor=dex)

    def test_twice_is_refused(self, on_shift, erin, dex):
        with pytest.raises(InvalidTransition):
            services.start_shift(unit=on_shift, members=[(erin, C.NURSE)], actor=dex)


class TestEndShift:
    def test_it_deletes_the_positions(self, van, alice, dex, frozen):
        services.start_shift(unit=van, members=[(alice, C.NURSE)], actor=dex, shares_position=True)
        services.record_position(unit=van, actor=alice, latitude=44.05, longitude=-123.09)
        shift = services.end_shift(unit=van, actor=alice)
        van.refresh_from_db()
        assert (shift.ended_at, shift.ended_by) == (frozen.now, alice)
        assert van.status == UnitStatus.OFF_SHIFT
        assert (van.shares_position, van.last_latitude, van.last_position_at) == (False, None, None)
        assert not UnitPosition.objects.exists()
        assert unit_kinds(van) == ["shift_started", "sharing_started", "shift_ended"]
        assert UnitEvent.objects.get(kind="shift_ended").detail["positions_deleted"] == 1

    def test_not_while_on_a_request(self, request_at, on_shift, dex):
        request_at("en_route")
        with pytest.raises(InvalidTransition):
            services.end_shift(unit=on_shift, actor=dex)

    def test_not_when_off_shift(self, van, dex):
        with pytest.raises(NotOnShift):
            services.end_shift(unit=van, actor=dex)

    def test_the_same_people_go_out_again_after(self, on_shift, van2, alice, dex):
        services.end_shift(unit=on_shift, actor=dex)
        assert services.start_shift(unit=van2, members=[(alice, C.NURSE)], actor=dex)


class TestService:
    def test_out_of_service_and_back(self, on_shift, bob):
        services.take_out_of_service(unit=on_shift, actor=bob, reason="Restocking")
        on_shift.refresh_from_db()
        assert on_shift.status == UnitStatus.OUT_OF_SERVICE
        services.return_to_service(unit=on_shift, actor=bob)
        on_shift.refresh_from_db()
        assert on_shift.status == UnitStatus.AVAILABLE
        assert unit_kinds(on_shift)[-2:] == ["out_of_service", "returned_to_service"]

    def test_an_out_of_service_unit_is_not_sent(self, on_shift, bob, dex, new_request):
        services.take_out_of_service(unit=on_shift, actor=bob, reason="Break")
        assert services.suggest_units(new_request()) == []

    def test_not_while_on_a_request(self, request_at, on_shift, dex):
        request_at("assigned")
        with pytest.raises(InvalidTransition):
            services.take_out_of_service(unit=on_shift, actor=dex, reason="Break")


class TestRecordPosition:
    @pytest.fixture
    def sharing(self, van, alice, dex):
        services.start_shift(unit=van, members=[(alice, C.NURSE)], actor=dex, shares_position=True)
        van.refresh_from_db()
        return van

    def test_it_becomes_the_units_last_position(self, sharing, alice, frozen):
        position = services.record_position(
            unit=sharing, actor=alice, latitude="44.051234", longitude="-123.091234", accuracy_m=6.5
        )
        sharing.refresh_from_db()
        assert (sharing.last_latitude, sharing.last_longitude, sharing.last_position_at) == (
            Decimal("44.051234"),
            Decimal("-123.091234"),
            frozen.now,
        )
        assert (position.accuracy_m, position.at) == (6.5, frozen.now)

    def test_one_that_arrives_late_is_kept_but_not_made_last(self, sharing, alice, frozen):
        frozen.shift(minutes=2)
        services.record_position(unit=sharing, actor=alice, latitude=44.06, longitude=-123.1)
        services.record_position(
            unit=sharing,
            actor=alice,
            latitude=44.01,
            longitude=-123.0,
            at=frozen.now - datetime.timedelta(minutes=1),
        )
        sharing.refresh_from_db()
        assert sharing.last_latitude == Decimal("44.060000")
        assert UnitPosition.objects.filter(unit=sharing).count() == 2

    def test_refused_off_shift(self, van, alice):
        with pytest.raises(NotOnShift):
            services.record_position(unit=van, actor=alice, latitude=44, longitude=-123)
        assert not UnitPosition.objects.exists()

    def test_refused_when_not_sharing(self, on_shift, alice):
        with pytest.raises(PositionNotShared):
            services.record_position(unit=on_shift, actor=alice, latitude=44, longitude=-123)
        assert not UnitPosition.objects.exists()

    @pytest.mark.parametrize("persona", ["dex", "bob", "carol"])
    def test_only_from_the_crew(self, request, persona, sharing):
        with pytest.raises(NotAllowed):
            services.record_position(
                unit=sharing, actor=request.getfixturevalue(persona), latitude=44, longitude=-123
            )

    def test_nonsense_is_refused(self, sharing, alice):
        with pytest.raises(Exception, match="between -90 and 90"):
            services.record_position(unit=sharing, actor=alice, latitude=91, longitude=-123)

    def test_stopping_sharing_deletes_them(self, sharing, alice):
        services.record_position(unit=sharing, actor=alice, latitude=44, longitude=-123)
        services.set_position_sharing(unit=sharing, actor=alice, shares=False)
        sharing.refresh_from_db()
        assert (sharing.shares_position, sharing.last_position_at) == (False, None)
        assert not UnitPosition.objects.exists()
        assert unit_kinds(sharing)[-1] == "sharing_stopped"


class TestPurgePositions:
    def test_positions_past_the_agencys_retention_go(self, agency_a, agency_b, van, van_b, frozen):
        DispatchSettingsFactory(agency=agency_b, position_retention_hours=2)
        hours = datetime.timedelta(hours=1)
        old_a = UnitPositionFactory(
            unit=van, at=frozen.now - 24 * hours - datetime.timedelta(seconds=1)
        )
        kept_a = UnitPositionFactory(unit=van, at=frozen.now - 23 * hours)
        old_b = UnitPositionFactory(unit=van_b, at=frozen.now - 3 * hours)
        kept_b = UnitPositionFactory(unit=van_b, at=frozen.now - 1 * hours)
        assert services.purge_positions(now=frozen.now) == 2
        assert set(UnitPosition.objects.all()) == {kept_a, kept_b}
        assert not UnitPosition.objects.filter(pk__in=[old_a.pk, old_b.pk]).exists()

    def test_a_last_position_that_old_is_forgotten(self, van, van2, frozen):
        van.last_latitude, van.last_longitude = Decimal("44"), Decimal("-123")
        van.last_position_at = frozen.now - datetime.timedelta(hours=25)
        van.save()
        van2.last_latitude, van2.last_longitude = Decimal("44"), Decimal("-123")
        van2.last_position_at = frozen.now - datetime.timedelta(hours=1)
        van2.save()
        services.purge_positions(now=frozen.now)
        van.refresh_from_db()
        van2.refresh_from_db()
        assert (van.last_latitude, van.last_position_at) == (None, None)
        assert van2.last_latitude == Decimal("44.000000")

    def test_the_task_purges_and_again_purges_nothing(self, van, frozen):
        UnitPositionFactory(unit=van, at=frozen.now - datetime.timedelta(days=2))
        assert tasks.purge_positions.delay().get() == 1
        assert tasks.purge_positions() == 0

    def test_the_purge_is_one_delete_an_agency(
        self, agency_a, agency_b, frozen, django_assert_max_num_queries
    ):
        for agency in (agency_a, agency_b):
            for _ in range(3):
                unit = UnitFactory(agency=agency)
                UnitPositionFactory.create_batch(
                    4, unit=unit, at=frozen.now - datetime.timedelta(days=3)
                )
        # settings, the agencies, then a DELETE and an UPDATE each
        with django_assert_max_num_queries(2 + 2 * 2):
            assert services.purge_positions(now=frozen.now) == 24


class TestSuggestUnits:
    """Hand-computed along the meridian 123° W from the scene at 44° N: a hundredth of a
    degree of latitude is 2π × 6371.0088 / 36000 = 1.11195 km."""

    def test_nearest_first_by_fresh_position_else_base(
        self, agency_a, agency_b, new_request, dex, alice, bob, erin, carol, bea, frozen
    ):
        request = new_request()  # at 44.000000, -123.000000
        near_base = UnitFactory(
            agency=agency_a,
            call_sign="A",
            base_latitude=Decimal("44.1"),
            base_longitude=Decimal("-123"),
        )
        sharing = UnitFactory(
            agency=agency_a,
            call_sign="B",
            base_latitude=Decimal("45"),
            base_longitude=Decimal("-123"),
        )
        stale = UnitFactory(
            agency=agency_a,
            call_sign="C",
            base_latitude=Decimal("44.2"),
            base_longitude=Decimal("-123"),
        )
        nowhere = UnitFactory(
            agency=agency_a, call_sign="D", base_latitude=None, base_longitude=None
        )
        busy = UnitFactory(
            agency=agency_a,
            call_sign="E",
            base_latitude=Decimal("44"),
            base_longitude=Decimal("-123"),
        )
        elsewhere = UnitFactory(
            agency=agency_b,
            call_sign="F",
            base_latitude=Decimal("44"),
            base_longitude=Decimal("-123"),
        )
        off = UnitFactory(
            agency=agency_a,
            call_sign="G",
            base_latitude=Decimal("44"),
            base_longitude=Decimal("-123"),
        )
        crews = {near_base: alice, sharing: bob, stale: erin, elsewhere: carol}
        for unit, person in crews.items():
            services.start_shift(
                unit=unit,
                members=[(person, C.NURSE)],
                actor=bea if unit == elsewhere else dex,
                shares_position=unit in (sharing, stale),
            )
        for unit in (nowhere, busy):
            worker = UserFactory(agency=agency_a, team=None)
            services.start_shift(unit=unit, members=[(worker, C.OTHER)], actor=dex)
        services.assign_unit(request=new_request(), unit=busy, actor=dex)
        services.record_position(unit=sharing, actor=bob, latitude="44.05", longitude="-123")
        services.record_position(unit=stale, actor=erin, latitude="44.01", longitude="-123")
        frozen.shift(seconds=1)
        services.record_position(unit=sharing, actor=bob, latitude="44.05", longitude="-123")
        # Stale's position ages past POSITION_FRESH_FOR, Sharing's is refreshed.
        frozen.shift(seconds=POSITION_FRESH_FOR.total_seconds())
        suggestions = services.suggest_units(request)
        assert [(s.unit.call_sign, s.measured_from) for s in suggestions] == [
            ("B", "position"),
            ("A", "base"),
            ("C", "base"),
            ("D", ""),
        ]
        assert [s.distance_km for s in suggestions[:3]] == [
            pytest.approx(5.55975, abs=1e-4),
            pytest.approx(11.1195, abs=1e-3),
            pytest.approx(22.2390, abs=1e-3),
        ]
        assert suggestions[3].distance_km is None
        assert off not in [s.unit for s in suggestions]

    def test_equals_go_to_the_unit_available_longest(
        self, agency_a, new_request, dex, alice, bob, frozen
    ):
        first = UnitFactory(agency=agency_a, call_sign="Z")
        second = UnitFactory(agency=agency_a, call_sign="Y")
        services.start_shift(unit=first, members=[(alice, C.NURSE)], actor=dex)
        frozen.shift(minutes=1)
        services.start_shift(unit=second, members=[(bob, C.NURSE)], actor=dex)
        request = new_request(latitude=None, longitude=None)
        assert [s.unit for s in services.suggest_units(request)] == [first, second]

    def test_one_query_however_many_units(
        self, agency_a, new_request, dex, django_assert_max_num_queries
    ):
        for _ in range(12):
            unit = UnitFactory(agency=agency_a)
            services.start_shift(
                unit=unit, members=[(UserFactory(agency=agency_a), C.OTHER)], actor=dex
            )
        request = new_request()
        with django_assert_max_num_queries(1):
            found = services.suggest_units(request)
            assert len(found) == 12
            assert all(s.unit.team is None or s.unit.team.name for s in found)
