import pytest
from django.test import RequestFactory

from core.http import client_address


def request(remote="203.0.113.9", forwarded=None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **extra)


class TestClientAddressWithoutProxy:
    @pytest.fixture(autouse=True)
    def no_proxy(self, settings):
        settings.TRUSTED_PROXY_COUNT = 0

    def test_it_is_the_connections_address(self):
        assert client_address(request()) == "203.0.113.9"

    def test_a_forwarded_for_header_is_ignored(self):
        assert client_address(request(forwarded="198.51.100.7")) == "203.0.113.9"

    def test_no_address_is_none(self):
        assert client_address(request(remote="")) is None


class TestClientAddressBehindProxies:
    def test_behind_one_proxy_it_is_the_address_the_proxy_appended(self, settings):
        settings.TRUSTED_PROXY_COUNT = 1

        assert client_address(request(forwarded="198.51.100.7")) == "198.51.100.7"

    def test_addresses_the_client_wrote_before_the_proxys_are_ignored(self, settings):
        settings.TRUSTED_PROXY_COUNT = 1

        spoofed = request(forwarded="192.0.2.1, 10.0.0.1, 198.51.100.7")

        assert client_address(spoofed) == "198.51.100.7"

    def test_behind_two_proxies_it_is_the_second_from_the_right(self, settings):
        settings.TRUSTED_PROXY_COUNT = 2

        spoofed = request(forwarded="192.0.2.1, 198.51.100.7, 10.0.0.2")

        assert client_address(spoofed) == "198.51.100.7"

    def test_without_the_header_it_is_the_connections_address(self, settings):
        settings.TRUSTED_PROXY_COUNT = 1

        assert client_address(request()) == "203.0.113.9"

    def test_a_value_that_is_not_an_address_falls_back_to_the_connection(self, settings):
        settings.TRUSTED_PROXY_COUNT = 1

        assert client_address(request(forwarded="'; DROP TABLE--")) == "203.0.113.9"

    def test_ipv6_addresses_are_kept_in_their_short_form(self, settings):
        settings.TRUSTED_PROXY_COUNT = 1

        assert client_address(request(forwarded="2001:DB8:0:0::1")) == "2001:db8::1"
