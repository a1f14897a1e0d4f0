import datetime

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone

from audit.models import Action, AuditEvent
from cases import services
from cases.cssrs import RiskLevel
from cases.exceptions import (
    CaseClosed,
    EmergencyAccessRefused,
    InvalidAmendment,
    InvalidReassignment,
)
from cases.models import (
    Case,
    CaseEventKind,
    CaseStatus,
    Client,
    Concern,
    Contact,
    ContactDraft,
    ContactSource,
    Disposition,
)
from core.exceptions import NotPermitted
from followups.models import Enrolment, HospitalVisit, Trigger
from tests.conftest import HIGH_RISK, LOW_RISK, contact_data, new_client


class TestRecordContact:
    def test_a_new_client_gets_a_case_assigned_to_the_worker_and_team(self, alice):
        contact = services.record_contact(
            actor=alice, new_client_data=new_client(), contact_data=contact_data()
        )
        case = contact.case
        assert case.status == CaseStatus.OPEN
        assert case.assigned_worker == alice
        assert case.team == alice.team
        assert case.agency == alice.agency
        assert contact.client.agency == alice.agency
        assert list(contact.attended_by.all()) == [alice]
        kinds = list(case.events.order_by("pk").values_list("kind", flat=True))
        # Resolved on scene: the contact enrolled the client in a post-crisis check.
        assert kinds == [CaseEventKind.OPENED, CaseEventKind.CONTACT, CaseEventKind.FOLLOWUP]

    def test_a_second_contact_adds_to_the_open_case(self, alice, bob, record_contact_for):
        first = record_contact_for(alice)
        second = record_contact_for(bob, client=first.client)
        assert second.case == first.case
        assert Case.objects.filter(client=first.client).count() == 1
        assert second.case.assigned_worker == alice

    def test_after_closing_a_new_contact_opens_a_new_case(self, alice, record_contact_for):
        first = record_contact_for(alice)
        services.close_case(actor=alice, case=first.case, reason="stabilised")
        second = record_contact_for(alice, client=first.client)
        assert second.case != first.case
        assert Case.objects.filter(client=first.client).count() == 2

    def test_a_screen_sets_the_case_risk_and_writes_a_timeline_event(
        self, alice, record_contact_for
    ):
        contact = record_contact_for(alice, **HIGH_RISK)
        case = Case.objects.get(pk=contact.case_id)
        assert contact.risk_level == RiskLevel.HIGH
        assert case.risk_level == RiskLevel.HIGH
        assert case.events.filter(kind=CaseEventKind.RISK_CHANGED).count() == 1

    def test_the_latest_screen_wins_and_a_backdated_one_does_not(self, alice, record_contact_for):
        now = timezone.now()
        first = record_contact_for(
            alice, received_at=now - datetime.timedelta(hours=3), **HIGH_RISK
        )
        record_contact_for(
            alice, client=first.client, received_at=now - datetime.timedelta(hours=1), **LOW_RISK
        )
        assert Case.objects.get(pk=first.case_id).risk_level == RiskLevel.LOW
        record_contact_for(
            alice, client=first.client, received_at=now - datetime.timedelta(days=2), **HIGH_RISK
        )
        assert Case.objects.get(pk=first.case_id).risk_level == RiskLevel.LOW

    def test_a_contact_without_screen_keeps_the_case_risk(self, alice, record_contact_for):
        first = record_contact_for(alice, **HIGH_RISK)
        record_contact_for(alice, client=first.client)
        assert Case.objects.get(pk=first.case_id).risk_level == RiskLevel.HIGH

    def test_skip_logic_violations_save_nothing(self, alice):
        bad = dict(HIGH_RISK, cssrs_suicidal_thoughts=False)
        with pytest.raises(ValidationError) as excinfo:
            services.record_contact(
                actor=alice, new_client_data=new_client(), contact_data=contact_data(**bad)
            )
        assert "cssrs_method" in excinfo.value.message_dict
        assert not Client.objects.exists()
        assert not Contact.objects.exists()

    def test_times_out_of_order_are_refused(self, alice):
        received = timezone.now() - datetime.timedelta(hours=1)
        with pytest.raises(ValidationError):
            services.record_contact(
                actor=alice,
                new_client_data=new_client(),
                contact_data=contact_data(
                    received_at=received, on_scene_at=received - datetime.timedelta(minutes=5)
                ),
            )
        assert not Case.objects.exists()

    def test_presenting_concerns_are_added_to_the_case(self, alice, record_contact_for):
        housing = Concern.objects.get(code="housing")
        contact = record_contact_for(alice, presenting_concerns=[housing])
        assert list(contact.case.presenting_concerns.all()) == [housing]

    def test_it_discards_the_workers_draft(self, alice, record_contact_for):
        services.save_draft(actor=alice, data={"narrative": "half written"})
        record_contact_for(alice)
        assert not ContactDraft.objects.filter(user=alice).exists()

    def test_it_audits_the_new_client_and_contact(self, alice, record_contact_for):
        contact = record_contact_for(alice)
        created = AuditEvent.objects.filter(action=Action.CREATE, actor=alice)
        # Resolved on scene: the post-crisis check's enrolment is audited too.
        assert set(created.values_list("object_type", flat=True)) == {
            "client",
            "contact",
            "enrolment",
        }
        assert set(created.values_list("client_id", flat=True)) == {contact.client_id}

    def test_agency_admins_do_not_record_contacts(self, dana):
        with pytest.raises(NotPermitted):
            services.record_contact(
                actor=dana, new_client_data=new_client(), contact_data=contact_data()
            )


class TestAmendContact:
    def test_it_keeps_the_original_and_who_changed_it(self, alice, bob, record_contact_for):
        contact = record_contact_for(alice, narrative="Original words.")
        amendment = services.amend_contact(
            actor=bob,
            contact=contact,
            changes={"narrative": "Corrected words."},
            reason="Typo in the address",
        )
        contact.refresh_from_db()
        assert contact.narrative == "Corrected words."
        assert contact.amendment_count == 1
        assert amendment.changes == {
            "narrative": {"from": "Original words.", "to": "Corrected words."}
        }
        assert amendment.amended_by == bob
        assert contact.case.events.filter(kind=CaseEventKind.AMENDED).exists()
        assert AuditEvent.objects.filter(action=Action.AMEND, object_id=str(contact.pk)).exists()

    def test_a_reason_is_required(self, alice, record_contact_for):
        contact = record_contact_for(alice)
        with pytest.raises(InvalidAmendment):
            services.amend_contact(
                actor=alice, contact=contact, changes={"narrative": "x"}, reason=" "
            )

    def test_nothing_changed_is_refused(self, alice, record_contact_for):
        contact = record_contact_for(alice, narrative="Same")
        with pytest.raises(InvalidAmendment):
            services.amend_contact(
                actor=alice, contact=contact, changes={"narrative": "Same"}, reason="why"
            )

    def test_who_recorded_it_cannot_be_amended(self, alice, bob, record_contact_for):
        contact = record_contact_for(alice)
        with pytest.raises(InvalidAmendment):
            services.amend_contact(
                actor=alice, contact=contact, changes={"recorded_by": bob}, reason="why"
            )


class TestCloseCase:
    def test_it_closes_with_a_reason_once(self, alice, alice_case):
        services.close_case(
            actor=alice, case=alice_case, reason="connected", note="Attending clinic"
        )
        alice_case.refresh_from_db()
        assert alice_case.status == CaseStatus.CLOSED
        assert alice_case.closed_by == alice
        assert alice_case.events.filter(kind=CaseEventKind.CLOSED).exists()
        with pytest.raises(CaseClosed):
            services.close_case(actor=alice, case=alice_case, reason="connected")


class TestReassign:
    def test_supervisor_reassigns_one_case(self, sam, alice_case, bob):
        services.reassign_case(actor=sam, case=alice_case, to_worker=bob)
        alice_case.refresh_from_db()
        assert alice_case.assigned_worker == bob
        assert alice_case.events.filter(kind=CaseEventKind.REASSIGNED).exists()
        assert AuditEvent.objects.filter(
            action=Action.REASSIGN, object_id=str(alice_case.pk)
        ).exists()

    def test_a_worker_cannot_reassign(self, bob, alice_case):
        with pytest.raises(InvalidReassignment):
            services.reassign_case(actor=bob, case=alice_case, to_worker=bob)

    def test_not_to_another_agency(self, sam, alice_case, carol):
        with pytest.raises(InvalidReassignment):
            services.reassign_case(actor=sam, case=alice_case, to_worker=carol)

    def test_not_to_a_team_the_supervisor_does_not_supervise(self, sam, alice_case, erin):
        with pytest.raises(InvalidReassignment):
            services.reassign_case(actor=sam, case=alice_case, to_worker=erin)

    def test_a_departing_workers_open_caseload_moves_in_one_step(
        self, sam, alice, bob, record_contact_for
    ):
        open_cases = [
            record_contact_for(
                alice, new_client_data=new_client(legal_name=f"C {i}", phone=f"541-555-01{i}0")
            ).case
            for i in range(3)
        ]
        closed = record_contact_for(
            alice, new_client_data=new_client(legal_name="Closed One", phone="541-555-0999")
        ).case
        services.close_case(actor=alice, case=closed, reason="stabilised")
        moved = services.reassign_caseload(actor=sam, from_worker=alice, to_worker=bob)
        assert moved == 3
        assert set(Case.objects.filter(assigned_worker=bob).values_list("pk", flat=True)) == {
            c.pk for c in open_cases
        }
        assert Case.objects.get(pk=closed.pk).assigned_worker == alice


class TestEmergencyAccess:
    def test_it_opens_an_out_of_scope_case_for_a_few_hours(self, erin, alice_case):
        assert not Case.objects.visible_to(erin).filter(pk=alice_case.pk).exists()
        grant = services.grant_emergency_access(
            actor=erin, case=alice_case, reason="Client in crisis at ER, need history"
        )
        assert Case.objects.visible_to(erin).filter(pk=alice_case.pk).exists()
        assert alice_case.events.filter(kind=CaseEventKind.EMERGENCY_ACCESS).exists()
        assert AuditEvent.objects.filter(action=Action.EMERGENCY_ACCESS, actor=erin).exists()
        with time_machine.travel(grant.expires_at + datetime.timedelta(minutes=1)):
            assert not Case.objects.visible_to(erin).filter(pk=alice_case.pk).exists()

    def test_a_reason_is_required(self, erin, alice_case):
        with pytest.raises(EmergencyAccessRefused):
            services.grant_emergency_access(actor=erin, case=alice_case, reason="because")

    def test_never_across_agencies(self, carol, alice_case):
        with pytest.raises(EmergencyAccessRefused):
            services.grant_emergency_access(
                actor=carol, case=alice_case, reason="Client in crisis, need history"
            )

    def test_the_supervisor_of_the_case_reviews_it(self, sam, erin, alice_case):
        grant = services.grant_emergency_access(
            actor=erin, case=alice_case, reason="Client in crisis at ER, need history"
        )
        services.review_emergency_access(actor=sam, grant=grant, note="Appropriate")
        grant.refresh_from_db()
        assert grant.reviewed_by == sam
        with pytest.raises(EmergencyAccessRefused):
            services.review_emergency_access(actor=sam, grant=grant)


class TestUpdateClient:
    def test_changed_fields_are_on_the_timeline_and_audited(self, alice, alice_case):
        services.update_client(
            actor=alice,
            client=alice_case.client,
            data={"pronouns": "they/them", "phone": "(541) 555-7777"},
        )
        client = Client.objects.get(pk=alice_case.client_id)
        assert client.phone_normalized == "5415557777"
        event = alice_case.events.get(kind=CaseEventKind.CLIENT_UPDATED)
        assert event.detail["fields"] == ["phone", "pronouns"]
        assert event.detail["i18n"] == {
            "m": "Client details changed: %(fields)s",
            "a": {"fields": {"ts": ["phone number", "pronouns"]}},
        }
        assert AuditEvent.objects.filter(action=Action.UPDATE, object_type="client").exists()


class TestReassignToWorkerWithoutTeam:
    def test_a_worker_outside_the_supervisors_teams_is_refused(self, sam, alice_case):
        from tests.accounts.factories import UserFactory

        loose = UserFactory(username="loose", agency=alice_case.agency, team=None)
        with pytest.raises(InvalidReassignment):
            services.reassign_case(actor=sam, case=alice_case, to_worker=loose)

    def test_the_supervisor_may_take_the_case_themself(self, sam, alice_case):
        services.reassign_case(actor=sam, case=alice_case, to_worker=sam)
        alice_case.refresh_from_db()
        assert alice_case.assigned_worker == sam


class TestCreateClient:
    def test_an_identifier_in_use_is_refused_and_nothing_is_saved(self, alice):
        services.create_client(actor=alice, data=new_client(), identifiers=[("hmis", "H-1")])
        with pytest.raises(ValidationError) as excinfo:
            services.create_client(
                actor=alice,
                data=new_client(legal_name="Other Person"),
                identifiers=[("hmis", "h-1 ")],
            )
        assert "identifiers" in excinfo.value.message_dict
        assert Client.objects.count() == 1

    def test_the_creator_sees_a_client_with_no_case_yet(self, alice, bob, dana):
        client = services.create_client(actor=alice, data=new_client())
        assert Client.objects.visible_to(alice).filter(pk=client.pk).exists()
        assert Client.objects.writable_by(alice).filter(pk=client.pk).exists()
        assert not Client.objects.visible_to(bob).filter(pk=client.pk).exists()
        assert Client.objects.visible_to(dana).filter(pk=client.pk).exists()
        assert not Client.objects.writable_by(dana).filter(pk=client.pk).exists()


class TestUpdateClientIdentifiers:
    def test_the_given_set_replaces_the_old_one(self, alice, alice_case):
        client = alice_case.client
        services.update_client(
            actor=alice, client=client, data={}, identifiers=[("hmis", "H-9"), ("county", "C-1")]
        )
        services.update_client(actor=alice, client=client, data={}, identifiers=[("hmis", "H-10")])
        assert set(client.identifiers.values_list("kind", "value")) == {("hmis", "H-10")}
        assert alice_case.events.filter(kind=CaseEventKind.CLIENT_UPDATED).count() == 2

    def test_another_clients_identifier_is_refused_and_nothing_changes(
        self, alice, alice_case, bob_case
    ):
        services.update_client(
            actor=alice, client=bob_case.client, data={}, identifiers=[("hmis", "H-1")]
        )
        with pytest.raises(ValidationError):
            services.update_client(
                actor=alice,
                client=alice_case.client,
                data={"pronouns": "he/him"},
                identifiers=[("hmis", "h-1")],
            )
        assert Client.objects.get(pk=alice_case.client_id).pronouns == ""

    def test_the_same_set_changes_nothing(self, alice, alice_case):
        client = alice_case.client
        services.update_client(actor=alice, client=client, data={}, identifiers=[("hmis", "H-9")])
        services.update_client(actor=alice, client=client, data={}, identifiers=[("hmis", " H-9 ")])
        assert alice_case.events.filter(kind=CaseEventKind.CLIENT_UPDATED).count() == 1


class TestRecordContactScope:
    def test_an_open_case_outside_the_workers_scope_is_refused(
        self, erin, alice_case, record_contact_for
    ):
        from cases.exceptions import OutsideScope

        with pytest.raises(OutsideScope) as excinfo:
            record_contact_for(erin, client=alice_case.client)
        assert excinfo.value.case_id == alice_case.pk
        assert alice_case.contacts.count() == 1

    def test_emergency_access_lets_the_worker_record_on_it(
        self, erin, alice_case, record_contact_for
    ):
        services.grant_emergency_access(
            actor=erin, case=alice_case, reason="On scene, client in crisis"
        )
        contact = record_contact_for(erin, client=alice_case.client)
        assert contact.case == alice_case

    def test_emergency_access_does_not_let_the_worker_amend_or_close(self, erin, alice_case):
        services.grant_emergency_access(
            actor=erin, case=alice_case, reason="On scene, client in crisis"
        )
        assert not Case.objects.writable_by(erin).filter(pk=alice_case.pk).exists()


class TestDoubleSubmit:
    def test_the_same_submission_records_one_contact(self, alice):
        import uuid

        submission = uuid.uuid4()
        first = services.record_contact(
            actor=alice,
            new_client_data=new_client(),
            contact_data=contact_data(),
            submission_id=submission,
        )
        again = services.record_contact(
            actor=alice,
            new_client_data=new_client(),
            contact_data=contact_data(),
            submission_id=submission,
        )
        assert again == first
        assert (Client.objects.count(), Case.objects.count(), Contact.objects.count()) == (1, 1, 1)


# Real transactions in two threads; serialized rollback keeps the reference lists that
# the migrations loaded for the tests that follow.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
class TestDoubleSubmitAtOnce:
    def test_two_identical_submissions_at_the_same_moment_record_one_contact(self, alice):
        import threading
        import uuid

        from django.db import connection

        submission = uuid.uuid4()
        barrier = threading.Barrier(2)
        results, errors = [], []

        def submit():
            try:
                barrier.wait()
                results.append(
                    services.record_contact(
                        actor=alice,
                        new_client_data=new_client(),
                        contact_data=contact_data(),
                        submission_id=submission,
                    ).pk
                )
            except Exception as exc:  # reported below
                errors.append(exc)
            finally:
                connection.close()

        threads = [threading.Thread(target=submit) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert len(set(results)) == 1
        assert (Client.objects.count(), Case.objects.count(), Contact.objects.count()) == (1, 1, 1)


class TestCallTimeOrder:
    @pytest.mark.parametrize(
        ("offsets", "field"),
        [
            ({"dispatched_at": 10, "on_scene_at": 5}, "on_scene_at"),
            ({"on_scene_at": 30, "cleared_at": 10}, "cleared_at"),
            ({"dispatched_at": 40, "cleared_at": 20}, "cleared_at"),
            ({"dispatched_at": -5}, "dispatched_at"),
        ],
    )
    def test_times_out_of_order_are_refused_by_field(self, alice, offsets, field):
        received = timezone.now() - datetime.timedelta(hours=2)
        times = {"dispatched_at": None, "on_scene_at": None, "cleared_at": None}
        times.update(
            {name: received + datetime.timedelta(minutes=m) for name, m in offsets.items()}
        )
        with pytest.raises(ValidationError) as excinfo:
            services.record_contact(
                actor=alice,
                new_client_data=new_client(),
                contact_data=contact_data(received_at=received, **times),
            )
        assert field in excinfo.value.message_dict
        assert not Contact.objects.exists()

    def test_an_amendment_cannot_put_them_out_of_order(self, alice, record_contact_for):
        contact = record_contact_for(alice)
        with pytest.raises(ValidationError):
            services.amend_contact(
                actor=alice,
                contact=contact,
                changes={"cleared_at": contact.on_scene_at - datetime.timedelta(minutes=1)},
                reason="Wrong clear time",
            )


class TestAmendScreen:
    def test_correcting_a_screen_recomputes_the_contact_and_case_risk(
        self, alice, record_contact_for
    ):
        contact = record_contact_for(alice, **HIGH_RISK)
        amendment = services.amend_contact(
            actor=alice,
            contact=contact,
            changes={
                "cssrs_suicidal_thoughts": False,
                "cssrs_method": None,
                "cssrs_intent": None,
                "cssrs_plan": None,
            },
            reason="Question 2 was keyed wrongly",
        )
        contact.refresh_from_db()
        assert contact.risk_level == RiskLevel.LOW
        assert amendment.changes["risk_level"] == {"from": "high", "to": "low"}
        case = Case.objects.get(pk=contact.case_id)
        assert case.risk_level == RiskLevel.LOW
        assert case.events.filter(kind=CaseEventKind.RISK_CHANGED).count() == 2

    def test_a_correction_that_breaks_the_skip_logic_is_refused(self, alice, record_contact_for):
        contact = record_contact_for(alice, **HIGH_RISK)
        with pytest.raises(ValidationError):
            services.amend_contact(
                actor=alice,
                contact=contact,
                changes={"cssrs_suicidal_thoughts": False},
                reason="Q2",
            )
        contact.refresh_from_db()
        assert contact.risk_level == RiskLevel.HIGH


class TestImplausibleCallTimes:
    @pytest.mark.parametrize(
        "when",
        [
            datetime.datetime(1, 1, 1, tzinfo=datetime.UTC),
            datetime.datetime(9999, 12, 31, tzinfo=datetime.UTC),
        ],
    )
    def test_an_absurd_year_is_refused(self, alice, when):
        with pytest.raises(ValidationError) as excinfo:
            services.record_contact(
                actor=alice,
                new_client_data=new_client(),
                contact_data=contact_data(
                    received_at=when, dispatched_at=None, on_scene_at=None, cleared_at=None
                ),
            )
        assert "received_at" in excinfo.value.message_dict


class TestNewDispositionsAndFollowUpEnrolment:
    """Transported to a shelter: the client is back in the community with no service
    holding their care, so the post-crisis check follows, as after a crisis resolved on
    scene. Transported to detox: withdrawal management holds their care, as a crisis
    centre does, so nothing is scheduled at the contact. Neither is a hospital visit."""

    @pytest.mark.parametrize(
        ("disposition", "checks"),
        [
            (Disposition.RESOLVED_ON_SCENE, 1),
            (Disposition.SHELTER, 1),
            (Disposition.DETOX, 0),
            (Disposition.CRISIS_CENTRE, 0),
        ],
    )
    def test_which_start_the_post_crisis_check(
        self, alice, record_contact_for, disposition, checks
    ):
        contact = record_contact_for(alice, disposition=disposition)
        enrolments = Enrolment.objects.filter(case=contact.case, trigger=Trigger.RESOLVED_ON_SCENE)
        assert enrolments.count() == checks
        assert not HospitalVisit.objects.filter(case=contact.case).exists()

    def test_the_shelter_check_says_why(self, alice, record_contact_for):
        contact = record_contact_for(alice, disposition=Disposition.SHELTER)
        enrolment = Enrolment.objects.get(case=contact.case)
        assert enrolment.reason.startswith("Crisis contact ended: transported to shelter, ")

    def test_the_new_sources_are_recorded(self, alice, record_contact_for):
        assert record_contact_for(alice, source=ContactSource.SELF).source == "self"
        assert record_contact_for(alice, source=ContactSource.OTHER).source == "other"
