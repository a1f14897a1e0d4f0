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
        assert event.detail["consent_id"] == consent.pk
        # Stored once in English, and as its message for each reader's language.
        assert event.detail["i18n"]["m"] == (
            "Consent (%(method)s) to share %(items)s with %(recipients)s"
        )
        assert event.text == event.summary
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
            alice, alice_case, expires_on=alice_case.agency.today() + datetime.timedelta(days=1)
        )
        referral = make_referral(alice, alice_case, consent=consent)
        consent.expires_on = alice_case.agency.today() - datetime.timedelta(days=1)
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


# 42 CFR 2.32(a)(1), 2024 rule, word for word.
REGULATION_NOTICE = (
    "This record which has been disclosed to you is protected by Federal confidentiality rules "
    "(42 CFR part 2). These rules prohibit you from using or disclosing this record, or "
    "testimony that describes the information contained in this record, in any civil, "
    "criminal, administrative, or legislative proceedings by any Federal, State, or local "
    "authority, against the patient, unless authorized by the consent of the patient, except "
    "as provided at 42 CFR 2.12(c)(5) or as authorized by a court in accordance with 42 CFR "
    "2.64 or 2.65. In addition, these rules prohibit you from making any other disclosure of "
    "this record unless expressly authorized by the written consent of the person to whom it "
    "pertains, or as otherwise permitted by 42 CFR part 2. A general authorization for the "
    "release of medical or other information is NOT sufficient for this purpose (see 42 CFR "
    "2.31). The Federal rules restrict any use of the information to investigate or "
    "prosecute with regard to a crime any patient with a substance use disorder, except as "
    "provided at 42 CFR 2.12(e)(3) and (4)."
)


def part2_referral_fields(**overrides):
    data = {
        "need_category": NeedCategory.SUBSTANCE_USE,
        "provider_name": "Riverside Recovery Center",
        "shared_items": ["phone", "substance_use"],
    }
    data.update(overrides)
    return data


class TestPart2ExactlyAsTheRuleSays:
    @pytest.mark.parametrize(
        "vague", ["Name and phone number", "My contact details", "Everything in my file"]
    )
    def test_a_description_that_hides_the_substance_use_information_is_refused(
        self, vague, alice, alice_case
    ):
        with pytest.raises(ConsentInvalid) as exc:
            give_consent(alice, alice_case, **part2_fields(information_description=vague))
        assert exc.value.field == "information_description"
        assert "substance use information" in str(exc.value)
        assert "42 CFR 2.31(a)" in str(exc.value)

    @pytest.mark.parametrize(
        "specific",
        [
            "My name and phone number, and that I am referred for substance use treatment",
            "Name, phone and my alcohol use history",
            "My opioid treatment record",
        ],
    )
    def test_a_specific_description_is_recorded(self, specific, alice, alice_case):
        consent = give_consent(alice, alice_case, **part2_fields(information_description=specific))
        assert consent.is_part2

    def test_an_older_vague_consent_does_not_let_a_part2_referral_go(self, alice, alice_case):
        consent = give_consent(alice, alice_case, **part2_fields())
        type(consent).objects.filter(pk=consent.pk).update(
            information_description="Name and phone number"
        )
        consent.refresh_from_db()
        referral = make_referral(alice, alice_case, consent=consent, **part2_referral_fields())
        with pytest.raises(ConsentInvalid, match="does not say that substance use information"):
            services.send_referral(actor=alice, referral=referral)
        assert not Disclosure.objects.exists()

    def test_the_notice_is_the_regulations_wording(self):
        assert PART2_REDISCLOSURE_NOTICE == REGULATION_NOTICE

    def test_the_provider_sees_the_notice_and_the_consents_scope(self, client, alice, alice_case):
        consent = give_consent(
            alice,
            alice_case,
            **part2_fields(
                purpose="Detox admission",
                information_description="My name, phone and substance use history",
                expiry_event="When treatment ends",
            ),
        )
        referral = sent_referral(alice, alice_case, consent=consent, **part2_referral_fields())
        assert services.shared_view(referral)["consent_scope"]["information"] == (
            "My name, phone and substance use history"
        )
        page = client.get(f"/p/{referral.links.get().token()}/").content.decode()
        assert REGULATION_NOTICE in page
        scope = page[page.index('id="consent-scope"') :]
        for shown in (
            "Agency A mobile crisis programme",
            "My name, phone and substance use history",
            "Riverside Recovery Center",
            "Detox admission",
            "When treatment ends",
        ):
            assert shown in scope
        # The signer is the client: named only where the referral shares the name.
        assert "Jordan Rivers" not in page

    def test_a_plain_referral_has_no_consent_scope(self, alice, alice_case):
        assert services.shared_view(sent_referral(alice, alice_case))["consent_scope"] is None

    def test_sent_by_email_the_disclosure_carries_the_notice(self, alice, alice_case):
        consent = give_consent(alice, alice_case, **part2_fields())
        referral = sent_referral(alice, alice_case, consent=consent, **part2_referral_fields())
        disclosure = Disclosure.objects.get(referral=referral)
        assert (disclosure.channel, disclosure.part2_notice) == ("provider_link", True)

    def test_to_a_provider_without_email_it_is_disclosed_by_phone_without_a_notice(
        self, alice, alice_case, login
    ):
        consent = give_consent(alice, alice_case, **part2_fields())
        referral = sent_referral(
            alice, alice_case, consent=consent, **part2_referral_fields(provider_email="")
        )
        disclosure = Disclosure.objects.get(referral=referral)
        assert disclosure.channel == "phone"
        assert not disclosure.part2_notice
        event = CaseEvent.objects.get(case=alice_case, kind=CaseEventKind.DISCLOSURE)
        assert event.summary.startswith("Disclosed by phone to Riverside Recovery Center")
        assert "no written notice sent" in event.summary
        assert "with the 42 CFR Part 2 notice" not in event.summary
        audit_row = AuditEvent.objects.get(action=Action.DISCLOSE)
        assert audit_row.detail["channel"] == "phone"
        assert audit_row.detail["part2_notice"] is False
        page = login(alice).get(f"/referrals/{referral.pk}/").content.decode()
        assert "disclosed by phone, no written notice sent" in page
        assert "notice sent with every disclosure" not in page
        assert "with the Part 2 notice" not in page
        case_page = login(alice).get(f"/cases/{alice_case.pk}/").content.decode()
        assert "Part 2 notice sent" not in case_page
