"""The metrics scope (metrics/scope.py): whose numbers a user may see and the period
rules, resolved once for the compliance page and the API, so that the two agree."""

import datetime
import zoneinfo

import pytest
import time_machine
from django.urls import reverse

from audit.models import Action, AuditEvent
from metrics.scope import (
    DEFAULT_DAYS,
    MAX_PERIOD_DAYS,
    fill_period,
    in_calendar,
    period_error,
    resolve_scope,
    scope_teams,
    scope_workers,
)
from tests.metrics.helpers import client_case, local, visit

D = datetime.date
TODAY = D(2025, 3, 20)


class TestResolveScope:
    def test_a_supervisor_sees_the_teams_they_supervise(self, sam, team_a, team_a2):
        scope = resolve_scope(sam, today=TODAY)

        assert scope.teams == [team_a.pk]
        assert (scope.agency_id, scope.worker_id, scope.start) == (sam.agency_id, None, None)

    def test_an_agency_admin_sees_the_whole_agency(self, dana, team_a, team_a2):
        assert resolve_scope(dana, today=TODAY).teams is None

    def test_a_chosen_team_and_worker_narrow_it(self, dana, team_a2, erin):
        scope = resolve_scope(
            dana, today=TODAY, team=team_a2, worker=erin, start=D(2025, 3, 1), end=TODAY
        )

        assert scope.filters() == {
            "agency_id": dana.agency_id,
            "teams": [team_a2.pk],
            "worker": erin.pk,
            "zone": zoneinfo.ZoneInfo("America/Los_Angeles"),
        }
        assert scope.period() == {"start": D(2025, 3, 1), "end": TODAY}
        assert scope.audit_detail() == {
            "start": "2025-03-01",
            "end": "2025-03-20",
            "teams": [team_a2.pk],
            "worker": erin.pk,
        }

    def test_without_a_period_the_audit_names_none(self, sam, team_a):
        assert resolve_scope(sam, today=TODAY).audit_detail() == {
            "teams": [team_a.pk],
            "worker": None,
        }

    def test_the_choices_stop_at_the_users_teams(
        self, sam, dana, alice, bob, erin, carol, team_a, team_a2, team_b
    ):
        assert list(scope_teams(sam)) == [team_a]
        assert set(scope_teams(dana)) == {team_a, team_a2}
        assert set(scope_workers(sam)) == {alice, bob}
        assert set(scope_workers(dana)) == {alice, bob, erin}


class TestPeriodRules:
    def test_a_missing_day_is_filled_from_the_other(self):
        days = datetime.timedelta(days=DEFAULT_DAYS - 1)
        assert fill_period(None, None, TODAY) == (TODAY - days, TODAY)
        assert fill_period(D(2025, 1, 1), None, TODAY) == (D(2025, 1, 1), D(2025, 1, 1) + days)
        assert fill_period(None, D(2025, 1, 31), TODAY) == (D(2025, 1, 31) - days, D(2025, 1, 31))

    def test_a_period_ending_before_it_starts_or_too_long_names_the_field(self):
        assert period_error(TODAY, TODAY) is None
        assert period_error(TODAY, TODAY - datetime.timedelta(days=1)) == (
            "end",
            "The period ends before it starts.",
        )
        too_long = TODAY - datetime.timedelta(days=MAX_PERIOD_DAYS)
        assert period_error(too_long, TODAY) == (
            "start",
            f"Choose a period of at most {MAX_PERIOD_DAYS} days.",
        )

    def test_the_calendar_runs_from_1990_to_a_year_ahead(self):
        assert in_calendar(D(1990, 1, 1), TODAY)
        assert not in_calendar(D(1989, 12, 31), TODAY)
        assert in_calendar(TODAY + datetime.timedelta(days=366), TODAY)
        assert not in_calendar(TODAY + datetime.timedelta(days=367), TODAY)


class TestPageAndApiAgree:
    @pytest.fixture(autouse=True)
    def frozen(self):
        with time_machine.travel(local(TODAY, 12), tick=False):
            yield

    def test_the_same_query_resolves_to_the_same_filters(self, login, api, dana, alice):
        query = {"start": "2025-03-01", "end": "2025-03-20", "worker": alice.pk}
        login(dana).get(reverse("metrics:compliance"), query)
        api.force_authenticate(dana)
        api.get("/api/v1/metrics/compliance/", query)

        page = AuditEvent.objects.get(action=Action.LIST, object_type="case").detail
        answer = AuditEvent.objects.get(action=Action.LIST, object_type="metrics_compliance")
        filters = answer.detail["filters"]
        assert {k: page[k] for k in ("start", "end", "teams", "worker")} == {
            "start": "2025-03-01",
            "end": "2025-03-20",
            "teams": None,
            "worker": alice.pk,
        }
        assert {k: filters[k] for k in ("start", "end", "teams", "worker")} == {
            k: page[k] for k in ("start", "end", "teams", "worker")
        }

    def test_a_worker_sees_the_same_drop_off_on_the_page_and_in_the_api(
        self, login, api, sam, alice, bob
    ):
        mine, theirs = client_case(alice), client_case(bob)
        for case in (mine, theirs):
            visit(case, local(D(2025, 3, 19)))
        listed = login(sam).get(
            reverse("metrics:drilldown", args=["drop-off"]), {"worker": alice.pk}
        )
        api.force_authenticate(sam)
        answer = api.get("/api/v1/metrics/drop-off/", {"worker": alice.pk})

        assert [case.pk for case in listed.context["items"]] == [mine.pk]
        assert [row["case_id"] for row in answer.json()] == [mine.pk]
