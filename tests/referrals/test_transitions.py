"""Who may move a referral from which status to which: every (from, to) pair for every
persona and side, against the FHIR SDOH referral task rules written out here by hand."""

import datetime
from unittest import mock

import pytest
from django.utils import timezone

from cases.models import CaseEvent, CaseEventKind
from referrals import services
from referrals.exceptions import InvalidTransition, NotPermitted, ReferralInvalid
from referrals.models import EventVia, Outcome, ReferralEvent, ReferralEventKind, Status
from tests.referrals.factories import (
    ConsentFactory,
    ReferralFactory,
    move_to,
    sent_referral,
)

pytestmark = pytest.mark.django_db

S = Status
LIVE = [S.REQUESTED, S.ACCEPTED, S.IN_PROGRESS, S.ON_HOLD]

# The requester (the referring worker): drafts are sent (through send_referral, not a
# transition) or cancelled; live referrals cancelled; anything marked entered in error.
REQUESTER_MOVES = (
    {(S.DRAFT, S.CANCELLED)}
    | {(s, S.CANCELLED) for s in LIVE}
    | {(s, S.ENTERED_IN_ERROR) for s in S.values if s != S.ENTERED_IN_ERROR}
)
# The performer (the receiving provider, or a worker recording what it reported).
PERFORMER_MOVES = {
    (S.REQUESTED, S.ACCEPTED),
    (S.REQUESTED, S.REJECTED),
    (S.ACCEPTED, S.IN_PROGRESS),
    (S.ACCEPTED, S.ON_HOLD),
    (S.ACCEPTED, S.COMPLETED),
    (S.ACCEPTED, S.FAILED),
    (S.IN_PROGRESS, S.ON_HOLD),
    (S.IN_PROGRESS, S.COMPLETED),
    (S.IN_PROGRESS, S.FAILED),
    (S.ON_HOLD, S.IN_PROGRESS),
    (S.ON_HOLD, S.COMPLETED),
    (S.ON_HOLD, S.FAILED),
} | {(s, S.CANCELLED) for s in LIVE}

OUTCOME_FOR = {
    S.REJECTED: Outcome.NOT_ELIGIBLE,
    S.FAILED: Outcome.DID_NOT_ATTEND,
    S.CANCELLED: Outcome.DECLINED,
}

PAIRS = [(a, b) for a in S.values for b in S.values]


def referral_in(case, status):
    """A referral row in `status`, as the services would have left it."""
    sent = timezone.now() - datetime.timedelta(days=3)
    return ReferralFactory(
        case=case,
        status=status,
        consent=ConsentFactory(case=case),
        sent_at=None if status == S.DRAFT else sent,
        service_date=case.agency.today() - datetime.timedelta(days=1)
        if status == S.COMPLETED
        else None,
        outcome=OUTCOME_FOR.get(status, Outcome.GOT_HELP if status == S.COMPLETED else ""),
    )


def attempt(actor, referral, to_status, via):
    return services.transition_referral(
        actor=actor,
        referral=referral,
        to_status=to_status,
        via=via,
        outcome=OUTCOME_FOR.get(to_status, ""),
        note="Intake coordinator phoned" if via == EventVia.STAFF_FOR_PROVIDER else "",
        service_date=referral.agency.today() if to_status == S.COMPLETED else None,
    )


def run_matrix(case, actor, via, expected_moves, refusal=InvalidTransition):
    """Try every pair; return the pairs whose result differs from `expected_moves`."""
    wrong = []
    for frm, to in PAIRS:
        referral = referral_in(case, frm)
        try:
            result = attempt(actor, referral, to, via)
        except (InvalidTransition, NotPermitted) as exc:
            allowed = (frm, to) in expected_moves
            if allowed or not isinstance(exc, refusal) or not str(exc):
                wrong.append((frm, to, "refused", type(exc).__name__, str(exc)))
            referral.refresh_from_db()
            if referral.status != frm:
                wrong.append((frm, to, "changed although refused"))
            continue
        if (frm, to) not in expected_moves:
            wrong.append((frm, to, "allowed"))
        elif result.status != to:
            wrong.append((frm, to, "status not set"))
    return wrong


@pytest.mark.parametrize("persona", ["alice", "bob", "sam"])
class TestCaseWorkers:
    """The case's worker, her teammate and their supervisor may act on both sides."""

    def test_as_the_requester(self, persona, request, alice_case):
        actor = request.getfixturevalue(persona)
        assert run_matrix(alice_case, actor, EventVia.STAFF, REQUESTER_MOVES) == []

    def test_recording_what_the_provider_reported(self, persona, request, alice_case):
        actor = request.getfixturevalue(persona)
        assert run_matrix(alice_case, actor, EventVia.STAFF_FOR_PROVIDER, PERFORMER_MOVES) == []


def test_the_provider_through_its_link(alice_case):
    assert run_matrix(alice_case, None, EventVia.PROVIDER_LINK, PERFORMER_MOVES) == []


@pytest.mark.parametrize("persona", ["erin", "dana", "carol", "root"])
@pytest.mark.parametrize("via", [EventVia.STAFF, EventVia.STAFF_FOR_PROVIDER])
def test_others_may_change_nothing(persona, via, request, alice_case):
    """Another team's worker, the agency admin, another agency's worker and the system
    admin change no status of the case's referrals."""
    actor = request.getfixturevalue(persona)
    assert run_matrix(alice_case, actor, via, set(), refusal=NotPermitted) == []


class TestRefusalMessages:
    def test_a_worker_cannot_accept_for_the_provider_as_requester(self, alice, alice_case):
        referral = referral_in(alice_case, S.REQUESTED)
        with pytest.raises(InvalidTransition, match="only by the receiving provider"):
            attempt(alice, referral, S.ACCEPTED, EventVia.STAFF)

    def test_a_completed_referral_cannot_be_reopened(self, alice_case):
        referral = referral_in(alice_case, S.COMPLETED)
        with pytest.raises(InvalidTransition, match="A completed referral cannot be reopened"):
            attempt(None, referral, S.IN_PROGRESS, EventVia.PROVIDER_LINK)

    def test_the_provider_cannot_mark_entered_in_error(self, alice_case):
        referral = referral_in(alice_case, S.ACCEPTED)
        with pytest.raises(InvalidTransition, match="only by the referring agency"):
            attempt(None, referral, S.ENTERED_IN_ERROR, EventVia.PROVIDER_LINK)

    def test_a_draft_is_sent_not_transitioned(self, alice, alice_case):
        referral = referral_in(alice_case, S.DRAFT)
        with pytest.raises(InvalidTransition, match="sending checks the consent"):
            attempt(alice, referral, S.REQUESTED, EventVia.STAFF)

    def test_the_same_status_again(self, alice_case):
        referral = referral_in(alice_case, S.ACCEPTED)
        with pytest.raises(InvalidTransition, match="already accepted"):
            attempt(None, referral, S.ACCEPTED, EventVia.PROVIDER_LINK)

    def test_an_unknown_status(self, alice, alice_case):
        referral = referral_in(alice_case, S.ACCEPTED)
        with pytest.raises(InvalidTransition):
            attempt(alice, referral, "received", EventVia.STAFF)

    def test_a_staff_change_through_the_link_needs_no_actor(self, alice, alice_case):
        referral = referral_in(alice_case, S.REQUESTED)
        with pytest.raises(ReferralInvalid):
            attempt(alice, referral, S.ACCEPTED, EventVia.PROVIDER_LINK)


class TestRulesOfEachMove:
    def test_recording_for_the_provider_needs_a_note(self, alice, alice_case):
        referral = referral_in(alice_case, S.REQUESTED)
        with pytest.raises(ReferralInvalid, match="how the provider reported") as exc:
            services.transition_referral(
                actor=alice,
                referral=referral,
                to_status=S.ACCEPTED,
                via=EventVia.STAFF_FOR_PROVIDER,
            )
        assert exc.value.field == "note"

    @pytest.mark.parametrize("to", [S.REJECTED, S.FAILED, S.CANCELLED])
    def test_an_ending_needs_an_outcome(self, to, alice_case):
        referral = referral_in(alice_case, S.ACCEPTED if to == S.FAILED else S.REQUESTED)
        with pytest.raises(ReferralInvalid) as exc:
            services.transition_referral(
                actor=None, referral=referral, to_status=to, via=EventVia.PROVIDER_LINK
            )
        assert exc.value.field == "outcome"

    def test_an_outcome_must_fit_the_ending(self, alice_case):
        referral = referral_in(alice_case, S.REQUESTED)
        with pytest.raises(ReferralInvalid, match="outcome is one of"):
            services.transition_referral(
                actor=None,
                referral=referral,
                to_status=S.REJECTED,
                via=EventVia.PROVIDER_LINK,
                outcome=Outcome.DID_NOT_ATTEND,
            )

    def test_completion_needs_the_service_date(self, alice_case):
        referral = referral_in(alice_case, S.ACCEPTED)
        with pytest.raises(ReferralInvalid) as exc:
            services.transition_referral(
                actor=None, referral=referral, to_status=S.COMPLETED, via=EventVia.PROVIDER_LINK
            )
        assert exc.value.field == "service_date"

    def test_the_service_date_is_not_in_the_future(self, alice_case):
        referral = referral_in(alice_case, S.ACCEPTED)
        # The agency's day, named: at 03:30 UTC it is still yesterday in Los Angeles.
        today = alice_case.agency.today()
        with pytest.raises(ReferralInvalid) as refused:
            services.transition_referral(
                actor=None,
                referral=referral,
                to_status=S.COMPLETED,
                via=EventVia.PROVIDER_LINK,
                service_date=today + datetime.timedelta(days=1),
            )
        assert str(refused.value) == (
            f"The service date cannot be after today, {today:%a} {today.day} {today:%b %Y}, "
            "Los Angeles time."
        )

    def test_the_service_date_is_not_before_sending(self, alice_case):
        referral = referral_in(alice_case, S.ACCEPTED)
        with pytest.raises(ReferralInvalid, match="before the referral was sent"):
            services.transition_referral(
                actor=None,
                referral=referral,
                to_status=S.COMPLETED,
                via=EventVia.PROVIDER_LINK,
                service_date=alice_case.agency.today() - datetime.timedelta(days=10),
            )

    def test_completion_closes_the_loop_with_got_help(self, alice, alice_case):
        referral = move_to(sent_referral(alice, alice_case), S.COMPLETED)
        assert referral.outcome == Outcome.GOT_HELP
        assert referral.service_date == alice.agency.today()
        assert referral.loop_closed
        assert referral.accepted_at is not None

    def test_a_rejection_with_a_reason_closes_the_loop(self, alice, alice_case):
        referral = move_to(sent_referral(alice, alice_case), S.REJECTED)
        assert referral.outcome == Outcome.NO_CAPACITY
        assert referral.loop_closed

    def test_acceptance_does_not_close_the_loop(self, alice, alice_case):
        referral = move_to(sent_referral(alice, alice_case), S.ACCEPTED)
        assert referral.accepted_at is not None
        assert not referral.loop_closed

    def test_cancelling_a_draft_closes_no_loop(self, alice, alice_case):
        referral = referral_in(alice_case, S.DRAFT)
        referral = attempt(alice, referral, S.CANCELLED, EventVia.STAFF)
        assert referral.status == S.CANCELLED
        assert not referral.loop_closed

    def test_entered_in_error_leaves_the_loop_as_it_was(self, alice, alice_case):
        referral = move_to(sent_referral(alice, alice_case), S.ACCEPTED)
        referral = services.transition_referral(
            actor=alice,
            referral=referral,
            to_status=S.ENTERED_IN_ERROR,
            via=EventVia.STAFF,
            note="Wrong client",
        )
        assert referral.status == S.ENTERED_IN_ERROR
        assert referral.closed_at is None

    def test_a_revoked_consent_does_not_stop_closing_the_loop(self, alice, alice_case):
        referral = move_to(sent_referral(alice, alice_case), S.ACCEPTED)
        services.revoke_consent(actor=alice, consent=referral.consent)
        referral = services.transition_referral(
            actor=alice,
            referral=referral,
            to_status=S.COMPLETED,
            via=EventVia.STAFF_FOR_PROVIDER,
            note="Provider called: client seen",
            service_date=alice.agency.today(),
        )
        assert referral.status == S.COMPLETED


class TestHistory:
    def test_every_move_keeps_who_when_how_and_a_note(self, alice, alice_case):
        referral = sent_referral(alice, alice_case)
        services.transition_referral(
            actor=alice,
            referral=referral,
            to_status=S.ACCEPTED,
            via=EventVia.STAFF_FOR_PROVIDER,
            note="Intake phoned to say yes",
        )
        event = ReferralEvent.objects.filter(
            referral=referral, kind=ReferralEventKind.STATUS
        ).last()
        assert (event.from_status, event.to_status) == (S.REQUESTED, S.ACCEPTED)
        assert event.actor == alice
        assert event.via == EventVia.STAFF_FOR_PROVIDER
        assert event.note == "Intake phoned to say yes"

    def test_every_move_is_on_the_case_timeline(self, alice, alice_case):
        referral = move_to(sent_referral(alice, alice_case), S.COMPLETED)
        timeline = CaseEvent.objects.filter(
            case=alice_case, kind=CaseEventKind.REFERRAL, detail__referral_id=referral.pk
        )
        summaries = [e.summary for e in timeline.order_by("at", "pk")]
        assert len(summaries) == 4  # drafted, sent, accepted, completed
        assert "Accepted → Completed (Got help)" in summaries[-1]
        assert "by the provider through its link" in summaries[-1]

    def test_a_refused_move_leaves_no_trace(self, alice, alice_case):
        referral = sent_referral(alice, alice_case)
        before = ReferralEvent.objects.count(), CaseEvent.objects.count()
        with pytest.raises(InvalidTransition):
            attempt(alice, referral, S.ACCEPTED, EventVia.STAFF)
        assert (ReferralEvent.objects.count(), CaseEvent.objects.count()) == before


class TestServiceDateIsTheAgencysDay:
    def test_the_evening_in_the_agency_is_still_today_there(self, alice, alice_case, time_machine):
        # 03:00 UTC on 10 March is 20:00 on 9 March in Los Angeles (agency A).
        time_machine.move_to(datetime.datetime(2026, 3, 10, 3, 0, tzinfo=datetime.UTC))
        referral = move_to(sent_referral(alice, alice_case), S.ACCEPTED)
        with pytest.raises(ReferralInvalid, match="after today, Mon 9 Mar 2026, Los Angeles time"):
            services.transition_referral(
                actor=None,
                referral=referral,
                to_status=S.COMPLETED,
                via=EventVia.PROVIDER_LINK,
                service_date=datetime.date(2026, 3, 10),
            )
        referral = services.transition_referral(
            actor=None,
            referral=referral,
            to_status=S.COMPLETED,
            via=EventVia.PROVIDER_LINK,
            service_date=datetime.date(2026, 3, 9),
        )
        assert referral.service_date == datetime.date(2026, 3, 9)


def inbox(user):
    from notifications.models import Notification

    return list(Notification.objects.inbox_of(user))


def provider(referral, to_status, **fields):
    """The provider moves the referral through its link."""
    return services.transition_referral(
        actor=None,
        referral=referral,
        to_status=to_status,
        via=EventVia.PROVIDER_LINK,
        outcome=OUTCOME_FOR.get(to_status, ""),
        service_date=referral.agency.today() if to_status == S.COMPLETED else None,
        **fields,
    )


class TestTheReferringWorkerHearsOfTheProvidersMoves:
    def test_each_move_through_the_link_reaches_their_inbox_once(self, alice, alice_case):
        referral = provider(sent_referral(alice, alice_case), S.ACCEPTED)
        # An hour ago, so that the client seen today is not before it at any hour.
        booked = timezone.now() - datetime.timedelta(hours=1)
        services.record_appointment(
            actor=None, referral=referral, via=EventVia.PROVIDER_LINK, appointment_at=booked
        )
        referral = provider(referral, S.COMPLETED)

        notices = inbox(alice)
        assert [n.kind for n in notices] == ["referral_update"] * 3
        bodies = [n.body for n in reversed(notices)]
        assert bodies[0] == "Alice Client: Eugene Mission accepted the referral."
        assert "booked an appointment for" in bodies[1]
        assert bodies[2].startswith("Alice Client: Eugene Mission saw the client on ")
        assert all(n.url == f"/referrals/{referral.pk}/" for n in notices)
        assert all(n.channel == "in_app" and n.read_at is None for n in notices)

    @pytest.mark.parametrize(
        ("to_status", "words"),
        [
            (S.REJECTED, "declined the referral (not eligible)"),
            (S.CANCELLED, "cancelled the referral (client declined or no longer interested)"),
        ],
    )
    def test_a_decline_says_why(self, to_status, words, alice, alice_case):
        provider(sent_referral(alice, alice_case), to_status)
        assert inbox(alice)[0].body == f"Alice Client: Eugene Mission {words}."

    def test_not_seen(self, alice, alice_case):
        provider(provider(sent_referral(alice, alice_case), S.ACCEPTED), S.FAILED)
        assert inbox(alice)[0].body.endswith("did not see the client (did not attend).")

    def test_a_move_recorded_by_a_teammate_reaches_the_referrer_not_the_recorder(
        self, alice, bob, alice_case
    ):
        referral = sent_referral(alice, alice_case)
        attempt(bob, referral, S.ACCEPTED, EventVia.STAFF_FOR_PROVIDER)
        assert len(inbox(alice)) == 1
        assert inbox(bob) == []

    def test_the_referrer_recording_it_themselves_gets_nothing(self, alice, alice_case):
        attempt(alice, sent_referral(alice, alice_case), S.ACCEPTED, EventVia.STAFF_FOR_PROVIDER)
        assert inbox(alice) == []

    def test_the_requesters_own_moves_tell_nobody(self, alice, bob, alice_case):
        attempt(bob, sent_referral(alice, alice_case), S.CANCELLED, EventVia.STAFF)
        assert inbox(alice) == [] and inbox(bob) == []

    def test_the_assigned_worker_hears_when_the_referrer_has_left(self, alice, bob, alice_case):
        referral = sent_referral(bob, alice_case)
        bob.is_active = False
        bob.save()
        provider(referral, S.ACCEPTED)
        assert len(inbox(alice)) == 1

    def test_the_same_move_told_twice_is_one_notice(self, alice, alice_case):
        from notifications import services as notices

        referral = provider(sent_referral(alice, alice_case), S.ACCEPTED)
        event = referral.events.get(to_status=S.ACCEPTED)
        again = notices.referral_update(
            referral=referral, event_id=event.pk, recipient=alice, what="accepted the referral"
        )
        assert inbox(alice) == [again]

    def test_no_email_goes_out(self, alice, alice_case, mailoutbox):
        from notifications.models import Notification

        def emails():
            return set(Notification.objects.exclude(channel="in_app").values_list("pk", flat=True))

        referral = sent_referral(alice, alice_case)
        sent = emails()  # the provider's link, emailed when the referral was sent
        mailoutbox.clear()
        provider(referral, S.ACCEPTED)

        assert emails() == sent
        assert mailoutbox == []


def referral_checks(referral):
    from followups.models import FollowUp

    return FollowUp.objects.filter(enrolment__source_referral=referral)


class TestAnEndingCancelsTheReferralCheck:
    @pytest.mark.parametrize(
        ("to_status", "words"),
        [
            (S.COMPLETED, "completed"),
            (S.CANCELLED, "cancelled"),
            (S.FAILED, "marked failed"),
            (S.REJECTED, "rejected"),
            (S.ENTERED_IN_ERROR, "marked entered in error"),
        ],
    )
    def test_with_the_reason(self, to_status, words, alice, alice_case):
        referral = sent_referral(alice, alice_case)
        (check,) = referral_checks(referral)
        assert check.is_open

        move_to(referral, to_status, actor=alice)

        check.refresh_from_db()
        assert check.status == "cancelled"
        assert check.cancel_reason == f"Referral to Eugene Mission {words}"

    def test_a_live_move_keeps_it(self, alice, alice_case):
        referral = move_to(sent_referral(alice, alice_case), S.IN_PROGRESS)
        assert referral_checks(referral).get().is_open

    def test_it_is_cancelled_in_the_same_transaction_as_the_ending(self, alice, alice_case):
        referral = sent_referral(alice, alice_case)
        # The ending's last write (its audit row) fails: the cancellation goes with it.
        with (
            mock.patch(
                "referrals.services.transitions.audit", side_effect=RuntimeError("disk full")
            ),
            pytest.raises(RuntimeError),
        ):
            move_to(referral, S.CANCELLED, actor=alice)
        assert referral_checks(referral).get().is_open
        referral.refresh_from_db()
        assert referral.status == S.REQUESTED

    def test_another_referrals_check_stays(self, alice, alice_case):
        first, second = sent_referral(alice, alice_case), sent_referral(alice, alice_case)
        move_to(first, S.REJECTED)
        assert referral_checks(second).get().is_open


class TestSeenBeforeTheAppointment:
    def booked(self, alice, alice_case, days):
        referral = move_to(sent_referral(alice, alice_case), S.ACCEPTED)
        agency = referral.agency
        at = agency.at(agency.today() + datetime.timedelta(days=days), datetime.time(9))
        return services.record_appointment(
            actor=None, referral=referral, via=EventVia.PROVIDER_LINK, appointment_at=at
        )

    @pytest.mark.parametrize(
        "via", [EventVia.PROVIDER_LINK, EventVia.STAFF_FOR_PROVIDER], ids=["provider", "worker"]
    )
    def test_it_needs_a_confirmation(self, via, alice, alice_case):
        referral = self.booked(alice, alice_case, days=3)
        args = {
            "actor": None if via == EventVia.PROVIDER_LINK else alice,
            "referral": referral,
            "to_status": S.COMPLETED,
            "via": via,
            "note": "" if via == EventVia.PROVIDER_LINK else "Phoned by intake",
            "service_date": referral.agency.today(),
        }
        with pytest.raises(ReferralInvalid) as exc:
            services.transition_referral(**args)
        assert exc.value.field == "seen_early_confirmed"
        assert "The appointment is booked for" in str(exc.value)
        assert "Confirm" in str(exc.value) or "confirm" in str(exc.value)
        referral.refresh_from_db()
        assert referral.status == S.ACCEPTED

        referral = services.transition_referral(**args, seen_early_confirmed=True)
        assert referral.status == S.COMPLETED

    def test_seen_on_the_day_of_the_appointment_needs_none(self, alice, alice_case):
        referral = self.booked(alice, alice_case, days=0)
        assert provider(referral, S.COMPLETED).status == S.COMPLETED

    def test_the_day_is_the_agencys(self, alice, alice_case):
        # 03:30 UTC (the suite's clock) is the evening before in Los Angeles: an
        # appointment at 20:00 there is on the agency's today, a date later in UTC.
        referral = move_to(sent_referral(alice, alice_case), S.ACCEPTED)
        agency = referral.agency
        at = agency.at(agency.today(), datetime.time(20))
        referral = services.record_appointment(
            actor=None, referral=referral, via=EventVia.PROVIDER_LINK, appointment_at=at
        )
        assert provider(referral, S.COMPLETED).status == S.COMPLETED
