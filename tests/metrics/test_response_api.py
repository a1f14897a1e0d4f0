"""GET /api/v1/dispatch/measures/: the response measures of the caller's agency, the same
figures as the page (the requests and the clock of tests/metrics/test_response.py)."""

import datetime
import json

import pytest
from django.urls import reverse

from audit.models import Action, AuditEvent
from tests.metrics import test_response as shared
from tests.metrics.test_response import measures

# The requests, the dispatchers and the stopped clock of the page's tests.
clock = shared.clock
dex = shared.dex
bea = shared.bea
requests = shared.requests

URL = reverse("api-dispatch-measures")


@pytest.fixture
def as_user(api):
    def sign_in(user):
        api.force_authenticate(user)
        return api

    return sign_in


class TestWhoMayAsk:
    @pytest.mark.parametrize("persona", ["dex", "sam", "dana"])
    def test_dispatchers_supervisors_and_admins(self, request, as_user, persona):
        assert as_user(request.getfixturevalue(persona)).get(URL).status_code == 200

    @pytest.mark.parametrize("persona", ["alice", "carol", "root"])
    def test_everyone_else_is_refused_and_audited(self, request, as_user, persona):
        user = request.getfixturevalue(persona)
        assert as_user(user).get(URL).status_code == 403
        assert AuditEvent.objects.filter(actor=user, action=Action.DENIED).exists()

    def test_without_a_token_it_is_a_401(self, api):
        assert api.get(URL).status_code == 401


class TestFigures:
    def test_the_same_figures_as_the_page(self, as_user, sam, agency_a, requests):
        body = as_user(sam).get(URL).json()
        assert (body["start"], body["end"]) == ("2025-02-20", "2025-03-19")
        assert body["zone"] == "America/Los_Angeles"
        assert body["requests"] == 10
        assert body["response"] == {"median": 35.0, "p90": 90.0, "of": 6}
        emergent, urgent = body["by_priority"]
        assert emergent["response"] == {"median": 25.0, "p90": 37.0, "of": 4}
        assert urgent["within_target"]["count"] == 1 and urgent["within_target"]["share"] == 0.5
        assert body["on_scene"] == {"median": 60.0, "p90": 105.0, "of": 6}
        assert body["no_unit_wait"] == {"median": 30.0, "p90": 42.0, "of": 2}
        assert body["outcomes"]["served"]["count"] == 6
        # Wednesday (ISO 3), 20:00 in Los Angeles: e4, received at 03:00 UTC on Thursday.
        wednesday = body["heat"][2]
        assert wednesday["cells"][20] == {
            "key": "cell-3-20",
            "day": 3,
            "hour": 20,
            "count": 1,
            "median_minutes": 40.0,
        }
        assert body["crews"][0]["key"] == "crew-licensed_clinician-peer_specialist"

    def test_the_page_and_the_api_agree(self, as_user, login, dana, agency_a, requests):
        body = as_user(dana).get(URL, {"start": "2025-03-01", "end": "2025-03-31"}).json()
        page = login(dana).get(
            reverse("metrics:response"), {"start": "2025-03-01", "end": "2025-03-31"}
        )
        m = page.context["m"]
        assert body["requests"] == m.requests
        assert body["outcomes"]["not_served"]["count"] == m.outcomes.not_served.count
        assert [c["count"] for row in body["heat"] for c in row["cells"]] == [
            c.count for row in m.heat for c in row.cells
        ]

    def test_another_agency_sees_only_its_own(self, as_user, bea, requests):
        body = as_user(bea).get(URL).json()
        assert body["requests"] == 1
        assert body["zone"] == "America/Denver"
        assert "Lines for Life" not in json.dumps(body)

    def test_a_period_of_nothing(self, as_user, dex, requests):
        body = as_user(dex).get(URL, {"start": "2024-01-01", "end": "2024-01-31"}).json()
        assert body["requests"] == 0
        assert body["response"] == {"median": None, "p90": None, "of": 0}


class TestBadPeriods:
    @pytest.mark.parametrize(
        ("query", "field"),
        [
            ({"start": "2025-13-01"}, "start"),
            ({"start": "2025-03-10", "end": "2025-03-01"}, "end"),
            ({"start": "2023-01-01", "end": "2025-03-01"}, "start"),
            ({"start": "9999-12-31"}, "start"),
            ({"end": "0001-01-01"}, "end"),
        ],
    )
    def test_a_400_naming_the_field(self, as_user, dex, query, field):
        response = as_user(dex).get(URL, query)
        assert response.status_code == 400
        assert field in response.json()


class TestAudit:
    def test_each_answer_is_audited_with_its_period(self, as_user, dex, requests):
        as_user(dex).get(URL, {"start": "2025-03-01"})
        event = AuditEvent.objects.get(actor=dex, object_type="metrics_response")
        assert event.action == Action.LIST
        assert event.detail["filters"] == {
            "start": "2025-03-01",
            "end": "2025-03-28",
            "today": "2025-03-19",
        }
        assert event.detail["requests"] == 10


class TestQueries:
    def test_a_fixed_number_of_queries(self, as_user, dex, requests, django_assert_max_num_queries):
        api = as_user(dex)
        # The agency, the settings, the aggregate, the cells, the crews, (SQLite: the
        # stamps), the audit row.
        with django_assert_max_num_queries(7):
            assert api.get(URL).status_code == 200


class TestSchema:
    def test_it_is_documented(self, as_user, sam):
        schema = as_user(sam).get(reverse("api-schema"), {"format": "json"}).json()
        operation = schema["paths"]["/api/v1/dispatch/measures/"]["get"]
        assert {p["name"] for p in operation["parameters"]} >= {"start", "end"}
        assert {"200", "400", "401", "403"} <= set(operation["responses"])
        assert "ResponseMeasures" in schema["components"]["schemas"]


def test_the_measures_function_and_the_answer_agree(as_user, dex, agency_a, requests):
    body = as_user(dex).get(URL, {"start": "2025-02-20", "end": "2025-03-19"}).json()
    m = measures(agency_a, datetime.date(2025, 2, 20), datetime.date(2025, 3, 19))
    assert body["within_target"]["count"] == m.within_target.count
    assert [f["count"] for f in body["by_source"]] == [f.count for f in m.by_source]
