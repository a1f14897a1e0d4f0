"""Directory search on a hand-built directory: every filter, nearest first with distances
worked out by hand, open now across time zones, and visibility."""

import datetime
import math

import pytest
import time_machine

from directory.models import ServiceStatus
from directory.search import SearchParams, search
from tests.directory.factories import (
    LanguageFactory,
    LocationFactory,
    OrganizationFactory,
    ScheduleFactory,
    ServiceAtLocationFactory,
    ServiceFactory,
    tag_service,
)

pytestmark = pytest.mark.django_db


def names(results):
    return [row.service.name for row in results[0 : results.count()]]


def run(user, **params):
    return search(user, SearchParams(**params))


class TestVisibility:
    def test_shared_and_own_agency_rows_only(self, alice, carol):
        ServiceFactory(name="Shared food bank")
        ServiceFactory(name="Agency A clinic", agency=alice.agency)
        ServiceFactory(name="Agency B clinic", agency=carol.agency)
        assert sorted(names(run(alice))) == ["Agency A clinic", "Shared food bank"]
        assert sorted(names(run(carol))) == ["Agency B clinic", "Shared food bank"]

    def test_system_admin_sees_the_shared_directory(self, root, alice):
        ServiceFactory(name="Shared food bank")
        ServiceFactory(name="Agency A clinic", agency=alice.agency)
        assert names(run(root)) == ["Shared food bank"]

    def test_another_agencys_location_is_not_shown(self, alice, carol):
        service = ServiceFactory(name="Shared food bank")
        ServiceAtLocationFactory(service=service, location=LocationFactory(agency=carol.agency))
        results = run(alice)
        rows = results[0:10]
        assert [(r.service.name, r.location) for r in rows] == [("Shared food bank", None)]

    def test_inactive_and_defunct_never_temporarily_closed_last(self, alice):
        ServiceFactory(name="A closed for now", status=ServiceStatus.TEMPORARILY_CLOSED)
        ServiceFactory(name="B open", status=ServiceStatus.ACTIVE)
        ServiceFactory(name="C inactive", status=ServiceStatus.INACTIVE)
        ServiceFactory(name="D defunct", status=ServiceStatus.DEFUNCT)
        results = run(alice)
        assert names(results) == ["B open", "A closed for now"]
        assert [row.temporarily_closed for row in results[0:2]] == [False, True]


class TestFilters:
    def test_need(self, alice):
        shelter = ServiceFactory(name="Shelter")
        tag_service(shelter, "housing")
        pantry = ServiceFactory(name="Pantry")
        tag_service(pantry, "food")
        ServiceFactory(name="Untagged")
        results = run(alice, need="housing")
        assert names(results) == ["Shelter"]
        assert results[0:1][0].need_categories == ["housing"]

    def test_text_matches_names_description_and_organization_ignoring_case_and_accents(self, alice):
        ServiceFactory(name="Café Comunitario", description="Hot meals")
        ServiceFactory(name="Detox", alternate_name="Withdrawal management")
        ServiceFactory(name="Clinic", organization=OrganizationFactory(name="Saint Vincent"))
        ServiceFactory(name="Other", description="Nothing relevant")
        assert names(run(alice, q="CAFE")) == ["Café Comunitario"]
        assert names(run(alice, q="meals")) == ["Café Comunitario"]
        assert names(run(alice, q="withdrawal")) == ["Detox"]
        assert names(run(alice, q="vincent clinic")) == ["Clinic"]
        assert names(run(alice, q="nope")) == []

    def test_language_of_the_service_or_its_location_by_code_or_name(self, alice):
        spanish = ServiceFactory(name="Spanish service")
        LanguageFactory(service=spanish, code="es", name="Spanish")
        at_place = ServiceAtLocationFactory(service=ServiceFactory(name="Vietnamese place"))
        LanguageFactory(service=None, location=at_place.location, code="vi", name="Vietnamese")
        ServiceFactory(name="English only")
        assert names(run(alice, language="ES")) == ["Spanish service"]
        assert names(run(alice, language="spanish")) == ["Spanish service"]
        assert names(run(alice, language="vi")) == ["Vietnamese place"]
        assert names(run(alice, language="Klingon")) == []

    def test_age_bounds_are_inclusive_and_empty_bounds_open(self, alice):
        ServiceFactory(name="Youth", minimum_age=12, maximum_age=24)
        ServiceFactory(name="Adults", minimum_age=18)
        ServiceFactory(name="Anyone")
        assert sorted(names(run(alice, age=12))) == ["Anyone", "Youth"]
        assert sorted(names(run(alice, age=24))) == ["Adults", "Anyone", "Youth"]
        assert sorted(names(run(alice, age=25))) == ["Adults", "Anyone"]

    def test_filters_combine(self, alice):
        match = ServiceFactory(name="Youth shelter", minimum_age=12, maximum_age=24)
        tag_service(match, "housing")
        too_old = ServiceFactory(name="Adult shelter", minimum_age=25)
        tag_service(too_old, "housing")
        assert names(run(alice, need="housing", age=16, q="shelter")) == ["Youth shelter"]


def km(lat1, lng1, lat2, lng2):
    """The equirectangular distance, written out independently of the SQL."""
    x = math.radians(lng2 - lng1) * math.cos(math.radians((lat1 + lat2) / 2))
    y = math.radians(lat2 - lat1)
    return 6371 * math.hypot(x, y)


class TestNearestFirst:
    @pytest.fixture
    def places(self, alice):
        def at(name, lat, lng):
            location = LocationFactory(name=name, latitude=lat, longitude=lng)
            return ServiceAtLocationFactory(service=ServiceFactory(name=name), location=location)

        at("Far", 44.3, -123.0)
        at("Near", 44.1, -123.0)
        at("East", 44.0, -122.8)
        at("Nowhere", None, None)
        ServiceFactory(name="Phone line")

    def test_order_and_distances(self, alice, places):
        results = run(alice, lat=44.0, lng=-123.0)
        rows = results[0:10]
        assert [r.service.name for r in rows] == ["Near", "East", "Far", "Nowhere", "Phone line"]
        # 0.1° of latitude is 11.12 km; 0.2° of longitude at 44° is 0.2 * cos(44°) degrees.
        assert rows[0].distance_km == pytest.approx(11.12, abs=0.01)
        assert rows[1].distance_km == pytest.approx(15.99, abs=0.01)
        assert rows[1].distance_km == pytest.approx(km(44.0, -123.0, 44.0, -122.8), rel=1e-6)
        assert rows[2].distance_km == pytest.approx(33.36, abs=0.01)
        assert rows[3].distance_km is None
        assert rows[4].location is None

    def test_pages_continue_into_services_without_a_location(self, alice, places):
        results = run(alice, lat=44.0, lng=-123.0)
        assert results.count() == 5
        assert [r.service.name for r in results[3:5]] == ["Nowhere", "Phone line"]
        assert [r.service.name for r in results[4:20]] == ["Phone line"]


# Wednesday 4 March 2026, 10:00 in Los Angeles (agency A's time zone) = 18:00 UTC.
WEDNESDAY_10_LA = datetime.datetime(2026, 3, 4, 18, 0, tzinfo=datetime.UTC)


class TestOpenNow:
    @pytest.fixture
    def services(self, alice):
        nine_to_five = ServiceFactory(name="Nine to five")
        ScheduleFactory(service=nine_to_five)  # no offset: agency A's zone
        eastern = ServiceFactory(name="Eastern office")
        ScheduleFactory(
            service=eastern, timezone=-5, opens_at=datetime.time(8), closes_at=datetime.time(12)
        )
        ServiceFactory(name="No hours")
        located = ServiceAtLocationFactory(service=ServiceFactory(name="Drop-in centre"))
        ScheduleFactory(service=None, location=located.location, byday="WE")

    def test_open_now_in_the_agency_zone(self, alice, services):
        with time_machine.travel(WEDNESDAY_10_LA, tick=False):
            results = run(alice, open_now=True)
            assert sorted(names(results)) == ["Drop-in centre", "Nine to five"]
            assert {r.open_status for r in results[0:10]} == {"open"}

    def test_across_an_offset(self, alice, services):
        # 14:30 UTC: 06:30 in Los Angeles, 09:30 at UTC-5.
        with time_machine.travel(datetime.datetime(2026, 3, 4, 14, 30, tzinfo=datetime.UTC)):
            assert names(run(alice, open_now=True)) == ["Eastern office"]

    def test_at_closing_time_it_is_closed(self, alice, services):
        # 17:00 in Los Angeles on Wednesday = 01:00 UTC Thursday.
        with time_machine.travel(datetime.datetime(2026, 3, 5, 1, 0, tzinfo=datetime.UTC)):
            assert names(run(alice, open_now=True)) == []
        with time_machine.travel(datetime.datetime(2026, 3, 5, 0, 59, tzinfo=datetime.UTC)):
            assert sorted(names(run(alice, open_now=True))) == ["Drop-in centre", "Nine to five"]

    def test_without_the_filter_each_row_says_open_closed_or_unknown(self, alice, services):
        with time_machine.travel(WEDNESDAY_10_LA, tick=False):
            results = run(alice)
            status = {r.service.name: r.open_status for r in results[0:10]}
        assert status == {
            "Drop-in centre": "open",
            "Nine to five": "open",
            "Eastern office": "closed",
            "No hours": "unknown",
        }
        assert [r.open_now for r in results[0:10] if r.service.name == "No hours"] == [None]
