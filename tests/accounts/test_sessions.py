import datetime

import time_machine
from django.utils import timezone


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
