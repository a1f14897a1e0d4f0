import datetime

import time_machine
from django.contrib.auth import SESSION_KEY
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audit.models import Action, AuditEvent

LOGIN_URL = "/accounts/login/"
CREDENTIALS = {"username": "alice", "password": "pw-for-tests"}


class TestIdleLogoff:
    def test_the_session_ends_after_30_minutes_idle(self, client, alice):
        start = timezone.now()
        with time_machine.travel(start, tick=False):
            client.force_login(alice)
            assert client.get("/supervision/cases/").status_code == 403  # signed in, wrong role
        with time_machine.travel(start + datetime.timedelta(minutes=31), tick=False):
            response = client.get("/supervision/cases/")
            assert response.status_code == 302
            assert response.url.startswith("/accounts/login/")

    def test_activity_keeps_the_session_alive(self, client, alice):
        start = timezone.now()
        with time_machine.travel(start, tick=False):
            client.force_login(alice)
        for minutes in (20, 40, 60):
            with time_machine.travel(start + datetime.timedelta(minutes=minutes), tick=False):
                assert client.get("/supervision/cases/").status_code == 403

    def test_a_request_within_a_minute_of_the_last_renewal_writes_no_session(self, client, alice):
        start = timezone.now()
        with time_machine.travel(start, tick=False):
            client.force_login(alice)
            client.get("/supervision/cases/")
        with (
            time_machine.travel(start + datetime.timedelta(seconds=59), tick=False),
            CaptureQueriesContext(connection) as queries,
        ):
            assert client.get("/supervision/cases/").status_code == 403
        assert not [q for q in queries if q["sql"].startswith('UPDATE "django_session"')]
        with (
            time_machine.travel(start + datetime.timedelta(seconds=61), tick=False),
            CaptureQueriesContext(connection) as queries,
        ):
            assert client.get("/supervision/cases/").status_code == 403
        assert [q for q in queries if q["sql"].startswith('UPDATE "django_session"')]

    def test_the_idle_limit_counts_from_the_last_renewal(self, client, alice):
        """A request less than a minute after a renewal does not renew: the logoff comes
        30 minutes after the renewal, at most a minute early."""
        start = timezone.now()
        with time_machine.travel(start, tick=False):
            client.force_login(alice)
            client.get("/supervision/cases/")
        with time_machine.travel(start + datetime.timedelta(seconds=30), tick=False):
            assert client.get("/supervision/cases/").status_code == 403
        with time_machine.travel(start + datetime.timedelta(minutes=30, seconds=1), tick=False):
            assert client.get("/supervision/cases/").status_code == 302


def page(client, path="/supervision/cases/"):
    return client.get(path)


def busy(client, start, *, until, path="/supervision/cases/"):
    """A request every 20 minutes (never 30 idle) from `start` up to, not including,
    `until`; the statuses they got."""
    statuses = set()
    moment = start + datetime.timedelta(minutes=20)
    while moment < until:
        with time_machine.travel(moment, tick=False):
            statuses.add(page(client, path).status_code)
        moment += datetime.timedelta(minutes=20)
    return statuses


def sign_in_at(client, moment):
    with time_machine.travel(moment, tick=False):
        assert client.post(LOGIN_URL, CREDENTIALS).status_code == 302


class TestSessionLifetime:
    def test_an_active_session_ends_12_hours_after_sign_in(self, alice):
        client = Client()
        start = timezone.now()
        sign_in_at(client, start)
        twelve_hours = start + datetime.timedelta(hours=12)
        assert busy(client, start, until=twelve_hours) == {403}  # signed in, wrong role

        with time_machine.travel(twelve_hours, tick=False):
            response = page(client)
            assert response.status_code == 302
            assert response.url.startswith("/accounts/login/")
            login_page = client.get(response.url)

        assert SESSION_KEY not in client.session
        assert "Your session reached its 12-hour limit. Log in again to go on." in [
            str(m) for m in login_page.context["messages"]
        ]

    def test_the_end_is_audited_as_a_sign_out(self, alice):
        client = Client()
        start = timezone.now()
        sign_in_at(client, start)
        busy(client, start, until=start + datetime.timedelta(hours=12, minutes=1))

        assert AuditEvent.objects.filter(action=Action.LOGOUT, actor=alice).count() == 1

    def test_the_limit_is_a_setting(self, alice, settings):
        settings.SESSION_MAX_HOURS = 1
        client = Client()
        start = timezone.now()
        sign_in_at(client, start)

        assert busy(client, start, until=start + datetime.timedelta(minutes=60)) == {403}
        with time_machine.travel(start + datetime.timedelta(minutes=60), tick=False):
            assert page(client).status_code == 302

    def test_signing_in_again_starts_a_new_12_hours(self, alice):
        client = Client()
        start = timezone.now()
        sign_in_at(client, start)
        again = start + datetime.timedelta(hours=11)
        busy(client, start, until=again)
        sign_in_at(client, again)

        later = again + datetime.timedelta(hours=11)
        assert busy(client, again, until=later) == {403}

    def test_the_api_with_an_ended_session_is_refused(self, alice):
        client = Client()
        start = timezone.now()
        sign_in_at(client, start)
        twelve_hours = start + datetime.timedelta(hours=12)
        assert busy(client, start, until=twelve_hours, path="/api/v1/cases/") == {200}

        with time_machine.travel(twelve_hours, tick=False):
            assert client.get("/api/v1/cases/").status_code in (401, 403)
