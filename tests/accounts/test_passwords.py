"""Password rules (settings.AUTH_PASSWORD_VALIDATORS) and changing one's own password."""

import pytest
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import Client

from accounts.models import Agency, Role, User
from audit.models import Action, AuditEvent
from cases.management.commands.seed_demo import AGENCY_A, AGENCY_B, DEFAULT_PASSWORD, USERS

CHANGE_URL = "/accounts/password/"
OLD = "pw-for-tests"
NEW = "plum orchard lantern 7"


def refusal(password, user=None):
    with pytest.raises(ValidationError) as caught:
        validate_password(password, user)
    return caught.value.messages


class TestPasswordRules:
    @pytest.mark.parametrize(
        "password", ["Summer2026", "Summer2026!!", "september-2025", "2026Winter!!", "MAY2027abcd"]
    )
    def test_a_season_or_month_with_a_year_is_refused(self, password):
        assert (
            "This password is a season or a month with a year, among the first to be guessed."
            in refusal(password)
        )

    def test_fewer_than_12_characters_are_refused(self):
        assert "This password is too short. It must contain at least 12 characters." in refusal(
            "x7!kq-plum"
        )

    def test_a_common_password_is_refused(self):
        assert "This password is too common." in refusal("password1234")

    def test_an_all_digit_password_is_refused(self):
        assert "This password is entirely numeric." in refusal("839201746512")

    def test_the_agencys_name_is_refused(self):
        user = User(username="alice", agency=Agency(name="Lane County Crisis Response"))

        assert "This password contains your agency's name." in refusal(
            "Lane-County-Crisis-Response!", user
        )

    def test_a_password_like_the_users_name_is_refused(self):
        user = User(username="alice.nguyen", first_name="Alice", last_name="Nguyen")

        assert "The password is too similar to the username." in refusal("alice.nguyen1", user)

    def test_a_passphrase_with_a_year_in_it_is_accepted(self):
        validate_password("maybe we meet in 2026 again", User(username="alice"))

    @pytest.mark.parametrize("username", [*USERS])
    def test_the_demo_password_meets_them_for_every_demo_login(self, username):
        first, last, role, agency, _team, _supervises = USERS[username]
        user = User(
            username=username,
            first_name=first,
            last_name=last,
            email=f"{username}@example.org",
            role=role,
            agency=Agency(name=agency["name"]) if agency else None,
        )

        validate_password(DEFAULT_PASSWORD, user)

    def test_the_demo_agencies_are_not_in_the_demo_password(self):
        for spec in (AGENCY_A, AGENCY_B):
            user = User(username="x", role=Role.SOCIAL_WORKER, agency=Agency(name=spec["name"]))
            validate_password(DEFAULT_PASSWORD, user)


def change(client, old=OLD, new=NEW, again=None):
    return client.post(
        CHANGE_URL,
        {"old_password": old, "new_password1": new, "new_password2": again or new},
    )


@pytest.fixture
def signed_in(alice):
    client = Client()
    assert client.post("/accounts/login/", {"username": "alice", "password": OLD}).status_code
    assert SESSION_KEY in client.session
    return client


class TestChangePassword:
    def test_the_page_asks_for_the_old_password_and_the_new_one_twice(self, signed_in):
        response = signed_in.get(CHANGE_URL)

        assert response.status_code == 200
        assert list(response.context["form"].fields) == [
            "old_password",
            "new_password1",
            "new_password2",
        ]

    def test_it_is_linked_from_every_signed_in_page(self, signed_in):
        caseload = signed_in.get("/", follow=True)

        assert caseload.status_code == 200
        assert f'href="{CHANGE_URL}"' in caseload.content.decode()

    def test_the_new_password_signs_in_and_the_old_one_no_longer(self, signed_in, alice):
        response = change(signed_in)

        assert response.status_code == 302
        alice.refresh_from_db()
        assert alice.check_password(NEW)
        assert not alice.check_password(OLD)

    def test_this_session_goes_on(self, signed_in):
        change(signed_in)

        assert signed_in.get(CHANGE_URL).status_code == 200

    def test_the_users_other_sessions_end(self, signed_in, alice):
        other = Client()
        other.post("/accounts/login/", {"username": "alice", "password": OLD})
        assert other.get(CHANGE_URL).status_code == 200

        change(signed_in)

        response = other.get(CHANGE_URL)
        assert response.status_code == 302
        assert response.url.startswith("/accounts/login/")

    def test_it_is_audited(self, signed_in, alice):
        change(signed_in)

        event = AuditEvent.objects.get(action=Action.UPDATE, object_type="user")
        assert (event.actor, event.object_id) == (alice, str(alice.pk))
        assert event.detail == {"changed": ["password"]}
        assert NEW not in str(event.detail)

    def test_a_wrong_old_password_changes_nothing(self, signed_in, alice):
        response = change(signed_in, old="not-it")

        assert response.status_code == 200
        assert response.context["form"].errors["old_password"]
        alice.refresh_from_db()
        assert alice.check_password(OLD)
        assert not AuditEvent.objects.filter(action=Action.UPDATE).exists()

    def test_a_password_breaking_the_rules_is_refused_with_the_reason(self, signed_in, alice):
        response = change(signed_in, new="Summer2026!!")

        assert response.status_code == 200
        assert response.context["form"].errors["new_password2"] == [
            "This password is a season or a month with a year, among the first to be guessed."
        ]
        alice.refresh_from_db()
        assert alice.check_password(OLD)

    def test_the_two_new_passwords_must_match(self, signed_in):
        response = change(signed_in, again="plum orchard lantern 8")

        assert response.status_code == 200
        assert response.context["form"].errors["new_password2"]

    def test_signed_out_it_asks_to_sign_in(self, db):
        response = Client().get(CHANGE_URL)

        assert response.status_code == 302
        assert response.url.startswith("/accounts/login/")


class TestGuessingTheOldPassword:
    def test_wrong_old_passwords_count_as_failed_sign_ins(self, signed_in, alice):
        for _ in range(5):
            change(signed_in, old="guess")

        response = change(signed_in)

        assert response.context["form"].errors["old_password"] == [
            "Too many failed sign-in attempts. Wait 30 seconds, then try again."
        ]
        alice.refresh_from_db()
        assert alice.check_password(OLD)

    def test_a_wrong_old_password_is_a_failed_sign_in_in_the_trail(self, signed_in, alice):
        change(signed_in, old="guess")

        failed = AuditEvent.objects.get(action=Action.LOGIN_FAILED)
        assert failed.detail == {"username": "alice"}
        assert failed.path == CHANGE_URL
