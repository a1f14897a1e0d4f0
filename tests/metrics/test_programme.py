"""Programme figures on hand-built contacts, and the weekly trend.

March 2025 contacts (Los Angeles):
  k1 911     resolved on scene                    on scene after 10 min   alice
  k2 911     transported to ER, police backup     20 min                  alice
  k3 988     referred                             30 min                  erin (team a2)
  k4 police  police custody, backup, arrest       40 min                  bob
  k5 walk-in hospitalised                         no on-scene time        alice
  k6 988     28 Feb 23:30 local: outside the period
  carol's contact in March: agency B
Whole agency: 5 contacts; sources 911 2, 988 1, police 1, walk-in 1; median response of
10, 20, 30, 40 = 25 min over 4 timed; police backup 2 (40 %); arrests 1 (20 %); ER
diversions (contacts not ending in an ED transport or admission, over all contacts):
k1, k3, k4 = 3 (60 %).
Team a only: k1 k2 k4 k5; median of 10, 20, 40 = 20 min; diversions k1, k4 = 2 (50 %).
"""

import datetime
import random
from collections import Counter, defaultdict

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from cases.models import Disposition
from followups.models import Status
from metrics.compliance import agency_zone, period_bounds, ratio
from metrics.hedis import evaluate
from metrics.programme import programme_figures, weekly_trend
from tests.metrics.helpers import (
    LA,
    attempt,
    buckets_of,
    client_case,
    contact,
    followup,
    followup_rows,
    local,
    visit,
)

D = datetime.date
MARCH = {"start": D(2025, 3, 1), "end": D(2025, 3, 31)}


@pytest.fixture
def contacts(alice, bob, erin, carol):
    a, b, e = client_case(alice), client_case(bob), client_case(erin)
    k = {
        "k1": contact(a, local(D(2025, 3, 2)), on_scene_minutes=10, source="911"),
        "k2": contact(
            a,
            local(D(2025, 3, 3)),
            on_scene_minutes=20,
            source="911",
            disposition=Disposition.EMERGENCY_ROOM,
            police_backup_requested=True,
        ),
        "k3": contact(
            e,
            local(D(2025, 3, 4)),
            on_scene_minutes=30,
            source="988",
            disposition=Disposition.REFERRED,
        ),
        "k4": contact(
            b,
            local(D(2025, 3, 5)),
            on_scene_minutes=40,
            source="police",
            disposition=Disposition.POLICE_CUSTODY,
            police_backup_requested=True,
            arrest=True,
        ),
        "k5": contact(
            a,
            local(D(2025, 3, 6)),
            on_scene_minutes=None,
            source="walk_in",
            disposition=Disposition.HOSPITALISED,
        ),
        "k6": contact(a, local(D(2025, 2, 28), 23, 30), source="988"),
        "carol": contact(client_case(carol), local(D(2025, 3, 7)), source="911"),
    }
    return {name: c.pk for name, c in k.items()}


class TestProgrammeFigures:
    def test_whole_agency(self, contacts, agency_a):
        k = contacts
        f = programme_figures(agency_id=agency_a.pk, **MARCH)
        assert f.contact_ids == sorted(k[n] for n in ("k1", "k2", "k3", "k4", "k5"))
        assert [(b.key, b.count) for b in f.by_source] == [
            ("911", 2),
            ("988", 1),
            ("police", 1),
            ("walk_in", 1),
        ]
        assert f.by_source[0].share == pytest.approx(0.4)
        assert (f.median_response_minutes, f.timed_responses) == (25, 4)
        assert (f.police_backup.count, f.police_backup.share) == (2, pytest.approx(0.4))
        assert f.police_backup.ids == sorted([k["k2"], k["k4"]])
        assert (f.arrests.count, f.arrests.share) == (1, pytest.approx(0.2))
        assert f.er_diversions.ids == sorted([k["k1"], k["k3"], k["k4"]])
        assert f.er_diversions.share == pytest.approx(0.6)
        assert {b.key: b.count for b in f.dispositions} == {
            "resolved": 1,
            "er": 1,
            "referred": 1,
            "police_custody": 1,
            "hospitalised": 1,
        }

    def test_one_team(self, contacts, agency_a, team_a):
        f = programme_figures(agency_id=agency_a.pk, **MARCH, teams=[team_a.pk])
        assert f.contacts == 4
        assert f.median_response_minutes == 20
        assert (f.er_diversions.count, f.er_diversions.share) == (2, 0.5)

    def test_another_agency(self, contacts, agency_b):
        f = programme_figures(agency_id=agency_b.pk, **MARCH)
        assert f.contact_ids == [contacts["carol"]]

    def test_nothing_recorded(self, agency_a):
        f = programme_figures(agency_id=agency_a.pk, **MARCH)
        assert (f.contacts, f.median_response_minutes, f.er_diversions.share) == (0, None, None)

    def test_query_count(self, contacts, agency_a, alice, django_assert_num_queries):
        # The agency and the aggregate; elsewhere than PostgreSQL the median's middle
        # times too; the ids one more, when read.
        queries = 2 if connection.vendor == "postgresql" else 3
        with django_assert_num_queries(queries):
            figures = programme_figures(agency_id=agency_a.pk, **MARCH)
        case = client_case(alice)
        for day in range(8, 20):
            contact(case, local(D(2025, 3, day)))
        with django_assert_num_queries(queries):
            figures = programme_figures(agency_id=agency_a.pk, **MARCH)
        with django_assert_num_queries(1):
            assert len(figures.contact_ids) == 17
            assert figures.er_diversions.ids and figures.by_source[0].ids


class TestProgrammeDefinitions:
    def test_er_diversions_are_contacts_not_ending_in_an_ed_transport_or_admission(
        self, alice, agency_a
    ):
        # The published definition: contacts not ending in an ED transport or admission,
        # over all contacts. A declined contact (and one where the client was not found)
        # is in the denominator, so it is in the numerator too. One contact of each of
        # the 10 dispositions: 8 diverted (all but ER and hospitalised), 8 / 10.
        case = client_case(alice)
        made = {d: contact(case, local(D(2025, 3, 2)), disposition=d).pk for d in Disposition}
        f = programme_figures(agency_id=agency_a.pk, **MARCH)
        not_diverted = {Disposition.EMERGENCY_ROOM, Disposition.HOSPITALISED}
        assert f.contacts == len(Disposition) == 10
        assert f.er_diversions.ids == sorted(pk for d, pk in made.items() if d not in not_diverted)
        assert made[Disposition.DECLINED] in f.er_diversions.ids
        assert made[Disposition.SHELTER] in f.er_diversions.ids
        assert made[Disposition.DETOX] in f.er_diversions.ids
        assert f.er_diversions.share == pytest.approx(8 / 10)
        assert f.er_diversion_definition == (
            "Contacts not ending in an ED transport or admission, over all contacts"
        )

    def test_the_new_sources_and_dispositions_are_reported(self, alice, agency_a):
        case = client_case(alice)
        contact(case, local(D(2025, 3, 2)), source="self", disposition=Disposition.SHELTER)
        contact(case, local(D(2025, 3, 3)), source="other", disposition=Disposition.DETOX)
        f = programme_figures(agency_id=agency_a.pk, **MARCH)
        assert [(b.key, b.label, b.count) for b in f.by_source] == [
            ("self", "Self (the person in crisis asked for help)", 1),
            ("other", "Other", 1),
        ]
        assert [(b.key, b.label) for b in f.dispositions] == [
            ("shelter", "Transported to shelter"),
            ("detox", "Transported to detox"),
        ]

    def test_response_time_is_arrival_on_scene_minus_received(self, alice, agency_a):
        received = local(D(2025, 3, 2), 10)
        contact(
            client_case(alice),
            received,
            on_scene_minutes=17,
            dispatched_at=received + datetime.timedelta(minutes=5),
            cleared_at=received + datetime.timedelta(minutes=90),
        )
        f = programme_figures(agency_id=agency_a.pk, **MARCH)
        assert f.median_response_minutes == 17


class TestWeeklyTrend:
    """Today Thursday 20 March 2025; three weeks: from 3, 10 and 17 March.

    week 1: follow-ups due 4 (done in window) and 5 March (missed): due 2, done 1;
            ED visit 4 March, contact 6 March: FUM 1 of 1
    week 2: due 11 March, done: due 1, done 1; ED visit 12 March, nothing by 19 March:
            FUM 0 of 1
    week 3: due 18 March, open: due 1, done 0; ED visit 18 March: pending, no rate
    """

    def test_weeks(self, alice, carol, agency_a, django_assert_max_num_queries):
        case = client_case(alice)
        followup(
            case,
            local(D(2025, 3, 4)),
            status=Status.COMPLETED,
            completed_at=local(D(2025, 3, 4)),
        )
        followup(case, local(D(2025, 3, 5)), status=Status.MISSED)
        followup(
            case,
            local(D(2025, 3, 11)),
            status=Status.COMPLETED,
            completed_at=local(D(2025, 3, 12)),
        )
        followup(case, local(D(2025, 3, 18)), status=Status.DUE)
        first = client_case(alice)
        visit(first, local(D(2025, 3, 4)))
        contact(first, local(D(2025, 3, 6)))
        visit(client_case(alice), local(D(2025, 3, 12)))
        visit(client_case(alice), local(D(2025, 3, 18)))
        visit(client_case(carol), local(D(2025, 3, 12)))

        with django_assert_max_num_queries(6):
            weeks = weekly_trend(agency_id=agency_a.pk, weeks=3, today=D(2025, 3, 20))
        assert [w.week_start for w in weeks] == [D(2025, 3, 3), D(2025, 3, 10), D(2025, 3, 17)]
        assert weeks[-1].week_end == D(2025, 3, 23)
        assert [(w.due, w.done_within_window) for w in weeks] == [(2, 1), (1, 1), (1, 0)]
        assert [(w.fum_numerator, w.fum_denominator, w.fum_pending) for w in weeks] == [
            (1, 1, 0),
            (0, 1, 0),
            (0, 1, 1),
        ]
        assert [w.fum_rate for w in weeks] == [1.0, 0.0, None]


def trend_by_rows(*, agency_id, weeks, teams=None, worker=None, today=None) -> list:
    """weekly_trend as it was first written, kept as the reference for the aggregate
    query: the follow-up rows read into Python and each put in its week by its due time
    in the agency's zone (buckets_of states compliance's rules in Python). Tuples of
    (week_start, due, done_within_window, fum_denominator, fum_numerator, fum_pending,
    fum_rate)."""
    tz = agency_zone(agency_id)
    now = timezone.now()
    today = today or now.astimezone(tz).date()
    first = today - datetime.timedelta(days=today.weekday() + 7 * (weeks - 1))
    last = first + datetime.timedelta(days=7 * weeks - 1)
    since, until = period_bounds(first, last, tz)
    due: Counter[int] = Counter()
    done: Counter[int] = Counter()
    rows = followup_rows(agency_id=agency_id, since=since, until=until, teams=teams, worker=worker)
    for row in rows:
        week = (row["due_at"].astimezone(tz).date() - first).days // 7
        names = buckets_of(row, now)
        due[week] += "due" in names
        done[week] += "done_within_window" in names
    outcomes, _, _ = evaluate(
        agency_id=agency_id,
        measure="fum",
        start=first,
        end=last,
        teams=teams,
        worker=worker,
        today=today,
    )
    fum: defaultdict[int, Counter[str]] = defaultdict(Counter)
    for outcome in outcomes:
        fum[(outcome.ed_date - first).days // 7][outcome.seven_day] += 1
    return [
        (
            first + datetime.timedelta(days=7 * week),
            due[week],
            done[week],
            sum(fum[week].values()),
            fum[week]["hit"],
            fum[week]["pending"],
            ratio(fum[week]["hit"], sum(fum[week].values()) - fum[week]["pending"]),
        )
        for week in range(weeks)
    ]


def as_tuples(weeks) -> list:
    return [
        (
            w.week_start,
            w.due,
            w.done_within_window,
            w.fum_denominator,
            w.fum_numerator,
            w.fum_pending,
            w.fum_rate,
        )
        for w in weeks
    ]


UTC = datetime.UTC
# Wednesday 19 March 2025, 20:30 in Los Angeles: UTC's date is already the 20th.
TREND_NOW = datetime.datetime(2025, 3, 20, 3, 30, tzinfo=UTC)
TREND_WEEKS = 26  # from Monday 23 September 2024: fall back, New Year, spring forward
# Instants at the edges of the agency's weeks, where a week taken in UTC (or at a fixed
# offset) would put the follow-up in the wrong week.
WEEK_EDGES = [
    local(D(2024, 11, 3), 1, 30),  # Sunday, the first 01:30 of the night clocks fall back
    datetime.datetime(2024, 11, 3, 9, 30, tzinfo=UTC),  # the second 01:30 (PST)
    local(D(2024, 11, 3), 23, 59),  # Sunday 23:59 PST: Monday 07:59 UTC
    local(D(2024, 11, 4), 0, 0),  # Monday 00:00 PST, its week's first instant
    datetime.datetime(2024, 11, 4, 7, 59, tzinfo=UTC),  # Sunday 23:59 PST again
    local(D(2024, 12, 29), 23, 30),  # Sunday before New Year's week
    local(D(2024, 12, 30), 0, 0),  # Monday 30 December: the week of New Year's Day
    local(D(2024, 12, 31), 23, 59),  # New Year's Eve, 07:59 UTC on 1 January
    local(D(2025, 1, 1), 0, 0),  # New Year's Day, same week
    local(D(2025, 1, 5), 23, 59),  # Sunday 5 January, the week's last minute
    local(D(2025, 3, 9), 1, 59),  # Sunday, a minute before clocks spring forward
    local(D(2025, 3, 9), 3, 0),  # the first instant after the skipped hour
    local(D(2025, 3, 9), 23, 59),  # Sunday 23:59 PDT: Monday 06:59 UTC
    local(D(2025, 3, 10), 0, 0),  # Monday 00:00 PDT
    local(D(2025, 3, 19), 20, 45),  # after now, in the current week
    local(D(2025, 3, 23), 23, 59),  # the current week's last minute
    local(D(2024, 9, 22), 23, 59),  # the Sunday before the first week: outside
    local(D(2024, 9, 23), 0, 0),  # the first week's first instant
]


def varied_followup(case, due_at, rng):
    """A follow-up due at `due_at` in a state drawn from `rng`, as of TREND_NOW."""
    status = rng.choice(
        [Status.COMPLETED, Status.COMPLETED, Status.MISSED, Status.SCHEDULED, Status.CANCELLED]
    )
    if status == Status.COMPLETED:
        # Within the window (from a day before due to two after), or a day late.
        done_at = due_at + datetime.timedelta(hours=rng.choice([-20, 0, 30, 47, 72]))
        return followup(case, due_at, status=status, completed_at=min(done_at, TREND_NOW))
    if status == Status.SCHEDULED and due_at < TREND_NOW:
        status = rng.choice([Status.DUE, Status.OVERDUE, Status.SCHEDULED])
    return followup(case, due_at, status=status)


class TestWeeklyTrendAsRows:
    """The aggregate weekly_trend gives the numbers of the first version (trend_by_rows),
    on follow-ups and ER visits spread over 26 weeks that cross the end of summer time,
    New Year and the start of summer time, at the agency's week edges."""

    @pytest.fixture
    def spread(self, alice, bob, erin, carol):
        rng = random.Random(20250320)
        cases = [client_case(w) for w in (alice, alice, bob, erin)]
        first = datetime.datetime(2024, 9, 20, tzinfo=UTC)
        span = (TREND_NOW + datetime.timedelta(days=5) - first).total_seconds()
        instants = [first + datetime.timedelta(seconds=rng.random() * span) for _ in range(120)]
        for at in [*instants, *WEEK_EDGES]:
            varied_followup(rng.choice(cases), at, rng)
        for at in rng.sample(instants, 30) + WEEK_EDGES[:8]:
            case = client_case(rng.choice([alice, bob, erin]))
            visit(case, at)
            if rng.random() < 0.6:
                later = at + datetime.timedelta(days=rng.choice([0.1, 3, 7.5, 9]))
                if rng.random() < 0.5:
                    contact(case, later)
                else:
                    attempt(followup(case, later), later)
        followup(client_case(carol), WEEK_EDGES[3])  # another agency: never counted
        return cases

    @pytest.fixture(autouse=True)
    def now(self):
        with time_machine.travel(TREND_NOW, tick=False):
            yield

    def test_the_edges_fall_in_the_agencys_weeks(self, agency_a, alice):
        # Sunday 23:59 (PST, after clocks fell back) is Monday 07:59 UTC: still Sunday's week.
        case = client_case(alice)
        followup(case, local(D(2024, 11, 3), 23, 59), status=Status.MISSED)
        followup(case, local(D(2024, 12, 31), 23, 59), status=Status.MISSED)
        followup(case, local(D(2025, 1, 1), 0, 0), status=Status.MISSED)
        weeks = {w.week_start: w.due for w in weekly_trend(agency_id=agency_a.pk, weeks=26)}
        assert weeks[D(2024, 10, 28)] == 1  # the week of Sunday 3 November
        assert weeks[D(2024, 11, 4)] == 0
        assert weeks[D(2024, 12, 30)] == 2  # New Year's Eve and Day, one week
        assert sum(weeks.values()) == 3

    @pytest.mark.parametrize("scope", ["agency", "team", "worker"])
    def test_the_same_numbers_as_a_pass_over_the_rows(self, spread, agency_a, team_a2, bob, scope):
        filters = {"agency": {}, "team": {"teams": [team_a2.pk]}, "worker": {"worker": bob.pk}}
        args = {"agency_id": agency_a.pk, "weeks": TREND_WEEKS, **filters[scope]}
        expected = trend_by_rows(**args)
        assert sum(week[1] for week in expected) > 10, "a check over no rows proves nothing"
        assert as_tuples(weekly_trend(**args)) == expected
        today = TREND_NOW.astimezone(LA).date()
        assert as_tuples(weekly_trend(**args, today=today)) == expected

    def test_the_whole_range_of_the_agency(self, spread, agency_a):
        weeks = weekly_trend(agency_id=agency_a.pk, weeks=TREND_WEEKS)
        assert (weeks[0].week_start, weeks[-1].week_end) == (D(2024, 9, 23), D(2025, 3, 23))
        assert sum(w.due for w in weeks) == sum(
            w[1] for w in trend_by_rows(agency_id=agency_a.pk, weeks=TREND_WEEKS)
        )
        assert sum(w.fum_denominator for w in weeks) > 0
