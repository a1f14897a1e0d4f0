"""Each notification is written in its reader's language (core/i18n.py): what goes to a
member of staff in theirs (User.language), a reminder to a client in the client's
(Client.preferred_language), whatever language the code that sends it runs in."""

import datetime

import pytest
from django.test.signals import template_rendered
from django.utils import formats, timezone, translation

from cases.models import ReminderChannel
from notifications import client_reminders, services
from notifications.models import Channel, Kind, Notification
from tests.notifications.conftest import followup_on, remind_by


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
