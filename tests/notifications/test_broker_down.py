"""Emails and texts while the broker cannot be reached: the work that queued them commits
and the person doing it sees it done (never a 500); the notification sweep sends each
row whose hand-off to a worker was lost, at its next run and once."""

import datetime
import logging
import zoneinfo
from unittest import mock

import pytest
import time_machine
from django.core import mail
from django.urls import reverse
from kombu.exceptions import OperationalError

from cases.models import ReminderChannel
from notifications import services, tasks
from notifications.models import Channel, DeliveryStatus, Kind, Notification
from referrals.models import Status
from tests.notifications.conftest import followup_on, remind_by
from tests.referrals.factories import give_consent, make_referral

pytestmark = pytest.mark.django_db

REFUSED = OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
LA = zoneinfo.ZoneInfo("America/Los_Angeles")
# Midday in Los Angeles, when reminders to clients may go out.
NOON_LA = datetime.datetime(2027, 1, 14, 12, 0, tzinfo=LA)


@pytest.fixture
def broker_down():
    """deliver.delay fails as it does when Redis refuses the connection."""
    with mock.patch.object(tasks.deliver, "delay", side_effect=REFUSED) as delay:
        yield delay


class TestSendingAReferral:
    def test_the_worker_sees_it_sent_and_the_sweep_emails_the_provider_once(
        self, login, alice, alice_case, broker_down, caplog, django_capture_on_commit_callbacks
    ):
        referral = make_referral(alice, alice_case, consent=give_consent(alice, alice_case))
        web = login(alice)

        with (
            caplog.at_level(logging.WARNING, logger="notifications.services"),
            django_capture_on_commit_callbacks(execute=True),
        ):
            response = web.post(reverse("referrals:send", args=[referral.pk]))

        assert response.status_code == 302
        assert response["Location"] == reverse("referrals:detail", args=[referral.pk])
        referral.refresh_from_db()
        assert referral.status == Status.REQUESTED
        email = Notification.objects.get(kind=Kind.PROVIDER_LINK)
        assert email.status == DeliveryStatus.QUEUED and email.tries == 0
        assert broker_down.call_count == 1
        assert f"Notification {email.pk} left for the sweep" in caplog.text
        assert mail.outbox == []

        # The next sweep, not one a lease later: nothing holds a row never handed over.
        assert tasks.sweep() == 1
        assert tasks.sweep() == 0
        assert tasks.sweep() == 0

        assert [m.to for m in mail.outbox] == [["intake@mission.example"]]
        email.refresh_from_db()
        assert (email.status, email.tries) == (DeliveryStatus.SENT, 1)

    def test_through_the_service_the_referral_commits(
        self, alice, alice_case, broker_down, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=True):
            referral = make_referral(
                alice, alice_case, consent=give_consent(alice, alice_case), send=True
            )

        referral.refresh_from_db()
        assert referral.status == Status.REQUESTED
        assert referral.links.get().notification.status == DeliveryStatus.QUEUED


class TestAFollowUpPrompt:
    def test_the_client_reminder_is_texted_once_by_the_sweep(
        self, alice_case, sms_outbox, broker_down, django_capture_on_commit_callbacks
    ):
        remind_by(alice_case.client, ReminderChannel.TEXT, phone="541-555-0177")
        with time_machine.travel(NOON_LA, tick=False):
            fu = followup_on(alice_case)
            with django_capture_on_commit_callbacks(execute=True):
                services.followup_fell_due(fu)
            reminder = Notification.objects.get(kind=Kind.CLIENT_REMINDER)
            assert (reminder.channel, reminder.status) == (Channel.TEXT, DeliveryStatus.QUEUED)

            sent = [tasks.sweep() for _ in range(3)]

        assert sent == [1, 0, 0]
        assert [to for to, _ in sms_outbox] == ["541-555-0177"]
