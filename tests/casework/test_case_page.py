"""The case page's Follow-ups, Protocols and Hospital visits, their actions, and the
caseload's "Next due" column."""

import datetime
import re
import zoneinfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from audit.models import Action, AuditEvent
from casework.views.caseload import next_due_for
from followups import services
from followups.models import (
    Enrolment,
    EnrolmentStatus,
    FollowUp,
    HospitalVisit,
    Status,
    Trigger,
    VisitKind,
)
from tests.followups.factories import due_followup, ed_visit, followups_of, make_case

LOS_ANGELES = zoneinfo.ZoneInfo("America/Los_Angeles")
NOON = datetime.datetime(2026, 6, 10, 19, 0, tzinfo=datetime.UTC)


@pytest.fixture(autouse=True)
def at_noon(time_machine):
    time_machine.move_to(NOON)


def local(moment):
    return timezone.localtime(moment, LOS_ANGELES).strftime("%Y-%m-%dT%H:%M")


def case_url(case):
    return reverse("casework:case_detail", args=[case.pk])


def ids(html, attribute):
    return [int(pk) for pk in re.findall(rf'data-{attribute}="(\d+)"', html)]


def section(html, element_id):
    start = html.index(f'id="{element_id}"')
    return html[start : html.index("</section>", start)]


class TestCasePageSections:
    def test_open_followups_come_first_then_recently_closed(self, login, alice):
        case = make_case(alice)
        later = due_followup(case, due_in=datetime.timedelta(days=2), reason="Second check")
        sooner = due_followup(case, due_in=datetime.timedelta(hours=2), reason="First check")
        done = due_followup(case, due_in=datetime.timedelta(hours=1))
        services.complete_followup(actor=alice, followup=done)
        html = section(login(alice).get(case_url(case)).content.decode(), "case-followups")
        assert ids(html, "followup") == [sooner.pk, later.pk, done.pk]
        assert "Why: First check" in html
        assert "Recently closed (1)" in html
        assert "Completed" in html

    def test_the_case_page_read_is_audited_with_what_it_showed(self, login, alice):
        case = make_case(alice)
        fu = due_followup(case)
        visit = ed_visit(case)
        login(alice).get(case_url(case))
        event = AuditEvent.objects.filter(
            action=Action.VIEW, object_type="case", object_id=str(case.pk)
        ).last()
        assert fu.pk in event.detail["followup_ids"]
        assert event.detail["visit_ids"] == [visit.pk]
        assert event.detail["enrolment_ids"] == [
            e.pk for e in Enrolment.objects.filter(case=case).order_by("-created_at", "-pk")
        ]

    def test_queries_do_not_grow_with_followups_visits_and_enrolments(
        self, login, alice, django_assert_max_num_queries
    ):
        client = login(alice)
        case = make_case(alice)
        due_followup(case)
        # 21 before the plans (issue 15): the safety plan, its lethal-means steps and the
        # crisis plans are 3 more.
        with django_assert_max_num_queries(24):
            assert client.get(case_url(case)).status_code == 200
        for _ in range(3):
            services.log_attempt(actor=alice, followup=due_followup(case), outcome="no_answer")
        ed_visit(case, arrived_at=NOON - datetime.timedelta(days=3))
        ed_visit(case, arrived_at=NOON - datetime.timedelta(hours=5))
        assert FollowUp.objects.filter(case=case).count() > 8
        with django_assert_max_num_queries(24):
            assert client.get(case_url(case)).status_code == 200

    def test_readers_get_no_forms(self, login, dana, alice):
        case = make_case(alice)
        ed_visit(case)
        html = login(dana).get(case_url(case)).content.decode()
        assert reverse("casework:followup_add", args=[case.pk]) not in html
        assert reverse("casework:visit_add", args=[case.pk]) not in html
        assert "End this protocol" not in html
        assert "Record discharge" not in html


class TestOneOffFollowUp:
    def test_a_worker_adds_one(self, login, alice):
        case = make_case(alice)
        due = NOON + datetime.timedelta(days=1)
        response = login(alice).post(
            reverse("casework:followup_add", args=[case.pk]),
            {
                "due_at": local(due),
                "method": "visit",
                "reason": "Bring the housing forms",
                "title": "",
            },
        )
        assert response.status_code == 302
        fu = FollowUp.objects.get(case=case)
        assert (fu.due_at, fu.method, fu.reason, fu.assigned_to) == (
            due,
            "visit",
            "Bring the housing forms",
            alice,
        )
        assert fu.title == "One-off follow-up"

    @pytest.mark.parametrize(
        "data, message",
        [
            ({"due_at": "", "reason": "Check in"}, "This field is required."),
            ({"due_at": "2026-06-11T10:00", "reason": ""}, "Give a reason."),
            ({"due_at": "2026-05-01T10:00", "reason": "Check in"}, "cannot be due in the past"),
            ({"due_at": "2026-13-45T99:99", "reason": "x"}, "Enter a valid date/time."),
            ({"due_at": "2026-06-11T10:00", "reason": "x", "method": "owl"}, "valid choice"),
        ],
    )
    def test_bad_input_is_shown_on_the_case_page(self, login, alice, data, message):
        case = make_case(alice)
        response = login(alice).post(
            reverse("casework:followup_add", args=[case.pk]), {"method": "phone", **data}
        )
        assert response.status_code == 200
        html = response.content.decode()
        assert message in html
        assert '<details class="card-body border-top" open>' in html
        assert not FollowUp.objects.filter(case=case).exists()

    def test_another_agencys_case_is_404_and_a_readers_403(self, login, alice, carol, dana):
        carols = make_case(carol)
        data = {"due_at": "2026-06-11T10:00", "method": "phone", "reason": "x"}
        assert login(alice).post(
            reverse("casework:followup_add", args=[carols.pk]), data
        ).status_code == (404)
        assert AuditEvent.objects.filter(
            action=Action.DENIED, object_type="case", object_id=str(carols.pk)
        ).exists()
        alices = make_case(alice)
        assert login(dana).post(
            reverse("casework:followup_add", args=[alices.pk]), data
        ).status_code == (403)
        assert not FollowUp.objects.exists()


class TestHospitalVisits:
    def test_recording_an_er_visit_enrols_the_client_and_the_followups_appear(self, login, alice):
        case = make_case(alice)
        client = login(alice)
        arrived = NOON - datetime.timedelta(hours=6)
        response = client.post(
            reverse("casework:visit_add", args=[case.pk]),
            {
                "kind": "ed",
                "reason": "mental_health",
                "arrived_at": local(arrived),
                "discharged_at": "",
                "facility": "Sacred Heart",
            },
        )
        assert response.status_code == 302
        visit = HospitalVisit.objects.get(case=case)
        assert (visit.kind, visit.arrived_at, visit.discharged_at, visit.facility) == (
            VisitKind.ED,
            arrived,
            None,
            "Sacred Heart",
        )
        enrolment = Enrolment.objects.get(case=case, source_visit=visit)
        assert enrolment.trigger == Trigger.ED_VISIT
        followups = followups_of(case)
        assert len(followups) == 4
        html = client.get(case_url(case)).content.decode()
        assert ids(section(html, "case-followups"), "followup") == [fu.pk for fu in followups]
        protocols = section(html, "case-enrolments")
        assert enrolment.version.protocol.name in protocols
        assert "Why: ER visit on" in protocols
        assert "Record discharge" in section(html, "case-visits")

    def test_bad_visit_input_is_a_form_error(self, login, alice):
        case = make_case(alice)
        client = login(alice)
        url = reverse("casework:visit_add", args=[case.pk])
        future = local(NOON + datetime.timedelta(days=2))
        response = client.post(url, {"kind": "ed", "reason": "overdose", "arrived_at": future})
        assert response.status_code == 200
        assert "The arrival cannot be in the future." in response.content.decode()
        response = client.post(
            url,
            {
                "kind": "ed",
                "reason": "overdose",
                "arrived_at": local(NOON - datetime.timedelta(hours=2)),
                "discharged_at": local(NOON - datetime.timedelta(hours=3)),
            },
        )
        assert "The discharge cannot be before the arrival." in response.content.decode()
        response = client.post(url, {"kind": "spaceship", "reason": "", "arrived_at": "x"})
        assert response.status_code == 200
        assert not HospitalVisit.objects.exists()

    def test_recording_the_discharge_counts_the_followups_from_it(self, login, alice):
        case = make_case(alice)
        visit = ed_visit(case, arrived_at=NOON - datetime.timedelta(days=2))
        before = {fu.pk: fu.due_at for fu in followups_of(case)}
        discharged = NOON - datetime.timedelta(hours=3)
        response = login(alice).post(
            reverse("casework:visit_discharge", args=[visit.pk]),
            {"discharged_at": local(discharged)},
        )
        assert response.status_code == 302
        visit.refresh_from_db()
        assert visit.discharged_at == discharged
        enrolment = Enrolment.objects.get(source_visit=visit)
        assert enrolment.anchor_at == discharged
        after = {fu.pk: fu.due_at for fu in followups_of(case)}
        assert after.keys() == before.keys()
        assert all(after[pk] > before[pk] for pk in before)

    def test_a_discharge_before_the_arrival_is_shown_under_its_visit(self, login, alice):
        case = make_case(alice)
        visit = ed_visit(case, arrived_at=NOON - datetime.timedelta(hours=5))
        response = login(alice).post(
            reverse("casework:visit_discharge", args=[visit.pk]),
            {"discharged_at": local(NOON - datetime.timedelta(days=1))},
        )
        assert response.status_code == 200
        visits = section(response.content.decode(), "case-visits")
        assert "The discharge cannot be before the arrival." in visits
        visit.refresh_from_db()
        assert visit.discharged_at is None

    def test_another_agencys_visit_is_404_and_audited(self, login, alice, carol):
        visit = ed_visit(make_case(carol))
        response = login(alice).post(
            reverse("casework:visit_discharge", args=[visit.pk]),
            {"discharged_at": local(NOON)},
        )
        assert response.status_code == 404
        assert AuditEvent.objects.filter(
            action=Action.DENIED, object_type="hospitalvisit", object_id=str(visit.pk)
        ).exists()


class TestEndProtocol:
    def test_ending_a_protocol_needs_a_reason_and_cancels_its_pending_followups(self, login, alice):
        case = make_case(alice)
        ed_visit(case)
        enrolment = Enrolment.objects.get(case=case)
        client = login(alice)
        url = reverse("casework:enrolment_end", args=[enrolment.pk])
        response = client.post(url, {"reason": ""})
        assert response.status_code == 200
        assert "Give a reason." in section(response.content.decode(), "case-enrolments")
        enrolment.refresh_from_db()
        assert enrolment.status == EnrolmentStatus.ACTIVE

        reason = "Client attended a mental health appointment"
        assert client.post(url, {"reason": reason}).status_code == 302
        enrolment.refresh_from_db()
        assert (enrolment.status, enrolment.end_reason) == (EnrolmentStatus.ENDED, reason)
        assert {fu.status for fu in followups_of(case)} == {Status.CANCELLED}
        assert {fu.cancel_reason for fu in followups_of(case)} == {reason}

    def test_ending_it_twice_is_a_form_error(self, login, alice):
        case = make_case(alice)
        ed_visit(case)
        enrolment = Enrolment.objects.get(case=case)
        services.end_enrolment(actor=alice, enrolment=enrolment, reason="Declined further calls")
        response = login(alice).post(
            reverse("casework:enrolment_end", args=[enrolment.pk]), {"reason": "Again"}
        )
        assert response.status_code == 200

    def test_another_teams_enrolment_is_404(self, login, alice, erin):
        case = make_case(erin)
        ed_visit(case)
        enrolment = Enrolment.objects.get(case=case)
        response = login(alice).post(
            reverse("casework:enrolment_end", args=[enrolment.pk]), {"reason": "x"}
        )
        assert response.status_code == 404
        enrolment.refresh_from_db()
        assert enrolment.status == EnrolmentStatus.ACTIVE


class TestCaseloadNextDue:
    def test_it_shows_the_earliest_open_followup(self, login, alice):
        case = make_case(alice)
        done = due_followup(case, due_in=datetime.timedelta(hours=1))
        services.complete_followup(actor=alice, followup=done)
        due_followup(case, due_in=datetime.timedelta(days=3))
        due_followup(case, due_in=datetime.timedelta(hours=5))
        make_case(alice, legal_name="Nothing Due")
        page = login(alice).get(reverse("casework:caseload")).content.decode()
        row = page[page.index(f'data-case="{case.pk}"') :]
        row = row[: row.index("</a>")]
        # Due 5 hours after noon in Los Angeles.
        assert "Next due </span><span>Wed 10 Jun 2026, 17:00</span>" in row
        assert "Next due </span>—" in page

    def test_next_due_takes_one_query_for_the_whole_page(self, alice):
        cases = [make_case(alice) for _ in range(4)]
        soonest = {}
        for case in cases[:3]:
            soonest[case.pk] = due_followup(case, due_in=datetime.timedelta(hours=2)).due_at
            due_followup(case, due_in=datetime.timedelta(hours=9))
        with CaptureQueriesContext(connection) as queries:
            due = next_due_for(cases)
        assert len(queries) == 1
        assert due == soonest
