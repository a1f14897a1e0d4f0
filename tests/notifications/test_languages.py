"""Each notification is written in its reader's language (core/i18n.py): what goes to a
member of staff in theirs (User.language), a reminder to a client in the client's
(Client.preferred_language), whatever language the code that sends it runs in."""

import datetime

import pytest
from django.test.signals import template_rendered
from django.urls import reverse
from django.utils import formats, timezone, translation

from cases.models import Client, ReminderChannel
from notifications import client_reminders, services, tasks
from notifications.models import Channel, DeliveryStatus, Kind, Notification
from tests.notifications.conftest import followup_on, remind_by

DELIVERIES = reverse("notifications:deliveries")


@pytest.fixture
def rendered_in():
    """The active language each template was rendered in, by template name (Django's test
    environment sends template_rendered for every template it renders)."""
    seen: dict[str, list[str]] = {}

    def note(sender, template, context, **kwargs):
        seen.setdefault(template.name, []).append(translation.get_language())

    template_rendered.connect(note)
    yield seen
    template_rendered.disconnect(note)


def speaks(user, language):
    user.language = language
    user.save(update_fields=["language"])


class TestStaffEmails:
    def test_each_email_is_written_in_its_readers_language(
        self, alice_case, sam, dana, with_emails, rendered_in
    ):
        speaks(sam, "es")
        fu = followup_on(alice_case)
        fu.parked_at = timezone.now()

        # The engine runs in the installation's language, whoever reads the result.
        with translation.override("en"):
            services.followup_parked(fu, "ValueError: bad window")

        # One email each, composed in the reader's language: Spanish for sam, the default
        # (English) for dana, who has not chosen.
        assert sorted(rendered_in["notifications/email/followup_parked.txt"]) == ["en", "es"]
        emails = {n.recipient: n for n in Notification.objects.filter(channel=Channel.EMAIL)}
        with translation.override("es"):
            spanish = translation.gettext("A follow-up needs checking by hand")
        assert emails[sam].subject == spanish
        assert emails[dana].subject == "A follow-up needs checking by hand"

    def test_a_missed_followup_email_too(self, alice_case, sam, with_emails, rendered_in):
        speaks(sam, "es")

        with translation.override("en"):
            services.followup_missed(followup_on(alice_case))

        assert rendered_in["notifications/email/followup_missed.txt"] == ["es"]

    def test_the_language_of_the_code_that_sends_it_does_not_leak(
        self, alice_case, sam, with_emails, rendered_in
    ):
        assert sam.language == ""

        with translation.override("es"):
            services.followup_missed(followup_on(alice_case))

        assert rendered_in["notifications/email/followup_missed.txt"] == ["en"]


class TestInAppNotices:
    def test_the_workers_notice_is_in_their_language(self, alice_case, alice):
        speaks(alice, "es")
        fu = followup_on(alice_case, due_in=-datetime.timedelta(hours=1))

        with translation.override("en"):
            services.followup_overdue(fu)

        (notice,) = Notification.objects.filter(kind=Kind.FOLLOWUP_OVERDUE)
        # Its times are written as Spanish writes them ("lun 07 dic 18:00"), whatever the
        # catalogue holds for the sentence around them.
        with translation.override("es"):
            due = formats.date_format(alice_case.agency.local(fu.due_at), "D d M H:i")
        assert due in notice.body
        assert due.split()[0] not in {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"}

    def test_english_stays_as_it_was(self, alice_case, alice):
        fu = followup_on(alice_case)

        with translation.override("es"):
            subject, body = services.fell_due_text(fu)

        assert subject == f"Follow-up due: {fu.title}"
        due = f"{alice_case.agency.local(fu.due_at):%a %d %b %H:%M}"
        assert body == f"Alice Client: {fu.title}. Due {due}."


class TestClientReminders:
    @pytest.fixture
    def composed_in(self, monkeypatch):
        """The active language each reminder text was composed in."""
        seen = []
        real = client_reminders.reminder_text

        def reminder_text():
            seen.append(translation.get_language())
            return real()

        monkeypatch.setattr(client_reminders, "reminder_text", reminder_text)
        return seen

    def test_a_reminder_is_written_in_the_clients_language(self, alice_case, composed_in):
        client = remind_by(alice_case.client, ReminderChannel.TEXT, phone="541-555-0177")
        client.preferred_language = "Spanish"
        client.save(update_fields=["preferred_language"])

        with translation.override("en"):
            services.followup_fell_due(followup_on(alice_case))

        assert composed_in == ["es"]
        (reminder,) = Notification.objects.filter(kind=Kind.CLIENT_REMINDER)
        with translation.override("es"):
            assert reminder.body == str(client_reminders.REMINDER_TEXT)

    def test_a_language_the_product_does_not_speak_gets_the_default(self, alice_case, composed_in):
        client = remind_by(alice_case.client, ReminderChannel.TEXT, phone="541-555-0177")
        client.preferred_language = "Tagalog"
        client.save(update_fields=["preferred_language"])

        with translation.override("es"):
            services.followup_fell_due(followup_on(alice_case))

        assert composed_in == ["en"]


@pytest.mark.django_db
class TestFailureReasons:
    """Why an email or a text did not go: the product's words are stored in English with
    their message (Notification.failure_reason_i18n) and read in the reader's language; a
    gateway's own words stay as it gave them; a row failed before keeps its English."""

    NO_NUMBER_ES = "no hay número de teléfono al que enviar el mensaje de texto"

    @pytest.fixture(autouse=True)
    def midday(self, time_machine):
        # Midday in the agency's zone (Los Angeles), when reminders go at once.
        time_machine.move_to(datetime.datetime(2027, 1, 14, 20, 0, tzinfo=datetime.UTC))

    def text_reminder(self, case, *, number=True):
        """A text reminder queued for `case`'s client; without `number`, the client's number
        is gone under it (data recorded before text reminders needed one)."""
        remind_by(case.client, ReminderChannel.TEXT, phone="541-555-0177")
        if not number:
            Client.objects.filter(pk=case.client_id).update(phone="")
        services.followup_fell_due(followup_on(case))
        return Notification.objects.get(kind=Kind.CLIENT_REMINDER)

    def failed_for_want_of_a_number(self, case):
        reminder = self.text_reminder(case, number=False)
        tasks.sweep()
        reminder.refresh_from_db()
        assert reminder.status == DeliveryStatus.FAILED
        return reminder

    def shown(self, row, language):
        with translation.override(language):
            return row.display_failure_reason

    def test_a_reason_the_product_gave(self, alice_case, sms_outbox):
        reminder = self.failed_for_want_of_a_number(alice_case)

        assert reminder.failure_reason == "no phone number to text"
        assert reminder.failure_reason_i18n == {"m": "no phone number to text", "a": {}}
        assert self.shown(reminder, "en") == "no phone number to text"
        assert self.shown(reminder, "es") == self.NO_NUMBER_ES

    def test_a_gateways_words_stay_inside_the_products(self, alice_case, failing_sms):
        reminder = self.text_reminder(alice_case)
        tasks.sweep()

        reminder.refresh_from_db()
        assert reminder.failure_reason == "try 1 failed: gateway answered 503"
        assert self.shown(reminder, "es") == "falló el intento 1: gateway answered 503"

        # The last try: it gives up.
        Notification.objects.filter(pk=reminder.pk).update(
            tries=tasks.MAX_TRIES - 1, next_attempt_at=timezone.now()
        )
        tasks.sweep()
        reminder.refresh_from_db()
        assert reminder.status == DeliveryStatus.FAILED
        assert reminder.failure_reason == "gateway answered 503 (gave up after 5 tries)"
        assert self.shown(reminder, "en") == reminder.failure_reason
        assert self.shown(reminder, "es") == "gateway answered 503 (se abandonó tras 5 intentos)"

    def test_a_send_whose_worker_stopped(self, alice_case, sms_outbox):
        reminder = self.text_reminder(alice_case)
        assert tasks._claim(timezone.now(), pk=reminder.pk) is not None
        tasks.fail_lost_sends(timezone.now() + tasks.LEASE + datetime.timedelta(seconds=1))

        reminder.refresh_from_db()
        assert reminder.failure_reason == tasks.OUTCOME_UNKNOWN
        assert self.shown(reminder, "es") == (
            "resultado desconocido: el proceso de envío se detuvo mientras enviaba"
        )

    def test_the_supervisors_notice_gives_it_in_their_language(self, alice_case, sam, sms_outbox):
        speaks(sam, "es")
        self.failed_for_want_of_a_number(alice_case)

        notice = Notification.objects.get(kind=Kind.DELIVERY_FAILED, recipient=sam)
        assert self.NO_NUMBER_ES in notice.body
        assert "no phone number" not in notice.body

    @pytest.mark.parametrize(
        ("language", "expected", "absent"),
        [
            ("es", NO_NUMBER_ES, "no phone number to text"),
            ("en", "no phone number to text", NO_NUMBER_ES),
        ],
    )
    def test_the_deliveries_page_gives_it_in_the_readers_language(
        self, login, alice_case, sam, sms_outbox, language, expected, absent
    ):
        self.failed_for_want_of_a_number(alice_case)
        speaks(sam, language)

        html = login(sam).get(DELIVERIES, {"status": "failed"}).content.decode()

        assert expected in html
        assert absent not in html

    def test_a_row_failed_before_keeps_its_english(self, login, alice_case, sam, sms_outbox):
        reminder = self.failed_for_want_of_a_number(alice_case)
        Notification.objects.filter(pk=reminder.pk).update(failure_reason_i18n=None)
        reminder.refresh_from_db()
        speaks(sam, "es")

        assert self.shown(reminder, "es") == "no phone number to text"
        html = login(sam).get(DELIVERIES, {"status": "failed"}).content.decode()
        assert "no phone number to text" in html
