"""The supervisor's team page: the crisis response plans of their teams waiting for them,
versions awaiting approval and approved plans whose review is overdue or near."""

import datetime

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from audit.models import Action, AuditEvent
from plans import services
from plans.models import CrisisPlan
from supervision.views import CRISIS_PLAN_REVIEW_SOON_DAYS, crisis_plans_to_act_on
from tests.cases.factories import CaseFactory, ClientFactory
from tests.plans.factories import crisis_content, make_approved_crisis_plan

pytestmark = pytest.mark.django_db

URL = reverse("supervision:team")


def submitted_plan(worker, case, **overrides):
    plan = services.save_crisis_plan(actor=worker, case=case, content=crisis_content(**overrides))
    return services.submit_crisis_plan(actor=worker, plan=plan)


def review_due(plan, at):
    CrisisPlan.objects.filter(pk=plan.pk).update(review_due_at=at)
    plan.refresh_from_db()
    return plan


class TestCrisisPlansOnTheTeamPage:
    def test_versions_awaiting_approval_of_the_teams_are_listed(
        self, login, sam, alice, erin, alice_case, erin_case
    ):
        mine = submitted_plan(alice, alice_case)
        submitted_plan(erin, erin_case)  # another team's
        response = login(sam).get(URL)
        assert response.context["crisis_plans"]["awaiting"] == [mine]
        content = response.content.decode()
        section = content[content.index('id="crisis-plans"') :]
        assert "Alice Client" in section
        assert "Erin Client" not in section
        assert reverse("plans:crisis_plan", args=[alice_case.client_id]) in section

    def test_plans_still_being_written_are_not_listed(self, login, sam, alice, alice_case):
        services.save_crisis_plan(actor=alice, case=alice_case, content=crisis_content())
        response = login(sam).get(URL)
        assert response.context["crisis_plans"] == {"awaiting": [], "review": []}

    def test_a_plan_the_supervisor_wrote_says_another_approves_it(self, login, sam, alice_case):
        submitted_plan(sam, alice_case)
        content = login(sam).get(URL).content.decode()
        assert "another supervisor approves it" in content

    def test_reviews_overdue_and_due_within_the_window_are_listed_soonest_first(
        self, login, sam, alice, alice_case, bob, bob_case
    ):
        now = timezone.now()
        overdue = review_due(
            make_approved_crisis_plan(alice, sam, alice_case), now - datetime.timedelta(days=2)
        )
        soon = review_due(
            make_approved_crisis_plan(bob, sam, bob_case), now + datetime.timedelta(days=10)
        )
        response = login(sam).get(URL)
        assert response.context["crisis_plans"]["review"] == [overdue, soon]
        section = response.content.decode().split('id="crisis-plans-review"')[1]
        assert section.count("Review overdue") == 1

    def test_a_review_further_off_is_not_listed(self, login, sam, alice, alice_case):
        make_approved_crisis_plan(alice, sam, alice_case)  # due in 90 days
        assert login(sam).get(URL).context["crisis_plans"]["review"] == []

    def test_the_window_ends_with_the_agencys_day(self, sam, alice, alice_case, bob, bob_case):
        # 03:30 UTC on the 18th: the 17th in Los Angeles, whose 14th day on is the 31st.
        moment = datetime.datetime(2026, 3, 18, 3, 30, tzinfo=datetime.UTC)
        zone = alice_case.agency.zone
        last_day = datetime.datetime(2026, 3, 31, 23, 0, tzinfo=zone)
        day_after = datetime.datetime(2026, 4, 1, 0, 30, tzinfo=zone)
        with time_machine.travel(moment, tick=False):
            inside = review_due(make_approved_crisis_plan(alice, sam, alice_case), last_day)
            review_due(make_approved_crisis_plan(bob, sam, bob_case), day_after)
            found = crisis_plans_to_act_on(sam, [alice_case.team_id])
        assert CRISIS_PLAN_REVIEW_SOON_DAYS == 14
        assert found["review"] == [inside]

    def test_the_plans_shown_are_audited(self, login, sam, alice, alice_case):
        plan = submitted_plan(alice, alice_case)
        login(sam).get(URL)
        event = AuditEvent.objects.get(actor=sam, action=Action.LIST, object_type="crisisplan")
        assert event.detail["ids"] == [plan.pk]
        assert event.detail["client_ids"] == [alice_case.client_id]

    def test_with_nothing_to_show_nothing_is_audited(self, login, sam, alice_case):
        login(sam).get(URL)
        assert not AuditEvent.objects.filter(object_type="crisisplan").exists()

    def test_its_queries_do_not_grow_with_the_plans(
        self, login, sam, alice, team_a, django_assert_max_num_queries
    ):
        for i in range(6):
            case = CaseFactory(
                client=ClientFactory(agency=team_a.agency), assigned_worker=alice, team=team_a
            )
            if i % 2:
                submitted_plan(alice, case)
            else:
                review_due(make_approved_crisis_plan(alice, sam, case), timezone.now())
        signed_in = login(sam)
        with django_assert_max_num_queries(17):
            response = signed_in.get(URL)
        assert len(response.context["crisis_plans"]["awaiting"]) == 3
        assert len(response.context["crisis_plans"]["review"]) == 3
