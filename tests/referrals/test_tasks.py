"""The provider-link email: sent once, after commit, naming no client."""

import smtplib
from unittest import mock

import pytest
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
