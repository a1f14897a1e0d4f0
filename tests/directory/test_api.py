"""The directory API: scoped lists and details, the search with the page's results, and
400s naming the bad parameter."""

import pytest

from audit.models import Action, AuditEvent
from tests.directory.factories import (
    AddressFactory,
    LanguageFactory,
    LocationFactory,
    PhoneFactory,
    ScheduleFactory,
    ServiceAtLocationFactory,
    ServiceFactory,
    tag_service,
)

pytestmark = pytest.mark.django_db
BASE = "/api/v1/directory/"


def located(name, lat=44.1, lng=-123.0, agency=None):
    service = ServiceFactory(name=name, agency=agency)
    location = LocationFactory(latitude=lat, longitude=lng, agency=agency, name=f"{name} site")
    AddressFactory(location=location)
    PhoneFactory(service=service)
    LanguageFactory(service=service)
    ScheduleFactory(service=service)
    tag_service(service, "food")
    ServiceAtLocationFactory(service=service, location=location)
    return service


@pytest.fixture
def directory(alice, carol):
    return {
        "shared": located("Shared pantry"),
        "own": located("Agency A pantry", lat=44.3, agency=alice.agency),
        "other": located("Agency B pantry", agency=carol.agency),
    }


class TestLists:
    @pytest.mark.parametrize("route", ["organizations", "services", "locations"])
    def test_scoped_to_visible_rows(self, api, alice, directory, route):
        api.force_authenticate(alice)
        response = api.get(f"{BASE}{route}/")
        assert response.status_code == 200
        text = str(response.json())
        assert "Agency B" not in text
        assert response.json()["count"] == 2

    def test_service_shape(self, api, alice, directory):
        api.force_authenticate(alice)
        service = directory["shared"]
        data = api.get(f"{BASE}services/{service.pk}/").json()
        assert data["name"] == "Shared pantry"
        assert data["need_categories"] == ["food"]
        assert data["languages"][0]["code"] == "es"
        assert data["schedules"][0]["in_words"].startswith("Mon, Tue")
        assert len(data["locations"]) == 1
        assert data["shared"] is True

    @pytest.mark.parametrize("route", ["organizations", "services", "locations"])
    def test_another_agencys_row_is_404_and_audited(self, api, alice, carol, directory, route):
        service = directory["other"]
        pk = {
            "organizations": service.organization_id,
            "services": service.pk,
            "locations": service.at_locations.get().location_id,
        }[route]
        api.force_authenticate(alice)
        assert api.get(f"{BASE}{route}/{pk}/").status_code == 404
        event = AuditEvent.objects.get(action=Action.DENIED)
        assert event.object_id == str(pk)
        assert event.agency_id == carol.agency_id

    @pytest.mark.parametrize("pk", ["abc", "1", "00000000-0000-0000-0000-000000000000", "1.5"])
    def test_bad_ids_are_404(self, api, alice, pk):
        api.force_authenticate(alice)
        assert api.get(f"{BASE}services/{pk}/").status_code == 404

    @pytest.mark.parametrize("route", ["organizations", "services", "locations"])
    def test_query_count_does_not_grow(self, api, alice, route, django_assert_max_num_queries):
        for n in range(30):
            located(f"Service {n}")
        api.force_authenticate(alice)
        with django_assert_max_num_queries(10):
            assert api.get(f"{BASE}{route}/").status_code == 200

    def test_unauthenticated(self, api, directory):
        assert api.get(f"{BASE}services/").status_code == 401


class TestSearch:
    def test_same_results_as_the_page(self, api, alice, directory):
        api.force_authenticate(alice)
        response = api.get(f"{BASE}search/", {"need": "food", "lat": "44.0", "lng": "-123.0"})
        assert response.status_code == 200
        results = response.json()["results"]
        assert [r["service"]["name"] for r in results] == ["Shared pantry", "Agency A pantry"]
        assert [r["distance_km"] for r in results] == [11.1, 33.4]
        assert results[0]["open_now"] in (True, False)
        assert results[0]["need_categories"] == ["food"]
        assert results[0]["location"]["name"] == "Shared pantry site"
        event = AuditEvent.objects.get(action=Action.SEARCH)
        assert event.detail["need"] == "food"

    def test_address(self, api, alice, directory):
        api.force_authenticate(alice)
        response = api.get(f"{BASE}search/", {"address": "Eugene 97401"})
        assert response.status_code == 200
        assert all(r["distance_km"] is not None for r in response.json()["results"])
        missing = api.get(f"{BASE}search/", {"address": "Atlantis"})
        assert missing.status_code == 400
        assert "Could not find that address" in missing.json()["address"][0]

    @pytest.mark.parametrize(
        ("params", "field"),
        [
            ({"age": "abc"}, "age"),
            ({"age": "-1"}, "age"),
            ({"lat": "999", "lng": "0"}, "lat"),
            ({"lat": "10"}, "lng"),
            ({"lng": "500", "lat": "0"}, "lng"),
            ({"need": "xyz"}, "need"),
            ({"open_now": "maybe"}, "open_now"),
            ({"q": "a\x00b"}, "q"),
            ({"q": "x" * 300}, "q"),
            ({"page": "abc"}, "page"),
            ({"case": "abc"}, "case"),
            ({"page_size": "abc"}, "page_size"),
        ],
    )
    def test_bad_parameters_are_400_per_field(self, api, alice, params, field):
        api.force_authenticate(alice)
        response = api.get(f"{BASE}search/", params)
        assert response.status_code == 400
        assert field in response.json()

    def test_page_past_the_end_is_404_not_500(self, api, alice, directory):
        api.force_authenticate(alice)
        assert api.get(f"{BASE}search/", {"page": "999"}).status_code == 404

    def test_query_count_does_not_grow(self, api, alice, django_assert_max_num_queries):
        for n in range(30):
            located(f"Service {n}", lat=44 + n / 100)
        ServiceFactory(name="Phone line")
        api.force_authenticate(alice)
        with django_assert_max_num_queries(20):
            response = api.get(f"{BASE}search/", {"lat": "44", "lng": "-123", "page": "2"})
        assert response.status_code == 200
        assert response.json()["results"][-1]["service"]["name"] == "Phone line"


class TestSchema:
    def test_directory_is_in_the_openapi_schema(self, api, alice):
        api.force_authenticate(alice)
        response = api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
        assert response.status_code == 200
        paths = response.json()["paths"]
        for path in [
            "/api/v1/directory/organizations/",
            "/api/v1/directory/services/{id}/",
            "/api/v1/directory/locations/",
            "/api/v1/directory/search/",
        ]:
            assert path in paths
        names = {p["name"] for p in paths["/api/v1/directory/search/"]["get"]["parameters"]}
        assert {"need", "q", "language", "age", "open_now", "lat", "lng", "address"} <= names
