"""The provider-link email: sent once, after commit, naming no client."""

import os
import smtplib
import subprocess
import sys
from unittest import mock

import pytest
from django.conf import settings
from django.core import mail
from django.utils import timezone

from referrals import services
from referrals.models import NeedCategory, ProviderLink
from referrals.tasks import MAX_RETRIES, send_provider_link_email
from tests.referrals.factories import give_consent, part2_fields, sent_referral

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent(alice, alice_case, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        referral = sent_referral(alice, alice_case)
    return referral


class TestSendProviderLinkEmail:
    def test_it_is_sent_once_after_commit(
        self, alice, alice_case, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            referral = sent_referral(alice, alice_case)
        assert mail.outbox == []  # nothing leaves before the transaction commits
        for callback in callbacks:
            callback()
        assert len(mail.outbox) == 1
        link = referral.links.get()
        assert link.emailed_at is not None
        assert link.email_error == ""

    def test_the_email_names_the_agency_and_the_link_and_no_client(self, sent, alice_case):
        message = mail.outbox[0]
        link = sent.links.get()
        assert message.to == ["intake@mission.example"]
        assert message.subject == "A referral from Agency A is waiting for you"
        assert f"http://localhost:8000/p/{link.token()}/" in message.body
        html = message.alternatives[0][0]
        everything = message.subject + message.body + html
        client = alice_case.client
        for secret in (client.legal_name, "Alice", client.phone, "1990", sent.reason, "Housing"):
            assert secret not in everything
        assert "PST" in message.body or "PDT" in message.body  # the agency's time zone

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

    def test_running_it_again_sends_nothing_more(self, sent):
        assert send_provider_link_email.delay(sent.links.get().pk).get() is False
        assert len(mail.outbox) == 1

    def test_a_revoked_or_expired_link_is_not_emailed(self, alice, alice_case):
        referral = sent_referral(alice, alice_case)  # on-commit callbacks not run
        link = referral.links.get()
        services.revoke_provider_link(actor=alice, link=link)
        assert send_provider_link_email.delay(link.pk).get() is False
        other = services.issue_provider_link(actor=alice, referral=referral)
        ProviderLink.objects.filter(pk=other.pk).update(expires_at=timezone.now())
        assert send_provider_link_email.delay(other.pk).get() is False
        assert mail.outbox == []

    def test_an_unknown_link_is_ignored(self, db):
        assert send_provider_link_email.delay(10**9).get() is False

    def test_a_failure_is_recorded_and_retried(self, alice, alice_case):
        link = sent_referral(alice, alice_case).links.get()
        error = smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
        with mock.patch("django.core.mail.EmailMultiAlternatives.send", side_effect=error) as send:
            result = send_provider_link_email.apply(args=[link.pk])
        assert send.call_count == 1 + MAX_RETRIES
        assert result.failed()
        link.refresh_from_db()
        assert link.emailed_at is None
        assert "Connection unexpectedly closed" in link.email_error

    def test_a_retry_that_succeeds_clears_the_error(self, alice, alice_case):
        link = sent_referral(alice, alice_case).links.get()
        error = smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
        real_send = mail.EmailMultiAlternatives.send
        calls = []

        def flaky(message, *args, **kwargs):
            calls.append(1)
            if len(calls) == 1:
                raise error
            return real_send(message, *args, **kwargs)

        with mock.patch("django.core.mail.EmailMultiAlternatives.send", flaky):
            send_provider_link_email.apply(args=[link.pk])
        link.refresh_from_db()
        assert link.emailed_at is not None
        assert link.email_error == ""
        assert len(mail.outbox) == 1


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
        mail.outbox.clear()
        link = services.issue_provider_link(actor=alice, referral=referral)
        send_provider_link_email(link.pk)
        assert f"http://localhost:8001/p/{link.token()}/" in mail.outbox[0].body
