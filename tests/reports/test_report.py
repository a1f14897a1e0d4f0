"""The report's numbers on the hand-built dataset (tests/reports/conftest.py), worked out
by hand below."""

import pytest
from django.db import connection

from referrals.models import Outcome, Status
from reports.report import agency_zone, referral_rows, referral_summary


def summary_for(user, **filters):
    return referral_summary(referral_rows(user, filters), tz=agency_zone(user.agency))


def ids(user, **filters):
    return set(referral_rows(user, filters).values_list("pk", flat=True))


class TestReferralSummary:
    def test_the_agency_admin_sees_the_agencys_numbers(self, dana, dataset):
        s = summary_for(dana)

        # r1..r7: the draft, the record entered in error, the draft cancelled before
        # sending and agency B's referral are not counted.
        assert s.total_sent == 7
        statuses = {value: rate.count for value, _, rate in s.by_status}
        assert statuses == {
            Status.REQUESTED: 1,  # r5
            Status.ACCEPTED: 0,
            Status.REJECTED: 1,  # r2
            Status.IN_PROGRESS: 1,  # r3
            Status.ON_HOLD: 0,
            Status.COMPLETED: 2,  # r1, r4
            Status.CANCELLED: 1,  # r7
            Status.FAILED: 1,  # r6
        }
        assert all(rate.of == 7 for _, _, rate in s.by_status)
        outcomes = {value: rate.count for value, _, rate in s.by_outcome}
        assert outcomes == {
            Outcome.GOT_HELP: 2,  # r1, r4
            Outcome.COULD_NOT_CONTACT: 0,
            Outcome.NOT_ELIGIBLE: 0,
            Outcome.NO_CAPACITY: 1,  # r2
            Outcome.DECLINED: 1,  # r7
            Outcome.REFERRED_ELSEWHERE: 0,
            Outcome.DID_NOT_ATTEND: 1,  # r6
            "": 2,  # r3, r5: still open
        }

    def test_rates_come_with_their_counts(self, dana, dataset):
        s = summary_for(dana)

        # Connected = completed with a service date: r1, r4 -> 2 of 7 = 28.6 %.
        assert (s.connected.count, s.connected.of, s.connected.percent) == (2, 7, 28.6)
        # Loops closed (closed_at set): r1, r2, r4, r6, r7 -> 5 of 7 = 71.4 %.
        assert (s.loops_closed.count, s.loops_closed.of, s.loops_closed.percent) == (5, 7, 71.4)
        # Accepted: r1, r3, r4, r6 -> 4 of 7.
        assert (s.accepted.count, s.accepted.of) == (4, 7)

    def test_medians(self, dana, dataset):
        s = summary_for(dana)

        # Days to acceptance: r1 1.0 (24 h), r3 2.0 (48 h), r4 3.5 (84 h), r6 0.17 (4 h);
        # sorted 0.17, 1.0, 2.0, 3.5 -> (1.0 + 2.0) / 2 = 1.5, over 4.
        assert (s.days_to_acceptance.days, s.days_to_acceptance.of) == (1.5, 4)
        # Days to first service, from the sending day in Los Angeles: r1 Jan 5 -> Jan 8 = 3,
        # r4 Jan 15 -> Jan 22 = 7 -> 5.0, over 2.
        assert (s.days_to_first_service.days, s.days_to_first_service.of) == (5.0, 2)
        # Days to closure: r1 3.0, r2 0.5 (12 h), r4 7.0, r6 7.0, r7 1.0;
        # sorted 0.5, 1, 3, 7, 7 -> 3.0, over 5.
        assert (s.days_to_closure.days, s.days_to_closure.of) == (3.0, 5)

    def test_the_category_by_outcome_table(self, dana, dataset):
        s = summary_for(dana)

        table = {
            row.category: (row.total, {v: n for v, _, n in row.cells if n}) for row in s.by_category
        }
        assert table == {
            "housing": (3, {"got_help": 1, "no_capacity": 1, "declined": 1}),  # r1, r2, r7
            "mental_health": (2, {"": 1, "got_help": 1}),  # r3, r4
            "food": (2, {"": 1, "did_not_attend": 1}),  # r5, r6
        }
        assert s.by_category[0].category == "housing"  # largest first
        assert s.max_category_total == 3

    def test_a_supervisor_counts_their_teams_referrals(self, sam, dataset):
        r = dataset.r

        # Sam supervises team_a: r1, r2, r3, r6, r7 (erin's team_a2 referrals are not his).
        assert ids(sam) == {r.r1.pk, r.r2.pk, r.r3.pk, r.r6.pk, r.r7.pk}
        s = summary_for(sam)
        # Connected: r1 only -> 1 of 5.
        assert (s.total_sent, s.connected.count, s.connected.of) == (5, 1, 5)

    def test_nothing_counts_for_no_referrals(self, dana, db):
        s = summary_for(dana)

        assert s.total_sent == 0
        assert s.connected.percent is None
        assert s.days_to_acceptance.days is None
        assert s.by_category == []

    def test_it_runs_a_fixed_number_of_queries(self, dana, dataset, django_assert_num_queries):
        rows = referral_rows(dana, {})
        tz = agency_zone(dana.agency)

        # The totals with the medians (percentile_cont), and the counts per status,
        # category and outcome; SQLite passes over the rows for its medians.
        with django_assert_num_queries(2 if connection.vendor == "postgresql" else 3):
            referral_summary(rows, tz=tz)


class TestFilters:
    def test_period_is_the_sending_day_in_the_agencys_time_zone(self, dana, dataset):
        r = dataset.r

        # r7 went at 2026-02-01 05:00Z, which is January 31 in Los Angeles.
        assert ids(dana, sent_from="2026-01-31", sent_to="2026-01-31") == {r.r7.pk}
        assert ids(dana, sent_from="2026-02-01") == set()
        assert ids(dana, sent_from="2026-01-15", sent_to="2026-01-20") == {r.r4.pk, r.r5.pk}

    def test_team(self, dana, dataset, team_a2):
        assert ids(dana, team=team_a2.pk) == {dataset.r.r4.pk, dataset.r.r5.pk}

    def test_worker(self, dana, dataset, bob):
        assert ids(dana, worker=bob.pk) == {dataset.r.r2.pk, dataset.r.r6.pk}

    def test_need_category(self, dana, dataset):
        assert ids(dana, need_category="food") == {dataset.r.r5.pk, dataset.r.r6.pk}

    def test_organization_and_service(self, dana, dataset):
        r = dataset.r

        assert ids(dana, organization=str(dataset.org1.pk)) == {r.r1.pk, r.r2.pk, r.r7.pk}
        assert ids(dana, service=str(dataset.counselling.pk)) == {r.r3.pk, r.r4.pk}

    def test_status_and_outcome(self, dana, dataset):
        r = dataset.r

        assert ids(dana, status="completed") == {r.r1.pk, r.r4.pk}
        assert ids(dana, outcome="got_help") == {r.r1.pk, r.r4.pk}
        assert ids(dana, status="completed", team=r.r4.case.team_id) == {r.r4.pk}

    @pytest.mark.parametrize("status", ["draft", "entered-in-error"])
    def test_a_filter_cannot_bring_back_what_is_never_counted(self, dana, dataset, status):
        assert ids(dana, status=status) == set()

    def test_another_agency_never_appears(self, dana, carol, dataset):
        assert dataset.r.other_agency.pk not in ids(dana)
        assert ids(dana, worker=carol.pk) == set()
