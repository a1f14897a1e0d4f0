"""The client's link to their safety plan: sent by text or email in words that name
nothing clinical, it opens the plan's current version and nothing else of the record,
every opening is audited without the token, and an unusable link reveals nothing."""

import datetime
import logging
import re

import pytest
from django.contrib.messages import get_messages
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from audit.models import Action, AuditEvent
from casebook.gunicorn_logging import loggable_path
from cases import services as case_services
from cases.models import CaseEvent
from notifications.models import Channel, DeliveryStatus, Kind, Notification
from plans import services
from plans.exceptions import LinkUnusable, NotPermitted, PlanInvalid
from plans.models import LinkChannel, SafetyPlan, SafetyPlanLink
from plans.views.links import links_context
from tests.conftest import HIGH_RISK
from tests.plans.factories import make_safety_plan

pytestmark = pytest.mark.django_db

# 03:00 UTC on Sunday 6 December 2026 is Saturday 5 December, 19:00, in Los Angeles (Agency
# A): the link sent then works until Monday 4 January 2027 there (Tuesday 5 in UTC).
EVENING = datetime.datetime(2026, 12, 6, 3, 0, tzinfo=datetime.UTC)

# Never in the message carrying the link, in either language: a text may be read by
# anyone holding the phone (tests/notifications/test_client_reminders.py's rule).
FORBIDDEN = [
    # English
    "safety", "plan", "crisis", "suicid", "mental", "health", "substance", "hospital",
    "psychiatr", "therap", "emergency", "988", "lifeline", "risk", "caring", "follow-up",
    "agency",
    # Spanish
    "seguridad", "crisis", "suicid", "salud", "sustancia", "psiqui", "terap", "emergencia",
    "riesgo", "agencia",
]  # fmt: skip


def assert_nothing_clinical(text: str, *, more=()):
    # The URL is random hex: "988" may turn up in it by chance. Look at the words only.
    words = re.sub(r"https?://\S+", "URL", text).lower()
    for word in [*FORBIDDEN, *(m.lower() for m in more)]:
        assert word not in words, f"{word!r} in the link's message: {text!r}"


@pytest.fixture
def plan(alice, alice_case):
    make_safety_plan(alice, alice_case)
    return SafetyPlan.objects.get(client=alice_case.client)


def issue(actor, plan, channel=LinkChannel.TEXT, **kwargs):
    return services.issue_safety_plan_link(actor=actor, plan=plan, channel=channel, **kwargs)


@pytest.fixture
def link(alice, plan):
    return issue(alice, plan)


def page_url(link_or_token):
    token = link_or_token if isinstance(link_or_token, str) else link_or_token.token()
    return reverse("plan_link:link", args=[token])


def openings(link):
    return AuditEvent.objects.filter(action=Action.VIEW, detail__link=str(link.public_id))


def refused_rows():
    return AuditEvent.objects.filter(action=Action.DENIED, object_type="safetyplanlink")


class TestIssueSafetyPlanLink:
    def test_a_text_goes_to_the_clients_phone_queued_until_commit(
        self, alice, plan, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            link = issue(alice, plan)
        assert callbacks  # handed to a worker only after commit
        notification = Notification.objects.get(pk=link.notification_id)
        assert (notification.kind, notification.channel) == (Kind.SAFETY_PLAN_LINK, Channel.TEXT)
        assert notification.status == DeliveryStatus.QUEUED
        assert notification.address == link.sent_to == "541-555-0100"
        assert notification.client_id == plan.client_id and notification.recipient_id is None
        assert notification.dedupe_key == f"safety_plan_link:{link.public_id}"
        assert link.token() in notification.body
        assert link.is_usable()
        assert link.expires_at == link.created_at + datetime.timedelta(days=30)

    def test_the_text_names_nothing_clinical_and_says_until_when(self, alice, plan, time_machine):
        time_machine.move_to(EVENING)
        link = issue(alice, plan)
        body = Notification.objects.get(pk=link.notification_id).body
        assert body.startswith("Here is the link you asked for: http")
        assert "Mon 4 Jan 2027" in body  # the agency's day, not UTC's (Tue 5)
        assert_nothing_clinical(body, more=["Alice", "Agency A", "Walk the dog"])

    def test_in_spanish_for_a_client_who_speaks_it(self, alice, plan, time_machine):
        time_machine.move_to(EVENING)
        plan.client.preferred_language = "Español"
        plan.client.email = "jordan@example.com"
        plan.client.save()
        text = Notification.objects.get(pk=issue(alice, plan).notification_id)
        assert text.body.startswith("Aquí tiene el enlace que pidió: http")
        assert "lun 4 ene 2027" in text.body
        email = Notification.objects.get(
            pk=issue(alice, plan, channel=LinkChannel.EMAIL).notification_id
        )
        assert email.subject == "El enlace que pidió"
        for words in (text.body, email.subject, email.body, email.html_body):
            assert_nothing_clinical(words, more=["Alice", "Agency A"])

    def test_an_email_to_the_clients_address_names_nothing_clinical(self, alice, plan):
        plan.client.email = "jordan@example.com"
        plan.client.save()
        link = issue(alice, plan, channel=LinkChannel.EMAIL)
        email = Notification.objects.get(pk=link.notification_id)
        assert (email.channel, email.address) == (Channel.EMAIL, "jordan@example.com")
        assert email.subject == "The link you asked for"
        assert link.token() in email.body and link.token() in email.html_body
        for words in (email.subject, email.body, email.html_body):
            assert_nothing_clinical(words, more=["Alice", "Agency A"])

    def test_another_address_may_be_given(self, alice, plan):
        link = issue(alice, plan, address=" (541) 555-0177 ")
        assert link.sent_to == "(541) 555-0177"
        link = issue(alice, plan, channel=LinkChannel.EMAIL, address="sister@example.com")
        assert link.sent_to == "sister@example.com"

    @pytest.mark.parametrize(
        ("channel", "address"),
        [
            (LinkChannel.TEXT, "555-01"),
            (LinkChannel.TEXT, "call me maybe"),
            (LinkChannel.EMAIL, "not-an-address"),
            (LinkChannel.EMAIL, None),  # none on record
        ],
    )
    def test_a_missing_or_invalid_address_is_refused(self, alice, plan, channel, address):
        with pytest.raises(PlanInvalid) as refused:
            issue(alice, plan, channel=channel, address=address)
        assert refused.value.field == "address"
        assert not SafetyPlanLink.objects.exists()

    def test_no_phone_on_record_and_none_given(self, alice, plan):
        plan.client.phone = ""
        plan.client.save()
        with pytest.raises(PlanInvalid) as refused:
            issue(alice, plan)
        assert refused.value.field == "address"

    def test_an_unknown_channel_is_refused(self, alice, plan):
        with pytest.raises(PlanInvalid) as refused:
            issue(alice, plan, channel="pigeon")
        assert refused.value.field == "channel"

    def test_a_plan_without_a_version_is_refused(self, alice, plan):
        SafetyPlan.objects.filter(pk=plan.pk).update(current=None)
        with pytest.raises(PlanInvalid):
            issue(alice, plan)

    @pytest.mark.parametrize("persona", ["erin", "carol", "dana"])
    def test_only_the_workers_on_the_case_send_it(self, request, plan, persona):
        with pytest.raises(NotPermitted):
            issue(request.getfixturevalue(persona), plan)

    def test_a_teammate_may_send_it(self, bob, plan):
        assert issue(bob, plan).created_by == bob

    def test_a_new_link_to_the_same_address_revokes_the_earlier_one(self, alice, plan):
        first = issue(alice, plan)
        by_email = issue(alice, plan, channel=LinkChannel.EMAIL, address="j@example.com")
        elsewhere = issue(alice, plan, address="541-555-0177")
        second = issue(alice, plan, address="(541) 555 0100")  # the same number
        first.refresh_from_db()
        assert first.revoked_at is not None and first.revoked_by == alice
        assert Notification.objects.get(pk=first.notification_id).status == (
            DeliveryStatus.CANCELLED
        )
        assert set(plan.links.usable()) == {by_email, elsewhere, second}

    def test_the_timeline_and_the_trail_say_so_without_the_address(self, alice, plan):
        link = issue(alice, plan)
        entry = CaseEvent.objects.filter(case=plan.case, detail__link=str(link.public_id)).get()
        assert entry.summary == "Safety plan link sent by text message"
        row = AuditEvent.objects.get(action=Action.CREATE, object_type="safetyplanlink")
        assert (row.actor, row.client_id, row.object_id) == (alice, plan.client_id, str(link.pk))
        assert "541-555-0100" not in str(row.detail) + str(entry.detail)
        assert link.token() not in str(row.detail)


class TestRevokeSafetyPlanLink:
    def test_it_cancels_the_queued_message(self, alice, plan, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=False):
            link = issue(alice, plan)
        services.revoke_safety_plan_link(actor=alice, link=link)
        link.refresh_from_db()
        assert link.revoked_at is not None and not link.is_usable()
        notification = Notification.objects.get(pk=link.notification_id)
        assert notification.status == DeliveryStatus.CANCELLED
        assert CaseEvent.objects.filter(
            case=plan.case, summary="Safety plan link revoked", actor=alice
        ).exists()
        assert AuditEvent.objects.filter(
            action=Action.UPDATE, object_type="safetyplanlink", object_id=str(link.pk)
        ).exists()

    def test_a_sent_message_stays_sent(self, alice, link):
        Notification.objects.filter(pk=link.notification_id).update(status=DeliveryStatus.SENT)
        services.revoke_safety_plan_link(actor=alice, link=link)
        assert Notification.objects.get(pk=link.notification_id).status == DeliveryStatus.SENT

    def test_twice_is_refused(self, alice, link):
        services.revoke_safety_plan_link(actor=alice, link=link)
        with pytest.raises(LinkUnusable):
            services.revoke_safety_plan_link(actor=alice, link=link)

    @pytest.mark.parametrize("persona", ["erin", "carol", "dana"])
    def test_only_the_workers_on_the_case_revoke_it(self, request, link, persona):
        with pytest.raises(NotPermitted):
            services.revoke_safety_plan_link(actor=request.getfixturevalue(persona), link=link)
        link.refresh_from_db()
        assert link.revoked_at is None


class TestResolveSafetyPlanLink:
    def test_a_usable_token(self, link):
        assert services.resolve_safety_plan_link(link.token()) == link

    @pytest.mark.parametrize(
        "token", ["", "garbage", "00000000-0000-0000-0000-000000000000.deadbeef", "a.b.c"]
    )
    def test_malformed_or_unknown(self, link, token):
        assert services.resolve_safety_plan_link(token) is None

    def test_expired_revoked_or_without_a_version(self, alice, link, plan, time_machine):
        time_machine.move_to(link.expires_at + datetime.timedelta(seconds=1))
        assert services.resolve_safety_plan_link(link.token()) is None
        time_machine.move_to(link.created_at + datetime.timedelta(days=1))
        assert services.resolve_safety_plan_link(link.token()) == link
        SafetyPlan.objects.filter(pk=plan.pk).update(current=None)
        assert services.resolve_safety_plan_link(link.token()) is None


class TestTheClientsPage:
    def test_it_shows_the_plan_and_nothing_else_of_the_record(
        self, client, alice, alice_case, plan, link, record_contact_for
    ):
        case_services.add_case_note(actor=alice, case=alice_case, text="Worker note: ex-partner")
        record_contact_for(alice, client=alice_case.client, **HIGH_RISK)
        response = client.get(page_url(link))
        assert response.status_code == 200
        page = response.content.decode()
        for shown in ("Not sleeping", "Walk the dog", "My sister Ana", "Pharmacy keeps the refill"):
            assert shown in page
        assert 'href="tel:988"' in page and 'href="sms:988"' in page
        # The contact's narrative, the name, date of birth and phone, the case number, the
        # risk, the worker's notes and name: none of the record beyond the plan.
        for absent in (
            "Client calm after de-escalation",
            "Alice Client",
            "1990",
            "541-555-0100",
            f"/cases/{alice_case.pk}/",
            f"Case {alice_case.pk}",
            "Worker note",
            "risk",
            "High",
            "alice",
            "navbar",
        ):
            assert absent not in page, absent

    def test_it_keeps_out_of_caches_search_engines_and_referrers(self, client, link):
        response = client.get(page_url(link))
        assert response["Cache-Control"] == "no-store"
        assert "noindex" in response["X-Robots-Tag"]
        assert response["Referrer-Policy"] == "same-origin"
        assert "Content-Security-Policy" in response

    def test_it_speaks_the_clients_language_with_a_switch(self, client, plan, link):
        plan.client.preferred_language = "Spanish"
        plan.client.save()
        response = client.get(page_url(link))
        page = response.content.decode()
        assert response["Content-Language"] == "es"
        assert "Mi plan de seguridad" in page and 'href="?lang=en"' in page
        response = client.get(page_url(link), {"lang": "en"})
        assert response["Content-Language"] == "en"
        assert "My safety plan" in response.content.decode()
        # A language the product does not speak is the client's.
        assert client.get(page_url(link), {"lang": "xx"})["Content-Language"] == "es"

    def test_dates_are_the_agencys(self, client, alice, plan, time_machine):
        time_machine.move_to(EVENING)
        link = issue(alice, plan)
        page = client.get(page_url(link)).content.decode()
        assert "This link works until Mon 4 Jan 2027" in page

    def test_every_opening_is_audited_without_the_token(self, client, link):
        client.get(page_url(link))
        client.get(page_url(link), {"lang": "es"})
        rows = openings(link)
        assert rows.count() == 2
        for row in rows:
            assert row.actor is None and row.object_type == "safetyplan"
            assert row.client_id == link.plan.client_id
            assert row.agency_id == link.plan.agency_id
            assert row.path == f"/s/{link.public_id}.***/"
            assert link.token() not in row.path + str(row.detail)
            assert link.signature(link.public_id) not in row.path + str(row.detail)
        link.refresh_from_db()
        assert link.use_count == 2 and link.last_used_at is not None

    def test_a_fixed_number_of_queries(self, client, link, django_assert_max_num_queries):
        with django_assert_max_num_queries(6):
            assert client.get(page_url(link)).status_code == 200

    def test_only_get(self, client, link):
        assert client.post(page_url(link)).status_code == 405


class TestAnUnusableLink:
    def assert_reveals_nothing(self, response):
        assert response.status_code == 404
        page = response.content.decode()
        assert "This link is no longer available" in page
        for secret in ("Not sleeping", "Alice Client", "Agency A", "988", "541-555"):
            assert secret not in page
        assert response["Cache-Control"] == "no-store"
        assert response["Referrer-Policy"] == "same-origin"

    def test_revoked(self, client, alice, link):
        services.revoke_safety_plan_link(actor=alice, link=link)
        self.assert_reveals_nothing(client.get(page_url(link)))
        row = refused_rows().get()
        assert row.object_id == str(link.public_id)
        assert row.agency_id == link.plan.agency_id
        assert row.path == f"/s/{link.public_id}.***/"
        assert not openings(link).exists()

    def test_expired(self, client, link, time_machine):
        time_machine.move_to(link.expires_at + datetime.timedelta(minutes=1))
        self.assert_reveals_nothing(client.get(page_url(link)))
        assert refused_rows().filter(object_id=str(link.public_id)).exists()

    @pytest.mark.parametrize(
        "token",
        [
            "garbage",
            "00000000-0000-0000-0000-000000000000.deadbeef",
            "%00",
            "x" * 3000,
            "a/b/c",
            "00000000-0000-0000-0000-000000000000.é",
        ],
    )
    def test_malformed(self, client, link, token):
        self.assert_reveals_nothing(client.get(f"/s/{token}/"))
        row = refused_rows().get()
        assert row.object_id == "" and row.agency_id is None
        assert row.path == "/s/***/"

    def test_a_forged_signature_on_a_real_id(self, client, link):
        self.assert_reveals_nothing(client.get(page_url(f"{link.public_id}.{'0' * 40}")))
        assert refused_rows().get().object_id == ""


class TestRateLimit:
    @pytest.fixture(autouse=True)
    def five_a_minute(self, settings):
        settings.SAFETY_PLAN_LINK_RATE = "5/m"

    def test_guessing_is_stopped_with_429_and_one_audit_row_per_window(self, client):
        for guess in range(5):
            assert client.get(page_url(f"guess-{guess}")).status_code == 404
        for guess in range(5, 9):
            response = client.get(page_url(f"guess-{guess}"))
            assert response.status_code == 429
            assert "Too many requests" in response.content.decode()
            assert int(response["Retry-After"]) > 0
            assert response["Cache-Control"] == "no-store"
        limited = refused_rows().filter(detail__reason="rate limit")
        assert limited.count() == 1
        assert "guess" not in limited.get().path
        assert refused_rows().count() == 6

    def test_a_usable_link_is_limited_too_and_shows_nothing(self, client, link, caplog):
        for _ in range(5):
            assert client.get(page_url(link)).status_code == 200
        with caplog.at_level(logging.WARNING, logger="django.request"):
            response = client.get(page_url(link))
        assert response.status_code == 429
        assert "Not sleeping" not in response.content.decode()
        assert openings(link).count() == 5
        # The refusal's log line keeps the route, not the token.
        assert caplog.records
        assert link.token() not in caplog.text
        assert f"/s/{link.public_id}.***/" in caplog.text


class TestTheAccessLog:
    def test_a_plan_links_token_is_cut_to_its_public_id(self, link):
        assert loggable_path(page_url(link)) == f"/s/{link.public_id}.***/"
        assert loggable_path(f"{page_url(link)}?lang=es") == f"/s/{link.public_id}.***/"
        assert loggable_path("/s/garbage/") == "/s/***/"
        assert loggable_path("/p/garbage/") == "/p/***/"
        assert loggable_path("/safety/x/") == "/safety/x/"


class TestTheWorkersPages:
    def send_url(self, plan):
        return reverse("plans:safety_plan_link_send", args=[plan.client_id])

    def test_sending_from_the_page(self, login, alice, plan):
        response = login(alice).post(self.send_url(plan), {"channel": "text", "address": ""})
        assert response.status_code == 302
        assert response.url == reverse("plans:safety_plan", args=[plan.client_id])
        link = plan.links.get()
        assert link.sent_to == "541-555-0100"
        [message] = get_messages(response.wsgi_request)
        assert "The link is on its way to ••• ••00" in str(message)

    def test_an_error_is_said_on_the_page(self, login, alice, plan):
        page = login(alice)
        response = page.post(self.send_url(plan), {"channel": "email", "address": ""})
        assert response.status_code == 302
        [message] = get_messages(response.wsgi_request)
        assert "no email address on record" in str(message)
        response = page.post(self.send_url(plan), {"channel": "fax"})
        assert response.status_code == 302
        assert not plan.links.exists()

    def test_revoking_from_the_page(self, login, alice, link):
        url = reverse("plans:safety_plan_link_revoke", args=[link.pk])
        response = login(alice).post(url)
        assert response.status_code == 302
        link.refresh_from_db()
        assert link.revoked_at is not None

    @pytest.mark.parametrize("persona", ["erin", "carol"])
    def test_others_cannot_send_or_revoke(self, request, login, link, plan, persona):
        user = request.getfixturevalue(persona)
        page = login(user)
        assert page.post(self.send_url(plan), {"channel": "text"}).status_code == 404
        revoke = reverse("plans:safety_plan_link_revoke", args=[link.pk])
        assert page.post(revoke).status_code == 404
        assert AuditEvent.objects.filter(actor=user, action=Action.DENIED).count() == 2
        assert plan.links.count() == 1
        link.refresh_from_db()
        assert link.revoked_at is None

    def test_the_agency_admin_sees_but_cannot_send(self, login, dana, link, plan):
        page = login(dana)
        assert page.post(self.send_url(plan), {"channel": "text"}).status_code == 403
        revoke = reverse("plans:safety_plan_link_revoke", args=[link.pk])
        assert page.post(revoke).status_code == 403
        assert plan.links.count() == 1
        denied = AuditEvent.objects.filter(actor=dana, action=Action.DENIED)
        assert denied.filter(object_type="safetyplan", object_id=str(plan.pk)).count() == 2

    def test_a_client_without_a_plan(self, login, alice, alice_case):
        url = reverse("plans:safety_plan_link_send", args=[alice_case.client_id])
        assert login(alice).post(url, {"channel": "text"}).status_code == 404
        assert not SafetyPlanLink.objects.exists()

    def test_only_post(self, login, alice, link, plan):
        page = login(alice)
        assert page.get(self.send_url(plan)).status_code == 405

    def test_the_page_lists_the_links(
        self, alice, bob, plan, time_machine, django_assert_max_num_queries
    ):
        time_machine.move_to(EVENING)
        revoked = issue(alice, plan)
        services.revoke_safety_plan_link(actor=alice, link=revoked)
        issue(bob, plan, channel=LinkChannel.EMAIL, address="jordan@example.com")
        opened = issue(alice, plan)
        SafetyPlanLink.objects.filter(pk=opened.pk).update(use_count=3, last_used_at=EVENING)
        request = RequestFactory().get("/")
        request.user = alice
        plan = SafetyPlan.objects.select_related("client").get(pk=plan.pk)
        with django_assert_max_num_queries(2):
            context = links_context(request, plan)
            assert len(context["plan_links"]) == 3
        # The page's zone is the agency's (accounts.middleware.AgencyTimezoneMiddleware).
        with timezone.override(plan.agency.zone):
            html = render_to_string("plans/_safety_plan_links.html", context, request=request)
        assert len(re.findall(r'id="plan-link-\d+"', html)) == 3
        assert 'id="plan-link-form"' in html
        assert "••• ••00" in html and "j•••@•••" in html
        assert "541-555-0100" not in html and "jordan@example.com" not in html
        assert "opened 3 times" in html and "not opened yet" in html
        assert "Revoked" in html and "Expires Mon 4 Jan 2027" in html
        assert html.count(">Revoke<") == 2
        assert "Message: Queued" in html and "Message: Cancelled" in html

    def test_others_see_the_links_without_the_form(self, dana, link, plan):
        request = RequestFactory().get("/")
        request.user = dana
        context = links_context(request, plan)
        assert context["link_form"] is None
        assert [row.pk for row in context["plan_links"]] == [link.pk]
        assert context["plan_links"][0].revoke_url == ""

    def test_the_form_offers_the_clients_own_masked(self, alice, plan):
        request = RequestFactory().get("/")
        request.user = alice
        form = links_context(request, plan)["link_form"]
        labels = dict(form.fields["channel"].choices)
        assert labels["text"] == "Text message to ••• ••00"
        assert labels["email"] == "Email to (none recorded)"
        assert form.initial["channel"] == "text"


class TestAFailedMessage:
    def test_the_supervisors_of_the_clients_case_are_told_what_failed(self, sam, link):
        from notifications import services as notices
        from notifications.models import Kind, Notification

        message = Notification.objects.get(pk=link.notification_id)
        rows = notices.delivery_failed(message)
        assert [row.recipient for row in rows] == [sam]
        assert rows[0].kind == Kind.DELIVERY_FAILED
        assert rows[0].subject == "A link to the client's safety plan was not sent"
