"""Time travel through whole protocols, in agency A's zone (America/Los_Angeles): the
windows each shipped protocol gives, and what happens as the days go by (advance()
applies the time-driven status changes as the engine does)."""

import datetime
import zoneinfo

import pytest
import time_machine

from cases.models import Disposition
from directory.models import NeedCategory
from followups import services
from followups.models import (
    AttemptOutcome,
    Enrolment,
    EnrolmentStatus,
    FollowUp,
    Protocol,
    ProtocolVersion,
    Status,
    Trigger,
    VisitKind,
    VisitReason,
)
from followups.protocols import STANDARD_PROTOCOLS, install_standard_protocols
from referrals.models import Status as ReferralStatus
from tests.conftest import HIGH_RISK
from tests.followups.factories import (
    advance,
    ed_visit,
    followups_of,
    make_case,
    make_contact,
)
from tests.referrals.factories import move_to, sent_referral

LA = zoneinfo.ZoneInfo("America/Los_Angeles")
DAY = datetime.timedelta(days=1)


def la(*args):
    return datetime.datetime(*args, tzinfo=LA)


def days_of(fu):
    """The first and last local dates of a day-based window."""
    start = fu.window_start.astimezone(LA)
    end = fu.window_end.astimezone(LA)
    assert start.time() == end.time() == datetime.time(0, 0)
    return start.date(), end.date() - DAY


def d(month, day, year=2025):
    return datetime.date(year, month, day)


def reach(worker, fu):
    # A Safety Planning call is not done without its note (models.NOTE_REQUIRED) and the
    # safety plan answers (models.plan_review_asked), which other calls do not take.
    asked = FollowUp.objects.asking_plan_review().filter(pk=fu.pk).exists()
    return services.log_attempt(
        actor=worker,
        followup=fu,
        outcome=AttemptOutcome.REACHED,
        note="Reviewed the plan.",
        **({"plan_reviewed": True, "plan_changed": False} if asked else {}),
    )


def refreshed(fu):
    return FollowUp.objects.get(pk=fu.pk)


class TestShippedProtocols:
    def test_each_cites_its_source(self):
        sources = {p["key"]: p["description"] for p in STANDARD_PROTOCOLS}
        assert "Safe Care Transitions" in sources["post-ed-discharge"]
        assert "Stanley" in sources["safety-planning-calls"]
        assert "JAMA Psychiatry 2018" in sources["safety-planning-calls"]
        assert "Motto and Bostrom" in sources["caring-contacts"]
        assert "Gravity Project" in sources["referral-check"]
        assert "SAMHSA" in sources["post-crisis-check"]

    def test_caring_contacts_state_the_30_day_month(self):
        # The offsets count a month as 30 days (day 1800 for "5 years"): said where an
        # admin reads the protocol, so nobody takes day 1800 for a calendar date.
        (spec,) = [p for p in STANDARD_PROTOCOLS if p["key"] == "caring-contacts"]
        assert "30 days" in spec["description"]


@pytest.mark.django_db
class TestInstallStandardProtocols:
    def test_a_new_agency_gets_every_shipped_protocol_with_its_steps_in_a_few_queries(
        self, agency_a, django_assert_max_num_queries
    ):
        # Set-based: the count does not grow with the protocols or their steps (it was
        # 73 queries, one or more per row, on an agency's first contact): a savepoint and
        # its release, the agency's lock, the keys it has, three inserts.
        with django_assert_max_num_queries(7):
            made = install_standard_protocols(agency_a.pk)

        assert sorted(p.key for p in made) == sorted(p["key"] for p in STANDARD_PROTOCOLS)
        for spec in STANDARD_PROTOCOLS:
            protocol = Protocol.objects.get(agency=agency_a, key=spec["key"])
            version = protocol.current_version()
            assert (version.number, version.end_rule) == (1, spec["end_rule"])
            steps = version.steps.order_by("position")
            assert [s.name for s in steps] == [step["name"] for step in spec["steps"]]
            assert [s.position for s in steps] == list(range(1, len(spec["steps"]) + 1))

    def test_installing_again_keeps_the_agencys_own_versions_and_adds_what_is_missing(
        self, agency_a
    ):
        install_standard_protocols(agency_a.pk)
        referral_check = Protocol.objects.get(agency=agency_a, key="referral-check")
        ProtocolVersion.objects.filter(protocol=referral_check).delete()
        referral_check.delete()

        made = install_standard_protocols(agency_a.pk)

        assert [p.key for p in made] == ["referral-check"]
        assert Protocol.objects.filter(agency=agency_a).count() == len(STANDARD_PROTOCOLS)
        assert install_standard_protocols(agency_a.pk) == []


@pytest.mark.django_db
class TestSafeCareTransitions:
    def test_four_contacts_in_days_1_3_7_10_30_60_and_60_90_after_the_discharge(self, alice):
        with time_machine.travel(la(2025, 5, 2, 12, 0), tick=False) as clock:
            case = make_case(alice)
            ed_visit(case, arrived_at=la(2025, 5, 1, 20, 0), discharged_at=la(2025, 5, 2, 9, 0))
            fus = followups_of(case, key="post-ed-discharge")

            # Day 0 is the discharge date, 2 May.
            assert [days_of(fu) for fu in fus] == [
                (d(5, 3), d(5, 5)),
                (d(5, 9), d(5, 12)),
                (d(6, 1), d(7, 1)),
                (d(7, 1), d(7, 31)),
            ]
            assert {fu.status for fu in fus} == {Status.SCHEDULED}
            assert all(fu.assigned_to == alice for fu in fus)
            first, second, third, fourth = fus

            clock.move_to(la(2025, 5, 3, 0, 30))
            advance()
            assert refreshed(first).status == Status.DUE
            reach(alice, first)
            assert refreshed(first).done_within_window

            clock.move_to(la(2025, 5, 11, 12, 0))  # day 9: past day 8, its due day
            advance()
            assert refreshed(second).status == Status.OVERDUE

            clock.move_to(la(2025, 5, 13, 0, 30))  # day 10 is over
            advance()
            assert refreshed(second).status == Status.MISSED

            clock.move_to(la(2025, 6, 10, 10, 0))  # day 39: due by day 45
            advance()
            assert refreshed(third).status == Status.DUE
            reach(alice, third)

            clock.move_to(la(2025, 8, 1, 0, 30))
            advance()
            assert refreshed(fourth).status == Status.MISSED
            assert [refreshed(fu).status for fu in fus] == [
                Status.COMPLETED,
                Status.MISSED,
                Status.COMPLETED,
                Status.MISSED,
            ]
            enrolment = first.enrolment
            enrolment.refresh_from_db()
            assert enrolment.status == EnrolmentStatus.ENDED

    def test_without_a_discharge_it_counts_from_the_arrival(self, alice):
        with time_machine.travel(la(2025, 5, 2, 12, 0), tick=False):
            case = make_case(alice)
            ed_visit(case, arrived_at=la(2025, 5, 1, 20, 0))

            first = followups_of(case, key="post-ed-discharge")[0]
            assert days_of(first) == (d(5, 2), d(5, 4))


def assert_first_calls(first_call, weekly_1, *, anchor):
    """The first call runs from the contact (`anchor`) to 72 hours after it; the first
    weekly call takes days 7 to 9 after it."""
    assert first_call.window_start == anchor
    assert first_call.due_at == first_call.window_end == anchor + 72 * datetime.timedelta(hours=1)
    anchor_day = anchor.astimezone(LA).date()
    assert days_of(weekly_1) == (anchor_day + 7 * DAY, anchor_day + 9 * DAY)
    assert weekly_1.title.endswith("Weekly call 1")


def assert_stopped_as_engaged_in_care(enrolment, weekly_call):
    weekly_call.refresh_from_db()
    assert weekly_call.status == Status.CANCELLED
    assert "attended mental health care" in weekly_call.cancel_reason
    enrolment.refresh_from_db()
    assert enrolment.status == EnrolmentStatus.ENDED


@pytest.mark.django_db
class TestSafetyPlanningCalls:
    def test_first_call_within_72_hours_then_weekly_until_engaged_in_care(self, alice):
        with time_machine.travel(la(2025, 5, 2, 12, 0), tick=False) as clock:
            contact = make_contact(alice, disposition=Disposition.REFERRED, **HIGH_RISK)
            case = contact.case
            enrolment = Enrolment.objects.get(case=case)
            assert enrolment.trigger == Trigger.HIGH_RISK
            assert enrolment.version.protocol.key == "safety-planning-calls"
            anchor = contact.cleared_at
            first_call, weekly_1 = followups_of(case)
            assert_first_calls(first_call, weekly_1, anchor=anchor)
            anchor_day = anchor.astimezone(LA).date()

            reach(alice, first_call)
            clock.move_to(la(2025, 5, 9, 9, 0))
            advance()
            reach(alice, weekly_1)
            weekly_2 = followups_of(case)[-1]
            assert weekly_2.title.endswith("Weekly call 2")
            assert days_of(weekly_2) == (anchor_day + 14 * DAY, anchor_day + 16 * DAY)

            # Nobody reaches the client that week: missed, and the next week comes anyway.
            clock.move_to(la(2025, 5, 19, 9, 0))
            advance()
            assert refreshed(weekly_2).status == Status.MISSED
            weekly_3 = followups_of(case)[-1]
            assert weekly_3.occurrence == 3
            assert days_of(weekly_3) == (anchor_day + 21 * DAY, anchor_day + 23 * DAY)

            # The client attends a mental health appointment: the calls stop.
            referral = sent_referral(alice, case, need_category=NeedCategory.MENTAL_HEALTH)
            move_to(referral, ReferralStatus.COMPLETED)

            assert_stopped_as_engaged_in_care(enrolment, weekly_3)
            clock.move_to(la(2025, 6, 30, 9, 0))
            advance()
            assert not FollowUp.objects.filter(enrolment=enrolment, status__in=["scheduled"])
            assert FollowUp.objects.filter(enrolment=enrolment).count() == 4

    def test_a_client_who_declines_further_calls_gets_none(self, alice):
        with time_machine.travel(la(2025, 5, 2, 12, 0), tick=False):
            case = make_contact(alice, disposition=Disposition.REFERRED, **HIGH_RISK).case
            first_call, weekly_1 = followups_of(case)

            services.log_attempt(actor=alice, followup=first_call, outcome=AttemptOutcome.DECLINED)

            first_call.refresh_from_db()
            weekly_1.refresh_from_db()
            assert first_call.status == weekly_1.status == Status.CANCELLED
            assert weekly_1.cancel_reason == "The client declined further calls"
            assert first_call.enrolment.status == EnrolmentStatus.ENDED
            assert not FollowUp.objects.filter(case=case, status__in=["scheduled", "due"])

    def test_a_weekly_call_nobody_could_act_on_is_skipped_not_piled_up(self, alice):
        with time_machine.travel(la(2025, 5, 2, 12, 0), tick=False) as clock:
            case = make_contact(alice, disposition=Disposition.REFERRED, **HIGH_RISK).case
            weekly_1 = followups_of(case)[1]

            # Weeks pass with nothing processed (every worker down), then weekly 1 is
            # recorded as done late.
            clock.move_to(la(2025, 6, 1, 9, 0))
            reach(alice, weekly_1)

            nxt = FollowUp.objects.filter(case=case, step=weekly_1.step).latest("occurrence")
            # Weekly 4 (days 28-30) is the first whose window is still open.
            assert nxt.occurrence == 4
            assert nxt.window_end > la(2025, 6, 1, 9, 0)
            assert nxt.is_open
            assert FollowUp.objects.filter(case=case, step=weekly_1.step).count() == 2


@pytest.mark.django_db
class TestCaringContacts:
    def test_24_contacts_over_5_years_monthly_then_two_monthly_then_quarterly(self, alice):
        with time_machine.travel(la(2025, 5, 10, 12, 0), tick=False) as clock:
            case = make_case(alice)
            visit = ed_visit(
                case,
                kind=VisitKind.INPATIENT,
                arrived_at=la(2025, 5, 1, 20, 0),
                discharged_at=la(2025, 5, 10, 9, 0),
            )
            fus = followups_of(case, key="caring-contacts")

            assert len(fus) == 24
            assert {fu.enrolment.anchor_at for fu in fus} == {visit.discharged_at}
            discharge_day = d(5, 10)
            offsets = [(days_of(fu)[0] - discharge_day).days for fu in fus]
            assert offsets == (
                [30, 60, 90, 120] + [180, 240, 300, 360] + [450 + 90 * k for k in range(16)]
            )
            gaps = [b - a for a, b in zip(offsets, offsets[1:], strict=False)]
            assert gaps == [30] * 3 + [60] * 4 + [90] * 16
            assert offsets[-1] <= 5 * 365
            assert fus[0].title.endswith("Monthly message 1 of 4")
            assert fus[-1].title.endswith("Quarterly message 16 of 16")

            clock.move_to(la(2030, 6, 1, 12, 0))
            advance()
            assert {refreshed(fu).status for fu in fus} == {Status.MISSED}
            assert fus[0].enrolment.__class__.objects.get(pk=fus[0].enrolment_id).status == (
                EnrolmentStatus.ENDED
            )

    def test_an_er_visit_alone_does_not_start_them(self, alice):
        case = make_case(alice)
        ed_visit(case)

        assert followups_of(case, key="caring-contacts") == []

    def test_a_medical_hospital_stay_does_not_start_them(self, alice):
        # Caring Contacts follow a psychiatric hospitalisation (Motto and Bostrom; the
        # VA/DoD guideline): a stay recorded as "other (medical)" is not one.
        case = make_case(alice)
        ed_visit(
            case,
            kind=VisitKind.INPATIENT,
            reason=VisitReason.OTHER,
            arrived_at=la(2025, 5, 1, 20, 0),
            discharged_at=la(2025, 5, 10, 9, 0),
        )

        assert followups_of(case, key="caring-contacts") == []

    def test_a_medical_stay_discharged_later_does_not_start_them(self, alice):
        case = make_case(alice)
        visit = ed_visit(
            case,
            kind=VisitKind.INPATIENT,
            reason=VisitReason.OTHER,
            arrived_at=la(2025, 5, 1, 20, 0),
        )
        services.record_discharge(actor=alice, visit=visit, discharged_at=la(2025, 5, 10, 9, 0))

        assert followups_of(case, key="caring-contacts") == []


@pytest.mark.django_db
class TestPostCrisisCheck:
    def test_a_check_48_hours_after_a_contact_resolved_on_scene(self, alice):
        with time_machine.travel(la(2025, 3, 8, 16, 0), tick=False) as clock:
            contact = make_contact(alice, disposition=Disposition.RESOLVED_ON_SCENE)
            (check,) = followups_of(contact.case)

            # 48 real hours across the spring-forward night of 9 March; open from 40.
            hours = datetime.timedelta(hours=1)
            assert check.window_start == contact.cleared_at + 40 * hours
            assert check.due_at == contact.cleared_at + 48 * hours
            assert check.window_end == contact.cleared_at + 72 * hours
            assert check.enrolment.trigger == Trigger.RESOLVED_ON_SCENE

            clock.move_to(check.window_start - datetime.timedelta(minutes=1))
            advance()
            assert refreshed(check).status == Status.SCHEDULED
            clock.move_to(check.due_at - datetime.timedelta(minutes=1))
            advance()
            assert refreshed(check).status == Status.DUE
            clock.move_to(check.due_at + datetime.timedelta(minutes=1))
            advance()
            assert refreshed(check).status == Status.OVERDUE
            clock.move_to(check.window_end)
            advance()
            assert refreshed(check).status == Status.MISSED


@pytest.mark.django_db
class TestReferralCheck:
    def test_a_check_7_days_after_a_referral_is_sent(self, alice):
        with time_machine.travel(la(2025, 4, 1, 15, 0), tick=False) as clock:
            case = make_case(alice)
            referral = sent_referral(alice, case)
            (check,) = followups_of(case, key="referral-check")

            assert check.enrolment.source_referral == referral
            assert days_of(check) == (d(4, 8), d(4, 10))
            assert check.due_at == la(2025, 4, 9, 0, 0)

            clock.move_to(la(2025, 4, 8, 8, 0))
            advance()
            assert refreshed(check).status == Status.DUE
            reach(alice, check)
            assert refreshed(check).done_within_window
