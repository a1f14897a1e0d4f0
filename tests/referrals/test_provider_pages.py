"""The receiving provider's link: no account; it shows only what the consent allows, lets
the provider close the loop, and reveals nothing once it is unusable."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from audit.models import Action, AuditEvent
from cases import services as case_services
from cases.models import Concern
from directory.models import NeedCategory
from referrals import services
from referrals.models import (
    EventVia,
    Outcome,
    ProviderLink,
    Referral,
    ShareItem,
    Status,
)
from tests.referrals.factories import give_consent, move_to, part2_fields, sent_referral

pytestmark = pytest.mark.django_db

# What must never show on a page for an unusable link.
SECRETS = ("Alice Client", "Eugene Mission", "Agency A", "541-555-0100", "Needs a safe place")


def link_url(link_or_token):
    token = link_or_token if isinstance(link_or_token, str) else link_or_token.token()
    return reverse("provider:link", args=[token])


@pytest.fixture
def referral(alice, alice_case):
    """Sent under a consent to share the name and the reason only."""
    alice.first_name, alice.last_name = "Alice", "Walker"
    alice.save()
    consent = give_consent(alice, alice_case, scope=[ShareItem.NAME, ShareItem.REASON])
    return sent_referral(
        alice,
        alice_case,
        consent=consent,
        shared_items=[ShareItem.NAME, ShareItem.REASON],
        urgency="urgent",
    )


@pytest.fixture
def link(referral):
    return referral.links.get()


def link_uses(link, what=None):
    rows = AuditEvent.objects.filter(action=Action.PROVIDER_LINK, detail__link=str(link.public_id))
    return rows.filter(detail__what=what) if what else rows


def refused_rows():
    return AuditEvent.objects.filter(action=Action.DENIED, object_type="providerlink")


class TestAUsableLink:
    def test_it_shows_only_what_the_consent_allows(self, client, link):
        response = client.get(link_url(link))

        assert response.status_code == 200
        page = response.content.decode()
        assert "Alice Client" in page
        assert "Needs a safe place to stay tonight." in page
        assert "Urgent" in page
        assert "Referral from Agency A" in page and "sent by Alice" in page
        # Not shared: the phone, the date of birth, the risk, the concerns, the surname
        # of the worker.
        for absent in ("541-555-0100", "12 Apr 1990", "1990", "Walker", "client-risk"):
            assert absent not in page
        assert "42 CFR" not in page

    def test_it_keeps_out_of_caches_search_engines_and_referrers(self, client, link):
        response = client.get(link_url(link))
        assert response["Cache-Control"] == "no-store"
        assert "noindex" in response["X-Robots-Tag"]
        assert response["Referrer-Policy"] == "same-origin"

    def test_each_view_is_audited_without_the_token(self, client, link):
        client.get(link_url(link))
        event = link_uses(link, "view").get()
        assert event.actor is None
        assert event.client_id == link.referral.client_id
        assert link.token() not in event.path and link.token() not in str(event.detail)
        link.refresh_from_db()
        assert link.use_count == 1

    def test_only_the_actions_valid_now_are_offered(self, client, link, referral):
        page = client.get(link_url(link)).content.decode()
        assert 'data-to-status="accepted"' in page and 'data-to-status="rejected"' in page
        assert 'data-to-status="completed"' not in page
        move_to(referral, Status.ACCEPTED)
        page = client.get(link_url(link)).content.decode()
        assert 'data-to-status="accepted"' not in page
        assert 'data-to-status="completed"' in page and 'data-to-status="failed"' in page

    def test_a_part2_referral_carries_the_redisclosure_notice(self, client, alice, alice_case):
        consent = services.record_consent(
            actor=alice, client=alice_case.client, case=alice_case, **part2_fields()
        )
        concern = Concern.objects.get(code="substance-use")
        case_services.set_case_concerns(actor=alice, case=alice_case, concerns=[concern])
        referral = sent_referral(
            alice,
            alice_case,
            consent=consent,
            provider_name="Riverside Recovery Center",
            need_category=NeedCategory.SUBSTANCE_USE,
            shared_items=[ShareItem.NAME, ShareItem.SUBSTANCE_USE],
        )
        page = client.get(link_url(referral.links.get())).content.decode()
        assert 'id="part2-notice"' in page
        assert "42 CFR part 2" in page
        assert 'id="client-substance-use"' in page


class TestClosingTheLoop:
    def test_accept_then_appointment_then_seen(self, client, link, referral):
        url = link_url(link)
        response = client.post(url, {"action": "accepted", "to_status": "accepted"})
        assert response.status_code == 302 and response.url == f"{url}?done=accepted"
        assert "Recorded: accepted" in client.get(response.url).content.decode()

        response = client.post(
            url, {"action": "appointment", "appointment_at": "2030-01-15T09:00", "note": "Room 2"}
        )
        assert response.status_code == 302

        today = referral.agency.today().isoformat()
        response = client.post(
            url,
            {
                "action": "completed",
                "to_status": "completed",
                "service_date": today,
                # Seen before the appointment booked in 2030: the provider confirms it.
                "seen_early_confirmed": "on",
            },
        )
        assert response.status_code == 302
        referral.refresh_from_db()
        assert referral.status == Status.COMPLETED
        assert referral.outcome == Outcome.GOT_HELP and referral.loop_closed
        assert referral.appointment_at is not None
        events = list(referral.events.filter(via=EventVia.PROVIDER_LINK))
        assert len(events) == 3 and all(event.actor is None for event in events)
        assert {"status:accepted", "appointment", "status:completed"} <= set(
            link_uses(link).values_list("detail__what", flat=True)
        )

    def test_seen_before_the_booked_appointment_asks_for_confirmation(self, client, link, referral):
        url = link_url(link)
        move_to(referral, Status.ACCEPTED)
        agency = referral.agency
        booked = agency.today() + datetime.timedelta(days=5)
        client.post(url, {"action": "appointment", "appointment_at": f"{booked}T09:00"})
        body = {
            "action": "completed",
            "to_status": "completed",
            "service_date": agency.today().isoformat(),
        }
        response = client.post(url, body)
        assert response.status_code == 200
        page = response.content.decode()
        assert f"The appointment is booked for {agency.describe_day(booked)}" in page
        assert 'name="seen_early_confirmed"' in page
        referral.refresh_from_db()
        assert referral.status == Status.ACCEPTED
        assert link_uses(link, "refused:completed").exists()

        response = client.post(url, {**body, "seen_early_confirmed": "on"})
        assert response.status_code == 302
        referral.refresh_from_db()
        assert referral.status == Status.COMPLETED

    def test_reject_with_a_reason(self, client, link, referral):
        url = link_url(link)
        response = client.post(url, {"action": "rejected", "to_status": "rejected"})
        assert response.status_code == 200
        assert "This field is required" in response.content.decode()
        response = client.post(
            url, {"action": "rejected", "to_status": "rejected", "outcome": "no_capacity"}
        )
        assert response.status_code == 302
        referral.refresh_from_db()
        assert (referral.status, referral.outcome) == (Status.REJECTED, Outcome.NO_CAPACITY)

    def test_not_seen(self, client, link, referral):
        move_to(referral, Status.ACCEPTED)
        response = client.post(
            link_url(link),
            {"action": "failed", "to_status": "failed", "outcome": "did_not_attend"},
        )
        assert response.status_code == 302
        referral.refresh_from_db()
        assert (referral.status, referral.outcome) == (Status.FAILED, Outcome.DID_NOT_ATTEND)

    def test_an_action_no_longer_valid_is_refused_with_a_message(self, client, link, referral):
        move_to(referral, Status.ACCEPTED)
        response = client.post(link_url(link), {"action": "accepted", "to_status": "accepted"})
        assert response.status_code == 200
        assert "already accepted" in response.content.decode()
        assert link_uses(link, "refused:accepted").exists()

    def test_the_provider_may_not_act_as_the_requester(self, client, link, referral):
        response = client.post(
            link_url(link), {"action": "entered-in-error", "to_status": "entered-in-error"}
        )
        assert response.status_code == 200
        referral.refresh_from_db()
        assert referral.status == Status.REQUESTED

    @pytest.mark.parametrize("when", ["9999-12-31T23:59", "0001-01-01T00:00", "2099-01-01T09:00"])
    def test_an_appointment_far_off_is_a_form_error(self, client, login, alice, link, when):
        # Stored, year 9999 in Los Angeles overflowed in UTC: every page showing the
        # referral (the provider's, the worker's, the case's, the list) answered 500.
        url = link_url(link)
        response = client.post(url, {"action": "appointment", "appointment_at": when})
        assert response.status_code == 200
        assert "Check the date" in response.content.decode() or "before the referral" in (
            response.content.decode()
        )
        referral = link.referral
        referral.refresh_from_db()
        assert referral.appointment_at is None
        assert client.get(url).status_code == 200
        worker = login(alice)
        for page in [f"/referrals/{referral.pk}/", f"/cases/{referral.case_id}/", "/referrals/"]:
            assert worker.get(page).status_code == 200

    def test_garbage_forms_never_break_it(self, client, link, referral):
        url = link_url(link)
        for value in ["\x00", "x" * 100_000, "-1", "2026-13-45T99:99", "<script>", ""]:
            body = {
                "action": value,
                "to_status": value,
                "outcome": value,
                "service_date": value,
                "appointment_at": value,
                "note": value,
            }
            assert client.post(url, body).status_code in (200, 400)
            body["action"] = "appointment"
            assert client.post(url, body).status_code == 200
            body["action"] = body["to_status"] = "rejected"
            assert client.post(url, body).status_code == 200
        referral.refresh_from_db()
        assert referral.status == Status.REQUESTED

    def test_forms_are_csrf_protected(self, link, referral):
        from django.test import Client

        response = Client(enforce_csrf_checks=True).post(
            link_url(link), {"action": "accepted", "to_status": "accepted"}
        )
        assert response.status_code == 403
        referral.refresh_from_db()
        assert referral.status == Status.REQUESTED


class TestAnUnusableLink:
    def assert_reveals_nothing(self, response):
        assert response.status_code == 404
        page = response.content.decode()
        assert "This link is no longer available" in page
        for secret in SECRETS:
            assert secret not in page
        assert response["Cache-Control"] == "no-store"

    def test_expired(self, client, link):
        ProviderLink.objects.filter(pk=link.pk).update(
            expires_at=timezone.now() - datetime.timedelta(minutes=1)
        )
        self.assert_reveals_nothing(client.get(link_url(link)))
        row = refused_rows().get()
        assert row.object_id == str(link.public_id)
        assert row.agency_id == link.referral.agency_id
        assert link.token() not in row.path

    def test_revoked(self, client, alice, link):
        services.revoke_provider_link(actor=alice, link=link)
        self.assert_reveals_nothing(client.get(link_url(link)))
        self.assert_reveals_nothing(
            client.post(link_url(link), {"action": "accepted", "to_status": "accepted"})
        )
        assert refused_rows().count() == 2
        assert link.referral.status == Status.REQUESTED

    def test_consent_revoked(self, client, alice, link, referral):
        services.revoke_consent(actor=alice, consent=referral.consent)
        self.assert_reveals_nothing(client.get(link_url(link)))
        assert refused_rows().filter(object_id=str(link.public_id)).exists()

    def test_consent_expired(self, client, link, referral):
        type(referral.consent).objects.filter(pk=referral.consent_id).update(
            expires_on=referral.agency.today() - datetime.timedelta(days=1)
        )
        self.assert_reveals_nothing(client.get(link_url(link)))

    def test_consent_expiry_is_the_end_of_the_day_where_the_agency_works(
        self, client, link, referral, time_machine
    ):
        # Agency A works in Los Angeles: 02:00 UTC on 28 November is still the 27th there,
        # the last day of a consent expiring on the 27th; 09:00 UTC (01:00 there) is not.
        type(referral.consent).objects.filter(pk=referral.consent_id).update(
            expires_on=datetime.date(2026, 11, 27)
        )
        ProviderLink.objects.filter(pk=link.pk).update(
            expires_at=datetime.datetime(2027, 1, 1, tzinfo=datetime.UTC)
        )
        time_machine.move_to(datetime.datetime(2026, 11, 28, 2, 0, tzinfo=datetime.UTC))
        assert client.get(link_url(link)).status_code == 200
        time_machine.move_to(datetime.datetime(2026, 11, 28, 9, 0, tzinfo=datetime.UTC))
        self.assert_reveals_nothing(client.get(link_url(link)))

    def test_entered_in_error(self, client, alice, link, referral):
        move_to(referral, Status.ENTERED_IN_ERROR, actor=alice)
        self.assert_reveals_nothing(client.get(link_url(link)))

    @pytest.mark.parametrize(
        "token",
        [
            "garbage",
            "00000000-0000-0000-0000-000000000000.deadbeef",
            "not-a-uuid.x",
            "%00",
            "x" * 3000,
            "a/b/c",
            "00000000-0000-0000-0000-000000000000.é",
        ],
    )
    def test_garbage_tokens(self, client, link, token):
        url = f"/p/{token}/"
        self.assert_reveals_nothing(client.get(url))
        self.assert_reveals_nothing(client.post(url, {"action": "accepted"}))
        row = refused_rows().first()
        assert row.object_id == "" and row.agency_id is None

    @pytest.mark.parametrize("signature", ["é", "é" * 40, "ü" + "0" * 39])
    def test_a_non_ascii_signature_on_a_real_id(self, client, link, signature):
        # hmac.compare_digest raises on a non-ASCII str: it used to answer 500.
        self.assert_reveals_nothing(client.get(link_url(f"{link.public_id}.{signature}")))
        row = refused_rows().get()
        assert row.object_id == "" and row.agency_id is None

    def test_a_forged_signature_on_a_real_id(self, client, link):
        forged = f"{link.public_id}.{'0' * 40}"
        self.assert_reveals_nothing(client.get(link_url(forged)))
        assert Referral.objects.get().status == Status.REQUESTED


class TestRateLimit:
    """Requests to provider links are counted per client address."""

    @pytest.fixture(autouse=True)
    def five_a_minute(self, settings):
        settings.PROVIDER_LINK_RATE = "5/m"

    def test_guessing_tokens_is_stopped_with_429_and_one_audit_row_per_window(self, client):
        for guess in range(5):
            assert client.get(link_url(f"guess-{guess}")).status_code == 404
        assert refused_rows().count() == 5

        for guess in range(5, 12):
            response = client.get(link_url(f"guess-{guess}"))
            assert response.status_code == 429
            assert "Too many requests" in response.content.decode()
            assert int(response["Retry-After"]) > 0
            assert response["Cache-Control"] == "no-store"

        limited = refused_rows().filter(detail__reason="rate limit")
        assert limited.count() == 1
        assert "guess" not in limited.get().path
        assert refused_rows().count() == 6

    def test_a_valid_link_is_limited_too_and_shows_nothing(self, client, link):
        for _ in range(5):
            assert client.get(link_url(link)).status_code == 200
        response = client.get(link_url(link))
        assert response.status_code == 429
        page = response.content.decode()
        assert not [secret for secret in SECRETS if secret in page]
        response = client.post(link_url(link), {"action": "accepted"})
        assert response.status_code == 429
        assert link_uses(link).count() == 5

    def test_with_the_cache_down_the_link_still_opens(self, client, link, cache_down):
        # The count is a speed bump for guessers: a Redis outage must not close the page.
        for _ in range(7):
            assert client.get(link_url(link)).status_code == 200

    def test_another_address_is_still_served(self, client, link):
        for _ in range(6):
            client.get(link_url("guess"))
        assert client.get(link_url(link), REMOTE_ADDR="203.0.113.9").status_code == 200


class TestAnEmptyPost:
    def test_it_changes_nothing_and_is_audited_but_not_counted_as_a_use(self, client, link):
        response = client.post(link_url(link), {})

        assert response.status_code == 400
        assert "That action is not available." in response.content.decode()
        link.refresh_from_db()
        assert (link.use_count, link.last_used_at) == (0, None)
        assert link.referral.status == Status.REQUESTED
        assert link_uses(link, "unknown action").count() == 1


class TestTheClientsLanguage:
    """The provider's page speaks the language of the client the referral is about."""

    def test_a_spanish_speaking_clients_referral_is_shown_in_spanish(self, client, link):
        person = link.referral.client
        person.preferred_language = "Spanish"
        person.save(update_fields=["preferred_language"])

        response = client.get(link_url(link))

        assert response.status_code == 200
        assert '<html lang="es"' in response.content.decode()
        assert response["Content-Language"] == "es"

    def test_a_client_without_a_language_the_product_speaks_gets_the_default(self, client, link):
        person = link.referral.client
        person.preferred_language = "Tigrinya"
        person.save(update_fields=["preferred_language"])

        page = client.get(link_url(link), HTTP_ACCEPT_LANGUAGE="es").content.decode()

        assert '<html lang="en"' in page

    def test_what_the_provider_records_is_stored_in_english(self, client, link):
        person = link.referral.client
        person.preferred_language = "español"
        person.save(update_fields=["preferred_language"])

        client.post(link_url(link), {"action": "accepted", "to_status": "accepted"})

        referral = Referral.objects.get(pk=link.referral_id)
        assert referral.status == Status.ACCEPTED
        event = referral.case.events.filter(detail__to=Status.ACCEPTED).get()
        assert event.summary == (
            f"Referral to {referral.provider_name}: Sent → Accepted, by the provider through "
            "its link"
        )
        assert event.detail["i18n"]["a"]["to"] == {"t": "Accepted"}
