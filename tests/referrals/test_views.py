"""The worker's referral and consent pages, and the referral sections of the case page."""

import datetime
import re
import zoneinfo

import pytest
from django import forms
from django.urls import reverse
from django.utils import timezone

from audit.models import Action, AuditEvent
from cases.models import Case
from directory.models import NeedCategory
from referrals import services
from referrals.exceptions import (
    ConsentInvalid,
    ConsentRequired,
    InvalidTransition,
    ReferralInvalid,
)
from referrals.models import (
    Consent,
    ConsentMethod,
    Disclosure,
    EventVia,
    Outcome,
    Referral,
    ReferralEvent,
    ShareItem,
    Status,
)
from referrals.views.common import add_referral_error
from tests.cases.factories import CaseFactory, ClientFactory
from tests.directory.factories import (
    LocationFactory,
    OrganizationFactory,
    ServiceAtLocationFactory,
    ServiceFactory,
    tag_service,
)
from tests.referrals.factories import (
    ReferralFactory,
    give_consent,
    make_referral,
    move_to,
    part2_fields,
    sent_days_ago,
    sent_referral,
)

pytestmark = pytest.mark.django_db

LIST_URL = reverse("referrals:list")
NEW_URL = reverse("referrals:new")
LOS_ANGELES = zoneinfo.ZoneInfo("America/Los_Angeles")


def detail_url(referral):
    return reverse("referrals:detail", args=[referral.pk])


def list_names(response):
    return re.findall(r'class="fw-semibold client-name">([^<]+)<', response.content.decode())


def denied_rows(object_type, object_id=None):
    rows = AuditEvent.objects.filter(action=Action.DENIED, object_type=object_type)
    if object_id is not None:
        rows = rows.filter(object_id=str(object_id))
    return rows


@pytest.fixture
def harbor(db):
    """A service of the shared directory, at one location."""
    service = ServiceFactory(
        name="Detox beds",
        organization=OrganizationFactory(name="Harbor Health"),
        email="intake@harbor.example",
    )
    ServiceAtLocationFactory(service=service, location=LocationFactory(name="Harbor clinic"))
    return service


def referral_body(**overrides):
    """The new-referral form as a worker fills it in: an outside provider, a new verbal
    consent, "Send"."""
    body = {
        "provider_name": "Eugene Mission",
        "provider_email": "intake@mission.example",
        "need_category": NeedCategory.HOUSING,
        "urgency": "urgent",
        "reason": "Needs a bed tonight.",
        "shared_items": [ShareItem.NAME, ShareItem.PHONE],
        "consent_choice": "new",
        "consent-method": ConsentMethod.VERBAL,
        "consent-scope": [ShareItem.NAME, ShareItem.PHONE, ShareItem.REASON],
        "consent-recipients": "Eugene Mission",
        "consent-purpose": "Shelter referral",
        "action": "send",
    }
    body.update(overrides)
    return body


def part2_body(**overrides):
    fields = part2_fields()
    body = referral_body(
        provider_name="Riverside Recovery Center",
        provider_email="intake@riverside.example",
        need_category=NeedCategory.SUBSTANCE_USE,
        shared_items=[ShareItem.NAME, ShareItem.SUBSTANCE_USE],
        **{
            "consent-method": fields["method"],
            "consent-scope": fields["scope"],
            "consent-recipients": fields["recipients"],
            "consent-purpose": fields["purpose"],
            "consent-expires_on": fields["expires_on"].isoformat(),
            "consent-discloser": fields["discloser"],
            "consent-information_description": fields["information_description"],
            "consent-right_to_revoke_explained": "on",
            "consent-signed_by": fields["signed_by"],
            "consent-signed_on": fields["signed_on"].isoformat(),
        },
    )
    body.update(overrides)
    return body


class TestReferralList:
    def test_it_lists_my_and_my_teams_referrals(
        self, login, alice, bob, erin, carol, alice_case, bob_case, erin_case, carol_case
    ):
        sent_referral(alice, alice_case)
        make_referral(bob, bob_case)
        make_referral(erin, erin_case)
        make_referral(carol, carol_case)

        response = login(alice).get(LIST_URL)

        assert response.status_code == 200
        assert sorted(list_names(response)) == ["Alice Client", "Bob Client"]
        page = response.content.decode()
        assert "Erin Client" not in page and "Carol Client" not in page

    def test_stale_ones_come_first_with_the_reason(self, login, alice, alice_case, bob_case, bob):
        fresh = sent_referral(alice, alice_case)
        stale = sent_days_ago(bob, bob_case, 10)

        response = login(alice).get(LIST_URL)

        assert list_names(response) == ["Bob Client", "Alice Client"]
        page = response.content.decode()
        row = page[page.index(f'data-referral="{stale.pk}"') :]
        assert "Not accepted after 3 business days" in row[: row.index("</a>")]
        row = page[page.index(f'data-referral="{fresh.pk}"') :]
        assert "Not accepted" not in row[: row.index("</a>")]

    def test_it_filters_by_status(self, login, alice, alice_case, bob, bob_case):
        make_referral(alice, alice_case)
        move_to(sent_referral(bob, bob_case), Status.ACCEPTED)
        client = login(alice)
        assert list_names(client.get(LIST_URL, {"status": "draft"})) == ["Alice Client"]
        assert list_names(client.get(LIST_URL, {"status": "accepted"})) == ["Bob Client"]
        assert list_names(client.get(LIST_URL, {"status": "open"})) == ["Bob Client"]
        assert list_names(client.get(LIST_URL, {"status": "closed"})) == []
        assert len(list_names(client.get(LIST_URL, {"status": "<script>"}))) == 2

    def test_it_is_audited_with_the_ids_shown(self, login, alice, alice_case):
        referral = make_referral(alice, alice_case)
        login(alice).get(LIST_URL)
        event = AuditEvent.objects.get(actor=alice, action=Action.LIST, object_type="referral")
        assert event.detail["ids"] == [referral.pk]
        assert event.detail["client_ids"] == [alice_case.client_id]

    def test_a_supervisor_and_the_agency_admin_read_it(
        self, login, sam, dana, alice, alice_case, erin, erin_case
    ):
        make_referral(alice, alice_case)
        make_referral(erin, erin_case)
        assert list_names(login(sam).get(LIST_URL)) == ["Alice Client"]
        assert sorted(list_names(login(dana).get(LIST_URL))) == ["Alice Client", "Erin Client"]

    def test_the_system_admin_has_none(self, login, root):
        assert login(root).get(LIST_URL).status_code == 403
        assert denied_rows("referral_list").exists()

    def test_queries_do_not_grow_with_the_rows(self, login, alice, django_assert_max_num_queries):
        def add(count):
            for _ in range(count):
                case = CaseFactory(client=ClientFactory(agency=alice.agency), assigned_worker=alice)
                ReferralFactory(case=case, status=Status.REQUESTED, sent_at=timezone.now())

        client = login(alice)
        add(2)
        with django_assert_max_num_queries(11):  # +1: the inbox count; +1: the page's ids
            assert len(list_names(client.get(LIST_URL))) == 2
        add(15)
        with django_assert_max_num_queries(11):  # +1: the inbox count; +1: the page's ids
            assert len(list_names(client.get(LIST_URL))) == 17


class TestNewReferralPage:
    def test_it_is_prefilled_from_the_directory(self, login, alice, alice_case, harbor):
        location = harbor.at_locations.get().location
        response = login(alice).get(
            NEW_URL, {"case": alice_case.pk, "service": harbor.pk, "location": location.pk}
        )
        assert response.status_code == 200
        page = response.content.decode()
        assert "Detox beds" in page and "Harbor Health" in page and "Harbor clinic" in page
        assert f'name="service" value="{harbor.pk}"' in page
        assert f"{reverse('directory:search')}?case={alice_case.pk}" in page

    def test_the_need_comes_from_the_search_or_the_services_only_need(
        self, login, alice, alice_case, harbor
    ):
        client = login(alice)
        url = {"case": alice_case.pk, "service": harbor.pk}
        assert client.get(NEW_URL, url).context["form"]["need_category"].value() is None
        tag_service(harbor, NeedCategory.SUBSTANCE_USE)
        form = client.get(NEW_URL, url).context["form"]
        assert form["need_category"].value() == NeedCategory.SUBSTANCE_USE
        tag_service(harbor, NeedCategory.MEDICAL)
        form = client.get(NEW_URL, {**url, "need": NeedCategory.MEDICAL}).context["form"]
        assert form["need_category"].value() == NeedCategory.MEDICAL

    def test_without_a_service_it_offers_the_directory_and_an_outside_provider(
        self, login, alice, alice_case
    ):
        page = login(alice).get(NEW_URL, {"case": alice_case.pk}).content.decode()
        assert "Find a service" in page
        assert f'href="{reverse("directory:search")}?case={alice_case.pk}"' in page
        assert 'name="provider_name"' in page

    def test_the_inline_consent_does_not_block_choosing_one_on_file(self, login, alice, alice_case):
        page = login(alice).get(NEW_URL, {"case": alice_case.pk}).content.decode()
        new_consent = page[page.index("data-consent-new") :]
        new_consent = new_consent[: new_consent.index("</section>")]
        assert not re.search(r"<(input|select|textarea)[^>]* required", new_consent)
        # An outside provider is named in the recipients, not picked from the directory.
        assert 'name="consent-recipient_organization"' not in page

    def test_it_lists_the_clients_active_consents(self, login, alice, alice_case):
        active = give_consent(alice, alice_case, recipients="Any shelter")
        revoked = give_consent(alice, alice_case, recipients="Old recipients")
        services.revoke_consent(actor=alice, consent=revoked)
        page = login(alice).get(NEW_URL, {"case": alice_case.pk}).content.decode()
        assert f'value="{active.pk}"' in page and "Any shelter" in page
        assert "Old recipients" not in page

    def test_sending_with_a_new_consent(self, login, alice, alice_case):
        response = login(alice).post(f"{NEW_URL}?case={alice_case.pk}", referral_body())

        referral = Referral.objects.get()
        assert response.status_code == 302
        assert response.url == detail_url(referral)
        assert referral.status == Status.REQUESTED
        assert referral.urgency == "urgent"
        consent = Consent.objects.get()
        assert referral.consent == consent
        assert (consent.client, consent.case, consent.obtained_by) == (
            alice_case.client,
            alice_case,
            alice,
        )
        disclosure = Disclosure.objects.get()
        assert disclosure.items == [ShareItem.NAME, ShareItem.PHONE]
        assert referral.links.get().sent_to == "intake@mission.example"

    def test_sending_to_a_directory_service_under_a_consent_on_file(
        self, login, alice, alice_case, harbor
    ):
        consent = give_consent(alice, alice_case)
        body = referral_body(
            service=str(harbor.pk),
            provider_name="",
            provider_email="",
            consent_choice="existing",
            consent=consent.pk,
        )
        response = login(alice).post(f"{NEW_URL}?case={alice_case.pk}", body)
        assert response.status_code == 302
        referral = Referral.objects.get()
        assert referral.service == harbor
        assert referral.provider_name == "Harbor Health — Detox beds"
        assert referral.provider_email == "intake@harbor.example"
        assert referral.consent == consent

    def test_a_part2_referral_with_a_complete_part2_consent(self, login, alice, alice_case):
        response = login(alice).post(f"{NEW_URL}?case={alice_case.pk}", part2_body())
        assert response.status_code == 302
        consent = Consent.objects.get()
        assert consent.is_part2 and consent.part2_missing() == []
        assert consent.signed_by == "Jordan Rivers"
        disclosure = Disclosure.objects.get()
        assert disclosure.part2_notice is True
        page = login(alice).get(response.url).content.decode()
        assert "42 CFR part 2" in page

    def test_an_incomplete_part2_consent_is_refused_and_nothing_is_saved(
        self, login, alice, alice_case
    ):
        body = part2_body(**{"consent-signed_by": "", "consent-method": ConsentMethod.VERBAL})
        response = login(alice).post(f"{NEW_URL}?case={alice_case.pk}", body)

        assert response.status_code == 200
        errors = response.context["consent_form"].non_field_errors()
        assert any("Part 2" in e and "the signature" in e and "written" in e for e in errors)
        assert not Consent.objects.exists() and not Referral.objects.exists()
        page = response.content.decode()
        assert "Agency A mobile crisis programme" in page  # what was typed is still there

    def test_a_consent_that_does_not_cover_the_items_is_a_form_error(
        self, login, alice, alice_case
    ):
        consent = give_consent(alice, alice_case, scope=[ShareItem.NAME])
        body = referral_body(consent_choice="existing", consent=consent.pk)
        response = login(alice).post(f"{NEW_URL}?case={alice_case.pk}", body)

        assert response.status_code == 200
        errors = response.context["form"].errors["consent"]
        assert "does not cover: phone number" in " ".join(errors)
        assert not Referral.objects.exists()
        # The new-consent fields, not used, are not marked as errors.
        assert not response.context["consent_form"].is_bound
        assert "This field is required" not in response.content.decode()

    def test_sending_without_any_consent_is_a_form_error(self, login, alice, alice_case):
        body = referral_body(consent_choice="existing")
        response = login(alice).post(f"{NEW_URL}?case={alice_case.pk}", body)
        assert response.status_code == 200
        assert "without the client's consent" in " ".join(
            response.context["form"].errors["consent"]
        )
        assert not Referral.objects.exists()

    def test_a_draft_needs_no_consent_and_stays_when_sending_fails(self, login, alice, alice_case):
        client = login(alice)
        body = referral_body(consent_choice="existing", action="draft")
        response = client.post(f"{NEW_URL}?case={alice_case.pk}", body)
        referral = Referral.objects.get()
        assert response.url == detail_url(referral)
        assert referral.status == Status.DRAFT

        response = client.post(reverse("referrals:send", args=[referral.pk]))

        assert response.status_code == 200
        assert "Not sent:" in response.content.decode()
        referral.refresh_from_db()
        assert referral.status == Status.DRAFT

    def test_missing_fields_are_form_errors(self, login, alice, alice_case):
        body = referral_body(provider_name="", reason="", need_category="")
        response = login(alice).post(f"{NEW_URL}?case={alice_case.pk}", body)
        form = response.context["form"]
        assert {"provider_name", "reason", "need_category"} <= set(form.errors)
        assert not Referral.objects.exists() and not Consent.objects.exists()

    def test_another_agencys_service_is_not_found(self, login, alice, alice_case, agency_b):
        theirs = ServiceFactory(agency=agency_b)
        response = login(alice).get(NEW_URL, {"case": alice_case.pk, "service": theirs.pk})
        assert response.status_code == 404
        assert denied_rows("service", theirs.pk).exists()
        # Posted, it is refused as a choice, not taken.
        body = referral_body(service=str(theirs.pk), provider_name="")
        response = login(alice).post(f"{NEW_URL}?case={alice_case.pk}", body)
        assert response.status_code == 200 and not Referral.objects.exists()

    @pytest.mark.parametrize(
        ("persona", "status"),
        [("bob", 200), ("sam", 200), ("erin", 404), ("carol", 404), ("dana", 403), ("root", 404)],
    )
    def test_who_may_refer_on_alices_case(self, persona, status, request, login, alice_case):
        user = request.getfixturevalue(persona)
        client = login(user)
        assert client.get(NEW_URL, {"case": alice_case.pk}).status_code == status
        response = client.post(f"{NEW_URL}?case={alice_case.pk}", referral_body())
        assert response.status_code == (302 if status == 200 else status)
        if persona == "carol":
            assert denied_rows("case", alice_case.pk).filter(actor=user).exists()

    def test_garbage_never_breaks_it(self, login, alice, alice_case):
        client = login(alice)
        url = f"{NEW_URL}?case={alice_case.pk}"
        for value in ["\x00", "x" * 100_000, "-1", "<script>", "2026-13-45"]:
            body = {name: value for name in referral_body()}
            body.update({f"consent-{n}": value for n in ("expires_on", "signed_on", "scope")})
            assert client.post(url, body).status_code == 200
        for value in ["abc", "\x00", "-1"]:
            assert client.get(NEW_URL, {"case": value}).status_code == 404
            assert client.get(NEW_URL, {"case": alice_case.pk, "service": value}).status_code == 404
        assert not Referral.objects.exists()


class TestReferralPage:
    @pytest.fixture
    def referral(self, alice, alice_case):
        return sent_referral(alice, alice_case)

    def test_it_shows_the_referral_history_disclosures_and_links(self, login, alice, referral):
        response = login(alice).get(detail_url(referral))
        assert response.status_code == 200
        page = response.content.decode()
        assert "Eugene Mission" in page
        statuses = [e.to_status for e in response.context["events"] if e.to_status]
        assert statuses == ["draft", "requested"]
        assert response.context["disclosures"] == [referral.disclosures.get()]
        assert "intake@mission.example" in page and "Revoke" in page
        assert "Record what the provider reported" in page
        event = AuditEvent.objects.get(actor=alice, action=Action.VIEW, object_type="referral")
        assert event.object_id == str(referral.pk)

    def test_a_rejected_referral_offers_another_service_for_the_same_need(
        self, login, alice, dana, referral
    ):
        assert b"refer-elsewhere" not in login(alice).get(detail_url(referral)).content
        move_to(referral, Status.REJECTED)
        page = login(alice).get(detail_url(referral)).content.decode()
        search = f"{reverse('directory:search')}?case={referral.case_id}&amp;need=housing"
        assert search in page
        # Read-only readers refer nobody.
        assert "refer-elsewhere" not in login(dana).get(detail_url(referral)).content.decode()

    def test_recording_what_the_provider_reported(self, login, bob, referral):
        client = login(bob)
        url = reverse("referrals:status", args=[referral.pk])
        response = client.post(
            url, {"side": "provider", "to_status": "accepted", "note": "Intake called"}
        )
        assert response.status_code == 302
        referral.refresh_from_db()
        assert referral.status == Status.ACCEPTED
        event = referral.events.filter(to_status=Status.ACCEPTED).get()
        assert (event.actor, event.via, event.note) == (
            bob,
            EventVia.STAFF_FOR_PROVIDER,
            "Intake called",
        )

        today = bob.agency.today().isoformat()
        response = client.post(
            url,
            {"side": "provider", "to_status": "completed", "service_date": today, "note": "Fax"},
        )
        assert response.status_code == 302
        referral.refresh_from_db()
        assert referral.status == Status.COMPLETED and referral.outcome == Outcome.GOT_HELP
        page = client.get(detail_url(referral)).content.decode()
        assert 'id="loop-closed"' in page
        assert "Days to first service" in page

    def test_a_reported_change_needs_a_note_and_a_rejection_a_reason(self, login, alice, referral):
        url = reverse("referrals:status", args=[referral.pk])
        response = login(alice).post(url, {"side": "provider", "to_status": "rejected"})
        assert response.status_code == 200
        form = next(f for f in response.context["provider_forms"] if f.target == "rejected")
        assert {"outcome", "note"} <= set(form.errors)
        referral.refresh_from_db()
        assert referral.status == Status.REQUESTED

    def test_a_reported_seen_date_before_the_appointment_asks_for_confirmation(
        self, login, alice, referral
    ):
        referral = move_to(referral, Status.ACCEPTED)
        agency = referral.agency
        services.record_appointment(
            actor=alice,
            referral=referral,
            via=EventVia.STAFF,
            appointment_at=agency.at(agency.today() + datetime.timedelta(days=2), datetime.time(9)),
        )
        url = reverse("referrals:status", args=[referral.pk])
        body = {
            "side": "provider",
            "to_status": "completed",
            "service_date": agency.today().isoformat(),
            "note": "Intake phoned",
        }
        page = login(alice).post(url, body)
        assert page.status_code == 200
        assert "The appointment is booked for" in page.content.decode()
        assert 'name="seen_early_confirmed"' in page.content.decode()
        referral.refresh_from_db()
        assert referral.status == Status.ACCEPTED

        assert login(alice).post(url, {**body, "seen_early_confirmed": "on"}).status_code == 302
        referral.refresh_from_db()
        assert referral.status == Status.COMPLETED

    def test_the_confirmation_box_is_not_offered_up_front(self, login, alice, referral):
        move_to(referral, Status.ACCEPTED)
        page = login(alice).get(detail_url(referral)).content.decode()
        assert 'data-to-status="completed"' in page
        assert 'name="seen_early_confirmed"' not in page

    def test_an_impossible_move_is_refused_with_a_message(self, login, alice, referral):
        url = reverse("referrals:status", args=[referral.pk])
        response = login(alice).post(url, {"side": "requester", "to_status": "accepted"})
        assert response.status_code == 200
        assert "only by the receiving provider" in response.content.decode()
        referral.refresh_from_db()
        assert referral.status == Status.REQUESTED

    def test_the_worker_cancels_with_an_outcome(self, login, alice, referral):
        url = reverse("referrals:status", args=[referral.pk])
        response = login(alice).post(
            url, {"side": "requester", "to_status": "cancelled", "outcome": "declined"}
        )
        assert response.status_code == 302
        referral.refresh_from_db()
        assert (referral.status, referral.outcome) == (Status.CANCELLED, Outcome.DECLINED)

    def test_an_appointment(self, login, alice, referral):
        response = login(alice).post(
            reverse("referrals:appointment", args=[referral.pk]),
            {"appointment_at": "2030-01-15T10:30", "note": "Phone"},
        )
        assert response.status_code == 302
        referral.refresh_from_db()
        local = timezone.localtime(referral.appointment_at, LOS_ANGELES)
        assert (local.hour, local.minute) == (10, 30)

    def test_links_are_revoked_and_sent_again(self, login, alice, referral):
        client = login(alice)
        old = referral.links.get()
        response = client.post(reverse("referrals:link_revoke", args=[referral.pk, old.pk]))
        assert response.status_code == 302
        old.refresh_from_db()
        assert old.revoked_at is not None
        response = client.post(
            reverse("referrals:link_new", args=[referral.pk]),
            {"email": "beds@mission.example", "confirm": "True"},
        )
        assert response.status_code == 302
        assert referral.links.usable().get().sent_to == "beds@mission.example"

    def test_the_consent_page_queries_do_not_grow_with_its_referrals(
        self, login, alice, alice_case, django_assert_max_num_queries
    ):
        consent = give_consent(alice, alice_case)
        url = reverse("referrals:consent_detail", args=[consent.pk])
        client = login(alice)
        sent_referral(alice, alice_case, consent=consent)
        with django_assert_max_num_queries(12):  # +1: the inbox count in the nav
            assert client.get(url).status_code == 200
        for _ in range(5):
            sent_referral(alice, alice_case, consent=consent)
        with django_assert_max_num_queries(12):  # +1: the inbox count in the nav
            assert (
                client.get(url)
                .content.decode()
                .count('class="list-group-item list-group-item-action')
                == 6
            )

    @pytest.mark.parametrize(
        ("persona", "read", "write"),
        [
            ("bob", 200, 302),
            ("sam", 200, 302),
            ("erin", 404, 404),
            ("carol", 404, 404),
            ("dana", 200, 403),
            ("root", 404, 404),
        ],
    )
    def test_who_may_read_and_act(self, persona, read, write, request, login, referral):
        user = request.getfixturevalue(persona)
        client = login(user)
        response = client.get(detail_url(referral))
        assert response.status_code == read
        if read == 200 and write != 302:
            assert 'id="actions"' not in response.content.decode()
        response = client.post(
            reverse("referrals:status", args=[referral.pk]),
            {"side": "requester", "to_status": "cancelled", "outcome": "declined"},
        )
        assert response.status_code == write
        if persona in ("carol", "erin"):
            assert denied_rows("referral", referral.pk).filter(actor=user).exists()
        if write != 302:
            referral.refresh_from_db()
            assert referral.status == Status.REQUESTED

    def test_garbage_never_breaks_it(self, login, alice, referral):
        client = login(alice)
        for name in ("status", "appointment", "link_new", "send"):
            url = reverse(f"referrals:{name}", args=[referral.pk])
            for value in ["\x00", "x" * 100_000, "-1", "2026-13-45T99:99"]:
                body = {
                    "side": value,
                    "to_status": value,
                    "outcome": value,
                    "note": value,
                    "service_date": value,
                    "appointment_at": value,
                    "email": value,
                }
                assert client.post(url, body).status_code in (200, 302, 400)
        referral.refresh_from_db()
        assert referral.status == Status.REQUESTED


class TestConsentPages:
    def test_recording_a_consent_for_a_case(self, login, alice, alice_case):
        url = reverse("referrals:consent_new")
        query = f"?client={alice_case.client_id}&case={alice_case.pk}"
        response = login(alice).post(
            url + query,
            {
                "method": ConsentMethod.WRITTEN,
                "scope": [ShareItem.NAME],
                "recipients": "Any shelter",
                "purpose": "Housing",
            },
        )
        assert response.status_code == 302
        assert response.url == reverse("casework:case_detail", args=[alice_case.pk])
        consent = Consent.objects.get()
        assert (consent.client, consent.case, consent.is_part2) == (
            alice_case.client,
            alice_case,
            False,
        )

    def test_a_part2_consent_page_asks_for_every_element(self, login, alice, alice_case):
        url = reverse("referrals:consent_new") + f"?client={alice_case.client_id}"
        body = {
            "method": ConsentMethod.WRITTEN,
            "scope": [ShareItem.SUBSTANCE_USE],
            "recipients": "Riverside",
            "purpose": "Treatment",
            "is_part2": "on",
        }
        response = login(alice).post(url, body)
        assert response.status_code == 200
        errors = " ".join(m for ms in response.context["form"].errors.values() for m in ms)
        assert "Part 2" in errors and "the signature" in errors
        assert "the signature" in response.content.decode()
        assert not Consent.objects.exists()

    def test_a_vague_part2_description_is_refused_beside_its_field(self, login, alice, alice_case):
        url = reverse("referrals:consent_new") + f"?client={alice_case.client_id}"
        fields = part2_fields(information_description="Name and phone number")
        body = {
            **{f: v for f, v in fields.items() if f not in ("scope", "is_part2")},
            "scope": fields["scope"],
            "is_part2": "on",
            "right_to_revoke_explained": "on",
        }
        response = login(alice).post(url, body)
        assert response.status_code == 200
        errors = response.context["form"].errors
        assert "substance use information" in " ".join(errors["information_description"])
        assert not Consent.objects.exists()

    def test_the_consent_page_and_revoking(self, login, alice, alice_case):
        consent = give_consent(alice, alice_case)
        referral = sent_referral(alice, alice_case, consent=consent)
        client = login(alice)
        page = client.get(reverse("referrals:consent_detail", args=[consent.pk])).content.decode()
        assert "Active" in page and detail_url(referral) in page and "Revoke consent" in page

        response = client.post(
            reverse("referrals:consent_revoke", args=[consent.pk]),
            {"note": "Client asked", "confirm": "True"},
        )
        assert response.status_code == 302
        consent.refresh_from_db()
        assert consent.revoked_at is not None and consent.revocation_note == "Client asked"
        page = client.get(reverse("casework:case_detail", args=[alice_case.pk])).content.decode()
        section = page[page.index('id="case-consents"') :]
        assert "Revoked" in section[: section.index("</section>")]

    @pytest.mark.parametrize(
        ("persona", "read", "write"),
        [
            ("bob", 200, 302),
            ("erin", 404, 404),
            ("carol", 404, 404),
            ("dana", 200, 403),
            ("root", 404, 404),
        ],
    )
    def test_who_may_read_and_revoke(self, persona, read, write, request, login, alice, alice_case):
        consent = give_consent(alice, alice_case)
        user = request.getfixturevalue(persona)
        client = login(user)
        assert client.get(reverse("referrals:consent_detail", args=[consent.pk])).status_code == (
            read
        )
        response = client.post(
            reverse("referrals:consent_revoke", args=[consent.pk]), {"confirm": "True"}
        )
        assert response.status_code == write
        new = client.get(reverse("referrals:consent_new"), {"client": alice_case.client_id})
        assert new.status_code == (200 if write == 302 else write)
        if persona == "carol":
            assert denied_rows("consent", consent.pk).filter(actor=user).exists()
            assert denied_rows("client", alice_case.client_id).filter(actor=user).exists()


class TestCasePageSections:
    def test_it_shows_referrals_consents_and_disclosures(self, login, alice, alice_case):
        consent = services.record_consent(
            actor=alice, client=alice_case.client, case=alice_case, **part2_fields()
        )
        part2 = sent_referral(
            alice,
            alice_case,
            consent=consent,
            provider_name="Riverside Recovery Center",
            need_category=NeedCategory.SUBSTANCE_USE,
        )
        stale = sent_referral(alice, alice_case, provider_name="Eugene Mission")
        Referral.objects.filter(pk=stale.pk).update(
            last_activity_at=timezone.now() - datetime.timedelta(days=10)
        )

        response = login(alice).get(reverse("casework:case_detail", args=[alice_case.pk]))

        page = response.content.decode()
        referrals = page[page.index('id="case-referrals"') :]
        referrals = referrals[: referrals.index("</section>")]
        assert detail_url(part2) in referrals and detail_url(stale) in referrals
        assert "Not accepted after 3 business days" in referrals
        assert f"{NEW_URL}?case={alice_case.pk}" in referrals
        disclosures = page[page.index('id="case-disclosures"') :]
        disclosures = disclosures[: disclosures.index("</section>")]
        assert "Riverside Recovery Center" in disclosures
        assert "Part 2 notice sent" in disclosures and "42 CFR part 2" in disclosures
        event = AuditEvent.objects.get(actor=alice, action=Action.VIEW, object_type="case")
        assert sorted(event.detail["referral_ids"]) == sorted([part2.pk, stale.pk])
        assert event.detail["consent_ids"]

    def test_read_only_users_get_no_new_referral_button(self, login, dana, alice_case):
        page = (
            login(dana).get(reverse("casework:case_detail", args=[alice_case.pk])).content.decode()
        )
        assert "New referral" not in page and "Record consent" not in page

    def test_queries_do_not_grow_with_referrals(
        self, login, alice, alice_case, django_assert_max_num_queries
    ):
        client = login(alice)
        url = reverse("casework:case_detail", args=[alice_case.pk])
        sent_referral(alice, alice_case)
        # +1: the inbox count in the nav; +3: the follow-up sections (each sent referral
        # adds a referral check); +3: the plans (the safety plan, its lethal-means steps,
        # the crisis plans).
        with django_assert_max_num_queries(24):
            assert client.get(url).status_code == 200
        for _ in range(5):
            sent_referral(alice, alice_case)
        with django_assert_max_num_queries(24):
            assert client.get(url).status_code == 200
        assert Case.objects.get(pk=alice_case.pk).referrals.count() == 6
        assert ReferralEvent.objects.exists()


class _ReferralForm(forms.Form):
    reason = forms.CharField()
    consent = forms.CharField()


class _OutsideReferralForm(forms.Form):
    reason = forms.CharField()


class _ConsentForm(forms.Form):
    purpose = forms.CharField()


def _bound(form_class):
    form = form_class(data={name: "x" for name in form_class.base_fields})
    assert form.is_valid()
    return form


class TestAddReferralError:
    """Where the new-referral page shows a service's refusal."""

    def test_a_field_of_the_typed_consent_goes_beside_it(self):
        form, consent_form = _bound(_ReferralForm), _bound(_ConsentForm)
        add_referral_error(ConsentInvalid("Say for what.", field="purpose"), form, consent_form)
        assert consent_form.errors == {"purpose": ["Say for what."]}
        assert not form.errors

    def test_a_field_of_the_referral_goes_beside_it(self):
        form, consent_form = _bound(_ReferralForm), _bound(_ConsentForm)
        add_referral_error(ReferralInvalid("Say why.", field="reason"), form, consent_form)
        assert form.errors == {"reason": ["Say why."]}
        assert not consent_form.errors

    def test_a_consent_refusal_of_no_input_goes_to_the_top_of_the_typed_consent(self):
        form, consent_form = _bound(_ReferralForm), _bound(_ConsentForm)
        add_referral_error(ConsentInvalid("Not Part 2.", field="is_part2"), form, consent_form)
        assert consent_form.non_field_errors() == ["Not Part 2."]
        assert not form.errors

    def test_without_a_typed_consent_it_goes_beside_the_choice_of_consent(self):
        form = _bound(_ReferralForm)
        add_referral_error(ConsentRequired("Record it first."), form)
        assert form.errors == {"consent": ["Record it first."]}

    def test_without_a_choice_of_consent_it_goes_to_the_top(self):
        form = _bound(_OutsideReferralForm)
        add_referral_error(ConsentRequired("Record it first.", field="consent"), form)
        assert form.non_field_errors() == ["Record it first."]

    def test_any_other_refusal_of_no_input_goes_to_the_top_of_the_referral(self):
        form, consent_form = _bound(_ReferralForm), _bound(_ConsentForm)
        add_referral_error(InvalidTransition("Already sent."), form, consent_form)
        assert form.non_field_errors() == ["Already sent."]
        assert not consent_form.errors
