"""The follow-up workflows: enrolment from what is recorded, restarts and re-anchoring,
what closing and reassigning a case do, one-off follow-ups, moving, attempts,
completing, protocol versions, and another agency never touched."""

import datetime

import pytest
from django.utils import timezone

from audit.models import Action, AuditEvent
from cases import services as case_services
from cases.models import CaseEventKind, Concern, Disposition
from followups import services
from followups.exceptions import CannotUndo, FollowUpClosed, FollowUpInvalid, NotPermitted
from followups.models import (
    OPEN_STATUSES,
    SAFETY_PLANNING_KEY,
    AttemptOutcome,
    Enrolment,
    EnrolmentStatus,
    FollowUp,
    FollowUpEventKind,
    HospitalVisit,
    Status,
    Trigger,
    VisitKind,
    VisitReason,
)
from tests.conftest import HIGH_RISK, MODERATE_RISK
from tests.followups.factories import (
    advance,
    due_followup,
    ed_visit,
    followups_of,
    make_case,
    make_contact,
    protocol,
)
from tests.referrals.factories import sent_referral

pytestmark = pytest.mark.django_db
HOUR = datetime.timedelta(hours=1)
DAY = datetime.timedelta(days=1)


def keys(case):
    return sorted(
        Enrolment.objects.filter(case=case).values_list("version__protocol__key", flat=True)
    )


class TestEnrolmentFromContacts:
    def test_a_contact_taken_to_the_er_records_the_visit_and_the_post_er_protocol(self, alice):
        contact = make_contact(alice, disposition=Disposition.EMERGENCY_ROOM)

        visit = HospitalVisit.objects.get(source_contact=contact)
        assert visit.kind == VisitKind.ED
        assert visit.arrived_at == contact.cleared_at
        assert visit.reason == VisitReason.MENTAL_HEALTH
        assert not visit.admitted
        enrolment = Enrolment.objects.get(case=contact.case)
        assert enrolment.version.protocol.key == "post-ed-discharge"
        assert enrolment.source_visit == visit
        assert enrolment.trigger == Trigger.ED_VISIT
        assert len(followups_of(contact.case)) == 4
        assert contact.case.events.filter(kind=CaseEventKind.HOSPITAL_VISIT).exists()

    def test_the_visit_reason_follows_the_presenting_concerns(self, alice):
        contact = make_contact(
            alice,
            disposition=Disposition.EMERGENCY_ROOM,
            presenting_concerns=[Concern.objects.get(code="substance-use")],
        )

        assert HospitalVisit.objects.get(source_contact=contact).reason == (
            VisitReason.SUBSTANCE_USE
        )

    def test_a_hospitalised_client_gets_an_inpatient_visit(self, alice):
        contact = make_contact(alice, disposition=Disposition.HOSPITALISED)

        visit = HospitalVisit.objects.get(source_contact=contact)
        assert visit.kind == VisitKind.INPATIENT
        assert visit.admitted
        assert keys(contact.case) == ["post-ed-discharge"]

    def test_a_high_risk_screen_enrols_in_the_intensive_protocol(self, alice):
        contact = make_contact(alice, disposition=Disposition.REFERRED, **HIGH_RISK)

        enrolment = Enrolment.objects.get(case=contact.case)
        assert enrolment.version.protocol.key == "safety-planning-calls"
        assert enrolment.trigger == Trigger.HIGH_RISK
        assert enrolment.source_contact == contact

    def test_an_er_visit_at_high_risk_gets_the_intensive_protocol_instead(self, alice):
        contact = make_contact(alice, disposition=Disposition.EMERGENCY_ROOM, **HIGH_RISK)

        assert keys(contact.case) == ["safety-planning-calls"]
        assert "high C-SSRS risk" in Enrolment.objects.get(case=contact.case).reason

    def test_a_second_high_risk_screen_does_not_enrol_again(self, alice):
        first = make_contact(alice, disposition=Disposition.REFERRED, **HIGH_RISK)
        make_contact(alice, client=first.client, disposition=Disposition.REFERRED, **HIGH_RISK)

        assert keys(first.case) == ["safety-planning-calls"]

    def test_a_high_risk_screen_replaces_the_plain_post_er_contacts(self, alice):
        # One post-discharge protocol at a time: the weekly Safety Planning calls take
        # over from the four Safe Care Transitions contacts, never both.
        first = make_contact(alice, disposition=Disposition.EMERGENCY_ROOM)
        plain = Enrolment.objects.get(case=first.case)
        make_contact(alice, client=first.client, disposition=Disposition.REFERRED, **HIGH_RISK)

        plain.refresh_from_db()
        assert plain.status == EnrolmentStatus.ENDED
        assert "Safety Planning" in plain.end_reason
        assert not plain.followups.filter(status__in=OPEN_STATUSES).exists()
        running = Enrolment.objects.filter(case=first.case, status=EnrolmentStatus.ACTIVE)
        assert [e.version.protocol.key for e in running] == ["safety-planning-calls"]

    def test_a_high_risk_screen_on_a_case_in_the_safety_planning_calls_changes_nothing(self, alice):
        first = make_contact(alice, disposition=Disposition.EMERGENCY_ROOM, **HIGH_RISK)
        before = set(FollowUp.objects.filter(case=first.case).values_list("pk", "status"))
        make_contact(alice, client=first.client, disposition=Disposition.REFERRED, **HIGH_RISK)

        assert keys(first.case) == ["safety-planning-calls"]
        assert set(FollowUp.objects.filter(case=first.case).values_list("pk", "status")) == (before)

    def test_resolved_on_scene_gets_a_post_crisis_check(self, alice):
        contact = make_contact(alice, disposition=Disposition.RESOLVED_ON_SCENE)

        (check,) = followups_of(contact.case)
        assert check.enrolment.version.protocol.key == "post-crisis-check"
        assert check.due_at == contact.cleared_at + 48 * HOUR
        assert "resolved on scene" in check.reason

    def test_the_contact_that_does_a_pending_check_does_not_start_another(self, alice):
        now = timezone.now()
        first = make_contact(
            alice, disposition=Disposition.RESOLVED_ON_SCENE, received_at=now - 2 * DAY - 3 * HOUR
        )
        (check,) = followups_of(first.case)
        assert check.status == Status.OVERDUE

        call = make_contact(
            alice,
            client=first.client,
            disposition=Disposition.RESOLVED_ON_SCENE,
            received_at=now - 30 * datetime.timedelta(minutes=1),
            dispatched_at=None,
            on_scene_at=None,
            cleared_at=now - 5 * datetime.timedelta(minutes=1),
        )
        services.complete_followup(actor=alice, followup=check, contact=call)

        check.refresh_from_db()
        assert check.status == Status.COMPLETED
        assert check.completed_contact == call
        assert len(followups_of(first.case)) == 1

    def test_other_dispositions_enrol_in_nothing(self, alice):
        contact = make_contact(alice, disposition=Disposition.REFERRED)

        assert not Enrolment.objects.filter(case=contact.case).exists()
        assert not FollowUp.objects.filter(case=contact.case).exists()

    def test_a_sent_referral_gets_a_referral_check(self, alice):
        case = make_case(alice)

        referral = sent_referral(alice, case)

        enrolment = Enrolment.objects.get(case=case)
        assert enrolment.source_referral == referral
        assert enrolment.trigger == Trigger.REFERRAL_SENT
        assert followups_of(case)[0].title.startswith("Referral check")

    def test_every_enrolment_is_audited_and_on_the_timeline(self, alice):
        contact = make_contact(alice, disposition=Disposition.EMERGENCY_ROOM)
        enrolment = Enrolment.objects.get(case=contact.case)

        assert AuditEvent.objects.filter(
            action=Action.CREATE, object_type="enrolment", object_id=str(enrolment.pk)
        ).exists()
        assert contact.case.events.filter(
            kind=CaseEventKind.FOLLOWUP, summary__startswith="Enrolled in"
        ).exists()
        (created,) = followups_of(contact.case)[0].events.all()
        assert created.kind == FollowUpEventKind.CREATED


class TestIdempotency:
    def test_enrolling_from_the_same_contact_again_changes_nothing(self, alice):
        contact = make_contact(alice, disposition=Disposition.EMERGENCY_ROOM)
        before = (
            HospitalVisit.objects.count(),
            Enrolment.objects.count(),
            FollowUp.objects.count(),
        )

        services.enrol_from_contact(contact=contact, actor=alice)
        resolved = make_contact(alice, disposition=Disposition.RESOLVED_ON_SCENE)
        services.enrol_from_contact(contact=resolved, actor=alice)

        assert HospitalVisit.objects.count() == before[0]
        assert Enrolment.objects.filter(case=contact.case).count() == 1
        assert FollowUp.objects.filter(case=contact.case).count() == before[2]
        assert FollowUp.objects.filter(case=resolved.case).count() == 1

    def test_the_same_visit_enrols_once_in_a_protocol(self, alice):
        case = make_case(alice)
        visit = ed_visit(case)

        again = services.enrol(
            case=case,
            protocol=protocol(alice.agency, "post-ed-discharge"),
            trigger=Trigger.ED_VISIT,
            anchor_at=visit.anchor_at,
            reason="again",
            source_visit=visit,
        )

        assert again is None
        assert Enrolment.objects.filter(case=case).count() == 1

    def test_the_engine_scheduling_the_next_call_twice_makes_one(self, alice):
        case = make_contact(alice, disposition=Disposition.REFERRED, **HIGH_RISK).case
        weekly = followups_of(case)[1]
        services.complete_followup(
            actor=alice,
            followup=weekly,
            note="Plan reviewed",
            plan_reviewed=True,
            plan_changed=False,
        )

        services.schedule_next_occurrence(FollowUp.objects.get(pk=weekly.pk))

        assert FollowUp.objects.filter(case=case, step=weekly.step).count() == 2


class TestReadmission:
    def test_a_new_visit_restarts_the_post_er_protocol(self, alice):
        case = make_case(alice)
        first = ed_visit(case, arrived_at=timezone.now() - 5 * DAY)
        old = Enrolment.objects.get(source_visit=first)

        second = ed_visit(case, arrived_at=timezone.now() - 2 * HOUR)

        old.refresh_from_db()
        assert old.status == EnrolmentStatus.ENDED
        assert old.end_reason.startswith("Restarted")
        assert not old.followups.filter(status__in=OPEN_STATUSES).exists()
        cancelled = old.followups.filter(status=Status.CANCELLED).first()
        assert cancelled.events.filter(kind=FollowUpEventKind.CANCELLED).exists()
        new = Enrolment.objects.get(source_visit=second)
        assert new.status == EnrolmentStatus.ACTIVE
        assert new.followups.count() == 4

    def test_a_back_dated_visit_does_not_restart_a_newer_enrolment(self, alice):
        case = make_case(alice)
        recent = ed_visit(case, arrived_at=timezone.now() - 2 * HOUR)

        older = ed_visit(case, arrived_at=timezone.now() - 20 * DAY)

        assert Enrolment.objects.get(source_visit=recent).status == EnrolmentStatus.ACTIVE
        assert not Enrolment.objects.filter(source_visit=older).exists()
        assert HospitalVisit.objects.filter(case=case).count() == 2


class TestDischarge:
    def test_the_discharge_re_anchors_what_nobody_has_worked_on(self, alice):
        case = make_case(alice)
        visit = ed_visit(case, arrived_at=timezone.now() - 3 * DAY)
        first, second = followups_of(case)[:2]
        services.log_attempt(actor=alice, followup=first, outcome=AttemptOutcome.NO_ANSWER)
        first.refresh_from_db()
        before = (first.window_start, second.window_start)

        services.record_discharge(actor=alice, visit=visit, discharged_at=timezone.now() - HOUR)

        first.refresh_from_db()
        second.refresh_from_db()
        assert first.window_start == before[0]  # worked on: kept
        assert second.window_start == before[1] + 3 * DAY
        moved = second.events.get(kind=FollowUpEventKind.RESCHEDULED)
        assert moved.reason == "Counted from the discharge"
        assert moved.detail["from"]["window_start"] == before[1].isoformat()
        enrolment = Enrolment.objects.get(source_visit=visit)
        assert "counted from the discharge" in enrolment.reason

    def test_an_inpatient_discharge_starts_caring_contacts(self, alice):
        contact = make_contact(alice, disposition=Disposition.HOSPITALISED)
        visit = HospitalVisit.objects.get(source_contact=contact)

        services.record_discharge(actor=alice, visit=visit, discharged_at=timezone.now())

        assert keys(contact.case) == ["caring-contacts", "post-ed-discharge"]

    def test_a_discharge_before_the_arrival_is_refused_on_its_field(self, alice):
        case = make_case(alice)
        visit = ed_visit(case)

        with pytest.raises(FollowUpInvalid) as error:
            services.record_discharge(
                actor=alice, visit=visit, discharged_at=visit.arrived_at - HOUR
            )

        assert error.value.field == "discharged_at"


class TestCloseCase:
    def test_closing_cancels_what_is_pending_with_the_reason(self, alice):
        case = make_contact(alice, disposition=Disposition.EMERGENCY_ROOM).case
        first = followups_of(case)[0]
        services.complete_followup(actor=alice, followup=first)

        case_services.close_case(actor=alice, case=case, reason="stabilised")

        statuses = [fu.status for fu in followups_of(case)]
        assert statuses == [Status.COMPLETED] + [Status.CANCELLED] * 3
        for fu in followups_of(case)[1:]:
            assert fu.cancel_reason == "The case was closed"
            event = fu.events.get(kind=FollowUpEventKind.CANCELLED)
            assert event.actor == alice
            assert event.reason == "The case was closed"
        assert Enrolment.objects.get(case=case).status == EnrolmentStatus.ENDED
        assert AuditEvent.objects.filter(
            action=Action.UPDATE, object_type="followup", detail__case_id=case.pk
        ).exists()


class TestReassign:
    def test_reassigning_moves_the_open_follow_ups(self, alice, bob, sam):
        case = make_contact(alice, disposition=Disposition.EMERGENCY_ROOM).case
        done = followups_of(case)[0]
        services.complete_followup(actor=alice, followup=done)

        case_services.reassign_case(actor=sam, case=case, to_worker=bob)

        fus = followups_of(case)
        assert fus[0].assigned_to == alice
        assert {fu.assigned_to for fu in fus[1:]} == {bob}
        event = fus[1].events.get(kind=FollowUpEventKind.REASSIGNED)
        assert event.actor == sam
        assert event.detail == {"from": alice.pk, "to": bob.pk}


class TestOneOff:
    def test_its_window_is_the_due_date_in_the_agency_zone(self, alice):
        case = make_case(alice)
        tz = alice.agency.zone
        due = timezone.now() + 2 * DAY

        fu = services.create_followup(actor=alice, case=case, due_at=due, reason="Check in")

        local_start = fu.window_start.astimezone(tz)
        local_end = fu.window_end.astimezone(tz)
        assert local_start.date() == due.astimezone(tz).date()
        assert local_start.time() == local_end.time() == datetime.time(0, 0)
        assert local_end.date() == due.astimezone(tz).date() + DAY
        assert fu.status == Status.SCHEDULED
        assert fu.next_check_at == fu.window_start
        assert fu.created_by == alice
        assert AuditEvent.objects.filter(
            action=Action.CREATE, object_type="followup", object_id=str(fu.pk)
        ).exists()

    def test_one_due_later_today_is_due_now(self, alice):
        fu = due_followup(make_case(alice), due_in=HOUR)

        assert fu.status == Status.DUE

    @pytest.mark.parametrize(
        ("changes", "field"),
        [
            ({"due_at": "tomorrow"}, "due_at"),
            ({"due_at": timezone.now() - 3 * DAY}, "due_at"),
            ({"due_at": timezone.now() + 6 * 366 * DAY}, "due_at"),
            ({"reason": "  "}, "reason"),
            ({"method": "pigeon"}, "method"),
            ({"window_end": timezone.now() + HOUR}, "window_end"),
            ({"window_start": timezone.now() + 3 * DAY}, "window_start"),
        ],
    )
    def test_bad_input_is_refused_on_its_field(self, alice, changes, field):
        case = make_case(alice)
        args = {"due_at": timezone.now() + 2 * DAY, "reason": "Check in", **changes}

        with pytest.raises(FollowUpInvalid) as error:
            services.create_followup(actor=alice, case=case, **args)

        assert error.value.field == field

    def test_a_day_already_over_where_the_agency_works_is_named(self, alice, time_machine):
        # 03:00 UTC on 6 December is 19:00 on Saturday 5 December in Los Angeles: a
        # follow-up due at 23:00 on the 4th there is a day that ended, named as the
        # agency's today.
        time_machine.move_to(datetime.datetime(2026, 12, 6, 3, 0, tzinfo=datetime.UTC))
        due = datetime.datetime(2026, 12, 5, 7, 0, tzinfo=datetime.UTC)

        with pytest.raises(FollowUpInvalid) as error:
            services.create_followup(
                actor=alice, case=make_case(alice), due_at=due, reason="Check in"
            )

        assert error.value.field == "due_at"
        assert str(error.value) == (
            "That day is already over: today is Sat 5 Dec 2026, Los Angeles time. "
            "Choose a due time from now on."
        )

    def test_it_cannot_go_to_another_agencys_worker(self, alice, carol):
        with pytest.raises(FollowUpInvalid) as error:
            due_followup(make_case(alice), assigned_to=carol)

        assert error.value.field == "assigned_to"


class TestMove:
    def test_the_move_keeps_the_reason_who_and_when(self, alice, bob):
        fu = due_followup(make_case(alice), due_in=2 * DAY)
        old_due = fu.due_at

        moved = services.move_followup(
            actor=bob, followup=fu, due_at=old_due + DAY, reason="Client is away until Friday"
        )

        assert moved.due_at == old_due + DAY
        assert moved.window_end - moved.due_at == fu.window_end - old_due
        event = moved.events.get(kind=FollowUpEventKind.RESCHEDULED)
        assert event.actor == bob
        assert event.reason == "Client is away until Friday"
        assert abs(event.at - timezone.now()) < datetime.timedelta(minutes=1)
        assert event.detail["from"]["due_at"] == old_due.isoformat()
        assert event.detail["to"]["due_at"] == (old_due + DAY).isoformat()

    def test_a_reason_is_required(self, alice):
        fu = due_followup(make_case(alice))

        with pytest.raises(FollowUpInvalid) as error:
            services.move_followup(actor=alice, followup=fu, due_at=fu.due_at + DAY, reason="")

        assert error.value.field == "reason"

    def test_a_missed_follow_up_stays_missed(self, alice):
        case = make_case(alice)
        ed_visit(case, arrived_at=timezone.now() - 5 * DAY)
        missed = followups_of(case)[0]
        assert missed.status == Status.MISSED

        with pytest.raises(FollowUpClosed):
            services.move_followup(
                actor=alice, followup=missed, due_at=timezone.now() + DAY, reason="Try again"
            )

    def test_it_cannot_move_so_its_window_has_closed(self, alice, time_machine):
        # 19:30 in Los Angeles: due at 21:30, its window ends at midnight, 4.5 h away;
        # moved 22 h back, the window would have ended 17.5 h ago. (Pinned: at 01:30
        # there, the window's end is 22.5 h away, and the same move leaves it open.)
        time_machine.move_to(datetime.datetime(2026, 12, 6, 3, 30, tzinfo=datetime.UTC))
        fu = due_followup(make_case(alice), due_in=2 * HOUR)

        with pytest.raises(FollowUpInvalid) as error:
            services.move_followup(
                actor=alice, followup=fu, due_at=timezone.now() - 20 * HOUR, reason="Oops"
            )

        assert error.value.field == "due_at"
        assert "window would already be closed" in str(error.value)


class TestAttemptsAndCompletion:
    def test_attempts_keep_it_open_until_the_client_is_reached(self, alice):
        fu = due_followup(make_case(alice))

        services.log_attempt(actor=alice, followup=fu, outcome=AttemptOutcome.NO_ANSWER)
        services.log_attempt(actor=alice, followup=fu, outcome=AttemptOutcome.LEFT_MESSAGE)
        fu.refresh_from_db()
        assert fu.status == Status.DUE
        reached = services.log_attempt(actor=alice, followup=fu, outcome=AttemptOutcome.REACHED)

        fu.refresh_from_db()
        assert fu.status == Status.COMPLETED
        assert fu.completed_at == reached.at
        assert fu.completed_by == alice
        assert [a.outcome for a in fu.attempts.all()] == ["no_answer", "left_message", "reached"]
        assert fu.events.filter(kind=FollowUpEventKind.ATTEMPT).count() == 3

    def test_declining_a_post_er_call_does_not_end_the_protocol(self, alice):
        case = make_contact(alice, disposition=Disposition.EMERGENCY_ROOM).case
        first = followups_of(case)[0]

        services.log_attempt(actor=alice, followup=first, outcome=AttemptOutcome.DECLINED)

        assert Enrolment.objects.get(case=case).status == EnrolmentStatus.ACTIVE

    def test_an_attempt_in_the_future_is_refused_on_its_field(self, alice):
        fu = due_followup(make_case(alice))

        with pytest.raises(FollowUpInvalid) as error:
            services.log_attempt(
                actor=alice,
                followup=fu,
                outcome=AttemptOutcome.NO_ANSWER,
                at=timezone.now() + DAY,
            )

        assert error.value.field == "at"

    def test_a_contact_completes_it_at_the_contacts_time(self, alice):
        case = make_case(alice)
        fu = due_followup(case)
        call = make_contact(alice, client=case.client, disposition=Disposition.REFERRED)

        services.complete_followup(actor=alice, followup=fu, contact=call)
        again = services.complete_followup(actor=alice, followup=fu, contact=call)

        assert again.status == Status.COMPLETED
        assert again.completed_contact == call
        assert again.completed_at == call.received_at
        assert fu.events.filter(to_status=Status.COMPLETED).count() == 1

    def test_the_contact_that_caused_it_cannot_complete_it(self, alice):
        contact = make_contact(alice, disposition=Disposition.RESOLVED_ON_SCENE)
        (check,) = followups_of(contact.case)

        with pytest.raises(FollowUpInvalid) as error:
            services.complete_followup(actor=alice, followup=check, contact=contact)

        assert error.value.field == "contact"

    def test_a_contact_on_another_case_is_refused(self, alice, bob):
        fu = due_followup(make_case(alice))
        other = make_contact(alice, disposition=Disposition.REFERRED)

        with pytest.raises(FollowUpInvalid) as error:
            services.complete_followup(actor=alice, followup=fu, contact=other)

        assert error.value.field == "contact"

    def test_a_missed_one_can_be_done_late_but_not_within_its_window(self, alice):
        case = make_case(alice)
        ed_visit(case, arrived_at=timezone.now() - 5 * DAY)
        missed = followups_of(case)[0]

        done = services.complete_followup(actor=alice, followup=missed)

        assert done.status == Status.COMPLETED
        assert not done.done_within_window

    def test_a_closed_follow_up_takes_no_more_attempts(self, alice):
        fu = due_followup(make_case(alice))
        services.cancel_followup(actor=alice, followup=fu, reason="Client moved away")

        with pytest.raises(FollowUpClosed):
            services.log_attempt(actor=alice, followup=fu, outcome=AttemptOutcome.NO_ANSWER)


class TestProtocolVersions:
    STEPS = [
        {
            "name": "Check-in at 24 hours",
            "unit": "hours",
            "start": 24,
            "due": 24,
            "end": 48,
            "method": "phone",
            "performer": "assigned_worker",
            "repeat_every": None,
            "repeat_times": None,
        }
    ]

    def test_a_new_version_applies_to_new_enrolments_only(self, alice, dana):
        before = make_contact(alice)
        post_crisis = protocol(dana.agency, "post-crisis-check")

        version = services.save_protocol_version(
            actor=dana,
            protocol=post_crisis,
            description="Sooner check.",
            end_rule="steps_done",
            steps=self.STEPS,
            change_note="Sooner",
        )
        after = make_contact(alice)

        assert version.number == 2
        assert version.created_by == dana
        (old,) = followups_of(before.case)
        (new,) = followups_of(after.case)
        assert old.enrolment.version.number == 1
        assert old.due_at == before.cleared_at + 48 * HOUR
        assert new.enrolment.version == version
        assert new.due_at == after.cleared_at + 24 * HOUR

    @pytest.mark.parametrize(
        ("change", "field"),
        [
            ({"steps": []}, "steps"),
            ({"steps": [{**STEPS[0], "start": 50}]}, "steps"),
            ({"steps": [{**STEPS[0], "unit": "weeks"}]}, "steps"),
            ({"steps": [{**STEPS[0], "repeat_every": 10}]}, "steps"),
            ({"change_note": ""}, "change_note"),
            ({"end_rule": "never"}, "end_rule"),
            ({"description": ""}, "description"),
        ],
    )
    def test_bad_versions_are_refused_on_their_field(self, dana, change, field):
        args = {
            "description": "Sooner check.",
            "end_rule": "steps_done",
            "steps": self.STEPS,
            "change_note": "Sooner",
            **change,
        }
        with pytest.raises(FollowUpInvalid) as error:
            services.save_protocol_version(
                actor=dana, protocol=protocol(dana.agency, "post-crisis-check"), **args
            )

        assert error.value.field == field

    def test_only_the_agencys_own_admins_change_it(self, sam, dana, carol):
        post_crisis = protocol(dana.agency, "post-crisis-check")
        for actor in (sam, carol):
            with pytest.raises(NotPermitted):
                services.save_protocol_version(
                    actor=actor,
                    protocol=post_crisis,
                    description="x",
                    end_rule="steps_done",
                    steps=self.STEPS,
                    change_note="x",
                )


class TestOtherAgency:
    def test_another_agency_is_never_touched(self, alice, carol, dana):
        theirs = make_contact(carol, disposition=Disposition.EMERGENCY_ROOM)
        their_followups = {fu.pk: fu.status for fu in followups_of(theirs.case)}
        ours = make_contact(alice, disposition=Disposition.EMERGENCY_ROOM)
        case_services.close_case(actor=alice, case=ours.case, reason="stabilised")
        services.save_protocol_version(
            actor=dana,
            protocol=protocol(dana.agency, "post-ed-discharge"),
            description="Ours only.",
            end_rule="steps_done",
            steps=TestProtocolVersions.STEPS,
            change_note="Ours",
        )

        assert {fu.pk: fu.status for fu in followups_of(theirs.case)} == their_followups
        assert Enrolment.objects.get(case=theirs.case).version.protocol.agency_id == (
            carol.agency_id
        )
        assert protocol(carol.agency, "post-ed-discharge").current_version().number == 1
        with pytest.raises(NotPermitted):
            services.complete_followup(actor=alice, followup=followups_of(theirs.case)[0])
        with pytest.raises(NotPermitted):
            services.create_followup(
                actor=alice, case=theirs.case, due_at=timezone.now() + DAY, reason="x"
            )

    def test_advancing_time_is_per_row_not_per_agency(self, alice, carol):
        # Both agencies' rows follow their own windows (their own time zones).
        a = due_followup(make_case(alice), due_in=HOUR)
        b = due_followup(make_case(carol), due_in=HOUR)

        advance(timezone.now() + 2 * HOUR)

        a.refresh_from_db()
        b.refresh_from_db()
        assert a.status == b.status == Status.OVERDUE


# An instant where the UTC date (6 Dec) and the agency's (5 Dec, Los Angeles) differ.
EVENING = datetime.datetime(2026, 12, 6, 3, 0, tzinfo=datetime.UTC)


def spi_followups(case):
    """The case enrolled by hand in the Safety Planning calls (whatever its risk)."""
    services.enrol(
        case=case,
        protocol=protocol(case.agency, SAFETY_PLANNING_KEY),
        trigger=Trigger.MANUAL,
        anchor_at=timezone.now() - datetime.timedelta(hours=1),
        reason="Safety plan made at the ER",
    )
    return followups_of(case, key=SAFETY_PLANNING_KEY)


class TestReachedNeedsANote:
    """Reaching the client on a high-risk or Safety Planning call is not done without a
    note (models.NOTE_REQUIRED); other calls and other outcomes need none."""

    @pytest.fixture(autouse=True)
    def evening(self, time_machine):
        time_machine.move_to(EVENING, tick=False)

    def test_a_high_risk_client_reached_without_a_note_is_refused(self, alice):
        fu = due_followup(make_case(alice, **HIGH_RISK))

        with pytest.raises(FollowUpInvalid) as error:
            services.log_attempt(actor=alice, followup=fu, outcome=AttemptOutcome.REACHED, note=" ")

        assert error.value.field == "note"
        assert not fu.attempts.exists()
        assert FollowUp.objects.get(pk=fu.pk).status == Status.DUE

    def test_with_the_note_it_is_done_and_the_note_kept(self, alice):
        fu = due_followup(make_case(alice, **HIGH_RISK))

        attempt = services.log_attempt(
            actor=alice, followup=fu, outcome=AttemptOutcome.REACHED, note="Safe; plan reviewed."
        )

        fu.refresh_from_db()
        assert fu.status == Status.COMPLETED
        assert attempt.note == "Safe; plan reviewed."
        assert fu.events.get(to_status=Status.COMPLETED).reason == "Safe; plan reviewed."

    def test_a_safety_planning_call_needs_one_whatever_the_risk(self, alice):
        first = spi_followups(make_case(alice, **MODERATE_RISK))[0]

        with pytest.raises(FollowUpInvalid):
            services.log_attempt(actor=alice, followup=first, outcome=AttemptOutcome.REACHED)
        with pytest.raises(FollowUpInvalid) as error:
            services.complete_followup(actor=alice, followup=first)

        assert error.value.field == "note"
        services.complete_followup(
            actor=alice, followup=first, note="Plan reviewed", plan_reviewed=False
        )
        assert FollowUp.objects.get(pk=first.pk).status == Status.COMPLETED

    def test_other_outcomes_and_other_calls_need_none(self, alice):
        high = due_followup(make_case(alice, **HIGH_RISK))
        plain = due_followup(make_case(alice, **MODERATE_RISK))

        services.log_attempt(actor=alice, followup=high, outcome=AttemptOutcome.NO_ANSWER)
        services.log_attempt(actor=alice, followup=plain, outcome=AttemptOutcome.REACHED)

        assert FollowUp.objects.get(pk=plain.pk).status == Status.COMPLETED

    def test_the_contact_that_completes_it_is_its_note(self, alice):
        case = make_case(alice, **HIGH_RISK)
        fu = due_followup(case)
        call = make_contact(alice, client=case.client, disposition=Disposition.REFERRED)

        services.log_attempt(actor=alice, followup=fu, outcome=AttemptOutcome.REACHED, contact=call)

        assert FollowUp.objects.get(pk=fu.pk).completed_contact == call


class TestUndoAttempt:
    @pytest.fixture(autouse=True)
    def evening(self, time_machine):
        time_machine.move_to(EVENING, tick=False)

    def test_no_answer_is_taken_back_and_the_history_says_so(self, alice):
        fu = due_followup(make_case(alice))
        attempt = services.log_attempt(actor=alice, followup=fu, outcome=AttemptOutcome.NO_ANSWER)

        services.undo_attempt(actor=alice, attempt=attempt)

        assert not fu.attempts.exists()
        event = fu.events.get(kind=FollowUpEventKind.ATTEMPT_UNDONE)
        assert (event.actor, event.detail["outcome"]) == (alice, "no_answer")
        assert (event.from_status, event.to_status) == (Status.DUE, Status.DUE)
        assert AuditEvent.objects.filter(
            action=Action.UPDATE, object_id=str(fu.pk), detail__attempt_undone=attempt.pk
        ).exists()

    @pytest.mark.parametrize(
        "due_in, before",
        [(datetime.timedelta(hours=2), Status.DUE), (-datetime.timedelta(hours=1), Status.OVERDUE)],
    )
    def test_reached_reopens_it_as_it_was(self, alice, due_in, before):
        case = make_case(alice)
        fu = due_followup(case, due_in=due_in)
        assert fu.status == before
        attempt = services.log_attempt(actor=alice, followup=fu, outcome=AttemptOutcome.REACHED)

        services.undo_attempt(actor=alice, attempt=attempt)

        fu.refresh_from_db()
        assert (fu.status, fu.completed_at, fu.completed_by) == (before, None, None)
        assert fu.next_check_at == fu.next_boundary(timezone.now())
        event = fu.events.get(kind=FollowUpEventKind.ATTEMPT_UNDONE)
        assert (event.from_status, event.to_status) == (Status.COMPLETED, before)
        assert case.events.filter(
            kind=CaseEventKind.FOLLOWUP, summary__startswith="Follow-up reopened"
        ).exists()

    def test_a_missed_one_done_late_is_missed_again(self, alice):
        case = make_case(alice)
        ed_visit(case, arrived_at=timezone.now() - 5 * DAY)
        advance()
        missed = followups_of(case)[0]
        assert missed.status == Status.MISSED
        attempt = services.log_attempt(actor=alice, followup=missed, outcome=AttemptOutcome.REACHED)

        services.undo_attempt(actor=alice, attempt=attempt)

        missed.refresh_from_db()
        assert (missed.status, missed.completed_at, missed.next_check_at) == (
            Status.MISSED,
            None,
            None,
        )

    def test_the_protocol_its_last_step_ended_runs_again(self, alice, enrol_hourly):
        (only,) = enrol_hourly(
            make_case(alice), anchor_at=timezone.now() - datetime.timedelta(hours=3)
        )
        attempt = services.log_attempt(actor=alice, followup=only, outcome=AttemptOutcome.REACHED)
        assert Enrolment.objects.get(pk=only.enrolment_id).status == EnrolmentStatus.ENDED

        services.undo_attempt(actor=alice, attempt=attempt)

        enrolment = Enrolment.objects.get(pk=only.enrolment_id)
        assert (enrolment.status, enrolment.ended_at) == (EnrolmentStatus.ACTIVE, None)
        assert FollowUp.objects.get(pk=only.pk).status == Status.DUE

    def test_a_weekly_call_undone_and_reached_again_schedules_the_next_one_once(self, alice):
        weekly = spi_followups(make_case(alice))[1]
        answers = {"plan_reviewed": True, "plan_changed": False}
        attempt = services.log_attempt(
            actor=alice,
            followup=weekly,
            outcome=AttemptOutcome.REACHED,
            note="Doing okay",
            **answers,
        )
        assert FollowUp.objects.get(pk=weekly.pk).plan_reviewed is True
        assert FollowUp.objects.filter(step=weekly.step).count() == 2

        services.undo_attempt(actor=alice, attempt=attempt)
        reopened = FollowUp.objects.get(pk=weekly.pk)
        assert reopened.status == Status.SCHEDULED
        assert (reopened.plan_reviewed, reopened.plan_changed) == (None, None)
        services.log_attempt(
            actor=alice,
            followup=weekly,
            outcome=AttemptOutcome.REACHED,
            note="Doing okay",
            **answers,
        )

        assert FollowUp.objects.filter(step=weekly.step).count() == 2

    def test_it_is_refused_after_the_undo_window(self, alice, time_machine):
        fu = due_followup(make_case(alice))
        attempt = services.log_attempt(actor=alice, followup=fu, outcome=AttemptOutcome.REACHED)
        time_machine.move_to(EVENING + services.UNDO_WINDOW + datetime.timedelta(seconds=1))

        with pytest.raises(CannotUndo):
            services.undo_attempt(actor=alice, attempt=attempt)

        assert FollowUp.objects.get(pk=fu.pk).status == Status.COMPLETED
        assert fu.attempts.count() == 1

    def test_only_its_author_may_undo_it(self, alice, bob):
        fu = due_followup(make_case(alice))
        attempt = services.log_attempt(actor=alice, followup=fu, outcome=AttemptOutcome.NO_ANSWER)

        with pytest.raises(CannotUndo):
            services.undo_attempt(actor=bob, attempt=attempt)

    def test_only_the_last_attempt_and_only_once(self, alice):
        fu = due_followup(make_case(alice))
        first = services.log_attempt(actor=alice, followup=fu, outcome=AttemptOutcome.NO_ANSWER)
        second = services.log_attempt(actor=alice, followup=fu, outcome=AttemptOutcome.LEFT_MESSAGE)

        with pytest.raises(CannotUndo):
            services.undo_attempt(actor=alice, attempt=first)
        services.undo_attempt(actor=alice, attempt=second)
        with pytest.raises(CannotUndo):
            services.undo_attempt(actor=alice, attempt=second)

    def test_a_decline_that_ended_the_protocol_is_not_undone_here(self, alice):
        first = spi_followups(make_case(alice))[0]
        attempt = services.log_attempt(actor=alice, followup=first, outcome=AttemptOutcome.DECLINED)

        with pytest.raises(CannotUndo):
            services.undo_attempt(actor=alice, attempt=attempt)

        assert FollowUp.objects.get(pk=first.pk).status == Status.CANCELLED
