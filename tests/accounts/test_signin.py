"""Password guessing is slowed per username and per address, never locked
(accounts/signin.py), on the login page and the API token endpoint."""

import datetime

import pytest
import time_machine
from django.contrib.auth import SESSION_KEY
from django.test import Client
from django.utils import timezone

from accounts import signin
from audit.models import Action, AuditEvent

LOGIN_URL = "/accounts/login/"
PASSWORD = "pw-for-tests"


def client_from(address, **extra):
    return Client(REMOTE_ADDR=address, **extra)


def sign_in(client, username="alice", password=PASSWORD, **extra):
    return client.post(LOGIN_URL, {"username": username, "password": password}, **extra)


def signed_in(client):
    return SESSION_KEY in client.session


def form_errors(response):
    return response.context["form"].non_field_errors()


def fail_from_many_addresses(times, username="alice"):
    for n in range(times):
        response = sign_in(client_from(f"192.0.2.{n + 1}"), username, "guess")
        assert response.status_code == 200


@pytest.fixture
def start():
    moment = timezone.now()
    with time_machine.travel(moment, tick=False):
        yield moment


def at(start, **delta):
    return time_machine.travel(start + datetime.timedelta(**delta), tick=False)


class TestUsernameLimit:
    def test_five_failures_from_five_addresses_make_the_next_attempt_wait(self, alice, start):
        fail_from_many_addresses(5)

        response = sign_in(client_from("198.51.100.1"))

        assert response.status_code == 200
        assert form_errors(response) == [
            "Too many failed sign-in attempts. Wait 30 seconds, then try again."
        ]

    def test_four_failures_do_not_slow_anyone(self, alice, start):
        fail_from_many_addresses(4)

        client = client_from("198.51.100.1")
        assert sign_in(client).status_code == 302
        assert signed_in(client)

    def test_the_right_password_after_the_wait_signs_in(self, alice, start):
        fail_from_many_addresses(5)

        with at(start, seconds=31):
            client = client_from("198.51.100.1")
            response = sign_in(client)

        assert response.status_code == 302
        assert signed_in(client)

    def test_a_refused_attempt_checks_no_password_and_is_not_signed_in(self, alice, start):
        fail_from_many_addresses(5)

        client = client_from("198.51.100.1")
        sign_in(client)

        assert not signed_in(client)
        alice.refresh_from_db()
        assert alice.last_login is None

    def test_the_wait_doubles_with_each_failure_past_the_free_ones(self, alice, start):
        fail_from_many_addresses(5)
        with at(start, seconds=31):
            sign_in(client_from("192.0.2.50"), password="guess")
            assert "Wait 60 seconds" in form_errors(sign_in(client_from("192.0.2.51")))[0]
        with at(start, seconds=92):
            sign_in(client_from("192.0.2.52"), password="guess")
            assert "Wait 2 minutes" in form_errors(sign_in(client_from("192.0.2.53")))[0]

    def test_the_wait_stops_growing_at_15_minutes(self, alice, start):
        moment = start
        for n in range(12):
            with time_machine.travel(moment, tick=False):
                sign_in(client_from(f"192.0.2.{n + 1}"), password="guess")
                refusal = signin.check_allowed(_request(), "alice")
            moment += datetime.timedelta(seconds=refusal.wait_seconds if refusal else 0)

        with time_machine.travel(moment - datetime.timedelta(seconds=1), tick=False):
            response = sign_in(client_from("198.51.100.1"))
        assert refusal.wait_seconds == 15 * 60
        assert form_errors(response) == [
            "Too many failed sign-in attempts. Wait 1 second, then try again."
        ]
        with time_machine.travel(moment, tick=False):
            assert sign_in(client_from("198.51.100.1")).status_code == 302

    def test_a_stranger_who_keeps_guessing_never_lengthens_the_wait(self, alice, start):
        fail_from_many_addresses(5)
        stranger = client_from("192.0.2.99")
        for seconds in range(0, 30, 2):
            with at(start, seconds=seconds):
                assert sign_in(stranger, password="guess").status_code == 200

        with at(start, seconds=31):
            assert sign_in(client_from("198.51.100.1")).status_code == 302

    def test_failures_are_forgotten_after_a_quiet_quarter_hour(self, alice, start):
        fail_from_many_addresses(4)

        with at(start, minutes=16):
            sign_in(client_from("192.0.2.60"), password="guess")
            assert sign_in(client_from("198.51.100.1")).status_code == 302

    def test_a_success_starts_the_count_again(self, alice, start):
        fail_from_many_addresses(4)
        assert sign_in(client_from("198.51.100.1")).status_code == 302

        fail_from_many_addresses(4)
        assert sign_in(client_from("198.51.100.2")).status_code == 302

    def test_a_username_is_one_whatever_its_case(self, alice, start):
        fail_from_many_addresses(5, username="ALICE")

        assert sign_in(client_from("198.51.100.1")).status_code == 200

    def test_an_unknown_username_is_slowed_the_same_way(self, db, start):
        fail_from_many_addresses(5, username="nobody")

        response = sign_in(client_from("198.51.100.1"), "nobody")

        assert "Wait 30 seconds" in form_errors(response)[0]

    def test_another_username_is_not_slowed(self, alice, bob, start):
        fail_from_many_addresses(5)

        assert sign_in(client_from("198.51.100.1"), "bob").status_code == 302


class TestAddressLimit:
    def test_twenty_failures_from_one_address_slow_every_username_from_it(self, alice, start):
        guesser = client_from("192.0.2.7")
        for n in range(20):
            sign_in(guesser, f"user{n}", "guess")

        response = sign_in(guesser)

        assert "Wait 30 seconds" in form_errors(response)[0]
        assert not signed_in(guesser)

    def test_other_addresses_are_not_slowed(self, alice, start):
        guesser = client_from("192.0.2.7")
        for n in range(20):
            sign_in(guesser, f"user{n}", "guess")

        assert sign_in(client_from("198.51.100.1")).status_code == 302

    def test_a_success_from_the_address_does_not_start_its_count_again(self, alice, bob, start):
        guesser = client_from("192.0.2.7")
        for n in range(19):
            sign_in(guesser, f"user{n}", "guess")
        assert sign_in(client_from("192.0.2.7"), "bob").status_code == 302

        sign_in(guesser, "user-last", "guess")

        assert sign_in(client_from("192.0.2.7")).status_code == 200

    def test_a_forged_forwarded_for_header_does_not_escape_it(self, alice, settings, start):
        settings.TRUSTED_PROXY_COUNT = 0
        for n in range(20):
            sign_in(
                client_from("192.0.2.7", HTTP_X_FORWARDED_FOR=f"10.0.0.{n}"), f"user{n}", "guess"
            )

        response = sign_in(client_from("192.0.2.7", HTTP_X_FORWARDED_FOR="10.0.1.1"))

        assert response.status_code == 200

    def test_behind_a_trusted_proxy_each_client_is_counted_apart(self, alice, settings, start):
        settings.TRUSTED_PROXY_COUNT = 1
        proxy = "10.0.0.1"
        for n in range(20):
            sign_in(client_from(proxy, HTTP_X_FORWARDED_FOR="192.0.2.7"), f"user{n}", "guess")

        assert sign_in(client_from(proxy, HTTP_X_FORWARDED_FOR="192.0.2.7")).status_code == 200
        assert sign_in(client_from(proxy, HTTP_X_FORWARDED_FOR="198.51.100.1")).status_code == 302


class TestRefusalsAreAudited:
    def test_a_refusal_is_a_failed_sign_in_with_its_reason(self, alice, start):
        fail_from_many_addresses(5)

        sign_in(client_from("198.51.100.1"))

        refused = AuditEvent.objects.get(action=Action.DENIED)
        assert refused.detail == {"username": "alice", "limit": "username", "wait_seconds": 30}
        assert refused.ip_address == "198.51.100.1"
        assert refused.path == LOGIN_URL
        # The five wrong passwords; the refused attempt checked none.
        failed = AuditEvent.objects.filter(action=Action.LOGIN_FAILED)
        assert failed.count() == 5

    def test_a_flood_of_refused_attempts_is_one_row_per_wait(self, alice, start):
        fail_from_many_addresses(5)

        for n in range(20):
            sign_in(client_from(f"198.51.100.{n + 1}"), "alice", "guess")

        assert AuditEvent.objects.filter(action=Action.DENIED).count() == 1
        assert AuditEvent.objects.filter(action=Action.LOGIN_FAILED).count() == 5
        with at(start, seconds=31):
            sign_in(client_from("198.51.100.99"), "alice", "guess")  # a wrong password
            sign_in(client_from("198.51.100.99"), "alice", "guess")  # waits again
            sign_in(client_from("198.51.100.99"), "alice", "guess")
        assert AuditEvent.objects.filter(action=Action.DENIED).count() == 2
        assert AuditEvent.objects.filter(action=Action.LOGIN_FAILED).count() == 6

    def test_behind_a_trusted_proxy_the_trail_keeps_the_clients_address(self, alice, settings):
        settings.TRUSTED_PROXY_COUNT = 1

        sign_in(client_from("10.0.0.1", HTTP_X_FORWARDED_FOR="6.6.6.6, 192.0.2.7"), "alice", "x")

        assert AuditEvent.objects.get(action=Action.LOGIN_FAILED).ip_address == "192.0.2.7"


class TestWhenTheCacheIsDown:
    def test_the_right_password_still_signs_in(self, alice, cache_down):
        client = client_from("198.51.100.1")

        assert sign_in(client).status_code == 302
        assert signed_in(client)

    def test_a_wrong_password_is_still_refused_and_audited(self, alice, cache_down):
        response = sign_in(client_from("198.51.100.1"), password="guess")

        assert response.status_code == 200
        assert not form_errors(response)[0].startswith("Too many")
        assert AuditEvent.objects.filter(action=Action.LOGIN_FAILED).count() == 1


def _request():
    from django.test import RequestFactory

    return RequestFactory().post(LOGIN_URL, REMOTE_ADDR="198.51.100.200")
