import datetime

import time_machine
from django.utils import timezone
from rest_framework.authtoken.models import Token


def obtain(api, username="alice", password="pw-for-tests"):
    response = api.post(
        "/api/v1/auth/token/", {"username": username, "password": password}, format="json"
    )
    assert response.status_code == 200, response.json()
    return response.json()["token"]


def get_cases(api, token):
    return api.get("/api/v1/cases/", HTTP_AUTHORIZATION=f"Token {token}")


class TestTokensEndLikeSessions:
    def test_a_token_ends_after_30_minutes_without_use(self, api, alice):
        start = timezone.now()
        with time_machine.travel(start, tick=False):
            token = obtain(api, "alice")
            assert get_cases(api, token).status_code == 200
        with time_machine.travel(start + datetime.timedelta(minutes=31), tick=False):
            response = get_cases(api, token)
            assert response.status_code == 401
            assert "expired" in response.json()["detail"]
        assert not Token.objects.filter(key=token).exists()

    def test_use_keeps_it_alive_until_its_maximum_age(self, api, alice, settings):
        start = timezone.now()
        with time_machine.travel(start, tick=False):
            token = obtain(api, "alice")
        minutes = 20
        while minutes < settings.API_TOKEN_MAX_HOURS * 60:
            with time_machine.travel(start + datetime.timedelta(minutes=minutes), tick=False):
                assert get_cases(api, token).status_code == 200, minutes
            minutes += 20
        past_max = datetime.timedelta(hours=settings.API_TOKEN_MAX_HOURS, minutes=1)
        with time_machine.travel(start + past_max, tick=False):
            assert get_cases(api, token).status_code == 401

    def test_an_expired_token_is_replaced_by_a_new_one(self, api, alice):
        start = timezone.now()
        with time_machine.travel(start, tick=False):
            old = obtain(api, "alice")
        with time_machine.travel(start + datetime.timedelta(hours=1), tick=False):
            new = obtain(api, "alice")
            assert new != old
            assert get_cases(api, new).status_code == 200

    def test_a_new_password_ends_the_token(self, api, alice):
        token = obtain(api, "alice")
        alice.set_password("a-new-long-passphrase")
        alice.save()
        assert get_cases(api, token).status_code == 401


class TestTokensAreNotInTheAdmin:
    def test_the_system_admin_cannot_read_tokens(self, client, root, alice, api):
        obtain(api, "alice")
        client.force_login(root)
        assert client.get("/admin/authtoken/tokenproxy/").status_code == 404
