"""Drop-off list and workers whose clients have had no contact. `now` is 20 March 2025,
noon in Los Angeles; the 7-day window of an event on day D runs to the end of D + 7."""

import datetime

import pytest

from cases.models import CaseStatus, Disposition
from followups.models import Method, Status
from metrics.attention import drop_off, no_contact_workers
from tests.metrics.helpers import attempt, client_case, contact, followup, local, visit

D = datetime.date
NOW = local(D(2025, 3, 20), 12)


def closed_case(worker, **fields):
    return client_case(worker, status=CaseStatus.CLOSED, closed_at=NOW, **fields)


class TestDropOff:
    @pytest.fixture
    def cases(self, alice, bob, erin, carol):
        c = {}
        c["h1"] = client_case(alice, risk_level="high")
        visit(c["h1"], local(D(2025, 3, 18)))  # 18 + 7 = 25 March: 5 days left
        c["h2"] = client_case(bob, risk_level="high")
        contact(c["h2"], local(D(2025, 3, 13), 8))  # 13 + 7 = 20 March: last day, 0 left
        c["m1"] = client_case(alice, risk_level="moderate")
        visit(c["m1"], local(D(2025, 3, 19)))  # 6 days left
        c["done"] = client_case(alice, risk_level="high")
        visit(c["done"], local(D(2025, 3, 17)))
        followup(
            c["done"],
            local(D(2025, 3, 19)),
            status=Status.COMPLETED,
            completed_at=local(D(2025, 3, 18)),
        )
        c["reached"] = client_case(alice, risk_level="high")
        visit(c["reached"], local(D(2025, 3, 16)))
        attempt(followup(c["reached"], local(D(2025, 3, 19))), local(D(2025, 3, 17)))
        # A reached attempt before the visit does not follow it up.
        c["reached_before"] = client_case(alice, risk_level="low")
        attempt(followup(c["reached_before"], local(D(2025, 3, 19))), local(D(2025, 3, 16)))
        visit(c["reached_before"], local(D(2025, 3, 17)))  # 4 days left
        c["old"] = client_case(alice, risk_level="high")
        visit(c["old"], local(D(2025, 3, 12), 23))  # window ended with 19 March
        c["closed"] = closed_case(alice, risk_level="high")
        visit(c["closed"], local(D(2025, 3, 18)))
        c["erin"] = client_case(erin)
        visit(c["erin"], local(D(2025, 3, 19)))  # not screened, 6 days left
        c["carol"] = client_case(carol, risk_level="high")
        visit(c["carol"], local(D(2025, 3, 19)))
        return c

    def test_ranked_by_risk_then_days_left(self, cases, agency_a):
        rows = drop_off(agency_id=agency_a.pk, now=NOW)
        names = {case.pk: name for name, case in cases.items()}
        assert [names[r.case_id] for r in rows] == ["h2", "h1", "m1", "reached_before", "erin"]
        assert [r.days_left for r in rows] == [0, 5, 6, 4, 6]
        assert rows[0].event_kind == "contact"
        assert rows[1].event_kind == "ed_visit"

    def test_team_filter_and_other_agency(self, cases, agency_a, agency_b, team_a):
        rows = drop_off(agency_id=agency_a.pk, teams=[team_a.pk], now=NOW)
        assert cases["erin"].pk not in [r.case_id for r in rows]
        assert cases["carol"].pk not in [r.case_id for r in rows]
        theirs = drop_off(agency_id=agency_b.pk, now=NOW)
        assert [r.case_id for r in theirs] == [cases["carol"].pk]

    def test_worker_filter_keeps_the_rows_of_their_cases(self, cases, agency_a, alice, bob):
        everyone = drop_off(agency_id=agency_a.pk, now=NOW)
        rows = drop_off(agency_id=agency_a.pk, worker=alice.pk, now=NOW)
        assert rows == [r for r in everyone if r.assigned_worker_id == alice.pk]
        assert [r.case_id for r in drop_off(agency_id=agency_a.pk, worker=bob.pk, now=NOW)] == [
            cases["h2"].pk
        ]

    def test_a_later_contact_is_the_event_that_needs_follow_up(self, alice, agency_a):
        case = client_case(alice)
        visit(case, local(D(2025, 3, 14)))
        contact(case, local(D(2025, 3, 18)))
        (row,) = drop_off(agency_id=agency_a.pk, now=NOW)
        assert (row.event_kind, row.days_left) == ("contact", 5)

    def test_a_letter_or_a_text_sent_leaves_the_client_on_the_list(self, alice, agency_a):
        # As for FUM/FUA: only a follow-up that reached the client takes them off.
        left_on, taken_off = [], []
        for method, reached_by, stays in (
            (Method.LETTER, None, True),  # a Caring Contacts letter marked done
            (Method.TEXT, None, True),
            (Method.PHONE, Method.TEXT, True),  # a phone follow-up done by a text
            (Method.PHONE, None, False),  # a call marked done
            (Method.TEXT, Method.PHONE, False),  # a text follow-up done by a call
        ):
            case = client_case(alice)
            visit(case, local(D(2025, 3, 17)))
            done_at = local(D(2025, 3, 18))
            fu = followup(
                case, done_at, method=method, status=Status.COMPLETED, completed_at=done_at
            )
            if reached_by:
                attempt(fu, done_at, method=reached_by)
            (left_on if stays else taken_off).append(case.pk)
        listed = [r.case_id for r in drop_off(agency_id=agency_a.pk, now=NOW)]
        assert sorted(listed) == sorted(left_on)

    def test_one_row_per_client_the_visit_first_at_the_same_instant(self, alice, agency_a):
        at = local(D(2025, 3, 18), 9)
        both = client_case(alice)
        contact(both, at)
        the_visit = visit(both, at)
        twice = client_case(alice)
        first, _ = contact(twice, at), contact(twice, at)
        rows = drop_off(agency_id=agency_a.pk, now=NOW)
        assert sorted((r.case_id, r.event_kind, r.event_id) for r in rows) == sorted(
            [(both.pk, "ed_visit", the_visit.pk), (twice.pk, "contact", first.pk)]
        )

    def test_a_contact_that_completed_a_follow_up_is_no_event(self, alice, agency_a):
        case = client_case(alice)
        visit(case, local(D(2025, 3, 17)))
        done_by = contact(case, local(D(2025, 3, 18)), disposition=Disposition.DECLINED)
        followup(
            case,
            local(D(2025, 3, 18)),
            method=Method.LETTER,
            status=Status.COMPLETED,
            completed_at=local(D(2025, 3, 18)),
            completed_contact=done_by,
        )
        # The follow-up done by the contact reached the client: no row.
        assert drop_off(agency_id=agency_a.pk, now=NOW) == []

    def test_query_count(self, cases, agency_a, alice, django_assert_num_queries):
        with django_assert_num_queries(3):
            drop_off(agency_id=agency_a.pk, now=NOW)
        for day in range(14, 20):
            visit(client_case(alice), local(D(2025, 3, day)))
        with django_assert_num_queries(3):
            drop_off(agency_id=agency_a.pk, now=NOW)


class TestNoContactWorkers:
    @pytest.fixture
    def cases(self, alice, bob, erin, carol):
        c = {
            "n1": client_case(alice, last_contact_at=local(D(2025, 3, 1))),  # 19 days
            "n2": client_case(alice, last_contact_at=local(D(2025, 2, 10))),  # 38 days
            "n3": client_case(alice, last_contact_at=local(D(2025, 2, 1))),
            "n4": client_case(alice, last_contact_at=local(D(2025, 3, 18))),
            "b1": client_case(bob, last_contact_at=None, opened_at=local(D(2025, 2, 15))),
            "e1": client_case(erin, last_contact_at=local(D(2025, 3, 6), 23)),  # 14 dates
            "closed": closed_case(alice, last_contact_at=local(D(2025, 1, 1))),
            "carol": client_case(carol, last_contact_at=local(D(2025, 1, 1))),
        }
        # n3's client was reached on 15 March: contact, though the case field lags.
        attempt(followup(c["n3"], local(D(2025, 3, 16))), local(D(2025, 3, 15)))
        return c

    def test_rows(self, cases, agency_a, alice, bob, erin):
        rows = no_contact_workers(agency_id=agency_a.pk, now=NOW)
        assert [r.worker_id for r in rows] == [alice.pk, bob.pk, erin.pk]
        a, b, e = rows
        assert a.open_cases == 4
        assert a.case_ids_14 == sorted([cases["n1"].pk, cases["n2"].pk])
        assert a.case_ids_30 == [cases["n2"].pk]
        assert (b.case_ids_14, b.case_ids_30) == ([cases["b1"].pk], [cases["b1"].pk])
        assert (e.case_ids_14, e.case_ids_30) == ([cases["e1"].pk], [])

    def test_the_latest_of_the_case_field_follow_ups_and_attempts(self, alice, agency_a):
        opened = {"opened_at": local(D(2025, 1, 10))}
        # No contact recorded on the case: its latest follow-up done or client reached.
        done_20 = client_case(alice, last_contact_at=None, **opened)
        followup(
            done_20,
            local(D(2025, 2, 28)),
            status=Status.COMPLETED,
            completed_at=local(D(2025, 2, 28)),
        )
        reached_5 = client_case(alice, last_contact_at=None, **opened)
        attempt(followup(reached_5, local(D(2025, 3, 16))), local(D(2025, 3, 15)))
        # A follow-up done after the case's last contact, and one left open.
        done_3 = client_case(alice, last_contact_at=local(D(2025, 1, 5)), **opened)
        followup(done_3, local(D(2025, 3, 17)), status=Status.COMPLETED, completed_at=NOW)
        followup(done_3, local(D(2025, 3, 1)), status=Status.MISSED)
        # Nothing at all: counted from the opening.
        never = client_case(alice, last_contact_at=None, **opened)
        (row,) = no_contact_workers(agency_id=agency_a.pk, now=NOW)
        assert row.open_cases == 4
        assert row.case_ids_14 == sorted([done_20.pk, never.pk])
        assert row.case_ids_30 == [never.pk]

    def test_team_filter_and_other_agency(self, cases, agency_a, agency_b, team_a2, carol):
        rows = no_contact_workers(agency_id=agency_a.pk, teams=[team_a2.pk], now=NOW)
        assert [r.case_ids_14 for r in rows] == [[cases["e1"].pk]]
        theirs = no_contact_workers(agency_id=agency_b.pk, now=NOW)
        assert [(r.worker_id, r.case_ids_30) for r in theirs] == [(carol.pk, [cases["carol"].pk])]

    def test_worker_filter_keeps_their_row(self, cases, agency_a, bob, carol):
        everyone = no_contact_workers(agency_id=agency_a.pk, now=NOW)
        rows = no_contact_workers(agency_id=agency_a.pk, worker=bob.pk, now=NOW)
        assert rows == [r for r in everyone if r.worker_id == bob.pk]
        assert no_contact_workers(agency_id=agency_a.pk, worker=carol.pk, now=NOW) == []

    def test_query_count(self, cases, agency_a, bob, django_assert_num_queries):
        with django_assert_num_queries(4):
            no_contact_workers(agency_id=agency_a.pk, now=NOW)
        for _ in range(5):
            client_case(bob, last_contact_at=local(D(2025, 1, 1)))
        with django_assert_num_queries(4):
            no_contact_workers(agency_id=agency_a.pk, now=NOW)
