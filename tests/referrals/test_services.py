"""Creating and sending referrals, appointments, provider links and what a provider sees."""

import datetime

import pytest
from django.core import mail
from django.utils import timezone

from audit.models import Action, AuditEvent
from cases import services as case_services
from cases.models import CaseEvent, CaseEventKind, Concern
from directory.models import NeedCategory, ServiceStatus
from referrals import services
from referrals.exceptions import (
    ConsentInvalid,
    InvalidTransition,
    LinkUnusable,
    NotPermitted,
    ReferralInvalid,
)
from referrals.models import (
    EventVia,
    ProviderLink,
    ReferralEventKind,
    Status,
    Urgency,
)
from tests.directory.factories import (
    ContactFactory,
    OrganizationFactory,
    PhoneFactory,
    ServiceFactory,
)
from tests.referrals.factories import (
    give_consent,
    make_referral,
    move_to,
    part2_fields,
    sent_referral,
)

pytestmark = pytest.mark.django_db


class TestCreateReferral:
    def test_it_drafts_a_referral_with_its_history(self, alice, alice_case):
        referral = make_referral(alice, alice_case, urgency=Urgency.URGENT)
        assert referral.status == Status.DRAFT
        assert referral.client == alice_case.client
        assert referral.agency == alice_case.agency
        assert referral.created_by == alice
        assert referral.sent_at is None
        assert referral.events.get().kind == ReferralEventKind.CREATED
        event = CaseEvent.objects.get(case=alice_case, kind=CaseEventKind.REFERRAL)
        assert event.detail["referral_id"] == referral.pk
        assert AuditEvent.objects.filter(
            action=Action.CREATE, object_type="referral", object_id=str(referral.pk)
        ).exists()

    def test_the_provider_defaults_from_the_directory(self, alice, alice_case):
        organization = OrganizationFactory(name="Lane Shelter Network")
        service = ServiceFactory(organization=organization, name="Night shelter", email="")
        ContactFactory(service=None, organization=organization, email="front@lane.example")
        ContactFactory(service=service, email="beds@lane.example")
        PhoneFactory(service=service, number="541-555-0199")
        referral = make_referral(alice, alice_case, service=service)
        assert referral.provider_name == "Lane Shelter Network — Night shelter"
        assert referral.provider_email == "beds@lane.example"
        assert referral.provider_phone == "541-555-0199"

    def test_the_services_own_email_comes_first(self, alice, alice_case):
        service = ServiceFactory(email="intake@service.example")
        ContactFactory(service=service, email="someone@service.example")
        assert make_referral(alice, alice_case, service=service).provider_email == (
            "intake@service.example"
        )

    def test_a_typed_email_overrides_the_directorys(self, alice, alice_case):
        service = ServiceFactory(email="intake@service.example")
        referral = make_referral(
            alice, alice_case, service=service, provider_email="named.person@service.example"
        )
        assert referral.provider_email == "named.person@service.example"

    def test_an_agencys_own_service_is_for_that_agency_only(self, alice, alice_case, agency_b):
        theirs = ServiceFactory(agency=agency_b)
        with pytest.raises(ReferralInvalid, match="No such service"):
            make_referral(alice, alice_case, service=theirs)
        ours = ServiceFactory(agency=alice.agency)
        assert make_referral(alice, alice_case, service=ours).service == ours

    def test_an_inactive_service_is_refused(self, alice, alice_case):
        service = ServiceFactory(status=ServiceStatus.TEMPORARILY_CLOSED)
        with pytest.raises(ReferralInvalid, match="temporarily closed"):
            make_referral(alice, alice_case, service=service)

    def test_a_service_or_a_provider_not_both(self, alice, alice_case):
        with pytest.raises(ReferralInvalid) as exc:
            make_referral(alice, alice_case, service=ServiceFactory(), provider_name="Also this")
        assert exc.value.field == "provider_name"
        with pytest.raises(ReferralInvalid) as exc:
            make_referral(alice, alice_case, provider_name=" ")
        assert exc.value.field == "service"

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("need_category", "spa_day"),
            ("need_category", ""),
            ("urgency", "whenever"),
            ("reason", "  "),
            ("shared_items", []),
            ("shared_items", ["name", "favourite_colour"]),
            ("provider_email", "not an email"),
        ],
    )
    def test_it_refuses_bad_input(self, field, value, alice, alice_case):
        with pytest.raises(ReferralInvalid) as exc:
            make_referral(alice, alice_case, **{field: value})
        assert exc.value.field == field

    def test_it_strips_nul_characters(self, alice, alice_case):
        referral = make_referral(alice, alice_case, reason="Needs\x00 a bed")
        assert referral.reason == "Needs a bed"

    def test_a_closed_case_takes_no_referral(self, alice, alice_case):
        case_services.close_case(actor=alice, case=alice_case, reason="stabilised")
        with pytest.raises(ReferralInvalid, match="closed"):
            make_referral(alice, alice_case)

    @pytest.mark.parametrize("persona", ["bob", "sam"])
    def test_the_team_and_its_supervisor_may_refer(self, persona, request, alice_case):
        assert make_referral(request.getfixturevalue(persona), alice_case).pk

    @pytest.mark.parametrize("persona", ["erin", "dana", "carol", "root"])
    def test_others_may_not(self, persona, request, alice_case):
        with pytest.raises(NotPermitted):
            make_referral(request.getfixturevalue(persona), alice_case)

    def test_another_clients_consent_is_refused(self, alice, alice_case, bob, bob_case):
        consent = give_consent(bob, bob_case)
        with pytest.raises(ReferralInvalid) as exc:
            make_referral(alice, alice_case, consent=consent)
        assert exc.value.field == "consent"


class TestSendReferral:
    def test_it_sends_discloses_and_emails_the_link(
        self, alice, alice_case, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            referral = sent_referral(alice, alice_case)
        assert referral.status == Status.REQUESTED
        assert referral.sent_at is not None
        assert referral.last_activity_at == referral.sent_at
        link = referral.links.get()
        assert link.sent_to == "intake@mission.example"
        assert link.expires_at > timezone.now() + datetime.timedelta(days=29)
        assert len(callbacks) == 1
        assert len(mail.outbox) == 1
        kinds = list(referral.events.values_list("kind", flat=True))
        assert kinds == ["created", "status", "link_sent"]

    def test_without_an_email_the_disclosure_is_by_phone_and_no_link(self, alice, alice_case):
        referral = sent_referral(alice, alice_case, provider_email="", provider_phone="541-1")
        assert not referral.links.exists()
        assert referral.disclosures.get().channel == "phone"

    def test_only_a_draft_is_sent(self, alice, alice_case):
        referral = sent_referral(alice, alice_case)
        with pytest.raises(InvalidTransition):
            services.send_referral(actor=alice, referral=referral)
        assert referral.disclosures.count() == 1

    @pytest.mark.parametrize("persona", ["erin", "dana", "carol", "root"])
    def test_others_may_not_send(self, persona, request, alice, alice_case):
        give_consent(alice, alice_case)
        referral = make_referral(alice, alice_case)
        with pytest.raises(NotPermitted):
            services.send_referral(actor=request.getfixturevalue(persona), referral=referral)

    def test_a_teammate_may_send(self, alice, bob, alice_case):
        give_consent(alice, alice_case)
        referral = make_referral(alice, alice_case)
        assert services.send_referral(actor=bob, referral=referral).status == Status.REQUESTED


class TestRecordAppointment:
    def test_it_records_the_appointment(self, alice, alice_case):
        referral = move_to(sent_referral(alice, alice_case), Status.ACCEPTED)
        when = timezone.now() + datetime.timedelta(days=2)
        referral = services.record_appointment(
            actor=None, referral=referral, via=EventVia.PROVIDER_LINK, appointment_at=when
        )
        assert referral.appointment_at == when
        assert referral.events.filter(kind=ReferralEventKind.APPOINTMENT).exists()
        assert CaseEvent.objects.filter(summary__startswith="Appointment with").exists()

    def test_a_naive_time_is_refused(self, alice, alice_case):
        referral = sent_referral(alice, alice_case)
        with pytest.raises(ReferralInvalid) as exc:
            services.record_appointment(
                actor=alice,
                referral=referral,
                via=EventVia.STAFF,
                appointment_at=datetime.datetime(2030, 1, 1, 9, 0),  # noqa: DTZ001
            )
        assert exc.value.field == "appointment_at"

    @pytest.mark.parametrize(
        "when",
        [
            datetime.datetime(9999, 12, 31, 23, 59, tzinfo=datetime.UTC),
            datetime.datetime(1, 1, 1, tzinfo=datetime.UTC),
            timezone.now() + datetime.timedelta(days=6 * 365),
            timezone.now() - datetime.timedelta(days=30),
        ],
    )
    def test_a_time_far_off_or_before_the_referral_is_refused(self, when, alice, alice_case):
        # Year 9999 or 1 would be stored and then break every page showing the referral.
        referral = sent_referral(alice, alice_case)
        with pytest.raises(ReferralInvalid) as exc:
            services.record_appointment(
                actor=None, referral=referral, via=EventVia.PROVIDER_LINK, appointment_at=when
            )
        assert exc.value.field == "appointment_at"

    @pytest.mark.parametrize("status", [Status.DRAFT, Status.COMPLETED, Status.REJECTED])
    def test_only_a_live_referral(self, status, alice, alice_case):
        referral = make_referral(alice, alice_case)
        if status != Status.DRAFT:
            referral = move_to(sent_referral(alice, alice_case), status)
        with pytest.raises(InvalidTransition):
            services.record_appointment(
                actor=alice, referral=referral, via=EventVia.STAFF, appointment_at=timezone.now()
            )

    def test_another_team_may_not(self, alice, erin, alice_case):
        referral = sent_referral(alice, alice_case)
        with pytest.raises(NotPermitted):
            services.record_appointment(
                actor=erin, referral=referral, via=EventVia.STAFF, appointment_at=timezone.now()
            )


class TestProviderLinks:
    def test_a_new_link_revokes_the_old_one(self, alice, alice_case):
        referral = sent_referral(alice, alice_case)
        old = referral.links.get()
        new = services.issue_provider_link(
            actor=alice, referral=referral, email="other@mission.example"
        )
        old.refresh_from_db()
        assert old.revoked_at is not None
        assert services.resolve_provider_link(old.token()) is None
        assert services.resolve_provider_link(new.token()) == new
        assert referral.events.filter(kind=ReferralEventKind.LINK_REVOKED).count() == 1

    def test_revoking_a_link_stops_it(self, alice, alice_case):
        link = sent_referral(alice, alice_case).links.get()
        services.revoke_provider_link(actor=alice, link=link)
        assert services.resolve_provider_link(link.token()) is None
        with pytest.raises(LinkUnusable):
            services.revoke_provider_link(actor=alice, link=link)

    def test_no_link_for_a_draft(self, alice, alice_case):
        referral = make_referral(alice, alice_case)
        with pytest.raises(LinkUnusable):
            services.issue_provider_link(actor=alice, referral=referral)

    def test_no_link_under_a_revoked_consent(self, alice, alice_case):
        referral = sent_referral(alice, alice_case)
        services.revoke_consent(actor=alice, consent=referral.consent)
        with pytest.raises(ConsentInvalid):
            services.issue_provider_link(actor=alice, referral=referral)

    def test_others_may_not_issue_or_revoke(self, alice, dana, erin, alice_case):
        referral = sent_referral(alice, alice_case)
        for other in (dana, erin):
            with pytest.raises(NotPermitted):
                services.issue_provider_link(actor=other, referral=referral)
            with pytest.raises(NotPermitted):
                services.revoke_provider_link(actor=other, link=referral.links.get())


class TestResolveProviderLink:
    @pytest.fixture
    def link(self, alice, alice_case):
        return sent_referral(alice, alice_case).links.get()

    def test_a_good_token_resolves_with_everything_joined(self, link, django_assert_num_queries):
        with django_assert_num_queries(1):
            found = services.resolve_provider_link(link.token())
            assert found.referral.client.legal_name == "Alice Client"
            assert found.referral.consent.is_active()

    @pytest.mark.parametrize(
        "token",
        ["", "nonsense", "a.b.c", "00000000-0000-0000-0000-000000000000.deadbeef", "\x00"],
    )
    def test_malformed_tokens_resolve_to_nothing(self, token, link):
        assert services.resolve_provider_link(token) is None

    @pytest.mark.parametrize(
        ("status", "outcome"),
        [(Status.CANCELLED, "declined"), (Status.ENTERED_IN_ERROR, "")],
    )
    def test_calling_the_referral_off_revokes_its_link(self, link, alice, status, outcome):
        services.transition_referral(
            actor=alice,
            referral=link.referral,
            to_status=status,
            via=EventVia.STAFF,
            outcome=outcome,
            note="Client changed their mind.",
        )
        link.refresh_from_db()
        assert link.revoked_at is not None
        assert services.resolve_provider_link(link.token()) is None
        assert link.referral.events.filter(kind=ReferralEventKind.LINK_REVOKED).exists()

    def test_the_provider_still_sees_a_referral_it_completed(self, link):
        referral = move_to(link.referral, Status.COMPLETED)
        assert referral.status == Status.COMPLETED
        assert services.resolve_provider_link(link.token()) is not None

    def test_a_forged_signature_resolves_to_nothing(self, link):
        assert services.resolve_provider_link(f"{link.public_id}.{'0' * 40}") is None

    def test_an_unknown_link_resolves_to_nothing(self, link):
        stranger = ProviderLink(public_id="11111111-1111-1111-1111-111111111111")
        assert services.resolve_provider_link(stranger.token()) is None

    def test_an_expired_link_resolves_to_nothing(self, link):
        ProviderLink.objects.filter(pk=link.pk).update(expires_at=timezone.now())
        assert services.resolve_provider_link(link.token()) is None

    def test_an_expired_consent_stops_the_link(self, link):
        consent = link.referral.consent
        consent.expires_on = link.referral.agency.today() - datetime.timedelta(days=1)
        consent.save(update_fields=["expires_on"])
        assert services.resolve_provider_link(link.token()) is None

    def test_entered_in_error_stops_the_link(self, alice, link):
        services.transition_referral(
            actor=alice,
            referral=link.referral,
            to_status=Status.ENTERED_IN_ERROR,
            via=EventVia.STAFF,
            note="Wrong client",
        )
        assert services.resolve_provider_link(link.token()) is None

    def test_a_closed_referral_still_resolves_for_its_provider(self, link):
        move_to(link.referral, Status.COMPLETED)
        assert services.resolve_provider_link(link.token()) == link

    def test_each_use_is_audited_without_the_token(self, link, rf):
        request = rf.get(f"/p/{link.token()}/", REMOTE_ADDR="203.0.113.9")
        services.record_link_use(link=link, request=request, what="view")
        link.refresh_from_db()
        assert link.use_count == 1
        assert link.last_used_at is not None
        event = AuditEvent.objects.get(action=Action.PROVIDER_LINK)
        assert event.actor is None
        assert event.agency_id == link.referral.agency_id
        assert event.client_id == link.referral.client_id
        assert event.detail == {"link": str(link.public_id), "what": "view"}
        assert event.ip_address == "203.0.113.9"
        assert event.path == f"/p/{link.public_id}.***/"
        assert link.token() not in str(event.detail) + event.path


class TestSharedView:
    def test_it_shows_only_what_both_consent_and_referral_allow(self, alice, alice_case):
        consent = give_consent(alice, alice_case, scope=["name", "phone", "reason"])
        referral = sent_referral(
            alice, alice_case, consent=consent, shared_items=["name", "reason"]
        )
        view = services.shared_view(referral)
        assert view["client"] == {"name": "Alice Client", "reason": referral.reason}
        assert view["shared"] == ["Name", "Reason for referral"]
        assert view["part2_notice"] == ""

    def test_everything_when_everything_is_allowed(self, alice, alice_case):
        concerns = Concern.objects.filter(code__in=["substance-use", "housing"])
        alice_case.presenting_concerns.add(*concerns)
        referral = sent_referral(
            alice,
            alice_case,
            consent=give_consent(alice, alice_case, **part2_fields(recipients="Eugene Mission")),
            need_category=NeedCategory.HOUSING,
            shared_items=[
                "name",
                "phone",
                "date_of_birth",
                "reason",
                "concerns",
                "risk",
                "substance_use",
            ],
        )
        client = services.shared_view(referral)["client"]
        assert client["date_of_birth"] == datetime.date(1990, 4, 12)
        assert client["phone"] == "541-555-0100"
        assert client["risk_level"]
        assert "Substance use" in client["substance_use"]
        assert "Substance use" not in client["concerns"]

    def test_substance_use_concerns_stay_hidden_without_part2(self, alice, alice_case):
        alice_case.presenting_concerns.add(Concern.objects.get(code="substance-use"))
        referral = sent_referral(alice, alice_case, shared_items=["concerns"])
        client = services.shared_view(referral)["client"]
        assert "Substance use" not in client["concerns"]
        assert "substance_use" not in client


def test_another_agency_never_sees_the_referral(alice, carol, alice_case):
    from referrals.models import Referral

    referral = sent_referral(alice, alice_case)
    assert not Referral.objects.visible_to(carol).filter(pk=referral.pk).exists()
