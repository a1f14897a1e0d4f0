import datetime

import pytest
from django.urls import reverse

from accounts.models import Role
from audit.models import Action, AuditEvent
from cases import services
from cases.cssrs import RiskLevel
from tests.accounts.factories import UserFactory
from tests.cases.factories import CaseFactory, ClientFactory
from tests.supervision.conftest import HIGH_RISK

URL = reverse("supervision:case_list")


def shown(response):
    return {c.pk for c in response.context["cases"]}


@pytest.fixture
def all_cases(alice_case, bob_case, erin_case, carol_case):
    return {"alice": alice_case, "bob": bob_case, "erin": erin_case, "carol": carol_case}


@pytest.mark.django_db
class TestCaseListAccess:
    def test_agency_admin_sees_the_whole_agency(self, login, dana, all_cases):
        response = login(dana).get(URL)
        assert response.status_code == 200
        assert shown(response) == {all_cases[w].pk for w in ("alice", "bob", "erin")}
        content = response.content.decode()
        assert "Erin Client" in content
        assert "Carol Client" not in content

    def test_supervisor_sees_their_visible_cases(self, login, sam, all_cases):
        response = login(sam).get(URL)
        assert shown(response) == {all_cases["alice"].pk, all_cases["bob"].pk}

    def test_another_agencys_supervisor_sees_nothing_of_agency_a(self, login, team_b, all_cases):
        supervisor_b = UserFactory(
            username="bea", agency=team_b.agency, role=Role.SUPERVISOR, supervises=[team_b]
        )
        response = login(supervisor_b).get(URL)
        assert shown(response) == {all_cases["carol"].pk}

    def test_an_agency_a_filter_value_does_not_open_agency_a_to_another_agency(
        self, login, team_b, team_a, all_cases
    ):
        admin_b = UserFactory(username="bart", agency=team_b.agency, role=Role.AGENCY_ADMIN)
        response = login(admin_b).get(URL, {"team": team_a.pk})
        assert response.status_code == 200
        assert response.context["form"].errors["team"]
        assert shown(response) == set()

    @pytest.mark.parametrize("persona", ["alice", "carol", "root"])
    def test_social_workers_and_system_admins_are_refused(self, login, request, persona):
        user = request.getfixturevalue(persona)
        assert login(user).get(URL).status_code == 403
        assert AuditEvent.objects.filter(
            actor=user, action=Action.DENIED, object_type="case_list"
        ).exists()

    def test_the_list_is_audited_with_the_ids_and_filters(self, login, dana, all_cases):
        login(dana).get(URL, {"status": "open"})
        event = AuditEvent.objects.get(actor=dana, action=Action.LIST)
        assert event.object_type == "case"
        assert sorted(event.detail["ids"]) == sorted(
            all_cases[w].pk for w in ("alice", "bob", "erin")
        )
        assert event.detail["filters"] == {"status": "open"}
        assert all_cases["alice"].client_id in event.detail["client_ids"]


@pytest.mark.django_db
class TestCaseListFilters:
    def test_by_status(self, login, dana, alice, all_cases):
        services.close_case(actor=alice, case=all_cases["alice"], reason="stabilised")
        signed_in = login(dana)
        assert shown(signed_in.get(URL, {"status": "closed"})) == {all_cases["alice"].pk}
        assert all_cases["alice"].pk not in shown(signed_in.get(URL, {"status": "open"}))

    def test_by_team(self, login, dana, team_a2, all_cases):
        assert shown(login(dana).get(URL, {"team": team_a2.pk})) == {all_cases["erin"].pk}

    def test_by_worker(self, login, dana, bob, all_cases):
        assert shown(login(dana).get(URL, {"worker": bob.pk})) == {all_cases["bob"].pk}

    def test_by_risk_level(self, login, dana, bob, record_contact_for, all_cases):
        record_contact_for(bob, client=all_cases["bob"].client, **HIGH_RISK)
        response = login(dana).get(URL, {"risk": RiskLevel.HIGH})
        assert shown(response) == {all_cases["bob"].pk}

    def test_by_opened_dates(self, login, dana, alice, team_a, all_cases):
        old = CaseFactory(
            client=ClientFactory(agency=team_a.agency),
            assigned_worker=alice,
            opened_at=datetime.datetime(2025, 1, 10, 18, 0, tzinfo=datetime.UTC),
        )
        signed_in = login(dana)
        response = signed_in.get(URL, {"opened_from": "2025-01-01", "opened_to": "2025-01-31"})
        assert shown(response) == {old.pk}
        response = signed_in.get(URL, {"opened_from": "2025-02-01"})
        assert old.pk not in shown(response)
        assert all_cases["alice"].pk in shown(response)

    def test_dates_are_the_agencys_days(self, login, dana, alice, team_a):
        # 03:00 UTC on 11 Jan is still 10 Jan in Los Angeles.
        late = CaseFactory(
            client=ClientFactory(agency=team_a.agency),
            assigned_worker=alice,
            opened_at=datetime.datetime(2025, 1, 11, 3, 0, tzinfo=datetime.UTC),
        )
        signed_in = login(dana)
        assert shown(signed_in.get(URL, {"opened_to": "2025-01-10"})) == {late.pk}
        assert shown(signed_in.get(URL, {"opened_from": "2025-01-11"})) == set()

    @pytest.mark.parametrize(
        "params, field",
        [
            ({"opened_from": "2025-13-45"}, "opened_from"),
            ({"opened_to": "yesterday"}, "opened_to"),
            ({"opened_from": "2025-02-01", "opened_to": "2025-01-01"}, "opened_to"),
            ({"status": "pending"}, "status"),
            ({"risk": "extreme"}, "risk"),
            ({"worker": "abc"}, "worker"),
        ],
    )
    def test_bad_filters_are_form_errors(self, login, dana, all_cases, params, field):
        response = login(dana).get(URL, params)
        assert response.status_code == 200
        assert response.context["form"].errors[field]
        assert shown(response) == set()

    def test_pages_of_25(self, login, dana, alice, team_a):
        for _ in range(27):
            CaseFactory(client=ClientFactory(agency=team_a.agency), assigned_worker=alice)
        signed_in = login(dana)
        assert len(signed_in.get(URL).context["cases"]) == 25
        second = signed_in.get(URL, {"page": 2})
        assert len(second.context["cases"]) == 2
        # A page number out of range shows the last page rather than failing.
        assert signed_in.get(URL, {"page": "999"}).context["page"].number == 2

    def test_filters_survive_paging(self, login, dana, alice, team_a):
        for _ in range(27):
            CaseFactory(client=ClientFactory(agency=team_a.agency), assigned_worker=alice)
        content = login(dana).get(URL, {"status": "open"}).content.decode()
        assert "?status=open&amp;page=2" in content

    @pytest.mark.parametrize("persona", ["dana", "sam"])
    def test_query_count_does_not_grow_with_rows(
        self, login, request, persona, alice, bob, team_a, django_assert_max_num_queries
    ):
        signed_in = login(request.getfixturevalue(persona))
        for worker in (alice, bob):
            for _ in range(15):
                CaseFactory(client=ClientFactory(agency=team_a.agency), assigned_worker=worker)
        with django_assert_max_num_queries(13):  # +1: the inbox count; +1: the page's ids
            response = signed_in.get(URL, {"status": "open"})
        assert len(response.context["cases"]) == 25


class TestFilterChoices:
    def test_a_supervisor_chooses_among_their_teams_and_their_workers(
        self, login, sam, alice, erin, team_a, team_a2
    ):
        form = login(sam).get(URL).context["form"]
        assert set(form.fields["team"].queryset) == {team_a}
        assert alice in form.fields["worker"].queryset
        assert erin not in form.fields["worker"].queryset

    def test_a_supervisor_of_another_team_chooses_it_too(self, login, sam, erin, team_a, team_a2):
        sam.supervised_teams.add(team_a2)
        form = login(sam).get(URL).context["form"]
        assert set(form.fields["team"].queryset) == {team_a, team_a2}
        assert erin in form.fields["worker"].queryset

    def test_the_agency_admin_chooses_among_the_whole_agency(
        self, login, dana, alice, erin, team_a, team_a2
    ):
        form = login(dana).get(URL).context["form"]
        assert set(form.fields["team"].queryset) == {team_a, team_a2}
        assert {alice, erin} <= set(form.fields["worker"].queryset)
