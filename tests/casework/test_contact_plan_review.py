"""The contact that completes a follow-up answers its safety plan questions (issue 15):
the new-contact page shows them, as Yes/No buttons, for a follow-up that asks
(followups.models.plan_review_asked), checks them before the contact is saved and passes
them to the completion; drafts and the phone's outbox post them as plain fields."""

import datetime
import re
import uuid
import zoneinfo

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from cases.models import CallNature, Contact, ContactDraft
from followups import services
from followups.models import SAFETY_PLANNING_KEY, FollowUp, Status, Trigger
from tests.followups.factories import due_followup, followups_of, make_case, protocol
from tests.plans.factories import make_safety_plan

pytestmark = pytest.mark.django_db

NEW_URL = reverse("casework:contact_new")
DRAFT_URL = reverse("casework:contact_draft")
LOS_ANGELES = zoneinfo.ZoneInfo("America/Los_Angeles")
NARRATIVE = "Follow-up call: went over the plan together."


def local(moment):
    return timezone.localtime(moment, LOS_ANGELES).strftime("%Y-%m-%dT%H:%M")


def form(fu, **overrides):
    """The new-contact form recording the call that completes `fu`, as a browser posts it."""
    data = {
        "client": fu.case.client_id,
        "followup": fu.pk,
        "source": "phone",
        "received_at": local(timezone.now() - datetime.timedelta(minutes=20)),
        "call_nature": CallNature.objects.get(code="welfare-check").pk,
        "disposition": "referred",
        "narrative": NARRATIVE,
    }
    data.update(overrides)
    return data


def with_plan(worker):
    case = make_case(worker)
    make_safety_plan(worker, case)
    return due_followup(case)


def spi_call(case):
    services.enrol(
        case=case,
        protocol=protocol(case.agency, SAFETY_PLANNING_KEY),
        trigger=Trigger.MANUAL,
        anchor_at=timezone.now() - datetime.timedelta(hours=1),
        reason="Safety plan made at the ER",
    )
    return followups_of(case, key=SAFETY_PLANNING_KEY)[0]


def done(fu):
    return FollowUp.objects.get(pk=fu.pk)


def page_for(client, fu):
    return client.get(NEW_URL, {"followup": fu.pk, "client": fu.case.client_id})


class TestTheQuestionsOnThePage:
    def test_a_followup_that_asks_shows_them_as_yes_no_buttons(self, login, alice):
        html = page_for(login(alice), with_plan(alice)).content.decode()

        assert 'id="plan-review"' in html
        for name in ("plan_reviewed", "plan_changed"):
            for value in ("yes", "no"):
                assert re.search(
                    rf'<input type="radio" name="{name}" value="{value}" class="btn-check"', html
                ), (name, value)
        assert "Did you review the safety plan with the client?" in html
        # Inside the autosaved part of the form, so drafts keep them.
        fields = html.split('id="contact-fields"', 1)[1]
        assert 'name="plan_reviewed"' in fields

    def test_a_safety_planning_call_asks_too(self, login, alice):
        html = page_for(login(alice), spi_call(make_case(alice))).content.decode()

        assert 'id="plan-review"' in html

    def test_a_followup_that_does_not_ask_and_a_plain_contact_show_none(self, login, alice):
        client = login(alice)

        plain = page_for(client, due_followup(make_case(alice))).content.decode()
        empty = client.get(NEW_URL).content.decode()

        assert 'name="plan_reviewed"' not in plain
        assert 'name="plan_reviewed"' not in empty

    def test_they_read_in_spanish(self, login, alice):
        User.objects.filter(pk=alice.pk).update(language="es")

        html = page_for(login(alice), with_plan(alice)).content.decode()

        assert "Plan de seguridad en esta llamada" in html
        assert "¿Repasó el plan de seguridad con la persona?" in html
        assert "¿Cambió el plan de seguridad?" in html


class TestSavingTheContact:
    def test_the_answers_complete_the_followup_with_the_contact(self, login, alice):
        fu = with_plan(alice)

        response = login(alice).post(NEW_URL, form(fu, plan_reviewed="yes", plan_changed="no"))

        assert response.status_code == 302, response.content.decode()[:2000]
        contact = Contact.objects.get(narrative=NARRATIVE)
        fu = done(fu)
        assert (fu.status, fu.completed_contact, fu.plan_reviewed, fu.plan_changed) == (
            Status.COMPLETED,
            contact,
            True,
            False,
        )

    def test_a_changed_plan_is_one_link_from_being_updated(self, login, alice):
        fu = with_plan(alice)
        client = login(alice)

        response = client.post(NEW_URL, form(fu, plan_reviewed="yes", plan_changed="yes"))

        assert done(fu).plan_changed is True
        shown = [str(message) for message in get_messages(response.wsgi_request)]
        link = f"{reverse('plans:safety_plan_edit', args=[fu.case_id])}?followup={fu.pk}"
        assert any(f'href="{link}"' in message for message in shown), shown
        page = client.get(response.url).content.decode()
        assert f'href="{link}"' in page

    @pytest.mark.parametrize(
        ("answers", "field", "message"),
        [
            ({}, "plan_reviewed", "Say whether the safety plan was reviewed with the client."),
            ({"plan_reviewed": "yes"}, "plan_changed", "Say whether the safety plan changed."),
            (
                {"plan_reviewed": "no", "plan_changed": "yes"},
                "plan_changed",
                "A safety plan that was not reviewed cannot have changed: answer No.",
            ),
        ],
    )
    def test_missing_or_contradictory_answers_are_a_form_error_and_nothing_is_saved(
        self, login, alice, answers, field, message
    ):
        fu = with_plan(alice)

        response = login(alice).post(NEW_URL, form(fu, **answers))

        assert response.status_code == 200
        assert response.context["form"].errors[field] == [message]
        assert not Contact.objects.filter(narrative=NARRATIVE).exists()
        assert done(fu).status == Status.DUE
        # The page asks again, with what was chosen kept.
        html = response.content.decode()
        assert 'id="plan-review"' in html
        if "plan_reviewed" in answers:
            assert re.search(
                rf'name="plan_reviewed" value="{answers["plan_reviewed"]}" class="btn-check"'
                r"[^>]*checked",
                html,
            )

    def test_not_reviewed_needs_no_answer_about_a_change(self, login, alice):
        fu = spi_call(make_case(alice))

        response = login(alice).post(NEW_URL, form(fu, plan_reviewed="no"))

        assert response.status_code == 302
        assert (done(fu).status, done(fu).plan_reviewed, done(fu).plan_changed) == (
            Status.COMPLETED,
            False,
            None,
        )

    def test_answers_posted_for_a_followup_that_does_not_ask_are_left_out(self, login, alice):
        fu = due_followup(make_case(alice))

        response = login(alice).post(NEW_URL, form(fu, plan_reviewed="yes", plan_changed="yes"))

        assert response.status_code == 302
        assert (done(fu).status, done(fu).plan_reviewed, done(fu).plan_changed) == (
            Status.COMPLETED,
            None,
            None,
        )

    def test_a_contact_for_no_followup_ignores_them(self, login, alice):
        fu = with_plan(alice)
        data = form(fu, followup="", plan_reviewed="yes")

        response = login(alice).post(NEW_URL, data)

        assert response.status_code == 302
        assert Contact.objects.filter(narrative=NARRATIVE).exists()
        assert done(fu).status == Status.DUE


class TestDraftsAndTheOutbox:
    def test_a_draft_keeps_the_answers_and_the_page_restores_them(self, login, alice):
        fu = with_plan(alice)
        client = login(alice)

        client.post(
            DRAFT_URL,
            {"followup": fu.pk, "client": fu.case.client_id, "plan_reviewed": "yes"},
            headers={"HX-Request": "true"},
        )

        assert ContactDraft.objects.get(user=alice).data["plan_reviewed"] == ["yes"]
        response = client.get(NEW_URL)
        assert response.context["form"]["plan_reviewed"].value() == "yes"
        assert 'id="plan-review"' in response.content.decode()

    def test_the_outbox_sending_the_page_twice_completes_it_once(self, login, alice):
        fu = with_plan(alice)
        client = login(alice)
        data = form(fu, plan_reviewed="yes", plan_changed="no", submission_id=str(uuid.uuid4()))

        first = client.post(NEW_URL, data)
        again = client.post(NEW_URL, data)

        assert first.status_code == again.status_code == 302
        assert Contact.objects.filter(narrative=NARRATIVE).count() == 1
        assert (done(fu).status, done(fu).plan_reviewed) == (Status.COMPLETED, True)


class TestQueries:
    def test_the_page_for_a_followup_runs_a_fixed_number_of_queries(
        self, login, alice, django_assert_max_num_queries
    ):
        client = login(alice)
        fu = with_plan(alice)
        page_for(client, fu)
        with django_assert_max_num_queries(40) as first:
            page_for(client, fu)
        for _ in range(3):
            make_safety_plan(alice, fu.case, coping=["Call Ana", f"Walk {_}"])
            due_followup(fu.case)
        with django_assert_max_num_queries(len(first.captured_queries)):
            page_for(client, fu)
