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
from metrics.compliance import (
    COUNT_NAMES,
    agency_zone,
    compliance,
    compliance_ids,
    period_bounds,
)
from tests.followups.factories import ed_visit, make_case
from tests.metrics.helpers import (
    attempt,
    buckets_of,
    client_case,
    followup,
    followup_rows,
    local,
)

D = datetime.date
MARCH = {"start": D(2025, 3, 1), "end": D(2025, 3, 31)}


def assert_counted_alike(agency_id, now, **scope):
    """compliance()'s counts (grouped in the database), the ids behind them, the
    drill-down's compliance_ids() and buckets_of() (the same rules stated in Python)
    agree, for the totals and every team and worker row."""
    report = compliance(agency_id=agency_id, **MARCH, now=now, **scope)
    groups = [(report.totals, scope)]
    groups += [(r.counts, {**scope, "teams": [r.key]}) for r in report.teams if r.key]
    groups += [(r.counts, {**scope, "worker": r.key}) for r in report.workers]
    for counts, filters in groups:
        for name in COUNT_NAMES:
            ids = counts.ids(name)
            assert getattr(counts, name) == len(ids), (name, filters)
            assert ids == getattr(counts, f"{name}_ids")
            drilled = compliance_ids(name=name, agency_id=agency_id, **MARCH, now=now, **filters)
            assert drilled == ids, (name, filters)
    since, until = period_bounds(MARCH["start"], MARCH["end"], agency_zone(agency_id))
    rows = followup_rows(agency_id=agency_id, since=since, until=until, **scope)
    assert rows, "a check over no rows proves nothing"
    for row in rows:
        counted = {name for name in COUNT_NAMES if row["id"] in report.totals.ids(name)}
        assert counted == set(buckets_of(row, now)), row
    return report


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

    def test_a_step_done_before_its_window_opened_is_not_protocol_fidelity(
        self, protocol_case, agency_a, alice
    ):
        # Fidelity is "steps done within their window over steps due": contact 2 (days
        # 7-10) done on day 5 reached the client (done within window for compliance,
        # which counts early as done) but did not follow the protocol's schedule.
        p = protocol_case
        FollowUp.objects.filter(pk=p["second"].pk).update(
            status=Status.COMPLETED, completed_at=local(D(2025, 3, 8), 9)
        )
        now = local(D(2025, 3, 20), 12)
        t = compliance(agency_id=agency_a.pk, **MARCH, now=now).totals
        assert p["second"].pk in t.done_within_window_ids
        assert t.steps_done_within_window_ids == [p["first"].pk]
        assert (t.steps_due, t.fidelity) == (2, 0.5)
        assert_counted_alike(agency_a.pk, now)

    @pytest.mark.parametrize(
        "day,hour",
        [
            (D(2025, 3, 4), 12),
            (D(2025, 3, 9), 12),
            (D(2025, 3, 12), 12),
            (D(2025, 3, 14), 0),
            (D(2025, 3, 20), 12),
        ],
    )
    def test_the_database_counts_as_the_rules_say_at_every_stage(
        self, protocol_case, agency_a, day, hour
    ):
        assert_counted_alike(agency_a.pk, local(day, hour))


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

    def test_counts_ids_and_drill_down_agree(self, rows, agency_a, agency_b, team_a2, bob):
        now, _ = rows
        assert_counted_alike(agency_a.pk, now)
        assert_counted_alike(agency_a.pk, now, teams=[team_a2.pk])
        assert_counted_alike(agency_a.pk, now, worker=bob.pk)
        assert_counted_alike(agency_b.pk, now)

    def test_the_edges_of_a_window(self, alice, agency_a):
        now = local(D(2025, 3, 20), 12)
        case = client_case(alice)
        fu = {
            # its window closes at `now`: missed
            "closes_now": followup(case, now - datetime.timedelta(days=2), status=Status.DUE),
            # due at `now`, window open: overdue
            "due_now": followup(case, now, status=Status.DUE),
            # a second before its due time: not yet due
            "due_next": followup(case, now + datetime.timedelta(seconds=1)),
            # done at the very end of its window: within; a second later: late
            "done_at_close": followup(
                case,
                local(D(2025, 3, 10)),
                status=Status.COMPLETED,
                completed_at=local(D(2025, 3, 12)),
            ),
            "done_after": followup(
                case,
                local(D(2025, 3, 10)),
                status=Status.COMPLETED,
                completed_at=local(D(2025, 3, 12)) + datetime.timedelta(seconds=1),
            ),
        }
        t = assert_counted_alike(agency_a.pk, now).totals
        assert t.missed_ids == [fu["closes_now"].pk]
        assert t.overdue_ids == [fu["due_now"].pk]
        assert t.not_yet_due_ids == [fu["due_next"].pk]
        assert t.done_within_window_ids == [fu["done_at_close"].pk]
        assert t.completed_late_ids == [fu["done_after"].pk]

    def test_the_ids_of_a_whole_report_are_read_in_one_query_when_asked_for(
        self, rows, agency_a, alice, bob, django_assert_num_queries
    ):
        now, fu = rows
        report = compliance(agency_id=agency_a.pk, **MARCH, now=now)
        workers = {r.key: r.counts for r in report.workers}
        with django_assert_num_queries(1):
            assert report.totals.cancelled_ids == [fu["cancelled"]]
            assert workers[bob.pk].overdue_ids == [fu["overdue"]]
            assert len(workers[alice.pk].case_ids["due"]) == 1  # her one case
            assert report.teams[0].counts.ids("due")
        with django_assert_num_queries(0):
            assert report.totals.due == len(report.totals.due_ids)

    def test_the_drill_down_reads_one_count(self, rows, agency_a, django_assert_num_queries):
        now, fu = rows
        with django_assert_num_queries(2):
            ids = compliance_ids(name="missed", agency_id=agency_a.pk, **MARCH, now=now)
        assert ids == [fu["missed"]]
        with pytest.raises(ValueError, match="Unknown count"):
            compliance_ids(name="bogus", agency_id=agency_a.pk, **MARCH, now=now)

    def test_query_count_does_not_grow(self, rows, agency_a, alice, django_assert_num_queries):
        now, _ = rows
        with django_assert_num_queries(4):
            compliance(agency_id=agency_a.pk, **MARCH, now=now)
        for day in range(1, 20):
            attempt(followup(client_case(alice), local(D(2025, 3, day))), local(D(2025, 3, day)))
        with django_assert_num_queries(4):
            compliance(agency_id=agency_a.pk, **MARCH, now=now)
