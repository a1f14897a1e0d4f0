"""Geocoding what a worker typed: from the directory's own addresses (postal code, else
city), or from a Nominatim server; failures are a clear message, never an exception."""

import io
import json
import urllib.error
from email.message import Message
from unittest import mock

import pytest

from directory.geocode import GeocodeError, geocode, parse_coordinates
from tests.directory.factories import AddressFactory, LocationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def addresses(alice, carol):
    AddressFactory(location=LocationFactory(latitude=44.0, longitude=-123.0), postal_code="97401")
    AddressFactory(
        location=LocationFactory(latitude=44.2, longitude=-123.2), postal_code="97401-1234"
    )
    AddressFactory(
        location=LocationFactory(latitude=45.5, longitude=-122.6),
        city="Portland",
        postal_code="97201",
    )
    # Agency B's own address: not used for agency A's searches.
    AddressFactory(
        location=LocationFactory(latitude=39.7, longitude=-105.0, agency=carol.agency),
        city="Denver",
        postal_code="80202",
    )


class TestFromTheDirectory:
    def test_postal_code_gives_the_mean_of_its_locations(self, alice, addresses):
        lat, lng = geocode("123 Any Street, Eugene OR 97401", alice)
        assert (lat, lng) == (pytest.approx(44.1), pytest.approx(-123.1))

    def test_city_when_no_postal_code_matches(self, alice, addresses):
        assert geocode("5th Ave, portland", alice) == (
            pytest.approx(45.5),
            pytest.approx(-122.6),
        )
        assert geocode("Portland OR", alice) == (pytest.approx(45.5), pytest.approx(-122.6))

    def test_other_agencies_addresses_are_not_used(self, alice, carol, addresses):
        with pytest.raises(GeocodeError):
            geocode("Denver 80202", alice)
        assert geocode("Denver 80202", carol) == (pytest.approx(39.7), pytest.approx(-105.0))

    def test_unknown_place_is_a_clear_error(self, alice, addresses):
        with pytest.raises(GeocodeError) as error:
            geocode("Atlantis", alice)
        assert "Could not find that address" in error.value.message

    def test_coordinates_are_taken_as_they_are(self, alice):
        assert geocode("44.05, -123.09", alice) == (44.05, -123.09)

    def test_coordinates_out_of_range_are_ignored(self):
        assert parse_coordinates("91,0") is None
        assert parse_coordinates("0,181") is None
        assert parse_coordinates("-90,180") == (-90.0, 180.0)


def answer(body):
    response = mock.MagicMock()
    response.__enter__.return_value = io.BytesIO(json.dumps(body).encode())
    return response


@pytest.fixture
def nominatim(settings):
    settings.GEOCODER = "nominatim"
    settings.GEOCODER_URL = "https://geocoder.example/search"


class TestNominatim:
    def test_first_answer(self, alice, nominatim):
        with mock.patch(
            "urllib.request.urlopen", return_value=answer([{"lat": "44.05", "lon": "-123.09"}])
        ) as urlopen:
            assert geocode("1 Main St, Eugene", alice) == (44.05, -123.09)
        request = urlopen.call_args.args[0]
        assert request.full_url.startswith("https://geocoder.example/search?q=1+Main+St")
        assert urlopen.call_args.kwargs["timeout"] == 5

    @pytest.mark.parametrize(
        "failure",
        [
            urllib.error.URLError("down"),
            TimeoutError("slow"),
            urllib.error.HTTPError("u", 500, "boom", Message(), None),
        ],
    )
    def test_network_failures(self, alice, nominatim, failure):
        with mock.patch("urllib.request.urlopen", side_effect=failure), pytest.raises(GeocodeError):
            geocode("1 Main St", alice)

    @pytest.mark.parametrize(
        "body", [[], {"error": "x"}, [{"lat": "abc", "lon": "1"}], [{"lat": "99", "lon": "0"}]]
    )
    def test_bad_answers(self, alice, nominatim, body):
        with (
            mock.patch("urllib.request.urlopen", return_value=answer(body)),
            pytest.raises(GeocodeError),
        ):
            geocode("1 Main St", alice)

    def test_no_url_configured(self, alice, settings):
        settings.GEOCODER = "nominatim"
        settings.GEOCODER_URL = "file:///etc/passwd"
        with pytest.raises(GeocodeError):
            geocode("1 Main St", alice)
