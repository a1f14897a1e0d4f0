"""The plans' measures (metrics/plans.py): worked out by hand on a small set, on the
compliance page with their drill-downs, and in the API. Time stands at 20 March 2025,
03:00 UTC: the evening of the 19th in Los Angeles, the agency's day."""

import datetime
import json

import pytest
import time_machine
from django.urls import reverse

from accounts.models import Role
from audit.models import Action, AuditEvent
from cases import services as case_services
from cases.cssrs import RiskLevel
from cases.models import CloseReason
from followups import services as followup_services
from followups.models import SAFETY_PLANNING_KEY, FollowUp, Status, Trigger
from metrics.api.serializers import PlanMeasuresSerializer
from metrics.plans import KEYS, plan_measures, plan_rows
from plans import services as plan_services
from plans.services import MeansStep
from tests.accounts.factories import UserFactory
from tests.followups.factories import protocol
from tests.metrics.helpers import LA, client_case, contact, followup, local
from tests.plans.factories import crisis_content, plan_content

D = datetime.date
HOUR = datetime.timedelta(hours=1)
DAY = datetime.timedelta(days=1)
NOW = datetime.datetime(2025, 3, 20, 3, 0, tzinfo=datetime.UTC)
START, END = D(2025, 3, 1), D(2025, 3, 19)
PERIOD = {"start": START.isoformat(), "end": END.isoformat()}
PAGE = reverse("metrics:compliance")


def drill(key):
    return reverse("metrics:drilldown", args=[f"plans-{key}"])


def api_url(key=None):
    return "/api/v1/metrics/plans/" + (f"{key}/" if key else "")


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def save_plan(worker, case, at, **content):
    """A version of the case's client's safety plan, saved at `at`."""
    contact = content.pop("contact", None)
    with time_machine.travel(at, tick=False):
        return plan_services.save_safety_plan(
            actor=worker, case=case, content=plan_content(**content), contact=contact
        )


def high_risk(case, at):
    return contact(case, at, risk_level=RiskLevel.HIGH)


def approve(author, approver, case, at):
    with time_machine.travel(at, tick=False):
        plan = plan_services.save_crisis_plan(actor=author, case=case, content=crisis_content())
        plan_services.submit_crisis_plan(actor=author, plan=plan)
        return plan_services.approve_crisis_plan(actor=approver, plan=plan)


def victor(team_a2):
    """team_a2's supervisor."""
    return UserFactory(
        username="victor", agency=team_a2.agency, role=Role.SUPERVISOR, supervises=[team_a2]
    )


@pytest.fixture
def world(alice, erin, carol, sam, team_a2):
    """alice's clients (team_a, sam's), each screened at high risk in the period:
    a: a safety plan 10 h after the screen (two steps, one confirmed), screened again later;
    b: a plan 50 h after; c: a plan 2 days before (three steps) and 100 h after (one step,
    confirmed); d: a plan 13 days before the screen only (one step); e: screened 30 h ago,
    no plan; f: screened 5 h ago, no plan; g: screened 50 h ago, the plan saved 30 h later
    during the screening contact (recorded late). Not counted: m (moderate risk), p
    (screened before the period), q (at 23:30 on 28 February, Los Angeles: 1 March in
    UTC), k (a plan with a step, on a closed case). erin's x (team_a2): screened in the
    period, a plan 10 h after. carol's (agency B): the same as a.

    Follow-ups due in the period on alice's r: gone over and changed, gone over, not gone
    over, no answer (one-off), open; one due before the period; a Safety Planning call on
    s completed with no answer. erin's: one gone over.

    Crisis plans: a's approved 10 days ago (review current), b's 100 days ago (overdue),
    c's sent for approval, d's a draft; x's approved 10 days ago."""
    cases = {n: client_case(alice, legal_name=f"Client {n.upper()}") for n in "abcdefgmpqkrs"}
    cases["x"] = client_case(erin, legal_name="Client X")
    cases["z"] = client_case(carol, legal_name="Client Z")
    screens = {
        "a": high_risk(cases["a"], NOW - 10 * DAY),
        "b": high_risk(cases["b"], NOW - 10 * DAY + HOUR),
        "c": high_risk(cases["c"], NOW - 10 * DAY + 2 * HOUR),
        "d": high_risk(cases["d"], NOW - 8 * DAY),
        "e": high_risk(cases["e"], NOW - 30 * HOUR),
        "f": high_risk(cases["f"], NOW - 5 * HOUR),
        "g": high_risk(cases["g"], NOW - 50 * HOUR),
        "x": high_risk(cases["x"], NOW - 10 * DAY),
        "z": high_risk(cases["z"], NOW - 10 * DAY),
    }
    high_risk(cases["a"], NOW - 3 * DAY)  # a's second screen: a counts once
    contact(cases["m"], NOW - 4 * DAY, risk_level=RiskLevel.MODERATE)
    high_risk(cases["p"], local(D(2025, 2, 20)))
    high_risk(cases["q"], datetime.datetime(2025, 2, 28, 23, 30, tzinfo=LA))

    firearms = MeansStep(kind="firearms", step="Brother keeps the rifle", who="Luis")
    pills = MeansStep(kind="medications", step="Pharmacy keeps the refill", who="Ana")
    confirmed_pills = MeansStep(pills.kind, pills.step, pills.who, confirmed=True)
    save_plan(
        alice,
        cases["a"],
        screens["a"].received_at + 10 * HOUR,
        means=[MeansStep(firearms.kind, firearms.step, firearms.who, confirmed=True), pills],
    )
    save_plan(alice, cases["b"], screens["b"].received_at + 50 * HOUR, means=[])
    save_plan(alice, cases["c"], screens["c"].received_at - 2 * DAY, means=[firearms, pills, pills])
    save_plan(alice, cases["c"], screens["c"].received_at + 100 * HOUR, means=[confirmed_pills])
    save_plan(alice, cases["d"], screens["d"].received_at - 5 * DAY)
    save_plan(
        alice, cases["g"], screens["g"].received_at + 30 * HOUR, means=[], contact=screens["g"]
    )
    save_plan(erin, cases["x"], screens["x"].received_at + 10 * HOUR)
    save_plan(carol, cases["z"], screens["z"].received_at + 10 * HOUR)
    save_plan(alice, cases["k"], NOW - 20 * DAY)
    case_services.close_case(actor=alice, case=cases["k"], reason=CloseReason.STABILISED)

    done = {"status": Status.COMPLETED, "completed_at": NOW - 2 * DAY}
    r = cases["r"]
    followups = {
        "changed": followup(r, NOW - 6 * DAY, **done, plan_reviewed=True, plan_changed=True),
        "reviewed": followup(r, NOW - 5 * DAY, **done, plan_reviewed=True, plan_changed=False),
        "not_reviewed": followup(r, NOW - 4 * DAY, **done, plan_reviewed=False),
        "no_answer": followup(r, NOW - 3 * DAY, **done),
        "open": followup(r, NOW - 2 * HOUR, status=Status.DUE),
        "before": followup(r, local(D(2025, 2, 20)), **done, plan_reviewed=True),
        "erin": followup(cases["x"], NOW - 4 * DAY, **done, plan_reviewed=True),
        "carol": followup(cases["z"], NOW - 4 * DAY, **done, plan_reviewed=True),
    }
    followup_services.enrol(
        case=cases["s"],
        protocol=protocol(alice.agency, SAFETY_PLANNING_KEY),
        trigger=Trigger.MANUAL,
        anchor_at=NOW - 5 * DAY,
        reason="Safety plan made at the ER",
    )
    spi = FollowUp.objects.filter(case=cases["s"]).order_by("due_at").first()
    FollowUp.objects.filter(pk=spi.pk).update(
        status=Status.COMPLETED, completed_at=spi.due_at, next_check_at=None
    )
    followups["spi"] = spi

    crisis = {
        "a": approve(alice, sam, cases["a"], NOW - 10 * DAY),
        "b": approve(alice, sam, cases["b"], NOW - 100 * DAY),
        "x": approve(erin, victor(team_a2), cases["x"], NOW - 10 * DAY),
    }
    crisis["c"] = plan_services.save_crisis_plan(
        actor=alice, case=cases["c"], content=crisis_content()
    )
    plan_services.submit_crisis_plan(actor=alice, plan=crisis["c"])
    crisis["d"] = plan_services.save_crisis_plan(
        actor=alice, case=cases["d"], content=crisis_content()
    )
    return {"cases": cases, "screens": screens, "followups": followups, "crisis": crisis}


def scope_of(user, teams=None, worker=None) -> dict:
    """The scope the page gives `user`: a supervisor's teams, an agency admin's agency."""
    if teams is None and user.role == Role.SUPERVISOR:
        teams = list(user.supervised_teams.values_list("pk", flat=True))
    return {
        "agency_id": user.agency_id,
        "start": START,
        "end": END,
        "teams": teams,
        "worker": worker,
    }


def measures(user, **scope):
    return plan_measures(**scope_of(user, **scope))


def rows(user, key, **scope):
    kind, queryset = plan_rows(key, **scope_of(user, **scope))
    return kind, list(queryset)


def case_ids(world, names):
    return [world["cases"][n].pk for n in names]


# --- The numbers ------------------------------------------------------------------------


class TestSafetyPlanAfterAHighRiskScreen:
    def test_numerators_and_denominators_by_hand(self, world, sam):
        s = measures(sam).screens

        # a, b, c, d, e, f, g: each client's first high-risk screen of the period.
        assert s.screens == 7
        # 24 h: a (10 h) and g (during the contact) made; b (50 h), c (100 h), d (before
        # the screen only) and e (30 h ago, none) missed; f (5 h ago) pending.
        w = s.within_24h
        assert (w.made, w.missed, w.pending) == (2, 4, 1)
        assert w.rate == pytest.approx(2 / 6)
        # 72 h: b made too; e (30 h ago) and f pending.
        w = s.within_72h
        assert (w.made, w.missed, w.pending) == (3, 2, 2)
        assert w.rate == pytest.approx(3 / 5)

    def test_the_drill_downs_list_the_screens_behind_each_count(self, world, sam):
        expected = {
            "screens": "abcdgef",
            "24h-made": "ag",
            "24h-missed": "bcde",
            "24h-pending": "f",
            "72h-made": "abg",
            "72h-missed": "cd",
            "72h-pending": "ef",
        }
        for key, names in expected.items():
            kind, screens = rows(sam, key)
            assert kind == "screen"
            assert [c.pk for c in screens] == [world["screens"][n].pk for n in names], key

    def test_each_screen_carries_the_plan_that_followed_it(self, world, sam):
        _kind, screens = rows(sam, "screens")
        by_client = {c.case_id: c for c in screens}
        a = by_client[world["cases"]["a"].pk]
        assert a.plan_at == world["screens"]["a"].received_at + 10 * HOUR
        assert a.contact_plan_at is None
        g = by_client[world["cases"]["g"].pk]
        assert g.contact_plan_at == world["screens"]["g"].received_at + 30 * HOUR
        d = by_client[world["cases"]["d"].pk]
        assert d.plan_at is None  # the plan before the screen is not the plan after it

    def test_the_agency_admin_sees_every_team_and_filters_by_team(self, world, dana, team_a2):
        s = measures(dana).screens
        assert s.screens == 8  # and erin's x, made in 10 h
        assert (s.within_24h.made, s.within_72h.made) == (3, 4)
        only = measures(dana, teams=[team_a2.pk]).screens
        assert (only.screens, only.within_24h.made) == (1, 1)
        assert [c.pk for c in rows(dana, "screens", teams=[team_a2.pk])[1]] == [
            world["screens"]["x"].pk
        ]

    def test_a_worker_filter_keeps_their_cases(self, world, dana, alice, erin):
        assert measures(dana, worker=alice.pk).screens.screens == 7
        assert measures(dana, worker=erin.pk).screens.screens == 1


class TestPlanGoneOverOnFollowUps:
    def test_counts_by_hand(self, world, sam):
        r = measures(sam).reviews

        assert (r.asked, r.reviewed, r.not_reviewed, r.changed) == (3, 2, 1, 1)
        assert r.share == pytest.approx(2 / 3)
        # The Safety Planning call completed with no answer; the one-off without an answer
        # is no Safety Planning call.
        assert r.unanswered == 1

    def test_the_drill_downs_list_the_follow_ups(self, world, sam):
        f = {name: fu.pk for name, fu in world["followups"].items()}
        expected = {
            "reviews-asked": [f["changed"], f["reviewed"], f["not_reviewed"]],
            "reviews-reviewed": [f["changed"], f["reviewed"]],
            "reviews-not-reviewed": [f["not_reviewed"]],
            "reviews-changed": [f["changed"]],
            "reviews-unanswered": [f["spi"]],
        }
        for key, ids in expected.items():
            kind, followups = rows(sam, key)
            assert kind == "followup"
            assert [fu.pk for fu in followups] == ids, key

    def test_the_agency_admin_counts_erins_too(self, world, dana):
        r = measures(dana).reviews
        assert (r.asked, r.reviewed, r.unanswered) == (4, 3, 1)


class TestLethalMeansSteps:
    def test_counts_the_current_versions_of_open_cases_plans(self, world, sam):
        m = measures(sam).means

        # a (2 steps, 1 confirmed), b (none), c (1 confirmed; its older three not
        # counted), d (1), g (none); k's case is closed.
        assert (m.plans, m.plans_with_steps, m.plans_unconfirmed) == (5, 3, 2)
        assert (m.steps, m.confirmed) == (4, 2)
        assert m.share == 0.5

    def test_the_drill_downs_list_the_cases(self, world, sam):
        expected = {"means-plans": "abcdg", "means-steps": "acd", "means-unconfirmed": "ad"}
        for key, names in expected.items():
            kind, cases = rows(sam, key)
            assert kind == "case"
            assert [c.pk for c in cases] == case_ids(world, names), key
        _kind, cases = rows(sam, "means-steps")
        assert [(c.steps, c.confirmed) for c in cases] == [(2, 1), (1, 1), (1, 0)]

    def test_the_agency_admin_counts_erins_too(self, world, dana):
        m = measures(dana).means
        assert (m.plans, m.steps, m.confirmed) == (6, 5, 2)


class TestCrisisPlans:
    def test_current_overdue_and_awaiting_approval(self, world, sam):
        c = measures(sam).crisis

        assert (c.approved, c.current, c.overdue, c.awaiting_approval) == (2, 1, 1, 1)
        assert c.share == 0.5

    def test_the_drill_downs_list_the_plans(self, world, sam):
        p = world["crisis"]
        expected = {
            "crisis-approved": [p["b"].pk, p["a"].pk],  # by review date
            "crisis-current": [p["a"].pk],
            "crisis-overdue": [p["b"].pk],
            "crisis-awaiting": [p["c"].pk],
        }
        for key, ids in expected.items():
            kind, plans = rows(sam, key)
            assert kind == "crisis"
            assert [plan.pk for plan in plans] == ids, key

    def test_the_agency_admin_counts_erins_too(self, world, dana):
        c = measures(dana).crisis
        assert (c.approved, c.current, c.overdue) == (3, 2, 1)


class TestQueries:
    def test_the_measures_are_five_queries_whatever_the_rows(
        self, world, sam, django_assert_num_queries
    ):
        scope = scope_of(sam)
        with django_assert_num_queries(5):
            plan_measures(**scope)

    def test_an_unknown_key_names_nothing(self, sam):
        assert plan_rows("bogus", agency_id=sam.agency_id, start=START, end=END, teams=None) is None


# --- The page ---------------------------------------------------------------------------


class TestPage:
    def test_the_section_shows_the_figures_with_their_definitions(self, login, sam, world):
        response = login(sam).get(PAGE, PERIOD)

        assert response.status_code == 200
        assert response.context["plans"] == measures(sam)
        body = " ".join(response.content.decode().split())
        assert 'id="plans-screens"' in body
        assert "A plan saved only before the screen does not count" in body
        assert "counts in neither part of the rate" in body
        assert "Safety Planning calls completed with no answer recorded:" in body
        assert "the current version of the safety plan of each client with an open case" in body
        assert "Current: the review date is still ahead; overdue: it has passed." in body
        assert "33%" in body and "60%" in body  # 2 of 6, 3 of 5

    def test_it_reads_in_spanish(self, login, sam, world):
        sam.language = "es"
        sam.save(update_fields=["language"])
        body = " ".join(login(sam).get(PAGE, PERIOD).content.decode().split())
        assert "Planes de seguridad y de respuesta a crisis" in body
        assert "Un plan guardado solo antes de la evaluación no cuenta" in body
        listed = login(sam).get(drill("24h-missed"), PERIOD).content.decode()
        assert "Evaluaciones de riesgo alto: sin plan de seguridad en 24 horas" in listed

    def test_every_figure_links_to_its_cases(self, login, sam, world):
        body = login(sam).get(PAGE, PERIOD).content.decode()
        for key in KEYS:
            if key in ("crisis-approved",):
                continue  # the share's denominator, in words
            assert f"{drill(key)}?start=2025-03-01&amp;end=2025-03-19" in body, key

    def test_the_page_stays_within_its_queries(
        self, login, sam, alice, world, django_assert_max_num_queries
    ):
        client = login(sam)
        client.get(PAGE, PERIOD)
        with django_assert_max_num_queries(36) as first:
            client.get(PAGE, PERIOD)
        for n in range(4):
            case = client_case(alice)
            save_plan(alice, case, high_risk(case, NOW - (n + 2) * DAY).received_at + HOUR)
            followup(case, NOW - DAY, status=Status.COMPLETED, completed_at=NOW, plan_reviewed=True)
        with django_assert_max_num_queries(len(first.captured_queries)):
            client.get(PAGE, PERIOD)


class TestDrilldownPages:
    def test_lists_the_cases_behind_a_count_and_audits_them(self, login, sam, world):
        response = login(sam).get(drill("24h-missed"), PERIOD)

        assert response.status_code == 200
        listed = [case.pk for _item, case in response.context["rows"]]
        assert listed == case_ids(world, "bcde")
        body = response.content.decode()
        assert "Client B" in body and "Client X" not in body
        assert "No safety plan saved since" in body  # e
        event = AuditEvent.objects.filter(actor=sam, action=Action.LIST).latest("pk")
        assert event.object_type == "contact"
        assert event.detail["ids"] == [world["screens"][n].pk for n in "bcde"]
        assert event.detail["client_ids"] == sorted(world["cases"][n].client_id for n in "bcde")
        assert event.detail["metric"] == "plans-24h-missed"

    @pytest.mark.parametrize("key", list(KEYS))
    def test_every_figure_renders_what_the_function_lists(self, login, dana, world, key):
        response = login(dana).get(drill(key), PERIOD)

        assert response.status_code == 200
        _kind, expected = rows(dana, key)
        assert [item.pk for item, _case in response.context["rows"]] == [r.pk for r in expected]
        assert response.context["total"] == len(expected)

    def test_the_list_is_paginated(self, login, dana, alice, world):
        for n in range(51):
            case = client_case(alice)
            high_risk(case, NOW - 3 * DAY + n * datetime.timedelta(minutes=1))
        first = login(dana).get(drill("screens"), PERIOD)
        assert len(first.context["rows"]) == 50
        assert first.context["total"] == 8 + 51
        second = login(dana).get(drill("screens"), {**PERIOD, "page": 2})
        assert len(second.context["rows"]) == 9

    def test_a_supervisor_sees_only_their_teams(self, login, sam, world, team_a2):
        body = login(sam).get(drill("screens"), {**PERIOD, "team": team_a2.pk}).content.decode()
        assert "Client X" not in body and "Client Z" not in body

    def test_a_worker_is_refused(self, login, alice, world):
        response = login(alice).get(drill("screens"), PERIOD)
        assert response.status_code == 403
        assert AuditEvent.objects.filter(actor=alice, action=Action.DENIED).exists()

    def test_an_unknown_figure_is_a_404(self, login, sam):
        assert login(sam).get(drill("bogus")).status_code == 404

    def test_the_queries_do_not_grow_with_the_rows(
        self, login, sam, alice, world, django_assert_max_num_queries
    ):
        client = login(sam)
        for key in ("screens", "reviews-asked", "means-plans", "crisis-approved"):
            client.get(drill(key), PERIOD)
            with django_assert_max_num_queries(14) as first:
                client.get(drill(key), PERIOD)
            for n in range(3):
                case = client_case(alice)
                save_plan(alice, case, high_risk(case, NOW - (n + 2) * DAY).received_at + HOUR)
                followup(
                    case,
                    NOW - DAY,
                    status=Status.COMPLETED,
                    completed_at=NOW,
                    plan_changed=False,
                    plan_reviewed=False,
                )
                approve(alice, sam, case, NOW - DAY)
            with django_assert_max_num_queries(len(first.captured_queries)):
                client.get(drill(key), PERIOD)


# --- The API ----------------------------------------------------------------------------


def plain(data):
    return json.loads(json.dumps(data))


class TestApi:
    def test_the_answer_is_the_functions(self, api, sam, world):
        api.force_authenticate(sam)
        response = api.get(api_url(), PERIOD)

        assert response.status_code == 200
        body = response.json()
        assert body == plain(PlanMeasuresSerializer(measures(sam)).data)
        assert body["screens"]["screens"] == 7
        assert body["screens"]["within_72h"] == {
            "hours": 72,
            "made": 3,
            "pending": 2,
            "missed": 2,
            "rate": 0.6,
        }
        assert body["reviews"]["unanswered"] == 1
        assert (body["means"]["steps"], body["means"]["confirmed"]) == (4, 2)
        assert body["crisis"]["overdue"] == 1

    def test_the_cases_behind_a_figure_a_page_at_a_time(self, api, sam, world):
        api.force_authenticate(sam)
        response = api.get(api_url("24h-missed"), {**PERIOD, "page_size": 3})

        assert response.status_code == 200
        body = response.json()
        assert body["count"] == 4
        assert [row["case_id"] for row in body["results"]] == case_ids(world, "bcd")
        first = body["results"][0]
        assert first["kind"] == "screen"
        assert first["client"]["display_name"] == "Client B"
        assert first["worker"]["id"] == world["cases"]["b"].assigned_worker_id
        assert first["screen"]["contact_id"] == world["screens"]["b"].pk
        assert first["screen"]["plan_saved_at"] == "2025-03-12T06:00:00Z"  # 50 h after
        assert first["followup"] is None and first["crisis_plan"] is None
        rest = api.get(body["next"]).json()
        assert [row["case_id"] for row in rest["results"]] == case_ids(world, "e")

    def test_each_kind_of_row(self, api, sam, world):
        api.force_authenticate(sam)
        means = api.get(api_url("means-steps"), PERIOD).json()["results"]
        assert [
            (r["safety_plan"]["steps"], r["safety_plan"]["steps_confirmed"]) for r in means
        ] == [
            (2, 1),
            (1, 1),
            (1, 0),
        ]
        overdue = api.get(api_url("crisis-overdue"), PERIOD).json()["results"]
        assert [r["crisis_plan"]["id"] for r in overdue] == [world["crisis"]["b"].pk]
        assert overdue[0]["crisis_plan"]["status"] == "approved"
        changed = api.get(api_url("reviews-changed"), PERIOD).json()["results"]
        assert changed[0]["followup"]["plan_changed"] is True

    def test_answers_are_audited(self, api, sam, world):
        api.force_authenticate(sam)
        api.get(api_url("72h-missed"), PERIOD)

        row = AuditEvent.objects.get(actor=sam, object_type="metrics_plan_cases")
        assert row.action == Action.LIST
        assert row.detail["key"] == "72h-missed"
        assert row.detail["case_ids"] == case_ids(world, "cd")
        assert row.detail["filters"]["start"] == "2025-03-01"

    @pytest.mark.parametrize("path", [api_url(), api_url("screens")])
    def test_a_worker_is_refused(self, api, alice, path):
        api.force_authenticate(alice)
        assert api.get(path).status_code == 403
        assert AuditEvent.objects.filter(actor=alice, action=Action.DENIED).exists()

    def test_an_unknown_figure_is_a_404(self, api, sam):
        api.force_authenticate(sam)
        assert api.get(api_url("bogus")).status_code == 404

    @pytest.mark.parametrize(
        ("query", "field"),
        [({"start": "2025-03-31", "end": "2025-03-01"}, "end"), ({"team": "x"}, "team")],
    )
    @pytest.mark.parametrize("path", [api_url(), api_url("screens")])
    def test_bad_parameters_are_named(self, api, sam, path, query, field):
        api.force_authenticate(sam)
        response = api.get(path, query)
        assert response.status_code == 400
        assert field in response.json()

    def test_another_team_is_refused_to_a_supervisor(self, api, sam, team_a2):
        api.force_authenticate(sam)
        response = api.get(api_url("screens"), {"team": team_a2.pk})
        assert response.status_code == 400
        assert "team" in response.json()

    def test_the_queries_do_not_grow_with_the_rows(
        self, api, dana, alice, world, django_assert_max_num_queries
    ):
        api.force_authenticate(dana)
        for path in (api_url(), api_url("screens"), api_url("means-plans")):
            with django_assert_max_num_queries(12) as first:
                api.get(path, PERIOD)
            for n in range(3):
                case = client_case(alice)
                save_plan(alice, case, high_risk(case, NOW - (n + 2) * DAY).received_at + HOUR)
            with django_assert_max_num_queries(len(first.captured_queries)):
                assert api.get(path, PERIOD).status_code == 200

    def test_the_schema_documents_both_operations(self, api, sam):
        api.force_authenticate(sam)
        schema = api.get("/api/schema/", {"format": "json"}).json()
        summary = schema["paths"][api_url()]["get"]
        assert "a plan saved before the screen does not count" in summary["description"]
        cases = schema["paths"]["/api/v1/metrics/plans/{key}/"]["get"]
        assert {"400", "403", "404"} <= set(cases["responses"])
        key = next(p for p in cases["parameters"] if p["name"] == "key")
        assert set(key["schema"]["enum"]) == set(KEYS)
