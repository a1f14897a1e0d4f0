"""HEDIS-style FUM and FUA rates on a hand-built dataset.

Agency A is in America/Los_Angeles (the clocks change on 9 March 2025, inside the
period). Period: 1 to 31 March 2025; "today" is 5 April 2025. One client per rule, so
every expected number below can be checked by hand.

FUM visits (reason mental health unless said), ED date -> outcome:

  c1   3 Mar   contact 10 Mar 23:30 (day 7 counts)             7: hit     30: hit
  c2   4 Mar   follow-up completed 12 Mar 00:30 (day 8: no)     7: missed  30: hit
  c3   5 Mar   reached attempt the same evening (ED day counts) 7: hit     30: hit
  c4   6 Mar   only the contact that sent them, received after
               the arrival: not a follow-up                     7: missed  30: pending
               (6 Mar + 30 = 5 Apr = today: day 30 not over)
  c5  10 Feb   (before the period: takes no part, as HEDIS keeps to the measurement
               year, so it does not make 8 Mar a repeat)
       8 Mar   first in the period: counted, contact 15 Mar
               (day 7)                                          7: hit     30: hit
      13 Mar   5 days after 8 Mar: repeat, left out
      25 Mar   17 days after 8 Mar: repeat, left out
  c6   2 Mar   inpatient admission 1 Apr (day 30): left out
  c6b  1 Mar   inpatient admission 1 Apr (day 31): counted      7: missed  30: missed
  c7  10 Mar   admitted=True: left out
      15 Mar   (the admitted visit opened no 31-day period)
               follow-up completed 16 Mar                       7: hit     30: hit
  c8a 11 Mar   aged 5: left out (FUM is 6+)
  c8b 12 Mar   6th birthday that day: counted                   7: missed  30: pending
  c9  14 Mar   age unknown: counted; only a no-answer attempt   7: missed  30: pending
  c10 29 Mar   nothing yet                                      7: pending 30: pending
  c13 28 Feb 23:30 local (1 Mar in UTC): not in the period
  c14 31 Mar 23:30 local (1 Apr in UTC): in the period, erin's 7: pending 30: pending
  c12  3 Mar   reason "other": in neither measure
  carol (agency B) 5 Mar: never in agency A's numbers

FUM denominator: c1 c2 c3 c4 c5(8 Mar) c6b c7(15 Mar) c8b c9 c10 c14 = 11
  7-day:  hits c1 c3 c5 c7 = 4; pending c10 c14 = 2; missed c2 c4 c6b c8b c9 = 5;
          rate 4 / (11 - 2) = 4/9
  30-day: hits c1 c2 c3 c5 c7 = 5; pending c4 c8b c9 c10 c14 = 5; missed c6b = 1;
          rate 5 / (11 - 5) = 5/6

FUA visits:
  c11a 3 Mar substance use, aged 12: left out (FUA is 13+)
  c11b 4 Mar overdose, contact 5 Mar                             7: hit     30: hit
FUA denominator 1, both rates 1/1.
"""

import datetime

import pytest

from cases.models import CaseStatus, Disposition
from followups.models import AttemptOutcome, Method, Status, VisitKind, VisitReason
from metrics.hedis import hedis_rates
from tests.cases.factories import CaseFactory, ClientFactory
from tests.metrics.helpers import attempt, client_case, contact, followup, local, visit

D = datetime.date
START, END, TODAY = D(2025, 3, 1), D(2025, 3, 31), D(2025, 4, 5)


@pytest.fixture
def dataset(alice, erin, carol):
    v = {}

    c1 = client_case(alice)
    v["c1"] = visit(c1, local(D(2025, 3, 3)))
    contact(c1, local(D(2025, 3, 10), 23, 30))

    c2 = client_case(alice)
    v["c2"] = visit(c2, local(D(2025, 3, 4)))
    followup(
        c2,
        local(D(2025, 3, 11)),
        status=Status.COMPLETED,
        completed_at=local(D(2025, 3, 12), 0, 30),
    )

    c3 = client_case(alice)
    v["c3"] = visit(c3, local(D(2025, 3, 5)))
    attempt(followup(c3, local(D(2025, 3, 7))), local(D(2025, 3, 5), 18))

    c4 = client_case(alice)
    arrived = local(D(2025, 3, 6), 9)
    sent_by = contact(c4, arrived + datetime.timedelta(minutes=30), disposition="er")
    v["c4"] = visit(c4, arrived, source_contact=sent_by)

    c5 = client_case(alice)
    v["c5_feb10"] = visit(c5, local(D(2025, 2, 10)))
    v["c5_mar8"] = visit(c5, local(D(2025, 3, 8)))
    v["c5_mar13"] = visit(c5, local(D(2025, 3, 13)))
    v["c5_mar25"] = visit(c5, local(D(2025, 3, 25)))
    contact(c5, local(D(2025, 3, 15)))

    c6 = client_case(alice)
    v["c6"] = visit(c6, local(D(2025, 3, 2)))
    visit(c6, local(D(2025, 4, 1)), kind=VisitKind.INPATIENT)

    c6b = client_case(alice)
    v["c6b"] = visit(c6b, local(D(2025, 3, 1)))
    visit(c6b, local(D(2025, 4, 1)), kind=VisitKind.INPATIENT)

    c7 = client_case(alice)
    v["c7_admitted"] = visit(c7, local(D(2025, 3, 10)), admitted=True)
    v["c7"] = visit(c7, local(D(2025, 3, 15)))
    followup(c7, local(D(2025, 3, 17)), status=Status.COMPLETED, completed_at=local(D(2025, 3, 16)))

    v["c8a"] = visit(client_case(alice, dob=D(2019, 6, 1)), local(D(2025, 3, 11)))
    v["c8b"] = visit(client_case(alice, dob=D(2019, 3, 12)), local(D(2025, 3, 12)))

    c9 = client_case(alice, dob=None)
    v["c9"] = visit(c9, local(D(2025, 3, 14)))
    attempt(followup(c9, local(D(2025, 3, 16))), local(D(2025, 3, 15)), AttemptOutcome.NO_ANSWER)

    v["c10"] = visit(client_case(alice), local(D(2025, 3, 29)))
    v["c13"] = visit(client_case(alice), local(D(2025, 2, 28), 23, 30))
    v["c14"] = visit(client_case(erin), local(D(2025, 3, 31), 23, 30))
    v["c12"] = visit(client_case(alice), local(D(2025, 3, 3)), reason=VisitReason.OTHER)

    v["c11a"] = visit(
        client_case(alice, dob=D(2012, 6, 1)),
        local(D(2025, 3, 3)),
        reason=VisitReason.SUBSTANCE_USE,
    )
    c11b = client_case(alice)
    v["c11b"] = visit(c11b, local(D(2025, 3, 4)), reason=VisitReason.OVERDOSE)
    contact(c11b, local(D(2025, 3, 5)))

    carol_case = client_case(carol)
    v["carol"] = visit(carol_case, local(D(2025, 3, 5)))
    contact(carol_case, local(D(2025, 3, 6)))
    return {name: obj.pk for name, obj in v.items()}


def ids(v, *names):
    return sorted(v[n] for n in names)


def fum(agency, **kw):
    return hedis_rates(agency_id=agency.pk, measure="fum", start=START, end=END, today=TODAY, **kw)


class TestFUM:
    def test_denominator_and_exclusions(self, dataset, agency_a):
        v = dataset
        r = fum(agency_a)
        assert r.denominator == 11
        assert r.denominator_visit_ids == ids(
            v, "c1", "c2", "c3", "c4", "c5_mar8", "c6b", "c7", "c8b", "c9", "c10", "c14"
        )
        assert r.excluded_admitted_visit_ids == ids(v, "c6", "c7_admitted")
        assert r.excluded_repeat_visit_ids == ids(v, "c5_mar13", "c5_mar25")
        assert r.excluded_age_visit_ids == ids(v, "c8a")

    def test_seven_day_rate(self, dataset, agency_a):
        v = dataset
        week = fum(agency_a).seven_day
        assert week.numerator_visit_ids == ids(v, "c1", "c3", "c5_mar8", "c7")
        assert week.pending_visit_ids == ids(v, "c10", "c14")
        assert week.missed_visit_ids == ids(v, "c2", "c4", "c6b", "c8b", "c9")
        assert (week.numerator, week.pending, week.missed) == (4, 2, 5)
        assert week.rate == pytest.approx(4 / 9)

    def test_thirty_day_rate(self, dataset, agency_a):
        v = dataset
        month = fum(agency_a).thirty_day
        assert month.numerator_visit_ids == ids(v, "c1", "c2", "c3", "c5_mar8", "c7")
        assert month.pending_visit_ids == ids(v, "c4", "c8b", "c9", "c10", "c14")
        assert month.missed_visit_ids == ids(v, "c6b")
        assert month.rate == pytest.approx(5 / 6)

    def test_pending_visits_resolve_when_the_window_closes(self, dataset, agency_a):
        later = hedis_rates(
            agency_id=agency_a.pk, measure="fum", start=START, end=END, today=D(2025, 5, 31)
        )
        assert later.seven_day.pending == 0
        assert later.thirty_day.pending == 0
        # c4 c8b c9 c10 c14 now count as misses of the 30-day rate: 5 / 11.
        assert later.thirty_day.rate == pytest.approx(5 / 11)
        assert later.seven_day.rate == pytest.approx(4 / 11)

    def test_team_and_worker_filters(self, dataset, agency_a, team_a2, erin, alice):
        v = dataset
        erin_team = fum(agency_a, teams=[team_a2.pk])
        assert erin_team.denominator_visit_ids == ids(v, "c14")
        assert fum(agency_a, worker=erin.pk).denominator_visit_ids == ids(v, "c14")
        assert fum(agency_a, worker=alice.pk).denominator == 10

    def test_another_agency_never_counts(self, dataset, agency_a, agency_b):
        v = dataset
        mine = fum(agency_a)
        every_id = (
            mine.denominator_visit_ids
            + mine.excluded_admitted_visit_ids
            + mine.excluded_repeat_visit_ids
            + mine.excluded_age_visit_ids
        )
        assert v["carol"] not in every_id
        theirs = fum(agency_b)
        assert theirs.denominator_visit_ids == [v["carol"]]
        assert theirs.seven_day.numerator == 1

    def test_runs_a_fixed_number_of_queries(self, dataset, agency_a, django_assert_num_queries):
        with django_assert_num_queries(4):
            fum(agency_a)

    def test_no_visits_means_no_rate(self, agency_a):
        r = fum(agency_a)
        assert r.denominator == 0
        assert r.seven_day.rate is None
        assert r.thirty_day.rate is None

    def test_unknown_measure_is_refused(self, agency_a):
        with pytest.raises(ValueError):
            hedis_rates(agency_id=agency_a.pk, measure="xyz", start=START, end=END)


class TestFUA:
    def test_rates(self, dataset, agency_a):
        v = dataset
        r = hedis_rates(agency_id=agency_a.pk, measure="fua", start=START, end=END, today=TODAY)
        assert r.denominator_visit_ids == ids(v, "c11b")
        assert r.excluded_age_visit_ids == ids(v, "c11a")
        assert r.seven_day.rate == 1.0
        assert r.thirty_day.rate == 1.0


class TestThirtyOneDayRule:
    """HEDIS: "if a member has more than one ED visit in a 31-day period, include only the
    first eligible ED visit", over the ED visits of the measurement year. Here the
    period is the measurement year: only its visits take part. Within it the periods
    chain from the last *counted* visit, whatever team or worker the report is for."""

    def test_a_visit_just_before_the_period_does_not_remove_one_inside_it(self, alice, agency_a):
        # 20 Dec and 5 Jan are 16 days apart. January's report looks at January's visits
        # only: 5 Jan is the first, counted. December and January together: 20 Dec is
        # counted and 5 Jan is its repeat.
        case = client_case(alice)
        dec20 = visit(case, local(D(2024, 12, 20)))
        jan5 = visit(case, local(D(2025, 1, 5)))
        january = hedis_rates(
            agency_id=agency_a.pk,
            measure="fum",
            start=D(2025, 1, 1),
            end=D(2025, 1, 31),
            today=TODAY,
        )
        assert january.denominator_visit_ids == [jan5.pk]
        assert january.excluded_repeat_visit_ids == []
        both = hedis_rates(
            agency_id=agency_a.pk,
            measure="fum",
            start=D(2024, 12, 1),
            end=D(2025, 1, 31),
            today=TODAY,
        )
        assert both.denominator_visit_ids == [dec20.pk]
        assert both.excluded_repeat_visit_ids == [jan5.pk]

    def test_a_repeat_opens_no_period_of_its_own(self, alice, agency_a):
        # 25 Nov counted (opens 25 Nov - 25 Dec); 10 Dec a repeat; 5 Jan is 41 days after
        # the last counted visit (26 after the repeat): counted.
        case = client_case(alice)
        nov25 = visit(case, local(D(2024, 11, 25)))
        dec10 = visit(case, local(D(2024, 12, 10)))
        jan5 = visit(case, local(D(2025, 1, 5)))
        whole = hedis_rates(
            agency_id=agency_a.pk,
            measure="fum",
            start=D(2024, 11, 1),
            end=D(2025, 1, 31),
            today=TODAY,
        )
        assert whole.excluded_repeat_visit_ids == [dec10.pk]
        assert whole.denominator_visit_ids == sorted([nov25.pk, jan5.pk])

    def test_a_team_filter_does_not_change_which_visit_is_first(
        self, alice, erin, agency_a, team_a
    ):
        # One client, an earlier case of erin's team (closed), then a case of alice's.
        client = ClientFactory(agency=agency_a, date_of_birth=D(1990, 1, 1))
        old_case = CaseFactory(
            client=client,
            assigned_worker=erin,
            status=CaseStatus.CLOSED,
            closed_at=local(D(2025, 3, 5)),
        )
        new_case = CaseFactory(client=client, assigned_worker=alice)
        first = visit(old_case, local(D(2025, 3, 1)))
        repeat = visit(new_case, local(D(2025, 3, 10)))
        agency_wide = fum(agency_a)
        assert agency_wide.denominator_visit_ids == [first.pk]
        assert agency_wide.excluded_repeat_visit_ids == [repeat.pk]
        alices_team = fum(agency_a, teams=[team_a.pk])
        assert alices_team.denominator == 0
        assert alices_team.excluded_repeat_visit_ids == [repeat.pk]
        assert fum(agency_a, worker=alice.pk).denominator == 0


class TestWhatCountsAsAFollowUp:
    def test_a_contact_earlier_on_the_ed_day_is_not_a_follow_up(self, alice, agency_a):
        # Times are known here, unlike in claims: a contact before the arrival is the
        # crisis before the visit, not a follow-up after it, even on the same date.
        case = client_case(alice)
        contact(case, local(D(2025, 3, 3), 8), disposition="resolved")
        ed = visit(case, local(D(2025, 3, 3), 20))
        r = fum(agency_a)
        assert r.seven_day.missed_visit_ids == [ed.pk]

    def test_a_new_crisis_that_sends_the_client_back_to_the_er_is_not_a_follow_up(
        self, alice, agency_a
    ):
        case = client_case(alice)
        ed = visit(case, local(D(2025, 3, 3)))
        contact(case, local(D(2025, 3, 5)), disposition="er")
        contact(case, local(D(2025, 3, 6)), disposition="hospitalised")
        r = fum(agency_a)
        assert r.denominator_visit_ids == [ed.pk]
        assert r.seven_day.missed_visit_ids == [ed.pk]

    def test_the_last_day_of_each_window_counts_and_the_next_does_not(self, alice, agency_a):
        # ED 2 Mar: day 7 is 9 Mar (8 days in all), day 30 is 1 Apr (31 days in all).
        on_day_7 = client_case(alice)
        a = visit(on_day_7, local(D(2025, 3, 2), 3))
        contact(on_day_7, local(D(2025, 3, 9), 23, 59))
        on_day_30 = client_case(alice)
        b = visit(on_day_30, local(D(2025, 3, 2), 3))
        contact(on_day_30, local(D(2025, 4, 1), 23, 59))
        on_day_31 = client_case(alice)
        c = visit(on_day_31, local(D(2025, 3, 2), 3))
        contact(on_day_31, local(D(2025, 4, 2), 0, 1))
        r = fum(agency_a)
        assert r.seven_day.numerator_visit_ids == [a.pk]
        assert r.thirty_day.numerator_visit_ids == sorted([a.pk, b.pk])
        assert r.thirty_day.missed_visit_ids == [c.pk]

    def test_only_a_visit_or_an_interaction_with_the_client_counts(self, alice, agency_a):
        """HEDIS counts a visit or an interaction with the person (in person, telephone,
        video, e-visit): a letter or a text message sent is not a follow-up visit, so
        Caring Contacts do not raise the rate. Ten clients, each with an ED visit on
        3 March and one thing on 5 March (day 2); today 5 April, every window closed:

          letter   Caring Contacts letter follow-up marked done          no
          text     text-message follow-up marked done                    no
          by_text  phone follow-up done by a reached attempt by text     no
          phone    reached attempt by phone                              yes
          visit    reached attempt by visit                              yes
          by_hand  phone follow-up marked done (no attempt recorded)     yes
          declined crisis contact, the client declined services          no
          absent   crisis contact, the client was not found              no
          shelter  crisis contact, transported to a shelter              yes
          detox    crisis contact, transported to detox                  yes

        Denominator 10; both numerators 5 (phone, visit, by_hand, shelter, detox); both
        rates 5 / 10 = 0.5. Counting every row as before would give 10 / 10."""
        day2 = local(D(2025, 3, 5), 11)
        visits = {}

        def ed(name):
            case = client_case(alice)
            visits[name] = visit(case, local(D(2025, 3, 3))).pk
            return case

        def done(case, method):
            return followup(case, day2, method=method, status=Status.COMPLETED, completed_at=day2)

        done(ed("letter"), Method.LETTER)
        done(ed("text"), Method.TEXT)
        attempt(done(ed("by_text"), Method.PHONE), day2, method=Method.TEXT)
        attempt(followup(ed("phone"), day2, method=Method.TEXT), day2, method=Method.PHONE)
        attempt(followup(ed("visit"), day2), day2, method=Method.VISIT)
        done(ed("by_hand"), Method.PHONE)
        for name, disposition in (
            ("declined", Disposition.DECLINED),
            ("absent", Disposition.UNABLE_TO_LOCATE),
            ("shelter", Disposition.SHELTER),
            ("detox", Disposition.DETOX),
        ):
            contact(ed(name), day2, disposition=disposition)

        r = fum(agency_a)
        followed = ids(visits, "phone", "visit", "by_hand", "shelter", "detox")
        assert r.denominator == 10
        for window in (r.seven_day, r.thirty_day):
            assert window.numerator_visit_ids == followed
            assert (window.numerator, window.pending, window.missed) == (5, 0, 5)
            assert window.rate == pytest.approx(5 / 10)
