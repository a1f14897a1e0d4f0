"""Compliance counts and protocol fidelity.

The workflow test goes through the real services with time travel: an ER visit on
3 March 2025 (Los Angeles) enrols the client in the post-ER protocol, whose contact 1 is
open days 1-3 (4 to 6 March, due by the end of the 4th) and contact 2 days 7-10 (10 to
13 March, due by the end of the 11th); contacts 3 and 4 fall due in April and May,
outside the March period.
"""

import datetime

import pytest
import time_machine

from followups import services
from followups.models import AttemptOutcome, FollowUp, Status
from metrics.compliance import compliance
from tests.followups.factories import ed_visit, make_case
from tests.metrics.helpers import attempt, client_case, followup, local

D = datetime.date
MARCH = {"start": D(2025, 3, 1), "end": D(2025, 3, 31)}


def steps(case):
    return list(FollowUp.objects.filter(case=case, enrolment__isnull=False).order_by("due_at"))


@pytest.fixture
def protocol_case(alice):
    """Alice's case with an ER visit on 3 March: contact 1 done on the 5th (within its
    window), contact 2 never done; a one-off due 7 March never done; a one-off cancelled."""
    with time_machine.travel(local(D(2025, 3, 3), 8), tick=False):
        case = make_case(alice)
    with time_machine.travel(local(D(2025, 3, 3), 11), tick=False):
        ed_visit(case, local(D(2025, 3, 3), 9))
    first, second = steps(case)[:2]
    with time_machine.travel(local(D(2025, 3, 5), 12), tick=False):
        services.complete_followup(actor=alice, followup=first, note="Spoke with client")
        one_off = services.create_followup(
            actor=alice, case=case, due_at=local(D(2025, 3, 7), 10), reason="Check housing"
        )
        cancelled = services.create_followup(
            actor=alice, case=case, due_at=local(D(2025, 3, 8), 10), reason="Check meds"
        )
        services.cancel_followup(actor=alice, followup=cancelled, reason="Client moved")
    return {"case": case, "first": first, "second": second, "one_off": one_off}


class TestComplianceWorkflow:
    def test_the_protocol_has_two_steps_in_march(self, protocol_case):
        first, second = protocol_case["first"], protocol_case["second"]
        assert first.window_end == local(D(2025, 3, 7), 0)
        assert second.window_start == local(D(2025, 3, 10), 0)
        assert second.window_end == local(D(2025, 3, 14), 0)

    def test_counts_after_every_window_closed(self, protocol_case, agency_a):
        p = protocol_case
        report = compliance(agency_id=agency_a.pk, **MARCH, now=local(D(2025, 3, 20), 12))
        t = report.totals
        # Due: contact 1, contact 2, the one-off (the cancelled one is not due).
        assert t.due_ids == sorted([p["first"].pk, p["second"].pk, p["one_off"].pk])
        assert t.done_within_window_ids == [p["first"].pk]
        # No sweeper ran: contact 2 and the one-off are still "overdue" rows, but their
        # windows have closed, so they count as missed.
        assert t.missed_ids == sorted([p["second"].pk, p["one_off"].pk])
        assert (t.overdue, t.not_yet_due, t.completed_late, t.cancelled) == (0, 0, 0, 1)
        # Fidelity: protocol steps only (not the one-off): 1 done within / 2 due.
        assert (t.steps_done_within_window, t.steps_due) == (1, 2)
        assert t.fidelity == 0.5
        # Every follow-up: 1 within window of 3 settled.
        assert t.within_window_rate == pytest.approx(1 / 3)
        assert t.case_ids["due"] == [p["case"].pk]

    def test_a_step_counts_for_fidelity_only_once_its_window_closed(self, protocol_case, agency_a):
        p = protocol_case
        # 12 March, noon: contact 2 is past due (end of the 11th) but its window is open.
        report = compliance(agency_id=agency_a.pk, **MARCH, now=local(D(2025, 3, 12), 12))
        t = report.totals
        assert t.overdue_ids == [p["second"].pk]
        assert t.missed_ids == [p["one_off"].pk]
        assert (t.steps_due, t.fidelity) == (1, 1.0)
        # 9 March: contact 2 not yet due.
        early = compliance(agency_id=agency_a.pk, **MARCH, now=local(D(2025, 3, 9), 12))
        assert early.totals.not_yet_due_ids == [p["second"].pk]

    def test_a_missed_step_recorded_done_late_counts_as_late(self, protocol_case, agency_a, alice):
        p = protocol_case
        second = FollowUp.objects.get(pk=p["second"].pk)
        with time_machine.travel(local(D(2025, 3, 13), 9), tick=False):
            services.log_attempt(
                actor=alice, followup=second, outcome=AttemptOutcome.NO_ANSWER, note="No answer"
            )
        # Recorded done after its window closed (a late success).
        FollowUp.objects.filter(pk=second.pk).update(
            status=Status.COMPLETED, completed_at=local(D(2025, 3, 15), 9)
        )
        t = compliance(agency_id=agency_a.pk, **MARCH, now=local(D(2025, 3, 20), 12)).totals
        assert t.completed_late_ids == [second.pk]
        assert (t.steps_due, t.steps_done_within_window) == (2, 1)


class TestComplianceCounts:
    """Direct rows, `now` = 20 March 2025 noon; windows: a day before due to 2 days after."""

    @pytest.fixture
    def rows(self, alice, bob, erin, carol):
        now = local(D(2025, 3, 20), 12)
        a, b, e = client_case(alice), client_case(bob), client_case(erin)
        fu = {
            # done early, before its window opened: counts as within window
            "early": followup(
                a,
                local(D(2025, 3, 10)),
                status=Status.COMPLETED,
                completed_at=local(D(2025, 3, 2)),
            ),
            "late": followup(
                a,
                local(D(2025, 3, 10)),
                status=Status.COMPLETED,
                completed_at=local(D(2025, 3, 13)),
            ),
            "overdue": followup(b, local(D(2025, 3, 19)), status=Status.OVERDUE),
            "future": followup(b, local(D(2025, 3, 25)), status=Status.SCHEDULED),
            "missed": followup(e, local(D(2025, 3, 5)), status=Status.MISSED),
            "cancelled": followup(e, local(D(2025, 3, 6)), status=Status.CANCELLED),
            # due 28 Feb 23:30 local: outside the period; 31 March 23:30: inside
            "before": followup(a, local(D(2025, 2, 28), 23, 30)),
            "last_day": followup(a, local(D(2025, 3, 31), 23, 30)),
            "carol": followup(
                client_case(carol),
                local(D(2025, 3, 10)),
                status=Status.COMPLETED,
                completed_at=local(D(2025, 3, 10)),
            ),
        }
        return now, {k: v.pk for k, v in fu.items()}

    def test_buckets(self, rows, agency_a):
        now, fu = rows
        t = compliance(agency_id=agency_a.pk, **MARCH, now=now).totals
        assert t.done_within_window_ids == [fu["early"]]
        assert t.completed_late_ids == [fu["late"]]
        assert t.overdue_ids == [fu["overdue"]]
        assert t.not_yet_due_ids == sorted([fu["future"], fu["last_day"]])
        assert t.missed_ids == [fu["missed"]]
        assert t.cancelled_ids == [fu["cancelled"]]
        assert t.due == 6
        assert t.due == (
            t.done_within_window + t.completed_late + t.overdue + t.missed + t.not_yet_due
        )
        assert fu["before"] not in t.due_ids
        assert fu["carol"] not in t.due_ids
        # No protocol steps here: no fidelity rather than 0 %.
        assert (t.steps_due, t.fidelity) == (0, None)

    def test_rows_per_team_and_worker(self, rows, agency_a, team_a, team_a2, alice, bob, erin):
        now, fu = rows
        report = compliance(agency_id=agency_a.pk, **MARCH, now=now)
        teams = {r.key: r.counts for r in report.teams}
        assert set(teams) == {team_a.pk, team_a2.pk}
        assert teams[team_a.pk].due == 5
        assert teams[team_a2.pk].due_ids == [fu["missed"]]
        workers = {r.key: r.counts for r in report.workers}
        assert workers[alice.pk].due_ids == sorted([fu["early"], fu["late"], fu["last_day"]])
        assert workers[bob.pk].due_ids == sorted([fu["overdue"], fu["future"]])
        assert workers[erin.pk].cancelled_ids == [fu["cancelled"]]

    def test_filters(self, rows, agency_a, team_a2, bob):
        now, fu = rows
        only_a2 = compliance(agency_id=agency_a.pk, **MARCH, now=now, teams=[team_a2.pk])
        assert only_a2.totals.due_ids == [fu["missed"]]
        only_bob = compliance(agency_id=agency_a.pk, **MARCH, now=now, worker=bob.pk)
        assert only_bob.totals.due_ids == sorted([fu["overdue"], fu["future"]])
        assert [r.key for r in only_bob.workers] == [bob.pk]

    def test_another_agency(self, rows, agency_b):
        now, fu = rows
        t = compliance(agency_id=agency_b.pk, **MARCH, now=now).totals
        assert t.due_ids == [fu["carol"]]

    def test_query_count_does_not_grow(self, rows, agency_a, alice, django_assert_num_queries):
        now, _ = rows
        with django_assert_num_queries(4):
            compliance(agency_id=agency_a.pk, **MARCH, now=now)
        for day in range(1, 20):
            attempt(followup(client_case(alice), local(D(2025, 3, day))), local(D(2025, 3, day)))
        with django_assert_num_queries(4):
            compliance(agency_id=agency_a.pk, **MARCH, now=now)
