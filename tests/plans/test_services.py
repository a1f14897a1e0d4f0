import pytest

from plans import services
from plans.exceptions import NotPermitted, PlanInvalid
from plans.models import CrisisPlanStatus, SafetyPlan
from tests.plans.factories import (
    crisis_content,
    make_approved_crisis_plan,
    make_safety_plan,
    plan_content,
)

pytestmark = pytest.mark.django_db


class TestSaveSafetyPlan:
    def test_each_change_is_a_new_version_keeping_the_earlier(self, alice, bob, alice_case):
        first = make_safety_plan(alice, alice_case)
        second = make_safety_plan(bob, alice_case, coping=["Walk the dog", "Call Ana"])
        plan = SafetyPlan.objects.get(client=alice_case.client)
        assert plan.current == second
        assert [v.number for v in plan.versions.all()] == [2, 1]
        first.refresh_from_db()
        assert first.coping == ["Walk the dog", "Music"]
        assert first.created_by == alice
        assert second.created_by == bob

    def test_an_unchanged_plan_is_not_a_version(self, alice, alice_case):
        make_safety_plan(alice, alice_case)
        with pytest.raises(PlanInvalid):
            make_safety_plan(alice, alice_case)

    def test_a_confirmed_step_keeps_who_confirmed_it_first(self, alice, bob, alice_case):
        make_safety_plan(alice, alice_case)
        step = plan_content().means[0]
        step.confirmed = True
        confirmed = make_safety_plan(bob, alice_case, means=[step])
        later = make_safety_plan(alice, alice_case, means=[step], reasons=["My kids", "Art"])
        first, again = confirmed.means.get(), later.means.get()
        assert first.confirmed_by == bob
        assert (again.confirmed_by, again.confirmed_at) == (bob, first.confirmed_at)

    def test_warning_signs_are_required(self, alice, alice_case):
        with pytest.raises(PlanInvalid) as refused:
            make_safety_plan(alice, alice_case, warning_signs=["  "])
        assert refused.value.field == "warning_signs"

    def test_another_agency_cannot_write_it(self, carol, alice_case):
        with pytest.raises(NotPermitted):
            make_safety_plan(carol, alice_case)


class TestCrisisPlanApproval:
    def test_the_author_cannot_approve_their_own_plan(self, sam, alice_case):
        plan = services.save_crisis_plan(actor=sam, case=alice_case, content=crisis_content())
        services.submit_crisis_plan(actor=sam, plan=plan)
        with pytest.raises(NotPermitted):
            services.approve_crisis_plan(actor=sam, plan=plan)
        plan.refresh_from_db()
        assert plan.status == CrisisPlanStatus.SUBMITTED

    def test_a_worker_cannot_approve(self, alice, bob, alice_case):
        plan = services.save_crisis_plan(actor=alice, case=alice_case, content=crisis_content())
        services.submit_crisis_plan(actor=alice, plan=plan)
        with pytest.raises(NotPermitted):
            services.approve_crisis_plan(actor=bob, plan=plan)

    def test_approval_replaces_the_earlier_version(self, alice, sam, alice_case):
        first = make_approved_crisis_plan(alice, sam, alice_case)
        second = make_approved_crisis_plan(alice, sam, alice_case, hazards="None known")
        first.refresh_from_db()
        assert (first.status, second.status) == ("superseded", "approved")
        assert second.number == 2
        assert second.review_due_at > second.approved_at


class TestCrisisPlanEditors:
    def test_a_supervisor_who_wrote_in_the_draft_cannot_approve_it(self, alice, sam, alice_case):
        plan = services.save_crisis_plan(actor=alice, case=alice_case, content=crisis_content())
        services.save_crisis_plan(
            actor=sam, case=alice_case, content=crisis_content(helps="Sam's own words")
        )
        services.submit_crisis_plan(actor=alice, plan=plan)
        with pytest.raises(NotPermitted):
            services.approve_crisis_plan(actor=sam, plan=plan)
        plan.refresh_from_db()
        assert plan.author == alice
        assert set(plan.editors.all()) == {alice, sam}


class TestCrisisPlanNotices:
    def test_the_teams_supervisors_are_told_a_plan_waits_and_the_author_when_returned(
        self, alice, sam, alice_case
    ):
        from notifications.models import Kind, Notification

        plan = services.save_crisis_plan(actor=alice, case=alice_case, content=crisis_content())
        services.submit_crisis_plan(actor=alice, plan=plan)
        waiting = Notification.objects.get(kind=Kind.CRISIS_PLAN)
        assert (waiting.recipient, waiting.channel) == (sam, "in_app")
        assert waiting.subject.startswith("Crisis response plan to approve: ")
        assert waiting.url == f"/plans/clients/{alice_case.client_id}/crisis-plan/"

        services.return_crisis_plan(actor=sam, plan=plan, note="Add who to call at night")
        waiting.refresh_from_db()
        assert waiting.read_at is not None  # answered: no longer waiting for sam
        returned = Notification.objects.filter(kind=Kind.CRISIS_PLAN).latest("pk")
        assert returned.recipient == alice
        assert returned.subject.startswith("Crisis response plan returned to you: ")

    def test_a_supervisor_who_wrote_it_is_not_asked_to_approve_it(self, sam, alice_case):
        from notifications.models import Kind, Notification

        plan = services.save_crisis_plan(actor=sam, case=alice_case, content=crisis_content())
        services.submit_crisis_plan(actor=sam, plan=plan)
        assert not Notification.objects.filter(kind=Kind.CRISIS_PLAN).exists()
