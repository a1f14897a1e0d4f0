"""Recording and revoking consent, 42 CFR Part 2, and the consent gate on sending."""

import datetime

import pytest
from django.utils import timezone

from audit.models import Action, AuditEvent
from cases.models import CaseEvent, CaseEventKind
from directory.models import NeedCategory
from referrals import services
from referrals.exceptions import ConsentInvalid, ConsentRequired, NotPermitted
from referrals.models import (
    PART2_REDISCLOSURE_NOTICE,
    ConsentMethod,
    Disclosure,
    ShareItem,
    Status,
)
from tests.directory.factories import OrganizationFactory, ServiceFactory
from tests.referrals.factories import (
    give_consent,
    make_referral,
    part2_fields,
    sent_referral,
)

pytestmark = pytest.mark.django_db


class TestRecordConsent:
    def test_it_records_the_consent_on_the_timeline_and_in_the_trail(self, alice, alice_case):
        consent = give_consent(alice, alice_case, scope=["phone", "name"])
        assert consent.scope == ["name", "phone"]
        assert consent.obtained_by == alice
        assert consent.agency_id == alice_case.agency_id
        event = CaseEvent.objects.get(case=alice_case, kind=CaseEventKind.CONSENT)
        assert event.detail == {"consent_id": consent.pk}
        assert "name, phone number" in event.summary
        assert AuditEvent.objects.filter(
            action=Action.CREATE, object_type="consent", object_id=str(consent.pk)
        ).exists()

    def test_without_a_case_it_goes_on_the_clients_open_case(self, alice, alice_case):
        consent = services.record_consent(
            actor=alice,
            client=alice_case.client,
            method=ConsentMethod.VERBAL,
            scope=["name"],
            recipients="Any provider",
            purpose="Referral",
        )
        assert consent.case == alice_case

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("scope", []),
            ("scope", ["name", "shoe_size"]),
            ("scope", "name"),
            ("recipients", "  "),
            ("purpose", ""),
            ("method", "telepathy"),
            ("expires_on", datetime.date(2020, 1, 1)),
            # Year 1 would be stored and then break every page showing the consent.
            ("obtained_at", datetime.datetime(1, 1, 1, tzinfo=datetime.UTC)),
            ("obtained_at", timezone.now() - datetime.timedelta(days=6 * 365)),
        ],
    )
    def test_it_refuses_bad_input(self, field, value, alice, alice_case):
        with pytest.raises(ConsentInvalid) as exc:
            give_consent(alice, alice_case, **{field: value})
        assert exc.value.field == field

    def test_sharing_substance_use_needs_a_part2_consent(self, alice, alice_case):
        with pytest.raises(ConsentInvalid, match="Part 2"):
            give_consent(alice, alice_case, scope=["name", "substance_use"])

    @pytest.mark.parametrize("persona", ["erin", "dana", "carol", "root"])
    def test_only_workers_on_the_case_record_consent(self, persona, request, alice_case):
        with pytest.raises(NotPermitted):
            give_consent(request.getfixturevalue(persona), alice_case)

    def test_another_clients_case_is_refused(self, alice, alice_case, bob_case):
        with pytest.raises(ConsentInvalid):
            services.record_consent(
                actor=alice,
                client=alice_case.client,
                case=bob_case,
                method=ConsentMethod.VERBAL,
                scope=["name"],
                recipients="Any provider",
                purpose="Referral",
            )


class TestPart2Consent:
    def test_a_complete_written_consent_is_recorded(self, alice, alice_case):
        consent = give_consent(alice, alice_case, **part2_fields())
        assert consent.is_part2
        assert consent.part2_missing() == []

    def test_a_verbal_part2_consent_is_refused(self, alice, alice_case):
        with pytest.raises(ConsentInvalid, match="written consent"):
            give_consent(alice, alice_case, **part2_fields(method=ConsentMethod.VERBAL))

    @pytest.mark.parametrize(
        ("missing", "words"),
        [
            ({"discloser": ""}, "who may disclose"),
            ({"information_description": ""}, "a description of the information"),
            ({"right_to_revoke_explained": False}, "the right to revoke"),
            ({"expires_on": None, "expiry_event": ""}, "an expiry date or event"),
            ({"signed_by": ""}, "the signature"),
            ({"signed_on": None}, "the date signed"),
        ],
    )
    def test_an_incomplete_consent_is_refused_naming_what_is_missing(
        self, missing, words, alice, alice_case
    ):
        with pytest.raises(ConsentInvalid, match=words):
            give_consent(alice, alice_case, **part2_fields(**missing))

    def test_an_expiry_event_stands_in_for_a_date(self, alice, alice_case):
        consent = give_consent(
            alice, alice_case, **part2_fields(expires_on=None, expiry_event="End of treatment")
        )
        assert consent.is_part2

    def test_the_general_designation_is_allowed(self, alice, alice_case):
        consent = give_consent(
            alice,
            alice_case,
            **part2_fields(
                recipients="My treating providers, health plans, third-party payers, and "
                "people helping to operate this program"
            ),
        )
        assert consent.is_part2


class TestRevokeConsent:
    def test_it_revokes_once(self, alice, alice_case):
        consent = give_consent(alice, alice_case)
        consent = services.revoke_consent(actor=alice, consent=consent, note="Client called")
        assert consent.revoked_at is not None
        assert consent.revoked_by == alice
        assert not consent.is_active()
        with pytest.raises(ConsentInvalid, match="already revoked"):
            services.revoke_consent(actor=alice, consent=consent)
        assert CaseEvent.objects.filter(
            case=alice_case, kind=CaseEventKind.CONSENT, detail__revoked=True
        ).exists()
        assert AuditEvent.objects.filter(
            action=Action.UPDATE, object_type="consent", detail__revoked=True
        ).exists()

    @pytest.mark.parametrize("persona", ["erin", "dana", "carol"])
    def test_only_workers_on_the_case_revoke(self, persona, request, alice, alice_case):
        consent = give_consent(alice, alice_case)
        with pytest.raises(NotPermitted):
            services.revoke_consent(actor=request.getfixturevalue(persona), consent=consent)

    def test_it_stops_further_sending(self, alice, alice_case):
        consent = give_consent(alice, alice_case)
        referral = make_referral(alice, alice_case, consent=consent)
        services.revoke_consent(actor=alice, consent=consent)
        with pytest.raises(ConsentInvalid, match="revoked"):
            services.send_referral(actor=alice, referral=referral)

    def test_it_stops_the_provider_link(self, alice, alice_case):
        referral = sent_referral(alice, alice_case)
        link = referral.links.get()
        assert services.resolve_provider_link(link.token()) is not None
        services.revoke_consent(actor=alice, consent=referral.consent)
        assert services.resolve_provider_link(link.token()) is None


class TestConsentGate:
    def test_no_consent_no_referral(self, alice, alice_case):
        referral = make_referral(alice, alice_case)
        with pytest.raises(ConsentRequired, match="without the client's consent"):
            services.send_referral(actor=alice, referral=referral)
        referral.refresh_from_db()
        assert referral.status == Status.DRAFT
        assert not Disclosure.objects.exists()

    def test_it_finds_the_newest_consent_that_covers_and_keeps_it(self, alice, alice_case):
        older = give_consent(alice, alice_case)
        narrow = give_consent(alice, alice_case, scope=["name"])
        assert narrow.obtained_at >= older.obtained_at
        referral = make_referral(alice, alice_case, shared_items=["name", "phone"])
        referral = services.send_referral(actor=alice, referral=referral)
        assert referral.consent == older

    def test_a_revoked_consent_is_not_found(self, alice, alice_case):
        consent = give_consent(alice, alice_case)
        services.revoke_consent(actor=alice, consent=consent)
        referral = make_referral(alice, alice_case)
        with pytest.raises(ConsentRequired):
            services.send_referral(actor=alice, referral=referral)

    def test_an_expired_consent_refuses(self, alice, alice_case):
        consent = give_consent(
            alice, alice_case, expires_on=timezone.localdate() + datetime.timedelta(days=1)
        )
        referral = make_referral(alice, alice_case, consent=consent)
        consent.expires_on = timezone.localdate() - datetime.timedelta(days=1)
        consent.save(update_fields=["expires_on"])
        with pytest.raises(ConsentInvalid, match="expired"):
            services.send_referral(actor=alice, referral=referral)

    def test_a_scope_too_narrow_names_what_is_not_covered(self, alice, alice_case):
        consent = give_consent(alice, alice_case, scope=["name"])
        referral = make_referral(
            alice, alice_case, consent=consent, shared_items=["name", "date_of_birth", "phone"]
        )
        with pytest.raises(ConsentInvalid, match="does not cover: phone number, date of birth"):
            services.send_referral(actor=alice, referral=referral)

    def test_a_consent_for_another_organization_refuses(self, alice, alice_case):
        service = ServiceFactory(email="intake@shelter.example")
        other = OrganizationFactory()
        consent = give_consent(
            alice, alice_case, recipient_organization=other, recipients=other.name
        )
        referral = make_referral(alice, alice_case, service=service, consent=consent)
        with pytest.raises(ConsentInvalid, match="does not cover sending to"):
            services.send_referral(actor=alice, referral=referral)

    def test_a_consent_for_the_services_organization_allows(self, alice, alice_case):
        service = ServiceFactory(email="intake@shelter.example")
        consent = give_consent(
            alice,
            alice_case,
            recipient_organization=service.organization,
            recipients=service.organization.name,
        )
        referral = make_referral(alice, alice_case, service=service, consent=consent)
        assert services.send_referral(actor=alice, referral=referral).status == Status.REQUESTED

    def test_an_outside_provider_must_be_named_in_the_recipients(self, alice, alice_case):
        org = OrganizationFactory(name="Somewhere Else")
        consent = give_consent(
            alice, alice_case, recipient_organization=org, recipients="Somewhere Else"
        )
        referral = make_referral(alice, alice_case, consent=consent, provider_name="Eugene Mission")
        with pytest.raises(ConsentInvalid, match="Eugene Mission"):
            services.send_referral(actor=alice, referral=referral)

    @pytest.mark.parametrize(
        "provider_name", ["Riverside", "Recovery Center", "Center", "R", "Riverside Recovery"]
    )
    def test_part_of_the_recipients_name_is_another_provider(
        self, provider_name, alice, alice_case
    ):
        consent = give_consent(
            alice, alice_case, **part2_fields(recipients="Riverside Recovery Center")
        )
        referral = make_referral(
            alice,
            alice_case,
            consent=consent,
            need_category=NeedCategory.SUBSTANCE_USE,
            provider_name=provider_name,
        )
        with pytest.raises(ConsentInvalid, match="does not cover sending to"):
            services.send_referral(actor=alice, referral=referral)

    def test_a_directory_organization_whose_name_is_part_of_the_recipient_refuses(
        self, alice, alice_case
    ):
        service = ServiceFactory(
            organization=OrganizationFactory(name="Riverside"), email="intake@riverside.example"
        )
        consent = give_consent(
            alice, alice_case, **part2_fields(recipients="Riverside Recovery Center")
        )
        referral = make_referral(
            alice,
            alice_case,
            service=service,
            consent=consent,
            need_category=NeedCategory.SUBSTANCE_USE,
        )
        with pytest.raises(ConsentInvalid, match="does not cover sending to"):
            services.send_referral(actor=alice, referral=referral)

    @pytest.mark.parametrize(
        "recipients",
        [
            "Riverside Recovery Center",
            "Hilltop Detox, Riverside Recovery Center and Eugene Mission",
            "Hilltop Detox\nriverside recovery center (intake)",
        ],
    )
    def test_a_recipient_named_in_full_among_others_allows(self, recipients, alice, alice_case):
        consent = give_consent(alice, alice_case, **part2_fields(recipients=recipients))
        referral = make_referral(
            alice,
            alice_case,
            consent=consent,
            need_category=NeedCategory.SUBSTANCE_USE,
            provider_name="Riverside  Recovery Center",
        )
        assert services.send_referral(actor=alice, referral=referral).status == Status.REQUESTED

    def test_a_part2_referral_needs_a_part2_consent(self, alice, alice_case):
        consent = give_consent(alice, alice_case)
        referral = make_referral(
            alice,
            alice_case,
            consent=consent,
            need_category=NeedCategory.SUBSTANCE_USE,
            provider_name="Riverside Recovery Center",
        )
        with pytest.raises(ConsentInvalid, match="Part 2"):
            services.send_referral(actor=alice, referral=referral)

    def test_a_part2_consent_must_name_the_recipient(self, alice, alice_case):
        consent = give_consent(alice, alice_case, **part2_fields(recipients="Hilltop Detox"))
        referral = make_referral(
            alice,
            alice_case,
            consent=consent,
            need_category=NeedCategory.SUBSTANCE_USE,
            provider_name="Riverside Recovery Center",
        )
        with pytest.raises(ConsentInvalid, match="does not cover sending to"):
            services.send_referral(actor=alice, referral=referral)

    def test_the_general_designation_covers_a_treating_provider(self, alice, alice_case):
        consent = give_consent(
            alice, alice_case, **part2_fields(recipients="My treating providers")
        )
        referral = make_referral(
            alice,
            alice_case,
            consent=consent,
            need_category=NeedCategory.SUBSTANCE_USE,
            provider_name="Riverside Recovery Center",
            shared_items=["name", "substance_use"],
        )
        assert services.send_referral(actor=alice, referral=referral).status == Status.REQUESTED

    def test_a_part2_disclosure_carries_the_notice(self, alice, alice_case):
        referral = sent_referral(
            alice,
            alice_case,
            consent=give_consent(alice, alice_case, **part2_fields()),
            need_category=NeedCategory.SUBSTANCE_USE,
            provider_name="Riverside Recovery Center",
            shared_items=["name", "phone", "substance_use"],
        )
        disclosure = Disclosure.objects.get(referral=referral)
        assert disclosure.part2_notice
        assert disclosure.consent == referral.consent
        assert disclosure.items == ["name", "phone", "substance_use"]
        assert disclosure.recipient == "Riverside Recovery Center"
        view = services.shared_view(referral)
        assert view["part2_notice"] == PART2_REDISCLOSURE_NOTICE

    def test_a_plain_disclosure_has_no_notice(self, alice, alice_case):
        referral = sent_referral(alice, alice_case)
        disclosure = Disclosure.objects.get(referral=referral)
        assert not disclosure.part2_notice
        assert disclosure.disclosed_by == alice
        assert disclosure.channel == "provider_link"
        event = CaseEvent.objects.get(case=alice_case, kind=CaseEventKind.DISCLOSURE)
        assert event.detail["disclosure_id"] == disclosure.pk
        assert AuditEvent.objects.filter(
            action=Action.DISCLOSE, object_id=str(referral.pk), client_id=alice_case.client_id
        ).exists()

    def test_substance_use_items_make_any_referral_part2(self, alice, alice_case):
        consent = give_consent(alice, alice_case)
        referral = make_referral(
            alice, alice_case, consent=consent, shared_items=[ShareItem.SUBSTANCE_USE]
        )
        assert referral.is_part2
        with pytest.raises(ConsentInvalid, match="Part 2"):
            services.send_referral(actor=alice, referral=referral)
