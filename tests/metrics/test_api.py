"""The metrics API: who may ask (supervisors for their teams, agency admins for the
agency, nobody else), that the answers are the numbers of the metrics functions for a
small dataset, that another agency's rows never appear, 400s naming bad parameters,
audit rows and query counts."""

import datetime
import json

import pytest
from django.utils import timezone

from audit.models import Action, AuditEvent
from followups.models import FollowUp, Status, VisitReason
from metrics.api.serializers import (
    ComplianceCountsSerializer,
    HedisRatesSerializer,
    ProgrammeFiguresSerializer,
    TrendWeekSerializer,
)
from metrics.attention import drop_off, no_contact_workers
from metrics.compliance import compliance
from metrics.hedis import hedis_rates
from metrics.programme import programme_figures, weekly_trend
from tests.metrics.helpers import LA, client_case, contact, followup, visit

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)
ENDPOINTS = [
    "compliance",
    "fum",
    "fua",
    "drop-off",
    "no-contact",
    "programme",
    "trend",
    "plans",
    "plans/72h-made",
]


def url(name):
    return f"/api/v1/metrics/{name}/"


def plain(data):
    """Serializer output as the API's JSON reads back."""
    return json.loads(json.dumps(data))


@pytest.fixture
def as_user(api):
    def sign_in(user):
        api.force_authenticate(user)
        return api

    return sign_in


@pytest.fixture
def dataset(alice, bob, erin, carol, sam, dana):
    """For each of alice and bob (team_a, sam's), erin (team_a2) and carol (Agency B), in
    the last 30 days: a case with a follow-up done within its window, one missed, one
    ahead of the period; an ER visit for a mental-health crisis followed up the next
    day, and one for substance use 20 days ago followed up 12 days later; a client with
    an ER visit yesterday and nothing since (dropping off); a case opened 40 days ago
    with no contact since."""
    now = timezone.now()
    rows = {}
    for user in (alice, bob, erin, carol):
        case = client_case(user, opened_at=now - 40 * DAY)
        done = followup(case, now - 3 * DAY, status=Status.COMPLETED, completed_at=now - 3 * DAY)
        late = followup(case, now - 2 * DAY, window_after=datetime.timedelta(hours=1))
        ahead = followup(case, now + 3 * DAY)
        fum_hit = visit(case, now - 9 * DAY, reason=VisitReason.MENTAL_HEALTH)
        seen = contact(case, now - 8 * DAY)
        fua = visit(case, now - 20 * DAY, reason=VisitReason.SUBSTANCE_USE)
        dropping = client_case(user)
        recent = visit(dropping, now - DAY)
        neglected = client_case(user, opened_at=now - 40 * DAY, last_contact_at=now - 31 * DAY)
        rows[user.username] = {
            "case": case,
            "followups": [done.pk, late.pk, ahead.pk],
            "visits": [fum_hit.pk, fua.pk, recent.pk],
            "contacts": [seen.pk],
            "dropping": dropping,
            "neglected": neglected,
        }
    return rows


def agency_teams(user):
    return list(user.supervised_teams.values_list("pk", flat=True))


class TestWhoMayAsk:
    @pytest.mark.parametrize("persona", ["alice", "erin", "carol", "root"])
    def test_workers_and_the_system_admin_are_refused(self, request, as_user, persona):
        user = request.getfixturevalue(persona)
        api = as_user(user)
        for name in ENDPOINTS:
            before = AuditEvent.objects.count()
            response = api.get(url(name))
            assert response.status_code == 403, (name, response.content[:200])
            assert AuditEvent.objects.filter(
                pk__gt=before, actor=user, action=Action.DENIED
            ).exists()

    @pytest.mark.parametrize("persona", ["sam", "dana"])
    def test_supervisors_and_agency_admins_may(self, request, as_user, persona):
        api = as_user(request.getfixturevalue(persona))
        for name in ENDPOINTS:
            assert api.get(url(name)).status_code == 200, name

    def test_without_a_token_it_is_a_401(self, api):
        assert api.get(url("compliance")).status_code == 401

    @pytest.mark.parametrize(
        ("persona", "team"), [("sam", "team_a2"), ("sam", "team_b"), ("dana", "team_b")]
    )
    def test_a_team_outside_ones_scope_is_refused(self, request, as_user, persona, team):
        api = as_user(request.getfixturevalue(persona))
        team = request.getfixturevalue(team)
        for name in ENDPOINTS:
            response = api.get(url(name), {"team": team.pk})
            assert response.status_code == 400, name
            assert "team" in response.json()

    @pytest.mark.parametrize(("persona", "worker"), [("sam", "erin"), ("sam", "carol")])
    def test_a_worker_outside_ones_scope_is_refused(self, request, as_user, persona, worker):
        api = as_user(request.getfixturevalue(persona))
        worker = request.getfixturevalue(worker)
        for name in ENDPOINTS:
            response = api.get(url(name), {"worker": worker.pk})
            assert response.status_code == 400, name
            assert "worker" in response.json()

    def test_the_agency_admin_may_ask_for_any_team_of_the_agency(
        self, as_user, dana, team_a2, dataset
    ):
        response = as_user(dana).get(url("compliance"), {"team": team_a2.pk})

        assert response.status_code == 200
        assert response.json()["totals"]["due_ids"] == sorted(dataset["erin"]["followups"][:2])


class TestSameNumbersAsTheFunctions:
    def test_compliance(self, as_user, sam, dataset, team_a):
        response = as_user(sam).get(url("compliance"))

        assert response.status_code == 200
        body = response.json()
        start = datetime.date.fromisoformat(body["start"])
        end = datetime.date.fromisoformat(body["end"])
        assert (end - start).days == 29
        report = compliance(agency_id=sam.agency_id, teams=[team_a.pk], start=start, end=end)
        assert body["totals"] == plain(ComplianceCountsSerializer(report.totals).data)
        # Worked out by hand: alice's and bob's done and missed follow-ups are due in the
        # period; the ones ahead are due after it; erin's are another team's.
        expected = sorted(dataset["alice"]["followups"][:2] + dataset["bob"]["followups"][:2])
        assert body["totals"]["due_ids"] == expected
        assert body["totals"]["done_within_window"] == 2
        assert body["totals"]["missed"] == 2
        assert body["totals"]["not_yet_due"] == 0
        assert [row["label"] for row in body["teams"]] == [team_a.name]
        assert {row["key"] for row in body["workers"]} == {
            dataset["alice"]["case"].assigned_worker_id,
            dataset["bob"]["case"].assigned_worker_id,
        }

    def test_compliance_for_one_worker(self, as_user, sam, alice, dataset):
        response = as_user(sam).get(url("compliance"), {"worker": alice.pk})

        assert response.json()["totals"]["due_ids"] == sorted(dataset["alice"]["followups"][:2])

    @pytest.mark.parametrize("measure", ["fum", "fua"])
    def test_hedis_rates(self, as_user, dana, dataset, measure):
        response = as_user(dana).get(url(measure))

        body = response.json()
        start = datetime.date.fromisoformat(body["start"])
        end = datetime.date.fromisoformat(body["end"])
        rates = hedis_rates(agency_id=dana.agency_id, measure=measure, start=start, end=end)
        assert body == plain(HedisRatesSerializer(rates).data)
        if measure == "fum":
            # alice's, bob's and erin's visits 9 days ago, each followed up on day 1;
            # the ones a day ago are pending.
            assert body["denominator"] == 6
            assert body["seven_day"]["numerator"] == 3
            assert body["seven_day"]["pending"] == 3
            assert body["seven_day"]["rate"] == 1.0
        else:
            # Followed up on day 12: a miss at 7 days, a hit at 30.
            assert body["denominator"] == 3
            assert (body["seven_day"]["missed"], body["seven_day"]["numerator"]) == (3, 0)
            assert body["thirty_day"]["numerator"] == 3

    def test_drop_off(self, as_user, sam, team_a, dataset):
        response = as_user(sam).get(url("drop-off"))

        rows = response.json()
        expected = drop_off(agency_id=sam.agency_id, teams=[team_a.pk])
        assert [row["case_id"] for row in rows] == [row.case_id for row in expected]
        assert {row["case_id"] for row in rows} == {
            dataset["alice"]["dropping"].pk,
            dataset["bob"]["dropping"].pk,
        }
        first = rows[0]
        assert first["client"]["display_name"]
        assert first["event_kind"] == "ed_visit"
        assert first["days_left"] in (6, 7)

    def test_no_contact(self, as_user, dana, dataset):
        response = as_user(dana).get(url("no-contact"))

        expected = no_contact_workers(agency_id=dana.agency_id)
        assert [(r["worker_id"], r["case_ids_14"]) for r in response.json()] == [
            (r.worker_id, r.case_ids_14) for r in expected
        ]
        flagged = {i for r in response.json() for i in r["case_ids_30"]}
        assert flagged == {dataset[n]["neglected"].pk for n in ("alice", "bob", "erin")}

    def test_programme(self, as_user, sam, team_a, dataset):
        response = as_user(sam).get(url("programme"))

        body = response.json()
        start = datetime.date.fromisoformat(body["start"])
        end = datetime.date.fromisoformat(body["end"])
        figures = programme_figures(
            agency_id=sam.agency_id, teams=[team_a.pk], start=start, end=end
        )
        assert body == plain(ProgrammeFiguresSerializer(figures).data)
        assert body["contacts"] == 2

    def test_programme_is_per_team_not_per_worker(self, as_user, sam, alice):
        response = as_user(sam).get(url("programme"), {"worker": alice.pk})

        assert response.status_code == 400
        assert "worker" in response.json()

    def test_trend(self, as_user, dana, dataset):
        response = as_user(dana).get(url("trend"), {"weeks": 6})

        body = response.json()
        weeks = weekly_trend(agency_id=dana.agency_id, weeks=6)
        assert body == plain(TrendWeekSerializer(weeks, many=True).data)
        assert len(body) == 6
        assert sum(week["due"] for week in body) >= 6


class TestAnotherAgencyNeverAppears:
    @pytest.mark.parametrize("persona", ["sam", "dana"])
    def test_no_id_of_agency_b_in_any_answer(self, request, as_user, dataset, persona):
        api = as_user(request.getfixturevalue(persona))
        theirs = dataset["carol"]
        foreign = {
            "case": {theirs["case"].pk, theirs["dropping"].pk, theirs["neglected"].pk},
            "visit": set(theirs["visits"]),
            "contact": set(theirs["contacts"]),
            "followup": set(theirs["followups"]),
            "client": {
                theirs["case"].client_id,
                theirs["dropping"].client_id,
                theirs["neglected"].client_id,
            },
            "worker": {theirs["case"].assigned_worker_id},
            "team": {theirs["case"].team_id},
        }
        for name in ENDPOINTS:
            body = api.get(url(name)).json()
            checked = 0
            for path, ids in _id_lists(body):
                kind = _kind_of(name, path)
                assert not foreign[kind] & set(ids), (name, path)
                checked += 1
            if name == "trend":
                # Counts only: the follow-ups of the persona's scope, due by the end of
                # the current week, and no more.
                workers = ("alice", "bob") if persona == "sam" else ("alice", "bob", "erin")
                last_day = datetime.date.fromisoformat(body[-1]["week_end"])
                mine = FollowUp.objects.filter(
                    pk__in=[pk for n in workers for pk in dataset[n]["followups"]]
                )
                due = [fu for fu in mine if fu.due_at.astimezone(LA).date() <= last_day]
                assert sum(week["due"] for week in body) == len(due)
            elif not name.startswith("plans"):
                # The plans' figures (tests/metrics/test_plan_measures.py has their
                # other-agency set): this dataset has no plan, so no id to look at.
                assert checked, name
            text = json.dumps(body)
            assert theirs["dropping"].client.legal_name not in text


def _kind_of(endpoint, path):
    """Which table the ids at `path` of an answer of `endpoint` are of."""
    if "case_ids" in path:  # before "worker" and "team": workers.counts.case_ids.due
        return "case"
    if endpoint == "compliance" and path.endswith("_ids"):
        return "followup"
    for kind in ("client", "worker", "team"):
        if kind in path:
            return kind
    if "case" in path:
        return "case"
    if "visit" in path or (endpoint == "drop-off" and path.endswith("event_id")):
        return "visit"
    if endpoint == "programme":
        return "contact"
    if endpoint in ("compliance", "trend"):
        return "followup"
    return "case"


def _id_lists(body, path=""):
    """(path, ids) for every list of ints in the answer, and every single id."""
    if isinstance(body, dict):
        for key, value in body.items():
            yield from _id_lists(value, f"{path}.{key}" if path else key)
    elif isinstance(body, list):
        if body and all(isinstance(x, int) for x in body):
            yield path, body
        else:
            for item in body:
                yield from _id_lists(item, path)
    elif isinstance(body, int) and not isinstance(body, bool) and path.endswith(("_id", "id")):
        yield path, [body]


class TestBadParameters:
    @pytest.mark.parametrize(
        ("query", "field"),
        [
            ({"start": "yesterday"}, "start"),
            ({"end": "2024-02-30"}, "end"),
            ({"start": "2026-02-01", "end": "2026-01-01"}, "end"),
            ({"start": "2020-01-01", "end": "2026-01-01"}, "start"),
            ({"start": "0001-01-01", "end": "0001-01-31"}, "start"),
            ({"end": "9999-12-31"}, "end"),
            ({"team": "abc"}, "team"),
            ({"team": str(2**64)}, "team"),
            ({"worker": "\x00"}, "worker"),
            ({"worker": "-1"}, "worker"),
        ],
    )
    @pytest.mark.parametrize("name", ["compliance", "fum", "fua", "programme"])
    def test_period_endpoints_name_the_bad_parameter(self, as_user, sam, name, query, field):
        response = as_user(sam).get(url(name), query)

        assert response.status_code == 400, response.content[:300]
        assert field in response.json()

    @pytest.mark.parametrize("weeks", ["0", "105", "many", "1.5"])
    def test_trend_weeks(self, as_user, sam, weeks):
        response = as_user(sam).get(url("trend"), {"weeks": weeks})

        assert response.status_code == 400
        assert "weeks" in response.json()


class TestAudit:
    def test_every_answer_leaves_a_row_with_its_filters(self, as_user, sam, alice, dataset):
        api = as_user(sam)
        api.get(url("compliance"), {"worker": alice.pk, "start": "2026-01-01", "end": "2026-01-31"})
        api.get(url("drop-off"))

        row = AuditEvent.objects.get(
            actor=sam, action=Action.LIST, object_type="metrics_compliance"
        )
        assert row.detail["filters"]["worker"] == alice.pk
        assert row.detail["filters"]["start"] == "2026-01-01"
        assert row.detail["filters"]["teams"] == agency_teams(sam)
        dropping = AuditEvent.objects.get(actor=sam, object_type="metrics_drop_off")
        assert dropping.detail["client_ids"] == sorted(
            {dataset["alice"]["dropping"].client_id, dataset["bob"]["dropping"].client_id}
        )


class TestQueryCounts:
    @pytest.mark.parametrize("name", ENDPOINTS)
    def test_the_query_count_does_not_grow_with_the_rows(
        self, as_user, dana, alice, name, django_assert_max_num_queries
    ):
        api = as_user(dana)
        now = timezone.now()
        for cases in (1, 6):
            while len(alice.assigned_cases.all()) < cases:
                case = client_case(alice, opened_at=now - 40 * DAY)
                followup(case, now - 2 * DAY)
                visit(case, now - 9 * DAY)
                contact(case, now - 8 * DAY)
            with django_assert_max_num_queries(12):
                response = api.get(url(name))
            assert response.status_code == 200


class TestDescriptions:
    """The OpenAPI description says how the measures are counted."""

    def operation(self, as_user, sam, path):
        schema = as_user(sam).get("/api/schema/", {"format": "json"}).json()
        return schema["paths"][path]["get"]

    def test_fum_and_fua_say_the_31_day_rule_keeps_to_the_period(self, as_user, sam):
        for name in ("fum", "fua"):
            description = self.operation(as_user, sam, url(name))["description"]
            assert "The 31-day rule looks only at the visits inside the period" in description
            assert "a visit just before the period does not remove one inside it" in description
            assert "a letter or a text message sent (Caring Contacts) is not one" in description

    def test_programme_defines_er_diversions(self, as_user, sam):
        description = self.operation(as_user, sam, url("programme"))["description"]
        assert (
            "ER diversions: contacts not ending in an ED transport or admission, over all "
            "contacts; a contact the client declined"
        ) in description

    def test_the_programme_answer_carries_the_definition(self, as_user, sam):
        body = as_user(sam).get(url("programme")).json()
        assert body["er_diversion_definition"] == (
            "Contacts not ending in an ED transport or admission, over all contacts"
        )
