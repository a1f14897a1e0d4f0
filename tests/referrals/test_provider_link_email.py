"""The provider-link email: a notification queued with the sent referral, delivered once
by the notifications pipeline (with its retries), naming no client."""

import datetime
import os
import smtplib
import subprocess
import sys
from types import SimpleNamespace
from unittest import mock

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.urls import reverse
from django.utils import timezone, translation

from notifications import tasks
from notifications.models import Channel, DeliveryStatus, Kind, Notification
from referrals import services
from referrals.models import NeedCategory
from tests.referrals.factories import give_consent, part2_fields, sent_referral

pytestmark = pytest.mark.django_db

SMTP_DOWN = smtplib.SMTPServerDisconnected("Connection unexpectedly closed")


@pytest.fixture
def sent(alice, alice_case, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        referral = sent_referral(alice, alice_case)
    return referral


@pytest.fixture
def mail_server():
    """The email backend, down (every send refused and counted) until `up` is set."""
    real_send = mail.EmailMultiAlternatives.send
    server = SimpleNamespace(up=False, refused=0)

    def send(message, *args, **kwargs):
        if not server.up:
            server.refused += 1
            raise SMTP_DOWN
        return real_send(message, *args, **kwargs)

    with mock.patch("django.core.mail.EmailMultiAlternatives.send", send):
        yield server


def link_email(referral) -> Notification:
    return Notification.objects.get(pk=referral.links.get().notification_id)


class TestTheEmailIsANotification:
    def test_it_is_queued_with_the_referral_and_sent_once_after_commit(
        self, alice, alice_case, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            referral = sent_referral(alice, alice_case)
        notification = link_email(referral)
        assert (notification.kind, notification.channel) == (Kind.PROVIDER_LINK, Channel.EMAIL)
        assert notification.status == DeliveryStatus.QUEUED
        assert notification.address == "intake@mission.example"
        assert notification.recipient_id is None and notification.client_id is None
        assert notification.agency_id == referral.agency_id
        assert mail.outbox == []  # nothing leaves before the transaction commits

        for callback in callbacks:
            callback()

        assert len(mail.outbox) == 1
        notification.refresh_from_db()
        assert notification.status == DeliveryStatus.SENT
        link = referral.links.get()
        assert link.emailed_at == notification.sent_at is not None
        assert link.email_error == ""

    def test_the_email_names_the_agency_and_the_link_and_no_client(self, sent, alice_case):
        message = mail.outbox[0]
        link = sent.links.get()
        assert message.to == ["intake@mission.example"]
        assert message.subject == "A referral from Agency A is waiting for you"
        assert f"http://localhost:8000/p/{link.token()}/" in message.body
        html = message.alternatives[0][0]
        assert f"http://localhost:8000/p/{link.token()}/" in html
        everything = message.subject + message.body + html
        client = alice_case.client
        for secret in (client.legal_name, "Alice", client.phone, "1990", sent.reason, "Housing"):
            assert secret not in everything
        assert "PST" in message.body or "PDT" in message.body  # the agency's time zone

    def test_the_notification_keeps_what_was_sent(self, sent):
        message, notification = mail.outbox[0], link_email(sent)
        assert notification.subject == message.subject
        assert notification.body == message.body
        assert notification.html_body == message.alternatives[0][0]

    def test_a_part2_referral_email_is_no_different(
        self, alice, alice_case, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=True):
            sent_referral(
                alice,
                alice_case,
                consent=give_consent(alice, alice_case, **part2_fields(recipients="Riverside")),
                provider_name="Riverside",
                need_category=NeedCategory.SUBSTANCE_USE,
                shared_items=["name", "substance_use"],
            )
        message = mail.outbox[0]
        text = (message.subject + message.body).lower()
        for word in ("substance", "part 2", "treatment", "riverside"):
            assert word not in text

    def test_delivering_it_again_sends_nothing_more(self, sent):
        assert tasks.deliver.delay(link_email(sent).pk).get() is False
        assert tasks.sweep() == 0
        assert len(mail.outbox) == 1


class TestTheEmailSpeaksTheClientsLanguage:
    def test_a_spanish_speaking_clients_provider_gets_it_in_spanish(
        self, alice, alice_case, django_capture_on_commit_callbacks
    ):
        person = alice_case.client
        person.preferred_language = "Spanish"
        person.save(update_fields=["preferred_language"])
        with django_capture_on_commit_callbacks(execute=True):
            referral = sent_referral(alice, alice_case)

        assert '<html lang="es"' in link_email(referral).html_body

    def test_otherwise_in_the_default_language(self, sent):
        assert '<html lang="en"' in link_email(sent).html_body


class TestARevokedLinkIsNotEmailed:
    def test_revoking_it_withdraws_its_queued_email(self, alice, alice_case):
        referral = sent_referral(alice, alice_case)  # on-commit callbacks not run
        link = referral.links.get()

        services.revoke_provider_link(actor=alice, link=link)

        notification = link_email(referral)
        assert notification.status == DeliveryStatus.CANCELLED
        assert tasks.deliver.delay(notification.pk).get() is False
        assert tasks.sweep() == 0
        assert mail.outbox == []

    def test_why_it_was_withdrawn_reads_in_the_readers_language(self, alice, alice_case):
        referral = sent_referral(alice, alice_case)
        services.revoke_provider_link(actor=alice, link=referral.links.get())

        notification = link_email(referral)
        assert notification.failure_reason == "The link was revoked before it was sent."
        with translation.override("es"):
            assert notification.display_failure_reason == (
                "El enlace fue revocado antes de enviarse."
            )

    def test_a_new_link_replaces_the_one_not_sent_yet(self, alice, alice_case):
        referral = sent_referral(alice, alice_case)
        first = referral.links.get()

        second = services.issue_provider_link(actor=alice, referral=referral)

        assert tasks.sweep() == 1
        assert len(mail.outbox) == 1
        assert second.token() in mail.outbox[0].body
        first.refresh_from_db()
        assert first.notification.status == DeliveryStatus.CANCELLED
        assert first.email_error == ""


class TestAFailedSendIsRetried:
    def test_a_send_while_the_backend_fails_stays_queued_and_the_sweep_sends_it(
        self, alice, alice_case, mail_server, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=True):
            referral = sent_referral(alice, alice_case)

        assert mail_server.refused == 1
        assert mail.outbox == []
        notification = link_email(referral)
        assert notification.status == DeliveryStatus.QUEUED
        assert notification.tries == 1
        assert "Connection unexpectedly closed" in notification.failure_reason
        link = referral.links.get()
        assert link.emailed_at is None
        assert "Connection unexpectedly closed" in link.email_error

        mail_server.up = True
        with time_machine.travel(notification.next_attempt_at + datetime.timedelta(seconds=1)):
            assert tasks.sweep() == 1

        notification.refresh_from_db()
        assert notification.status == DeliveryStatus.SENT
        assert len(mail.outbox) == 1
        message = mail.outbox[0]
        assert message.to == ["intake@mission.example"]
        assert referral.links.get().token() in message.body
        link = referral.links.get()
        assert link.emailed_at is not None and link.email_error == ""

    def test_the_referral_page_shows_what_became_of_the_email(
        self, login, alice, alice_case, mail_server, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=True):
            referral = sent_referral(alice, alice_case)
        web, url = login(alice), reverse("referrals:detail", args=[referral.pk])
        failed = "(email failed: try 1 failed: SMTPServerDisconnected: Connection unexpectedly"
        assert failed in web.get(url).content.decode()

        mail_server.up = True
        with time_machine.travel(link_email(referral).next_attempt_at):
            assert tasks.sweep() == 1

        assert "(email " not in web.get(url).content.decode()

    def test_a_spanish_reader_reads_why_in_spanish(
        self, login, alice, alice_case, mail_server, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=True):
            referral = sent_referral(alice, alice_case)
        alice.language = "es"
        alice.save(update_fields=["language"])

        page = login(alice).get(reverse("referrals:detail", args=[referral.pk]))

        # The server's own words stay as it gave them.
        assert (
            "(falló el correo electrónico: falló el intento 1: SMTPServerDisconnected: "
            "Connection unexpectedly closed)"
        ) in page.content.decode()
        # The API's field stays in English, as the row keeps it.
        assert referral.links.get().email_error.startswith("try 1 failed: ")

    def test_after_its_last_try_the_agency_admins_hear_of_it(
        self, alice, alice_case, dana, mail_server, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=True):
            referral = sent_referral(alice, alice_case)
        notification = link_email(referral)
        with time_machine.travel(timezone.now(), tick=False) as traveller:
            for _ in range(tasks.MAX_TRIES):
                traveller.shift(datetime.timedelta(hours=1))
                tasks.sweep()

        notification.refresh_from_db()
        assert notification.status == DeliveryStatus.FAILED
        assert mail_server.refused == tasks.MAX_TRIES
        alert = Notification.objects.get(kind=Kind.DELIVERY_FAILED, recipient=dana)
        assert alert.subject == "A referral link to a provider was not sent"
        assert f"gave up after {tasks.MAX_TRIES} tries" in referral.links.get().email_error


def site_url_under(**env) -> str:
    """settings.SITE_URL as a fresh process started with `env` (as bin/run starts the
    web server and the Celery worker) sees it."""
    environ = {k: v for k, v in os.environ.items() if k not in ("SITE_URL", "PORT")}
    environ.update(env)
    result = subprocess.run(  # noqa: S603 - our own manage.py with fixed arguments
        [
            sys.executable,
            "manage.py",
            "shell",
            "-c",
            "from django.conf import settings; print(settings.SITE_URL)",
        ],
        cwd=settings.BASE_DIR,
        env={**environ, "DJANGO_SETTINGS_MODULE": "casebook.settings.dev"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


@pytest.mark.integration
class TestTheSiteAddressInLinks:
    def test_it_follows_the_port_make_run_serves(self):
        assert site_url_under(PORT="8001") == "http://localhost:8001"
        assert site_url_under() == "http://localhost:8000"

    def test_site_url_wins_when_set(self):
        assert (
            site_url_under(PORT="8001", SITE_URL="https://casebook.example.org/")
            == "https://casebook.example.org"
        )

    def test_bin_run_hands_its_port_to_the_processes_it_starts(self):
        script = (settings.BASE_DIR / "bin" / "run").read_text()
        assert "export PORT" in script

    def test_the_email_link_uses_it(self, settings, alice, alice_case):
        settings.SITE_URL = "http://localhost:8001"
        referral = sent_referral(alice, alice_case)
        link = services.issue_provider_link(actor=alice, referral=referral)
        tasks.sweep()
        assert f"http://localhost:8001/p/{link.token()}/" in mail.outbox[0].body
