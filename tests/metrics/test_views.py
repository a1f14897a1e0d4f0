"""The compliance page and its drill-downs: who may see them, what they show, the audit
trail and the number of queries. Time stands at 20 March 2025, noon, Los Angeles."""

import datetime

import pytest
import time_machine
from django.urls import reverse

from accounts.models import Role
from audit.models import Action, AuditEvent
from followups.models import Status
from tests.accounts.factories import TeamFactory, UserFactory
from tests.metrics.helpers import client_case, contact, followup, local, visit

D = datetime.date
NOW = local(D(2025, 3, 20), 12)
PERIOD = {"start": "2025-03-01", "end": "2025-03-31"}
PAGE = reverse("metrics:compliance")


def drill(what):
    return reverse("metrics:drilldown", args=[what])


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def data(alice, erin, carol):
    a = client_case(alice, legal_name="Alma Alpha", risk_level="high")
    e = client_case(erin, legal_name="Erno Echo")
    c = client_case(carol, legal_name="Cato Charlie")
    rows = {
        "a_case": a,
        "e_case": e,
        "c_case": c,
        "a_due": followup(a, local(D(2025, 3, 10)), status=Status.MISSED),
        "e_due": followup(e, local(D(2025, 3, 11)), status=Status.MISSED),
        "c_due": followup(c, local(D(2025, 3, 12)), status=Status.MISSED),
    }
    for case in (a, e, c):
        visit(case, local(D(2025, 3, 18)))
        contact(case, local(D(2025, 3, 5)))
    return rows


def supervisor_b(team_b):
    return UserFactory(
        username="victor", agency=team_b.agency, role=Role.SUPERVISOR, supervises=[team_b]
    )


class TestPermissions:
    @pytest.mark.parametrize("url", [PAGE, drill("followups-due")])
    def test_a_worker_is_refused_and_audited(self, url, login, alice):
        response = login(alice).get(url)
        assert response.status_code == 403
        assert AuditEvent.objects.filter(actor=alice, action=Action.DENIED).exists()

    def test_a_worker_of_another_agency_is_refused(self, login, carol):
        assert login(carol).get(PAGE).status_code == 403

    def test_the_system_admin_sees_no_client_numbers(self, login, root):
        assert login(root).get(PAGE).status_code == 403

    def test_anonymous_is_sent_to_sign_in(self, client):
        assert client.get(PAGE).status_code == 302

    def test_a_supervisor_sees_only_their_teams(self, login, sam, data):
        response = login(sam).get(PAGE, PERIOD)
        assert response.status_code == 200
        report = response.context["report"]
        assert report.totals.due_ids == [data["a_due"].pk]
        body = response.content.decode()
        assert "Alma Alpha" in body  # drop-off list
        assert "Erno Echo" not in body
        assert "Cato Charlie" not in body

    def test_a_supervisor_cannot_ask_for_another_team(self, login, sam, data, team_a2):
        response = login(sam).get(PAGE, {**PERIOD, "team": team_a2.pk})
        assert response.status_code == 200
        assert "team" in response.context["form"].errors
        assert data["e_due"].pk not in response.context["report"].totals.due_ids
        listed = login(sam).get(drill("followups-due"), {**PERIOD, "team": team_a2.pk})
        assert "Erno Echo" not in listed.content.decode()

    def test_the_agency_admin_sees_the_agency_and_filters_by_team(self, login, dana, data, team_a2):
        response = login(dana).get(PAGE, PERIOD)
        assert response.context["report"].totals.due_ids == sorted(
            [data["a_due"].pk, data["e_due"].pk]
        )
        only = login(dana).get(PAGE, {**PERIOD, "team": team_a2.pk})
        assert only.context["report"].totals.due_ids == [data["e_due"].pk]
        assert "Cato Charlie" not in response.content.decode()

    def test_another_agencys_supervisor_sees_nothing_of_agency_a(self, login, team_b, data):
        response = login(supervisor_b(team_b)).get(PAGE, PERIOD)
        assert response.context["report"].totals.due_ids == [data["c_due"].pk]
        assert response.context["programme"].contacts == 1
        body = response.content.decode()
        assert "Alma Alpha" not in body and "Erno Echo" not in body
        listed = login(supervisor_b(team_b)).get(drill("contacts-all"), PERIOD)
        assert "Alma Alpha" not in listed.content.decode()
        assert "Cato Charlie" in listed.content.decode()


class TestPage:
    def test_defaults_to_the_last_30_days(self, login, sam):
        response = login(sam).get(PAGE)
        scope = response.context["scope"]
        assert (scope.start, scope.end) == (D(2025, 2, 19), D(2025, 3, 20))

    def test_presets(self, login, sam):
        scope = login(sam).get(PAGE, {"days": "7"}).context["scope"]
        assert (scope.start, scope.end) == (D(2025, 3, 14), D(2025, 3, 20))

    @pytest.mark.parametrize(
        "params,field",
        [
            ({"start": "2025-03-31", "end": "2025-03-01"}, "end"),
            ({"start": "not a date", "end": "2025-03-01"}, "start"),
            ({"start": "2020-01-01", "end": "2025-03-01"}, "start"),
            ({"days": "5"}, "days"),
            ({"worker": "x"}, "worker"),
        ],
    )
    def test_bad_filters_are_form_errors(self, login, sam, params, field):
        response = login(sam).get(PAGE, params)
        assert response.status_code == 200
        assert field in response.context["form"].errors

    def test_numbers_link_to_their_cases(self, login, sam, data):
        body = login(sam).get(PAGE, PERIOD).content.decode()
        assert drill("followups-due") + "?start=2025-03-01&amp;end=2025-03-31" in body
        assert drill("fum-7-pending") in body
        assert "<svg" in body and "<script" not in body.split("<svg")[1].split("</svg>")[0]

    def test_every_count_of_every_row_links_to_its_drilldown(self, login, sam, alice, data):
        long_ago = local(D(2025, 1, 10))
        client_case(alice, opened_at=long_ago, last_contact_at=long_ago)  # no contact 30+ days
        body = login(sam).get(PAGE, PERIOD).content.decode()
        counts = ["due", "done_within_window", "completed_late", "overdue", "missed"]
        counts += ["not_yet_due", "cancelled", "steps_done_within_window", "steps_due"]
        for name in counts:
            # The team's row (its own query string), in the table and in the card.
            assert body.count(f"{drill(f'followups-{name}')}?start=2025-03-01") >= 2, name
        assert f"{drill('no-contact-14')}?" in body and f"{drill('no-contact-30')}?" in body

    def test_the_page_is_audited(self, login, sam, data):
        login(sam).get(PAGE, PERIOD)
        event = AuditEvent.objects.filter(actor=sam, action=Action.LIST).latest("pk")
        assert event.detail["ids"] == [data["a_case"].pk]
        assert event.detail["client_ids"] == [data["a_case"].client_id]

    def test_it_states_how_each_measure_is_counted(self, login, sam, data):
        contact(data["a_case"], local(D(2025, 3, 6)), disposition="declined")
        response = login(sam).get(PAGE, PERIOD)
        body = " ".join(response.content.decode().split())
        # FUM/FUA: the 31-day rule inside the period, and what a follow-up is.
        assert (
            "Only visits inside the period are looked at, as HEDIS does inside its "
            "measurement year: a visit just before the period does not remove one inside it."
        ) in body
        assert (
            "A letter or a text message sent (Caring Contacts) is not a follow-up visit "
            "and does not raise the rates."
        ) in body
        # ER diversions: the definition, and how a declined contact is counted.
        assert (
            "ER diversions</span>: Contacts not ending in an ED transport or admission, "
            "over all contacts. A contact the client declined (1 in the period), or where "
            "they were not found, did not end in an ED transport or admission: it counts in "
            "both, the diversions and all contacts."
        ) in body
        # alice's two March contacts (resolved on scene, declined): both diverted.
        programme = response.context["programme"]
        assert (programme.contacts, programme.er_diversions.count) == (2, 2)

    def test_query_count_does_not_grow_with_rows(
        self, login, sam, alice, data, django_assert_max_num_queries
    ):
        client = login(sam)
        client.get(PAGE, PERIOD)  # warm the session
        with django_assert_max_num_queries(36) as first:
            client.get(PAGE, PERIOD)
        for day in range(1, 19):
            case = client_case(alice)
            followup(case, local(D(2025, 3, day)), status=Status.MISSED)
            visit(case, local(D(2025, 3, day)))
            contact(case, local(D(2025, 3, day)))
        with django_assert_max_num_queries(len(first.captured_queries)):
            client.get(PAGE, PERIOD)


class TestPageQueries:
    """The page's queries: a fixed number (each section a few aggregate queries, none per
    team, worker or row), for the agency admin as for a supervisor."""

    BOUND = 31

    def grow(self, agency, teams=3, workers=2):
        """`teams` more teams of `workers` workers, each with cases in every section: a
        missed follow-up, an ER visit, a contact, no contact for weeks."""
        for t in range(teams):
            team = TeamFactory(agency=agency, name=f"Grown team {t}")
            for w in range(workers):
                worker = UserFactory(
                    username=f"grown{t}-{w}", team=team, agency=agency, role=Role.SOCIAL_WORKER
                )
                for day in (3, 9, 15):
                    case = client_case(worker, last_contact_at=local(D(2025, 2, day)))
                    followup(case, local(D(2025, 3, day)), status=Status.MISSED)
                    contact(case, local(D(2025, 3, day + 2)))
                    visit(case, local(D(2025, 3, day + 3)))

    @pytest.mark.parametrize("persona", ["dana", "sam"])
    def test_they_do_not_grow_with_teams_workers_or_rows(
        self, request, login, persona, data, alice, agency_a, team_a, django_assert_max_num_queries
    ):
        user = request.getfixturevalue(persona)
        client_case(alice, last_contact_at=local(D(2025, 2, 1)))  # a row in every section
        client = login(user)
        client.get(PAGE, PERIOD)  # the session's first request saves it
        with django_assert_max_num_queries(self.BOUND) as first:
            client.get(PAGE, PERIOD)
        self.grow(agency_a)
        if persona == "sam":
            user.supervised_teams.add(*agency_a.teams.exclude(pk=team_a.pk))
        with django_assert_max_num_queries(len(first.captured_queries)):
            response = client.get(PAGE, PERIOD)
        assert len(response.context["team_rows"]) == 5  # team_a, team_a2 and the 3 grown
        assert len(response.context["no_contact"]) >= 6
        assert response.context["drop_total"] >= 6


class TestDrilldown:
    def test_lists_the_cases_behind_a_count_and_audits_them(self, login, sam, data):
        response = login(sam).get(drill("followups-missed"), PERIOD)
        assert response.status_code == 200
        assert [f.pk for f in response.context["items"]] == [data["a_due"].pk]
        assert "Alma Alpha" in response.content.decode()
        event = AuditEvent.objects.filter(actor=sam, action=Action.LIST).latest("pk")
        assert event.object_type == "followup"
        assert event.detail["ids"] == [data["a_due"].pk]
        assert event.detail["metric"] == "followups-missed"

    @pytest.mark.parametrize("name", ["due", "missed", "cancelled", "not_yet_due"])
    def test_a_follow_up_count_lists_what_the_page_counted(self, login, dana, alice, data, name):
        case = data["a_case"]
        followup(case, local(D(2025, 3, 14)), status=Status.CANCELLED)
        followup(case, local(D(2025, 3, 28)))
        client = login(dana)
        for filters in ({}, {"worker": alice.pk}, {"team": alice.team_id}):
            params = {**PERIOD, **filters}
            counted = client.get(PAGE, params).context["report"].totals
            listed = client.get(drill(f"followups-{name}"), params).context
            assert [f.pk for f in listed["items"]] == counted.ids(name)
            assert listed["total"] == getattr(counted, name) > 0

    @pytest.mark.parametrize(
        "what",
        [
            "fum-denominator",
            "fum-7-pending",
            "contacts-all",
            "contacts-source-911",
            "no-contact-14",
            "drop-off",
            "fua-30-hit",
            "contacts-disposition-resolved",
        ],
    )
    def test_every_kind_renders(self, login, dana, data, what):
        assert login(dana).get(drill(what), PERIOD).status_code == 200

    def test_the_visit_behind_the_pending_rate(self, login, sam, data):
        response = login(sam).get(drill("fum-7-pending"), PERIOD)
        assert [v.case_id for v in response.context["items"]] == [data["a_case"].pk]

    @pytest.mark.parametrize("what", ["nothing", "followups-bogus", "fum-8-hit"])
    def test_unknown_figures_are_404(self, login, sam, what):
        assert login(sam).get(drill(what)).status_code == 404

    def test_query_count_does_not_grow(
        self, login, sam, alice, data, django_assert_max_num_queries
    ):
        client = login(sam)
        client.get(drill("followups-due"), PERIOD)
        with django_assert_max_num_queries(14) as first:
            client.get(drill("followups-due"), PERIOD)
        for day in range(1, 19):
            followup(client_case(alice), local(D(2025, 3, day)))
        with django_assert_max_num_queries(len(first.captured_queries)):
            client.get(drill("followups-due"), PERIOD)
