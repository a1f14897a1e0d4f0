import datetime
import io
import zoneinfo

import pytest
import time_machine
from django.utils import timezone

from cases.models import Client, ReminderChannel
from followups import engine
from notifications import backends, services, tasks
from notifications.client_reminders import reminder_text
from notifications.models import Channel, DeliveryStatus, Kind, Notification
from tests.notifications.conftest import followup_on, remind_by

LA = zoneinfo.ZoneInfo("America/Los_Angeles")
# Midday in Los Angeles, when reminders may go out.
NOON_LA = datetime.datetime(2027, 1, 14, 12, 0, tzinfo=LA)


def queue_text_reminder(case, phone="541-555-0177"):
    """A text reminder queued for `case`'s client, its hand-off not yet run. With no
    `phone`, the client's number is gone by then: the rule that text reminders need one
    (Client.clean) holds for every save, so the row is changed under it, as data recorded
    before the rule would be."""
    remind_by(case.client, ReminderChannel.TEXT, phone=phone or "541-555-0177")
    if not phone:
        Client.objects.filter(pk=case.client_id).update(phone="")
    services.followup_fell_due(followup_on(case))
    return Notification.objects.get(kind=Kind.CLIENT_REMINDER)


class TestConsoleSMSBackend:
    def test_it_prints_the_recipient_and_the_text(self):
        out = io.StringIO()
        backends.ConsoleSMSBackend(stream=out).send("541-555-0177", "Hello there")
        printed = out.getvalue()
        assert "To: 541-555-0177" in printed
        assert "Hello there" in printed

    def test_it_prints_to_stdout_by_default(self, capsys):
        backends.ConsoleSMSBackend().send("541-555-0177", "Hello there")
        assert "To: 541-555-0177\n" in capsys.readouterr().out

    def test_no_number_is_a_permanent_error(self):
        with pytest.raises(backends.PermanentDeliveryError):
            backends.ConsoleSMSBackend(stream=io.StringIO()).send("", "Hello")

    def test_the_setting_chooses_the_backend(self, settings):
        settings.SMS_BACKEND = "notifications.backends.LocmemSMSBackend"
        assert isinstance(backends.sms_backend(), backends.LocmemSMSBackend)
        settings.SMS_BACKEND = "notifications.backends.ConsoleSMSBackend"
        assert isinstance(backends.sms_backend(), backends.ConsoleSMSBackend)

    def test_the_embedded_default_prints_a_delivered_reminder(
        self, settings, alice_case, capsys, django_capture_on_commit_callbacks
    ):
        settings.SMS_BACKEND = "notifications.backends.ConsoleSMSBackend"
        with (
            time_machine.travel(NOON_LA, tick=False),
            django_capture_on_commit_callbacks(execute=True),
        ):
            reminder = queue_text_reminder(alice_case)
        reminder.refresh_from_db()
        assert reminder.status == DeliveryStatus.SENT
        out = capsys.readouterr().out
        assert "To: 541-555-0177" in out
        assert "someone will check in with you soon" in out


@pytest.mark.usefixtures("sms_outbox")
class TestDeliver:
    def test_a_reminder_is_sent_after_commit(
        self, alice_case, sms_outbox, django_capture_on_commit_callbacks
    ):
        with time_machine.travel(NOON_LA, tick=False):
            with django_capture_on_commit_callbacks(execute=True):
                reminder = queue_text_reminder(alice_case)
            reminder.refresh_from_db()
            assert reminder.status == DeliveryStatus.SENT
            assert reminder.sent_at == timezone.now()
            assert reminder.tries == 1
            assert reminder.lease_token is None
        assert sms_outbox == [("541-555-0177", reminder.body)]

    def test_a_duplicate_deliver_does_nothing(
        self, alice_case, sms_outbox, django_capture_on_commit_callbacks
    ):
        with time_machine.travel(NOON_LA, tick=False):
            with django_capture_on_commit_callbacks(execute=True):
                reminder = queue_text_reminder(alice_case)
            assert tasks.deliver(reminder.pk) is False
            assert tasks.deliver.delay(reminder.pk).get() is False
            assert tasks.sweep() == 0
        assert len(sms_outbox) == 1

    def test_a_row_being_sent_is_not_sent_again(self, alice_case, sms_outbox):
        with time_machine.travel(NOON_LA, tick=False):
            reminder = queue_text_reminder(alice_case)
            claimed = tasks._claim(timezone.now(), pk=reminder.pk)
            assert claimed is not None
            assert tasks.deliver(reminder.pk) is False
            assert tasks.sweep() == 0
        assert sms_outbox == []
        reminder.refresh_from_db()
        assert reminder.status == DeliveryStatus.SENDING

    def test_the_sweep_sends_what_lost_its_hand_off_once(self, alice_case, sms_outbox):
        with time_machine.travel(NOON_LA, tick=False):
            reminder = queue_text_reminder(alice_case)  # on-commit hand-off never ran
            assert tasks.sweep() == 1
            assert tasks.sweep() == 0
        reminder.refresh_from_db()
        assert reminder.status == DeliveryStatus.SENT
        assert len(sms_outbox) == 1

    def test_in_app_rows_are_never_claimed(self, alice_case):
        services.followup_fell_due(followup_on(alice_case))
        (n,) = Notification.objects.all()
        assert tasks.deliver(n.pk) is False
        assert tasks.sweep() == 0


class TestReminderHours:
    def test_a_reminder_falling_due_at_night_waits_for_the_morning(
        self, alice_case, sms_outbox, django_capture_on_commit_callbacks
    ):
        late = datetime.datetime(2027, 1, 14, 23, 30, tzinfo=LA)
        with time_machine.travel(late, tick=False):
            with django_capture_on_commit_callbacks(execute=True):
                reminder = queue_text_reminder(alice_case)
            assert tasks.sweep() == 0
        reminder.refresh_from_db()
        assert reminder.status == DeliveryStatus.QUEUED
        assert reminder.next_attempt_at == datetime.datetime(2027, 1, 15, 9, 0, tzinfo=LA)
        assert sms_outbox == []
        with time_machine.travel(datetime.datetime(2027, 1, 15, 9, 1, tzinfo=LA), tick=False):
            assert tasks.sweep() == 1
        assert len(sms_outbox) == 1


def retry_up_to_the_last_try(reminder, failing_sms, traveller):
    """Sweep a reminder whose every send fails, each time its next try comes, until the
    last try is made; after each failed try it waits queued with the gateway's answer
    and is not tried before its time. Returns the waits between tries."""
    waits = []
    for expected_tries in range(1, tasks.MAX_TRIES):
        reminder.refresh_from_db()
        assert reminder.status == DeliveryStatus.QUEUED
        assert reminder.tries == expected_tries
        assert "gateway answered 503" in reminder.failure_reason
        wait = reminder.next_attempt_at - timezone.now()
        waits.append(wait)
        # Not before its time...
        assert tasks.sweep() == 0
        assert failing_sms.calls == expected_tries
        # ...and then once.
        traveller.shift(wait)
        tasks.sweep()
    return waits


class TestRetries:
    def test_backoff_then_failure_after_bounded_tries_alerts_the_supervisor(
        self, alice_case, sam, failing_sms, django_capture_on_commit_callbacks
    ):
        with time_machine.travel(NOON_LA, tick=False) as traveller:
            with django_capture_on_commit_callbacks(execute=True):
                reminder = queue_text_reminder(alice_case)
            waits = retry_up_to_the_last_try(reminder, failing_sms, traveller)
            assert waits == [datetime.timedelta(minutes=m) for m in (1, 2, 4, 8)]
            reminder.refresh_from_db()
            assert reminder.status == DeliveryStatus.FAILED
            assert reminder.tries == tasks.MAX_TRIES
            assert reminder.failed_at == timezone.now()
            assert "gave up after 5 tries" in reminder.failure_reason
            traveller.shift(datetime.timedelta(hours=1))
            assert tasks.sweep() == 0
        assert failing_sms.calls == tasks.MAX_TRIES
        (alert,) = Notification.objects.filter(kind=Kind.DELIVERY_FAILED)
        assert (alert.recipient, alert.channel) == (sam, Channel.IN_APP)
        assert alert.url == "/inbox/deliveries/?status=failed"
        assert "Alice Client" in alert.body

    def test_no_number_fails_at_once_with_an_alert(self, alice_case, sam, sms_outbox):
        with time_machine.travel(NOON_LA, tick=False):
            reminder = queue_text_reminder(alice_case, phone="")
            tasks.sweep()
        reminder.refresh_from_db()
        assert reminder.status == DeliveryStatus.FAILED
        assert reminder.tries == 1
        assert reminder.failure_reason == "no phone number to text"
        assert Notification.objects.filter(kind=Kind.DELIVERY_FAILED, recipient=sam).count() == 1
        assert sms_outbox == []


class TestLostSend:
    def test_a_send_whose_worker_stopped_fails_as_outcome_unknown_and_is_not_resent(
        self, alice_case, sam, sms_outbox
    ):
        with time_machine.travel(NOON_LA, tick=False) as traveller:
            reminder = queue_text_reminder(alice_case)
            # A worker claims it and dies before recording anything.
            assert tasks._claim(timezone.now(), pk=reminder.pk) is not None
            traveller.shift(tasks.LEASE - datetime.timedelta(seconds=1))
            assert tasks.sweep() == 0
            reminder.refresh_from_db()
            assert reminder.status == DeliveryStatus.SENDING
            traveller.shift(datetime.timedelta(seconds=2))
            assert tasks.sweep() == 0
            assert tasks.sweep() == 0
        reminder.refresh_from_db()
        assert reminder.status == DeliveryStatus.FAILED
        assert reminder.failure_reason == tasks.OUTCOME_UNKNOWN
        assert sms_outbox == []
        assert Notification.objects.filter(kind=Kind.DELIVERY_FAILED, recipient=sam).count() == 1
        assert tasks.deliver(reminder.pk) is False
        assert sms_outbox == []

    def test_a_send_that_finishes_late_says_it_was_sent(self, alice_case, sms_outbox):
        with time_machine.travel(NOON_LA, tick=False) as traveller:
            reminder = queue_text_reminder(alice_case)
            notification, token = tasks._claim(timezone.now(), pk=reminder.pk)
            traveller.shift(tasks.LEASE + datetime.timedelta(seconds=1))
            tasks.sweep()
            assert tasks._send_claimed(notification, token) is True
        reminder.refresh_from_db()
        assert reminder.status == DeliveryStatus.SENT
        assert reminder.failure_reason == ""


class TestWithTheEngine:
    def test_a_followup_falling_due_texts_the_client_once(
        self, alice_case, alice, sms_outbox, django_capture_on_commit_callbacks
    ):
        with time_machine.travel(NOON_LA, tick=False) as traveller:
            remind_by(alice_case.client, ReminderChannel.TEXT, phone="541-555-0177")
            followup_on(alice_case)
            for _ in range(3):
                with django_capture_on_commit_callbacks(execute=True):
                    engine.sweep()
                    tasks.sweep()
                traveller.shift(datetime.timedelta(minutes=1))
        assert sms_outbox == [("541-555-0177", reminder_text())]
        assert Notification.objects.filter(kind=Kind.FOLLOWUP_DUE, recipient=alice).count() == 1
