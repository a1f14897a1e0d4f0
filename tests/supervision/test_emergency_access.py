import datetime

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from audit.models import Action, AuditEvent
from cases import services
from cases.models import EmergencyAccess
from tests.cases.factories import CaseFactory, ClientFactory

URL = reverse("supervision:emergency_access")
REASON = "Client called the crisis line, worker on shift unreachable"


# What the Mark reviewed button sends besides the note.
BUTTON = {"confirm": "True"}


def review_url(grant):
    return reverse("supervision:emergency_access_review", args=[grant.pk])


@pytest.fixture
def grants(alice, erin, frank, alice_case, erin_case):
    """erin opened a case of sam's team; alice (sam's team) opened erin's case; frank
    opened erin's case (neither the worker nor the case is sam's)."""
    return {
        "erin_on_team_a": services.grant_emergency_access(
            actor=erin, case=alice_case, reason=REASON
        ),
        "alice_on_team_a2": services.grant_emergency_access(
            actor=alice, case=erin_case, reason=REASON
        ),
        "frank_on_team_a2": services.grant_emergency_access(
            actor=frank, case=erin_case, reason=REASON
        ),
    }


@pytest.mark.django_db
class TestEmergencyAccessList:
    def test_supervisor_sees_grants_by_their_members_and_on_their_cases(self, login, sam, grants):
        response = login(sam).get(URL)
        assert response.status_code == 200
        shown = {g.pk for g in response.context["grants"]}
        assert shown == {grants["erin_on_team_a"].pk, grants["alice_on_team_a2"].pk}
        content = response.content.decode()
        assert "Alice Client" in content
        assert REASON in content
        assert "Active" in content
        assert "Not reviewed" in content

    def test_unreviewed_grants_come_first(self, sam, login, grants):
        older = grants["erin_on_team_a"]
        services.review_emergency_access(actor=sam, grant=grants["alice_on_team_a2"])
        response = login(sam).get(URL)
        assert [g.pk for g in response.context["grants"]] == [
            older.pk,
            grants["alice_on_team_a2"].pk,
        ]

    def test_an_expired_grant_is_shown_as_expired(self, login, sam, grants, time_machine):
        latest = max(g.expires_at for g in grants.values())
        time_machine.move_to(latest + datetime.timedelta(seconds=1), tick=False)
        content = login(sam).get(URL).content.decode()
        assert "Expired" in content
        assert ">Active<" not in content

    def test_only_cases_of_supervised_teams_are_linked(self, login, sam, grants, erin_case):
        content = login(sam).get(URL).content.decode()
        assert reverse("casework:case_detail", args=[grants["erin_on_team_a"].case_id]) in content
        assert reverse("casework:case_detail", args=[erin_case.pk]) not in content

    def test_the_list_is_audited(self, login, sam, grants):
        login(sam).get(URL)
        event = AuditEvent.objects.get(actor=sam, action=Action.LIST)
        assert event.object_type == "emergencyaccess"
        assert sorted(event.detail["ids"]) == sorted(
            [grants["erin_on_team_a"].pk, grants["alice_on_team_a2"].pk]
        )

    @pytest.mark.parametrize("persona", ["alice", "dana", "carol"])
    def test_other_roles_are_refused(self, login, request, persona):
        assert login(request.getfixturevalue(persona)).get(URL).status_code == 403

    def test_query_count_does_not_grow_with_grants(
        self, login, sam, erin, team_a, alice, django_assert_max_num_queries
    ):
        signed_in = login(sam)
        for _ in range(10):
            case = CaseFactory(client=ClientFactory(agency=team_a.agency), assigned_worker=alice)
            grant = services.grant_emergency_access(actor=erin, case=case, reason=REASON)
        services.review_emergency_access(actor=sam, grant=grant, note="Checked with erin")
        with django_assert_max_num_queries(11):  # +1: the inbox count in the nav
            response = signed_in.get(URL)
        assert len(response.context["grants"]) == 10


@pytest.mark.django_db
class TestEmergencyAccessReview:
    def test_marking_reviewed_records_who_when_and_the_note(self, login, sam, grants):
        grant = grants["erin_on_team_a"]
        response = login(sam).post(
            review_url(grant), {"note": "Confirmed with the on-call", **BUTTON}
        )
        assert response.status_code == 302
        assert response.url == URL
        grant.refresh_from_db()
        assert grant.reviewed_by == sam
        assert grant.reviewed_at is not None
        assert grant.review_note == "Confirmed with the on-call"
        assert AuditEvent.objects.filter(
            actor=sam, action=Action.UPDATE, object_type="emergencyaccess", object_id=str(grant.pk)
        ).exists()
        messages = [str(m) for m in get_messages(response.wsgi_request)]
        assert messages == [f"Emergency access by {grant.user} marked reviewed."]

    def test_the_note_is_optional(self, login, sam, grants):
        grant = grants["alice_on_team_a2"]
        login(sam).post(review_url(grant), BUTTON)
        grant.refresh_from_db()
        assert grant.reviewed_by == sam
        assert grant.review_note == ""

    def test_htmx_gets_the_updated_card(self, login, sam, grants):
        grant = grants["erin_on_team_a"]
        response = login(sam).post(
            review_url(grant), {"note": "ok", **BUTTON}, HTTP_HX_REQUEST="true"
        )
        assert response.status_code == 200
        content = response.content.decode()
        assert f'id="grant-{grant.pk}"' in content
        assert "Reviewed" in content
        assert "<html" not in content

    def test_reviewing_twice_is_a_message_not_an_error(self, login, sam, grants):
        grant = grants["erin_on_team_a"]
        services.review_emergency_access(actor=sam, grant=grant, note="first")
        response = login(sam).post(review_url(grant), {"note": "second", **BUTTON})
        assert response.status_code == 302
        messages = [str(m) for m in get_messages(response.wsgi_request)]
        assert messages == ["This access was already reviewed."]
        grant.refresh_from_db()
        assert grant.review_note == "first"

    def test_a_note_too_long_is_refused(self, login, sam, grants):
        grant = grants["erin_on_team_a"]
        response = login(sam).post(review_url(grant), {"note": "x" * 501}, HTTP_HX_REQUEST="true")
        assert response.status_code == 200
        assert "at most 500 characters" in response.content.decode()
        grant.refresh_from_db()
        assert grant.reviewed_at is None

    def test_a_grant_outside_the_supervisors_teams_answers_404(self, login, sam, grants):
        grant = grants["frank_on_team_a2"]
        assert login(sam).post(review_url(grant), {}).status_code == 404
        grant.refresh_from_db()
        assert grant.reviewed_at is None

    def test_a_worker_cannot_review(self, login, alice, grants):
        grant = grants["erin_on_team_a"]
        assert login(alice).post(review_url(grant), {}).status_code == 403
        assert EmergencyAccess.objects.get(pk=grant.pk).reviewed_at is None

    def test_get_is_not_allowed(self, login, sam, grants):
        assert login(sam).get(review_url(grants["erin_on_team_a"])).status_code == 405
