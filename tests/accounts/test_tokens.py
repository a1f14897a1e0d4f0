"""API sign-ins (accounts.tokens, casebook.authentication, the token endpoints and pages):
a token per sign-in, kept only as a digest, listed and revocable, ended at sign-out and
by a new password, ending like a session does, and working while the cache is down."""

import datetime
import random

import pytest
import time_machine
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from accounts import mfa
from accounts.models import ApiToken
from audit.models import Action, AuditEvent

TOKEN_URL = "/api/v1/auth/token/"
LOGOUT_URL = "/api/v1/auth/logout/"
LIST_URL = "/api/v1/auth/tokens/"
PASSWORD = "pw-for-tests"


@pytest.fixture(autouse=True)
def _fresh_cache():
    # Token last use and the sign-in limits are in the shared cache, which outlives the
    # test database.
    cache.clear()


def random_address():
    return f"10.{random.randint(0, 255)}.{random.randint(0, 255)}.{random.randint(1, 254)}"


def sign_in_response(username="alice", password=PASSWORD, address=None, **body):
    client = APIClient(REMOTE_ADDR=address or random_address(), HTTP_USER_AGENT="casebook-cli/2.1")
    return client.post(
        TOKEN_URL, {"username": username, "password": password, **body}, format="json"
    )


def obtain(username="alice", **body):
    response = sign_in_response(username, **body)
    assert response.status_code == 200, response.json()
    return response.json()["token"]


def with_token(token):
    client = APIClient(REMOTE_ADDR=random_address())
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def get_cases(token):
    return with_token(token).get("/api/v1/cases/")


def row_of(token):
    return ApiToken.objects.get(prefix=token.split(".")[0])


class TestEachSignInHasItsOwnToken:
    def test_two_sign_ins_give_two_tokens_that_both_work(self, alice):
        first, second = obtain(), obtain()

        assert first != second
        assert get_cases(first).status_code == 200
        assert get_cases(second).status_code == 200
        assert ApiToken.objects.filter(user=alice).count() == 2

    def test_the_row_holds_no_plaintext(self, alice):
        token = obtain()
        prefix, secret = token.split(".")

        row = ApiToken.objects.filter(user=alice).values().get()
        stored = " ".join(str(value) for value in row.values())
        assert secret not in stored
        assert token not in stored
        assert row["prefix"] == prefix
        assert len(row["digest"]) == 64

    def test_the_row_keeps_when_from_where_and_with_what_it_was_issued(self, alice):
        token = obtain()

        row = row_of(token)
        assert row.user_agent == "casebook-cli/2.1"
        assert row.ip_address.startswith("10.")
        assert row.agency_id == alice.agency_id
        assert row.expires_at - row.created_at == datetime.timedelta(hours=12)

    def test_issuing_is_audited_without_the_secret(self, alice):
        token = obtain()

        event = AuditEvent.objects.get(action=Action.CREATE, object_type="apitoken")
        assert (event.actor, event.object_id) == (alice, str(row_of(token).pk))
        assert event.detail["api_token"] == token.split(".")[0]
        assert token.split(".")[1] not in str(event.detail)

    @pytest.mark.parametrize(
        "sent",
        [
            "0123456789abcdef0123456789abcdef01234567",
            "nosuchprefix.secret",
            "0123456789ab.secret",
            "01234567\x0089ab.secret",
            ".",
            "a" * 300,
        ],
    )
    def test_an_unknown_or_malformed_token_is_refused(self, alice, sent):
        response = get_cases(sent)

        assert response.status_code == 401
        assert response.json()["detail"] == "Invalid token."

    def test_the_right_prefix_with_a_wrong_secret_is_refused(self, alice):
        prefix = obtain().split(".")[0]

        assert get_cases(f"{prefix}.not-the-secret").status_code == 401


class TestSigningOut:
    def test_it_ends_only_the_token_used(self, alice):
        used, other = obtain(), obtain()

        response = with_token(used).post(LOGOUT_URL)

        assert response.status_code == 204
        assert get_cases(used).status_code == 401
        assert "ended" in get_cases(used).json()["detail"]
        assert get_cases(other).status_code == 200
        row = row_of(used)
        assert (row.revoked_by, row.revoked_reason) == (alice, "signed out")

    def test_it_is_audited(self, alice):
        token = obtain()

        with_token(token).post(LOGOUT_URL)

        event = AuditEvent.objects.get(action=Action.LOGOUT, object_type="apitoken")
        assert event.actor == alice
        assert event.detail["reason"] == "signed out"

    def test_it_needs_a_token(self, api, alice):
        api.force_login(alice)

        assert api.post(LOGOUT_URL).status_code == 401

    def test_signing_out_of_the_pages_ends_no_token(self, client, alice):
        token = obtain()
        client.force_login(alice)

        client.post(reverse("logout"))

        assert get_cases(token).status_code == 200


class TestTheList:
    def test_it_shows_each_live_sign_in_without_its_secret(self, alice, bob):
        first, second = obtain(), obtain()
        obtain("bob")
        ended = obtain()
        with_token(ended).post(LOGOUT_URL)

        response = with_token(first).get(LIST_URL)

        assert response.status_code == 200
        rows = response.json()["results"]
        assert [r["prefix"] for r in rows] == [second.split(".")[0], first.split(".")[0]]
        assert [r["current"] for r in rows] == [False, True]
        assert set(rows[0]) == {
            "id",
            "prefix",
            "created_at",
            "last_used_at",
            "expires_at",
            "ip_address",
            "user_agent",
            "current",
        }
        body = response.content.decode()
        for token in (first, second):
            assert token.split(".")[1] not in body
        assert row_of(first).digest not in body

    def test_its_queries_do_not_grow_with_the_rows(self, alice, django_assert_max_num_queries):
        token = obtain()
        for _ in range(5):
            obtain()
        client = with_token(token)
        # The token, the count, the page's ids and the page.
        with django_assert_max_num_queries(4):
            assert len(client.get(LIST_URL).json()["results"]) == 6

    def test_the_page_lists_the_same_and_no_secret(self, login, alice):
        token = obtain()

        response = login(alice).get(reverse("accounts:api_tokens"))

        assert response.status_code == 200
        html = response.content.decode()
        assert token.split(".")[0] in html
        assert token.split(".")[1] not in html
        assert row_of(token).digest not in html


class TestRevoking:
    def test_revoking_one_ends_it_and_no_other(self, alice):
        kept, revoked = obtain(), obtain()

        response = with_token(kept).delete(f"{LIST_URL}{row_of(revoked).pk}/")

        assert response.status_code == 204
        assert get_cases(revoked).status_code == 401
        assert get_cases(kept).status_code == 200
        assert row_of(revoked).revoked_reason == "revoked by its user"
        assert AuditEvent.objects.filter(action=Action.LOGOUT, object_type="apitoken").exists()

    @pytest.mark.parametrize("other", ["bob", "sam", "erin", "carol", "root"])
    def test_nobody_else_but_the_agency_admin_may_revoke_it(self, request, alice, other):
        # Teammate, supervisor, other team, other agency, system admin.
        other_user = request.getfixturevalue(other)
        alices = obtain()
        others = obtain(other)

        response = with_token(others).delete(f"{LIST_URL}{row_of(alices).pk}/")

        assert response.status_code == 404
        assert get_cases(alices).status_code == 200
        denied = AuditEvent.objects.get(action=Action.DENIED)
        assert (denied.actor, denied.object_id) == (other_user, str(row_of(alices).pk))
        assert denied.agency_id == alice.agency_id

    def test_a_worker_cannot_revoke_anothers_on_the_page(self, login, alice, bob):
        alices = obtain()

        response = login(bob).post(reverse("accounts:revoke_api_token", args=[row_of(alices).pk]))

        assert response.status_code == 404
        assert get_cases(alices).status_code == 200

    @pytest.mark.parametrize("pk", ["abc", "0", "99999999999999999999", "1%00"])
    def test_a_garbage_id_is_a_404(self, alice, pk):
        assert with_token(obtain()).delete(f"{LIST_URL}{pk}/").status_code == 404

    def test_the_page_revokes_ones_own(self, login, alice):
        token = obtain()

        response = login(alice).post(reverse("accounts:revoke_api_token", args=[row_of(token).pk]))

        assert response.status_code == 302
        assert response.url == reverse("accounts:api_tokens")
        assert get_cases(token).status_code == 401


class TestTheAgencyAdmin:
    def test_sees_and_revokes_a_workers_token(self, login, alice, carol, dana):
        alices = obtain()
        carols = obtain("carol")
        client = login(dana)

        page = client.get(reverse("accounts:agency_api_tokens")).content.decode()
        assert alices.split(".")[0] in page
        assert carols.split(".")[0] not in page
        assert alices.split(".")[1] not in page

        response = client.post(reverse("accounts:revoke_api_token", args=[row_of(alices).pk]))

        assert response.status_code == 302
        assert get_cases(alices).status_code == 401
        row = row_of(alices)
        assert (row.revoked_by, row.revoked_reason) == (dana, "revoked by admin")
        event = AuditEvent.objects.get(action=Action.LOGOUT, object_type="apitoken")
        assert (event.actor, event.agency_id) == (dana, alice.agency_id)

    def test_cannot_revoke_another_agencys(self, login, carol, dana):
        carols = obtain("carol")

        response = login(dana).post(reverse("accounts:revoke_api_token", args=[row_of(carols).pk]))

        assert response.status_code == 404
        assert get_cases(carols).status_code == 200

    def test_revokes_through_the_api_too(self, alice, dana):
        alices = obtain()

        response = with_token(obtain("dana")).delete(f"{LIST_URL}{row_of(alices).pk}/")

        assert response.status_code == 204
        assert get_cases(alices).status_code == 401

    def test_a_worker_may_not_open_the_agency_page(self, login, alice):
        assert login(alice).get(reverse("accounts:agency_api_tokens")).status_code == 403

    def test_the_agency_page_runs_a_fixed_number_of_queries(
        self, login, alice, bob, dana, django_assert_max_num_queries
    ):
        for username in ("alice", "bob", "alice", "bob"):
            obtain(username)
        client = login(dana)
        with django_assert_max_num_queries(9):
            response = client.get(reverse("accounts:agency_api_tokens"))
        assert response.content.decode().count("End this sign-in") == 4


class TestANewPassword:
    def test_ends_every_token(self, alice):
        tokens = [obtain(), obtain()]

        alice.set_password("a-new-long-passphrase")
        alice.save()

        for token in tokens:
            assert get_cases(token).status_code == 401
            assert row_of(token).revoked_reason == "password changed"
        assert AuditEvent.objects.filter(
            action=Action.LOGOUT, object_type="user", detail__reason="password changed"
        ).exists()

    def test_other_changes_end_none(self, alice):
        token = obtain()

        alice.first_name = "Alicia"
        alice.save()

        assert get_cases(token).status_code == 200


class TestTokensEndLikeSessions:
    def test_a_token_ends_after_30_minutes_without_use(self, alice):
        start = timezone.now()
        with time_machine.travel(start, tick=False):
            token = obtain()
            assert get_cases(token).status_code == 200
        with time_machine.travel(start + datetime.timedelta(minutes=31), tick=False):
            response = get_cases(token)
            assert response.status_code == 401
            assert "expired" in response.json()["detail"]
            assert token.split(".")[0] not in str(with_token(obtain()).get(LIST_URL).json())

    def test_use_keeps_it_alive_until_its_maximum_age(self, alice, settings):
        start = timezone.now()
        with time_machine.travel(start, tick=False):
            token = obtain()
        minutes = 20
        while minutes < settings.API_TOKEN_MAX_HOURS * 60:
            with time_machine.travel(start + datetime.timedelta(minutes=minutes), tick=False):
                assert get_cases(token).status_code == 200, minutes
            minutes += 20
        past_max = datetime.timedelta(hours=settings.API_TOKEN_MAX_HOURS, minutes=1)
        with time_machine.travel(start + past_max, tick=False):
            assert get_cases(token).status_code == 401

    def test_last_use_reaches_the_row_at_most_once_a_minute(self, alice):
        start = timezone.now()
        with time_machine.travel(start, tick=False):
            token = obtain()
        with time_machine.travel(start + datetime.timedelta(seconds=30), tick=False):
            get_cases(token)
            assert row_of(token).last_used_at == start
        with time_machine.travel(start + datetime.timedelta(seconds=61), tick=False):
            get_cases(token)
            assert row_of(token).last_used_at == start + datetime.timedelta(seconds=61)

    def test_the_cache_keeps_use_between_writes_alive(self, alice):
        start = timezone.now()
        with time_machine.travel(start, tick=False):
            token = obtain()
        # Used after 30 seconds (cached, not yet written to the row), then 30 minutes
        # later: past the idle limit by the row's last use, not by the real one.
        for seconds in (30, 30 + 30 * 60):
            with time_machine.travel(start + datetime.timedelta(seconds=seconds), tick=False):
                assert get_cases(token).status_code == 200, seconds

    def test_an_ended_token_is_replaced_by_a_new_one(self, alice):
        start = timezone.now()
        with time_machine.travel(start, tick=False):
            old = obtain()
        with time_machine.travel(start + datetime.timedelta(hours=1), tick=False):
            new = obtain()
            assert new != old
            assert get_cases(new).status_code == 200


@pytest.mark.usefixtures("cache_down")
class TestWithTheCacheDown:
    def test_signing_in_and_calling_the_api_still_work(self, alice, alice_case):
        token = obtain()

        response = get_cases(token)

        assert response.status_code == 200
        assert [c["id"] for c in response.json()["results"]] == [alice_case.pk]
        assert with_token(token).get(LIST_URL).status_code == 200
        assert with_token(token).post(LOGOUT_URL).status_code == 204

    def test_every_use_reaches_the_row_and_idling_still_ends_it(self, alice):
        start = timezone.now()
        with time_machine.travel(start, tick=False):
            token = obtain()
        with time_machine.travel(start + datetime.timedelta(minutes=20), tick=False):
            assert get_cases(token).status_code == 200
            assert row_of(token).last_used_at == start + datetime.timedelta(minutes=20)
        with time_machine.travel(start + datetime.timedelta(minutes=45), tick=False):
            assert get_cases(token).status_code == 200
        with time_machine.travel(start + datetime.timedelta(minutes=76), tick=False):
            assert get_cases(token).status_code == 401


class TestSecondFactor:
    @pytest.fixture
    def device(self, alice):
        return TOTPDevice.objects.create(user=alice, name="Authenticator app", confirmed=True)

    def test_a_missing_code_is_named(self, device):
        response = sign_in_response()

        assert response.status_code == 400
        assert "second factor" in response.json()["otp"][0]
        assert not ApiToken.objects.exists()

    def test_a_wrong_code_is_named_and_counted_as_a_failed_sign_in(self, device, alice):
        response = sign_in_response(otp="000000" if mfa.current_code(device) != "000000" else "1")

        assert response.status_code == 400
        assert "not right" in response.json()["otp"][0]
        assert not ApiToken.objects.exists()
        failed = AuditEvent.objects.get(action=Action.LOGIN_FAILED)
        assert failed.detail == {"username": "alice"}

    def test_wrong_codes_lock_the_sign_in_like_wrong_passwords(self, device):
        address = random_address()
        for _ in range(5):
            assert sign_in_response(address=address, otp="12").status_code in (400, 429)

        response = sign_in_response(address=address, otp=mfa.current_code(device))

        assert response.status_code == 429
        assert not ApiToken.objects.exists()

    def test_the_right_code_gives_a_token(self, device):
        token = obtain(otp=mfa.current_code(device))

        assert get_cases(token).status_code == 200

    def test_without_a_device_no_code_is_asked(self, alice):
        assert sign_in_response().status_code == 200


class TestTokensAreNotInTheAdmin:
    def test_the_system_admin_cannot_read_tokens(self, client, root, alice):
        obtain()
        client.force_login(root)
        assert client.get("/admin/authtoken/tokenproxy/").status_code == 404
        assert client.get("/admin/accounts/apitoken/").status_code == 404
