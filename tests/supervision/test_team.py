import datetime

import pytest
import time_machine
from django.urls import reverse

from audit.models import Action, AuditEvent
from cases import services
from cases.cssrs import RiskLevel
from cases.models import CaseStatus
from tests.cases.factories import CaseFactory, ClientFactory

URL = reverse("supervision:team")


def list_events(user):
    return AuditEvent.objects.filter(actor=user, action=Action.LIST, object_type="case")


@pytest.mark.django_db
class TestTeamPage:
    def test_supervisor_sees_the_open_cases_of_their_team_only(
        self, login, sam, alice_case, bob_case, erin_case
    ):
        response = login(sam).get(URL)
        assert response.status_code == 200
        content = response.content.decode()
        assert "Alice Client" in content
        assert "Bob Client" in content
        assert "Erin Client" not in content
        assert "Mobile crisis 1" in content
        assert "Mobile crisis 2" not in content
        assert {c.pk for row in response.context["rows"] for c in row["cases"]} == {
            alice_case.pk,
            bob_case.pk,
        }

    def test_closed_cases_are_not_listed(self, login, sam, alice, alice_case):
        services.close_case(actor=alice, case=alice_case, reason="stabilised")
        response = login(sam).get(URL)
        assert "Alice Client" not in response.content.decode()

    def test_members_carry_open_and_high_risk_counts(
        self, login, sam, alice, bob, alice_case, alice_high_risk_case, bob_case
    ):
        response = login(sam).get(URL)
        (row,) = response.context["rows"]
        counts = {m.username: (m.open_case_count, m.high_risk_count) for m in row["members"]}
        assert counts == {"alice": (2, 1), "bob": (1, 0)}
        assert (row["open_count"], row["high_risk_count"]) == (3, 1)

    def test_high_risk_cases_come_first(self, login, sam, alice_case, alice_high_risk_case):
        response = login(sam).get(URL)
        (row,) = response.context["rows"]
        assert [c.pk for c in row["cases"]] == [alice_high_risk_case.pk, alice_case.pk]
        assert row["cases"][0].risk_level == RiskLevel.HIGH

    def test_days_since_last_contact_is_shown(self, login, sam, alice, team_a):
        now = datetime.datetime(2026, 3, 18, 20, 0, tzinfo=datetime.UTC)
        with time_machine.travel(now, tick=False):
            CaseFactory(
                client=ClientFactory(agency=team_a.agency),
                assigned_worker=alice,
                last_contact_at=now - datetime.timedelta(days=3),
            )
            content = login(sam).get(URL).content.decode()
        assert '<td class="text-end days-since">3</td>' in content

    def test_filter_by_worker(self, login, sam, alice, alice_case, bob_case):
        response = login(sam).get(URL, {"worker": alice.pk})
        content = response.content.decode()
        assert "Alice Client" in content
        assert "Bob Client" not in content

    def test_a_worker_outside_the_teams_is_a_form_error_not_a_crash(
        self, login, sam, erin, alice_case
    ):
        response = login(sam).get(URL, {"worker": erin.pk})
        assert response.status_code == 200
        assert response.context["form"].errors["worker"]
        assert "Alice Client" in response.content.decode()

    def test_the_list_is_audited_with_the_ids_shown(self, login, sam, alice_case, bob_case):
        login(sam).get(URL)
        event = list_events(sam).get()
        assert sorted(event.detail["ids"]) == sorted([alice_case.pk, bob_case.pk])
        assert event.detail["client_ids"] == sorted([alice_case.client_id, bob_case.client_id])

    def test_unreviewed_emergency_access_count_is_shown(
        self, login, sam, erin, alice_case, bob_case
    ):
        for case in (alice_case, bob_case):
            services.grant_emergency_access(
                actor=erin, case=case, reason="Client called the crisis line at 3am"
            )
        response = login(sam).get(URL)
        assert response.context["unreviewed_count"] == 2
        assert 'id="unreviewed-count">2<' in response.content.decode()

    @pytest.mark.parametrize("persona", ["alice", "dana", "carol", "root"])
    def test_other_roles_are_refused(self, login, request, persona):
        user = request.getfixturevalue(persona)
        response = login(user).get(URL)
        assert response.status_code == 403
        assert AuditEvent.objects.filter(actor=user, action=Action.DENIED).exists()

    def test_anonymous_is_sent_to_login(self, client):
        response = client.get(URL)
        assert response.status_code == 302
        assert response.url.startswith(reverse("login"))

    def test_query_count_does_not_grow_with_cases(
        self, login, sam, alice, bob, team_a, django_assert_max_num_queries
    ):
        signed_in = login(sam)
        for worker in (alice, bob):
            for _ in range(10):
                CaseFactory(
                    client=ClientFactory(agency=team_a.agency),
                    assigned_worker=worker,
                    risk_level=RiskLevel.HIGH,
                    status=CaseStatus.OPEN,
                )
        # +1: the inbox count in the nav; +2: the crisis plans waiting for the supervisor.
        with django_assert_max_num_queries(17):
            response = signed_in.get(URL, {"worker": alice.pk})
        assert len(response.context["rows"][0]["cases"]) == 10
