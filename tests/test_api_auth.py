"""Signing in to the API: tokens, sessions and brute-force protection."""

import datetime
import random
from urllib.parse import urlencode

import pytest
import time_machine
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import ApiToken
from audit.models import Action, AuditEvent

TOKEN_URL = "/api/v1/auth/token/"
PASSWORD = "pw-for-tests"
LIST_URLS = ["/api/v1/clients/", "/api/v1/cases/", "/api/v1/contacts/"]


def random_address():
    return f"10.{random.randint(0, 255)}.{random.randint(0, 255)}.{random.randint(1, 254)}"


@pytest.fixture
def address():
    """An address of the test's own: the token rate limit counts per address in a cache
    that outlives the test database."""
    return random_address()


@pytest.fixture
def anon(address):
    return APIClient(REMOTE_ADDR=address)


def sign_in(client, username, password=PASSWORD, **extra):
    return client.post(
        TOKEN_URL, {"username": username, "password": password}, format="json", **extra
    )


class TestObtainToken:
    def test_valid_credentials_answer_a_token_that_authenticates_every_endpoint(
        self, anon, alice, alice_case
    ):
        response = sign_in(anon, "alice")

        assert response.status_code == 200
        token = response.json()["token"]
        assert ApiToken.objects.get(user=alice).prefix == token.split(".")[0]
        caller = APIClient()
        caller.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        for url in LIST_URLS:
            assert caller.get(url).status_code == 200, url
        cases = caller.get("/api/v1/cases/").json()["results"]
        assert [c["id"] for c in cases] == [alice_case.pk]

    def test_a_form_encoded_body_works_too(self, anon, alice):
        response = anon.post(
            TOKEN_URL,
            urlencode({"username": "alice", "password": PASSWORD}),
            content_type="application/x-www-form-urlencoded",
        )

        assert response.status_code == 200
        assert response.json()["token"].split(".")[0] == ApiToken.objects.get(user=alice).prefix

    def test_signing_in_again_answers_a_new_token(self, anon, alice):
        first = sign_in(anon, "alice").json()["token"]

        assert sign_in(anon, "alice").json()["token"] != first
        assert ApiToken.objects.filter(user=alice).count() == 2

    def test_a_wrong_password_is_a_400_with_a_clear_message(self, anon, alice):
        response = sign_in(anon, "alice", "not-the-password")

        assert response.status_code == 400
        assert response.json() == {"non_field_errors": ["The username or password is not correct."]}
        assert not ApiToken.objects.filter(user=alice).exists()

    def test_an_unknown_user_gets_the_same_answer_as_a_wrong_password(self, anon, alice):
        wrong_password = sign_in(anon, "alice", "not-the-password").json()

        assert sign_in(anon, "nobody-at-all").json() == wrong_password

    def test_an_inactive_user_gets_no_token(self, anon, alice):
        alice.is_active = False
        alice.save()

        assert sign_in(anon, "alice").status_code == 400
        assert not ApiToken.objects.filter(user=alice).exists()

    def test_missing_fields_are_named(self, anon, db):
        response = anon.post(TOKEN_URL, {}, format="json")

        assert response.status_code == 400
        assert set(response.json()) == {"username", "password"}

    def test_signing_in_is_audited_and_sets_last_login(self, anon, address, alice):
        sign_in(anon, "alice")

        event = AuditEvent.objects.get(action=Action.LOGIN)
        assert (event.actor, event.object_id) == (alice, str(alice.pk))
        assert event.ip_address == address
        assert event.path == TOKEN_URL
        alice.refresh_from_db()
        assert alice.last_login is not None

    def test_a_failed_sign_in_is_audited(self, anon, address, alice):
        sign_in(anon, "alice", "guess")

        event = AuditEvent.objects.get(action=Action.LOGIN_FAILED)
        assert event.detail == {"username": "alice"}
        assert event.ip_address == address

    def test_get_is_not_allowed(self, anon, db):
        assert anon.get(TOKEN_URL).status_code == 405


class TestBruteForceProtection:
    def test_five_failures_make_the_next_attempt_wait_even_with_the_right_password(
        self, anon, alice
    ):
        for _ in range(5):
            assert sign_in(anon, "alice", "guess").status_code == 400

        response = sign_in(anon, "alice")

        assert response.status_code == 429
        assert response.json()["detail"] == (
            "Too many failed sign-in attempts. Wait 30 seconds, then try again."
        )
        assert not ApiToken.objects.filter(user=alice).exists()

    def test_failures_from_any_address_count_for_the_username(self, alice):
        for _ in range(5):
            sign_in(APIClient(REMOTE_ADDR=random_address()), "alice", "guess")

        elsewhere = APIClient(REMOTE_ADDR=random_address())
        assert sign_in(elsewhere, "alice").status_code == 429

    def test_the_right_password_after_the_wait_answers_a_token(self, anon, alice):
        start = timezone.now()
        with time_machine.travel(start, tick=False):
            for _ in range(5):
                sign_in(anon, "alice", "guess")

        with time_machine.travel(start + datetime.timedelta(seconds=31), tick=False):
            elsewhere = APIClient(REMOTE_ADDR=random_address())
            assert sign_in(elsewhere, "alice").status_code == 200

    def test_a_success_before_the_limit_resets_the_count(self, anon, alice):
        for _ in range(4):
            sign_in(anon, "alice", "guess")
        assert sign_in(anon, "alice").status_code == 200

        for _ in range(4):
            sign_in(anon, "alice", "guess")
        assert sign_in(anon, "alice").status_code == 200


class TestTokenRateLimit:
    def test_more_than_twenty_attempts_a_minute_from_one_address_are_refused(self, anon, db):
        for n in range(20):
            assert sign_in(anon, f"nobody{n}", "x").status_code == 400

        response = sign_in(anon, "nobody-else", "x")

        assert response.status_code == 429
        assert "throttled" in response.json()["detail"]

    def test_the_limit_hit_is_one_row_in_the_trail_not_one_a_request(self, anon, db):
        for n in range(26):
            sign_in(anon, f"nobody{n}", "x")

        refused = AuditEvent.objects.filter(action=Action.DENIED, object_type="api-token")
        assert refused.count() == 1
        assert refused.get().path == TOKEN_URL

    def test_a_forged_forwarded_for_header_does_not_escape_the_limit(self, anon, db):
        for n in range(20):
            sign_in(anon, f"nobody{n}", "x", HTTP_X_FORWARDED_FOR=random_address())

        response = sign_in(anon, "nobody-else", "x", HTTP_X_FORWARDED_FOR=random_address())

        assert response.status_code == 429


class TestAuthentication:
    @pytest.mark.parametrize("url", LIST_URLS)
    def test_anonymous_requests_are_refused(self, api, db, url):
        response = api.get(url)

        assert response.status_code in (401, 403)
        assert response.json()["detail"] == "Authentication credentials were not provided."

    def test_an_unknown_token_is_refused(self, api, db):
        api.credentials(HTTP_AUTHORIZATION="Token 0123456789abcdef0123456789abcdef01234567")

        response = api.get("/api/v1/cases/")

        assert response.status_code in (401, 403)
        assert response.json()["detail"] == "Invalid token."

    def test_a_signed_in_browser_session_works_on_the_api(self, alice, alice_case):
        browser = APIClient(REMOTE_ADDR=random_address())
        login = browser.post("/accounts/login/", {"username": "alice", "password": PASSWORD})
        assert login.status_code == 302

        response = browser.get(f"/api/v1/cases/{alice_case.pk}/")

        assert response.status_code == 200
        assert response.json()["id"] == alice_case.pk

    def test_session_writes_need_the_csrf_token(self, alice, alice_case):
        browser = APIClient(REMOTE_ADDR=random_address(), enforce_csrf_checks=True)
        browser.get("/accounts/login/")
        login = browser.post(
            "/accounts/login/",
            {
                "username": "alice",
                "password": PASSWORD,
                "csrfmiddlewaretoken": browser.cookies["csrftoken"].value,
            },
        )
        assert login.status_code == 302

        response = browser.post(
            f"/api/v1/cases/{alice_case.pk}/close/", {"reason": "stabilised"}, format="json"
        )

        assert response.status_code == 403
        assert "CSRF" in response.json()["detail"]
        alice_case.refresh_from_db()
        assert alice_case.is_open
