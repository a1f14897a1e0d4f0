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

import pytest

from cases.models import Disposition
from followups.models import Status
from metrics.programme import programme_figures, weekly_trend
from tests.metrics.helpers import client_case, contact, followup, local, visit

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
        with django_assert_num_queries(2):
            programme_figures(agency_id=agency_a.pk, **MARCH)
        case = client_case(alice)
        for day in range(8, 20):
            contact(case, local(D(2025, 3, day)))
        with django_assert_num_queries(2):
            programme_figures(agency_id=agency_a.pk, **MARCH)


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
