"""The crisis response plan's pages: writing a version on a case, the plan's page with its
moves, the case page's card, and the plan on the team's phone and the request page."""

import datetime

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from audit.models import Action, AuditEvent
from cases import services as case_services
from dispatch import services as dispatch_services
from dispatch.models import Assignment, Credential
from plans import services
from plans.models import CrisisPlan, CrisisPlanStatus
from tests.accounts.factories import UserFactory
from tests.dispatch.factories import UnitFactory
from tests.plans.factories import crisis_content, make_approved_crisis_plan

pytestmark = pytest.mark.django_db


def edit_url(case):
    return reverse("plans:crisis_plan_edit", args=[case.pk])


def plan_url(client_id):
    return reverse("plans:crisis_plan", args=[client_id])


def act_url(plan, action):
    return reverse("plans:crisis_plan_act", args=[plan.pk, action])


def form_data(contacts=None, **fields):
    """What the form posts: its parts, and the people to call as formset rows."""
    data = {
        "triggers": "Loud arguments",
        "helps": "Speak slowly, offer water",
        "avoid": "Do not block the door",
        "preferred_care": "Riverbend crisis centre",
        "hazards": "Large dog in the yard",
    }
    data.update(fields)
    rows = (
        contacts
        if contacts is not None
        else [{"name": "Ana Ruiz", "relation": "sister", "phone": "541-555-0101"}]
    )
    data.update(
        {
            "contacts-TOTAL_FORMS": str(len(rows)),
            "contacts-INITIAL_FORMS": "0",
            "contacts-MIN_NUM_FORMS": "0",
            "contacts-MAX_NUM_FORMS": "8",
        }
    )
    for i, row in enumerate(rows):
        for key, value in row.items():
            data[f"contacts-{i}-{key}"] = value
    return data


def views_of(user, plan):
    return AuditEvent.objects.filter(
        actor=user, action=Action.VIEW, object_type="crisisplan", object_id=str(plan.pk)
    )


@pytest.fixture
def sue(team_a):
    """A second supervisor of alice's team: approves what sam wrote."""
    return UserFactory(
        username="sue", team=None, agency=team_a.agency, role=Role.SUPERVISOR, supervises=[team_a]
    )


@pytest.fixture
def draft(alice, alice_case):
    return services.save_crisis_plan(actor=alice, case=alice_case, content=crisis_content())


@pytest.fixture
def submitted(alice, draft):
    return services.submit_crisis_plan(actor=alice, plan=draft)


@pytest.fixture
def approved(alice, sam, alice_case):
    return make_approved_crisis_plan(alice, sam, alice_case)


class TestWritingThePlan:
    def test_a_worker_writes_a_draft_with_the_people_to_call(self, login, alice, alice_case):
        response = login(alice).post(edit_url(alice_case), form_data())
        assert response.status_code == 302
        assert response.url == plan_url(alice_case.client_id)
        plan = CrisisPlan.objects.get(client=alice_case.client)
        assert (plan.status, plan.author, plan.number) == (CrisisPlanStatus.DRAFT, alice, 1)
        assert plan.hazards == "Large dog in the yard"
        assert plan.contacts == [
            {"name": "Ana Ruiz", "relation": "sister", "phone": "541-555-0101"}
        ]

    def test_blank_rows_are_left_out(self, login, alice, alice_case):
        rows = [{"name": "", "relation": "", "phone": ""}, {"name": "Dr Lee", "phone": "1"}]
        login(alice).post(edit_url(alice_case), form_data(contacts=rows))
        assert CrisisPlan.objects.get().contacts == [
            {"name": "Dr Lee", "relation": "", "phone": "1"}
        ]

    def test_a_number_without_a_name_is_an_error_beside_the_row(self, login, alice, alice_case):
        rows = [{"name": "", "relation": "sister", "phone": "541-555-0101"}]
        response = login(alice).post(edit_url(alice_case), form_data(contacts=rows))
        assert response.status_code == 200
        assert response.context["contacts"].forms[0].errors["name"] == [
            "Give the name of each person to call."
        ]
        assert 'id="id_contacts-0-name"' in response.content.decode()
        assert not CrisisPlan.objects.exists()

    def test_an_empty_plan_is_refused(self, login, alice, alice_case):
        empty = {name: "" for name in ("triggers", "helps", "avoid", "preferred_care", "hazards")}
        response = login(alice).post(edit_url(alice_case), form_data(contacts=[], **empty))
        assert response.context["form"].non_field_errors() == [
            "Write at least one part of the plan."
        ]
        assert not CrisisPlan.objects.exists()

    def test_an_empty_post_saves_nothing(self, login, alice, alice_case):
        response = login(alice).post(edit_url(alice_case), {})
        assert response.status_code == 200
        assert not CrisisPlan.objects.exists()

    def test_the_form_starts_from_the_draft(self, login, alice, alice_case, draft):
        response = login(alice).get(edit_url(alice_case))
        form = response.context["form"]
        assert form.initial["helps"] == draft.helps
        rows = response.context["contacts"]
        assert rows.initial == draft.contacts
        assert len(rows.forms) == 3  # the one person, and two blank rows
        assert views_of(alice, draft).filter(detail__page="crisis plan form").exists()

    def test_saving_again_changes_the_draft_in_place(self, login, alice, alice_case, draft):
        login(alice).post(edit_url(alice_case), form_data(helps="Let him sit outside"))
        draft.refresh_from_db()
        assert (draft.helps, draft.number) == ("Let him sit outside", 1)
        assert CrisisPlan.objects.count() == 1

    def test_with_no_draft_the_form_starts_from_the_approved_version(
        self, login, alice, alice_case, approved
    ):
        response = login(alice).get(edit_url(alice_case))
        assert response.context["form"].initial["hazards"] == approved.hazards
        login(alice).post(edit_url(alice_case), form_data(hazards="None known"))
        new = CrisisPlan.objects.get(status=CrisisPlanStatus.DRAFT)
        approved.refresh_from_db()
        assert (new.number, new.hazards) == (2, "None known")
        assert approved.status == CrisisPlanStatus.APPROVED

    def test_a_version_awaiting_approval_is_not_opened_for_editing(
        self, login, alice, alice_case, submitted
    ):
        response = login(alice).get(edit_url(alice_case), follow=True)
        assert response.redirect_chain == [(plan_url(alice_case.client_id), 302)]
        assert "waiting for approval" in response.content.decode()

    def test_a_post_refused_by_the_service_keeps_what_was_typed(
        self, login, alice, alice_case, submitted
    ):
        response = login(alice).post(edit_url(alice_case), form_data(helps="Typed meanwhile"))
        assert response.status_code == 200
        assert "waiting for approval" in response.context["form"].non_field_errors()[0]
        assert "Typed meanwhile" in response.content.decode()

    def test_a_closed_case_sends_to_the_plan(self, login, alice, alice_case):
        case_services.close_case(actor=alice, case=alice_case, reason="stabilised")
        response = login(alice).get(edit_url(alice_case))
        assert response.status_code == 302
        assert response.url == plan_url(alice_case.client_id)

    @pytest.mark.parametrize(("persona", "status"), [("erin", 404), ("carol", 404), ("dana", 403)])
    def test_outside_the_team_it_is_refused_and_audited(
        self, login, request, alice_case, persona, status
    ):
        user = request.getfixturevalue(persona)
        assert login(user).get(edit_url(alice_case)).status_code == status
        assert login(user).post(edit_url(alice_case), form_data()).status_code == status
        assert AuditEvent.objects.filter(actor=user, action=Action.DENIED).count() == 2
        assert not CrisisPlan.objects.exists()


class TestThePlansPage:
    def test_it_shows_the_approved_version_with_its_dates_in_the_agency_day(
        self, login, alice, sam, alice_case
    ):
        # 03:30 UTC: the evening before in Los Angeles.
        moment = datetime.datetime(2026, 3, 18, 3, 30, tzinfo=datetime.UTC)
        with time_machine.travel(moment, tick=False):
            plan = make_approved_crisis_plan(alice, sam, alice_case)
            response = login(alice).get(plan_url(alice_case.client_id))
        assert response.context["approved"] == plan
        assert response.context["approved_day"] == datetime.date(2026, 3, 17)
        assert response.context["review_day"] == datetime.date(2026, 3, 17) + datetime.timedelta(
            days=90
        )
        content = response.content.decode()
        assert "Large dog in the yard" in content
        assert str(sam) in content
        assert content.index("Large dog in the yard") < content.index("Speak slowly")

    def test_a_plan_past_its_review_is_flagged(self, login, alice, approved):
        approved.review_due_at = timezone.now() - datetime.timedelta(days=1)
        approved.save(update_fields=["review_due_at"])
        content = login(alice).get(plan_url(approved.client_id)).content.decode()
        assert "Review overdue" in content

    def test_the_returned_version_shows_its_note(self, login, alice, sam, submitted):
        services.return_crisis_plan(actor=sam, plan=submitted, note="Add the sister's number")
        response = login(alice).get(plan_url(submitted.client_id))
        assert response.context["pending"] == submitted
        assert 'id="returned-note"' in response.content.decode()
        assert "Add the sister&#x27;s number" in response.content.decode()

    def test_earlier_versions_are_listed(self, login, alice, sam, alice_case, approved):
        second = make_approved_crisis_plan(alice, sam, alice_case, hazards="None known")
        response = login(alice).get(plan_url(alice_case.client_id))
        assert response.context["approved"] == second
        assert response.context["history"] == [approved]

    def test_the_author_may_send_a_draft_for_approval(self, login, alice, draft):
        response = login(alice).get(plan_url(draft.client_id))
        assert response.context["pending_moves"]["submit"]
        assert not response.context["pending_moves"]["approve"]
        assert 'id="submit-button"' in response.content.decode()

    def test_a_supervisor_of_the_team_may_approve_or_return(self, login, sam, submitted):
        content = login(sam).get(plan_url(submitted.client_id)).content.decode()
        assert 'id="approve-button"' in content
        assert 'id="return-button"' in content

    def test_a_supervisor_who_wrote_it_is_told_why_they_cannot_approve(
        self, login, sam, alice_case
    ):
        plan = services.save_crisis_plan(actor=sam, case=alice_case, content=crisis_content())
        services.submit_crisis_plan(actor=sam, plan=plan)
        content = login(sam).get(plan_url(alice_case.client_id)).content.decode()
        assert 'id="approve-button"' not in content
        assert 'id="pending-own-plan"' in content

    def test_a_worker_sees_no_supervisors_buttons(self, login, bob, submitted):
        content = login(bob).get(plan_url(submitted.client_id)).content.decode()
        assert 'id="approve-button"' not in content
        assert 'id="review-button"' not in content

    def test_a_supervisor_may_mark_the_approved_plan_reviewed(self, login, sue, approved):
        content = login(sue).get(plan_url(approved.client_id)).content.decode()
        assert 'id="review-button"' in content

    def test_with_no_plan_a_worker_is_offered_to_write_one(self, login, alice, alice_case):
        response = login(alice).get(plan_url(alice_case.client_id))
        assert response.context["write_case"] == alice_case
        assert reverse("plans:crisis_plan_edit", args=[alice_case.pk]) in (
            response.content.decode()
        )

    def test_every_reading_is_audited_with_the_versions_shown(
        self, login, alice, bob, alice_case, approved
    ):
        second = services.save_crisis_plan(
            actor=alice, case=alice_case, content=crisis_content(helps="More")
        )
        login(bob).get(plan_url(alice_case.client_id))
        event = AuditEvent.objects.filter(action=Action.VIEW, detail__page="crisis plan").get()
        assert (event.object_type, event.object_id) == ("crisisplan", str(approved.pk))
        assert event.client_id == alice_case.client_id
        assert sorted(event.detail["crisis_plan_ids"]) == sorted([approved.pk, second.pk])

    @pytest.mark.parametrize("persona", ["erin", "carol", "root"])
    def test_outside_the_team_it_is_404_and_audited(self, login, request, approved, persona):
        user = request.getfixturevalue(persona)
        assert login(user).get(plan_url(approved.client_id)).status_code == 404
        assert AuditEvent.objects.filter(actor=user, action=Action.DENIED).exists()
        assert not views_of(user, approved).exists()

    def test_an_agency_admin_reads_it_and_may_do_nothing(self, login, dana, approved):
        response = login(dana).get(plan_url(approved.client_id))
        assert response.status_code == 200
        assert not any(response.context["approved_moves"].values())
        assert response.context["write_case"] is None

    def test_its_queries_do_not_grow_with_the_versions(
        self, login, alice, sam, alice_case, django_assert_max_num_queries
    ):
        for hazards in ("One", "Two", "Three", "Four", "Five"):
            make_approved_crisis_plan(alice, sam, alice_case, hazards=hazards)
        services.save_crisis_plan(actor=alice, case=alice_case, content=crisis_content())
        signed_in = login(alice)
        with django_assert_max_num_queries(13):
            response = signed_in.get(plan_url(alice_case.client_id))
        assert len(response.context["history"]) == 4


class TestTheMoves:
    def test_a_draft_is_sent_approved_and_reviewed(self, login, alice, sam, sue, draft):
        assert login(alice).post(act_url(draft, "submit")).status_code == 302
        assert login(sam).post(act_url(draft, "approve")).status_code == 302
        draft.refresh_from_db()
        assert (draft.status, draft.approved_by) == (CrisisPlanStatus.APPROVED, sam)
        response = login(sue).post(act_url(draft, "review"))
        assert response.url == plan_url(draft.client_id)
        draft.refresh_from_db()
        assert draft.reviewed_by == sue

    def test_returning_needs_a_note_shown_beside_its_field(self, login, sam, submitted):
        response = login(sam).post(act_url(submitted, "return"), {"note": " "})
        assert response.status_code == 400
        assert response.context["return_form"].errors["note"]
        submitted.refresh_from_db()
        assert submitted.status == CrisisPlanStatus.SUBMITTED

    def test_returning_with_a_note_sends_it_back_to_draft(self, login, sam, submitted):
        login(sam).post(act_url(submitted, "return"), {"note": "Add the sister's number"})
        submitted.refresh_from_db()
        assert (submitted.status, submitted.returned_note) == (
            CrisisPlanStatus.DRAFT,
            "Add the sister's number",
        )

    def test_the_author_cannot_approve_their_own_plan(self, login, sam, alice_case):
        plan = services.save_crisis_plan(actor=sam, case=alice_case, content=crisis_content())
        services.submit_crisis_plan(actor=sam, plan=plan)
        response = login(sam).post(act_url(plan, "approve"))
        assert response.status_code == 403
        denied = AuditEvent.objects.get(actor=sam, action=Action.DENIED)
        assert (denied.object_type, denied.detail["move"]) == ("crisisplan", "approve")
        plan.refresh_from_db()
        assert plan.status == CrisisPlanStatus.SUBMITTED

    def test_a_worker_cannot_approve(self, login, bob, submitted):
        assert login(bob).post(act_url(submitted, "approve")).status_code == 403

    def test_a_move_the_status_does_not_allow_is_a_message(self, login, sam, draft):
        response = login(sam).post(act_url(draft, "approve"), follow=True)
        assert response.status_code == 200
        assert "cannot be done now" in response.content.decode()
        draft.refresh_from_db()
        assert draft.status == CrisisPlanStatus.DRAFT

    def test_an_empty_draft_cannot_be_sent(self, login, alice, alice_case):
        empty = services.save_crisis_plan(
            actor=alice,
            case=alice_case,
            content=crisis_content(
                triggers="", helps="", avoid="", hazards="", contacts=[], preferred_care=""
            ),
        )
        response = login(alice).post(act_url(empty, "submit"), follow=True)
        assert "Write what the team should know" in response.content.decode()

    def test_withdrawing_the_approved_plan_takes_it_from_the_team(self, login, sam, approved):
        login(sam).post(act_url(approved, "withdraw"))
        approved.refresh_from_db()
        assert approved.status == CrisisPlanStatus.WITHDRAWN

    def test_only_a_post_and_a_known_move(self, login, alice, draft):
        signed_in = login(alice)
        assert signed_in.get(act_url(draft, "submit")).status_code == 405
        assert signed_in.post(act_url(draft, "publish")).status_code == 404

    @pytest.mark.parametrize("persona", ["erin", "carol"])
    def test_outside_the_team_it_is_404(self, login, request, submitted, persona):
        user = request.getfixturevalue(persona)
        assert login(user).post(act_url(submitted, "approve")).status_code == 404
        assert AuditEvent.objects.filter(actor=user, action=Action.DENIED).exists()
        submitted.refresh_from_db()
        assert submitted.status == CrisisPlanStatus.SUBMITTED


class TestTheCaseCard:
    def test_it_shows_the_hazards_first_and_the_review_date(
        self, login, alice, alice_case, approved
    ):
        content = (
            login(alice).get(reverse("casework:case_detail", args=[alice_case.pk])).content.decode()
        )
        card = content[content.index('id="case-crisis-plan"') :]
        assert card.index("Large dog in the yard") < card.index("Speak slowly")
        assert 'class="alert alert-warning py-2 mb-2" id="case-crisis-hazards"' in card
        assert 'id="case-crisis-review"' in card
        assert plan_url(alice_case.client_id) in card

    def test_it_names_the_version_waiting(self, login, alice, alice_case, submitted):
        content = (
            login(alice).get(reverse("casework:case_detail", args=[alice_case.pk])).content.decode()
        )
        assert 'id="case-crisis-pending"' in content
        assert "Awaiting approval" in content
        assert 'id="case-crisis-write"' not in content  # it cannot be changed meanwhile

    def test_with_none_it_offers_to_write_one(self, login, alice, alice_case):
        content = (
            login(alice).get(reverse("casework:case_detail", args=[alice_case.pk])).content.decode()
        )
        assert 'id="case-crisis-none"' in content
        assert edit_url(alice_case) in content


# --- On the team's phone and the request page ----------------------------------------------


@pytest.fixture
def dex(agency_a):
    return UserFactory(username="dex", agency=agency_a, role=Role.DISPATCHER)


@pytest.fixture
def sent(dex, alice, bob, alice_case, agency_a):
    """Van 1 (alice and bob) sent to a request for alice's client."""
    van = UnitFactory(agency=agency_a, call_sign="Van 1")
    dispatch_services.start_shift(
        unit=van,
        members=[(alice, Credential.LICENSED_CLINICIAN), (bob, Credential.PEER_SPECIALIST)],
        actor=dex,
    )
    request = dispatch_services.record_request(
        actor=dex,
        data={
            "source": "team_line",
            "priority": "urgent",
            "reason": "welfare_check",
            "location_text": "Skinner Butte Park",
            "client": alice_case.client,
        },
    )
    dispatch_services.assign_unit(request=request, unit=van, actor=dex)
    return Assignment.objects.get(request=request)


def phone_views(user):
    return AuditEvent.objects.filter(actor=user, action=Action.VIEW, detail__where="unit phone")


UNIT = reverse("dispatch:unit")
PANEL = reverse("dispatch:unit_panel")
HTMX = {"HTTP_HX_REQUEST": "true"}


class TestOnThePhone:
    def test_the_phone_shows_the_approved_plan_and_audits_it(self, login, bob, approved, sent):
        content = login(bob).get(UNIT).content.decode()
        assert "Large dog in the yard" in content
        assert "Speak slowly, offer water" in content
        event = phone_views(bob).get()
        assert (event.object_type, event.object_id) == ("crisisplan", str(approved.pk))
        assert event.client_id == approved.client_id
        assert event.detail == {"where": "unit phone", "assignment_id": sent.pk}

    def test_a_refresh_naming_the_plan_shown_keeps_it_without_sending_it(
        self, login, bob, approved, sent
    ):
        signed_in = login(bob)
        key = signed_in.get(UNIT).context["crisis_plan_key"]
        response = signed_in.get(PANEL, {"shown": key}, **HTMX)
        content = response.content.decode()
        assert f'id="crisis-plan-{key}" hx-preserve' in content
        assert "Large dog in the yard" not in content
        assert phone_views(bob).count() == 1

    def test_a_refresh_that_does_not_name_it_sends_and_audits_it_again(
        self, login, bob, approved, sent
    ):
        signed_in = login(bob)
        signed_in.get(UNIT)
        content = signed_in.get(PANEL, {"shown": ""}, **HTMX).content.decode()
        assert "Large dog in the yard" in content
        assert phone_views(bob).count() == 2

    def test_a_plan_approved_meanwhile_is_sent(self, login, alice, sam, bob, submitted, sent):
        signed_in = login(bob)
        assert signed_in.get(UNIT).context["crisis_plan"] is None  # not yet approved
        services.approve_crisis_plan(actor=sam, plan=submitted)
        content = signed_in.get(PANEL, {"shown": ""}, **HTMX).content.decode()
        assert "Large dog in the yard" in content

    def test_a_plan_not_approved_is_not_shown(self, login, bob, submitted, sent):
        content = login(bob).get(UNIT).content.decode()
        assert "Large dog in the yard" not in content
        assert not phone_views(bob).exists()

    def test_a_plan_past_its_review_still_shows_flagged(self, login, bob, approved, sent):
        approved.review_due_at = timezone.now() - datetime.timedelta(days=1)
        approved.save(update_fields=["review_due_at"])
        content = login(bob).get(UNIT).content.decode()
        assert "Large dog in the yard" in content
        assert "Review overdue" in content

    def test_the_panels_queries_are_bounded(
        self, login, bob, approved, sent, django_assert_max_num_queries
    ):
        signed_in = login(bob)
        with django_assert_max_num_queries(16):
            signed_in.get(PANEL, **HTMX)

    def test_the_dispatcher_sees_it_on_the_request_page(self, login, dex, approved, sent):
        url = reverse("dispatch:request", args=[sent.request_id])
        content = login(dex).get(url).content.decode()
        assert 'id="request-crisis-plan"' in content
        assert "Large dog in the yard" in content
        event = AuditEvent.objects.get(actor=dex, action=Action.VIEW, object_type="crisisplan")
        assert event.detail == {"where": "request page", "request_id": sent.request_id}

    def test_a_worker_of_another_unit_does_not_see_it_on_the_request_page(
        self, login, erin, dex, agency_a, approved, sent
    ):
        van2 = UnitFactory(agency=agency_a, call_sign="Van 2")
        dispatch_services.start_shift(unit=van2, members=[(erin, "emt_paramedic")], actor=dex)
        url = reverse("dispatch:request", args=[sent.request_id])
        response = login(erin).get(url)
        assert response.status_code == 200
        assert 'id="request-crisis-plan"' not in response.content.decode()
        assert not AuditEvent.objects.filter(actor=erin, object_type="crisisplan").exists()

    def test_the_crew_sent_sees_it_on_the_request_page_too(self, login, bob, approved, sent):
        url = reverse("dispatch:request", args=[sent.request_id])
        assert 'id="request-crisis-plan"' in login(bob).get(url).content.decode()
        assert AuditEvent.objects.get(actor=bob, object_type="crisisplan").detail == {
            "where": "request page",
            "request_id": sent.request_id,
        }
