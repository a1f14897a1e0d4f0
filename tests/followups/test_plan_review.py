"""The safety plan questions a follow-up asks when it is done (issue 15): whether the plan
was reviewed with the client and whether it changed, asked on the Safety Planning calls
and on any follow-up of a client who has a safety plan (models.plan_review_asked), by
every way of completing it: the follow-up's page, the Today list, the API (a contact
recorded for it: tests/casework/test_contact_plan_review.py)."""

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone, translation
from drf_spectacular.generators import SchemaGenerator

from accounts.models import User
from audit.models import Action, AuditEvent
from cases.models import CaseEvent
from core.i18n import render_stored
from followups import services
from followups.exceptions import FollowUpInvalid
from followups.models import (
    SAFETY_PLANNING_KEY,
    Attempt,
    AttemptOutcome,
    FollowUp,
    Status,
    Trigger,
)
from followups.today import today_rows
from tests.followups.factories import due_followup, followups_of, make_case, protocol
from tests.plans.factories import make_safety_plan

pytestmark = pytest.mark.django_db

TODAY_URL = reverse("followups:today")
REVIEWED_CHANGED = {"plan_reviewed": True, "plan_changed": True}
REVIEWED_UNCHANGED = {"plan_reviewed": True, "plan_changed": False}


def spi_call(case):
    """The first Safety Planning call of `case`, enrolled by hand (open now)."""
    services.enrol(
        case=case,
        protocol=protocol(case.agency, SAFETY_PLANNING_KEY),
        trigger=Trigger.MANUAL,
        anchor_at=timezone.now() - datetime.timedelta(hours=1),
        reason="Safety plan made at the ER",
    )
    return followups_of(case, key=SAFETY_PLANNING_KEY)[0]


def with_plan(worker):
    """A one-off follow-up, open now, on the case of a client who has a safety plan."""
    case = make_case(worker)
    make_safety_plan(worker, case)
    return due_followup(case)


def done(fu):
    return FollowUp.objects.get(pk=fu.pk)


def edit_link(fu):
    return f"{reverse('plans:safety_plan_edit', args=[fu.case_id])}?followup={fu.pk}"


class TestWhichFollowUpsAsk:
    def test_a_safety_planning_call_and_a_client_with_a_plan_ask_others_do_not(self, alice):
        spi = spi_call(make_case(alice))
        planned = with_plan(alice)
        plain = due_followup(make_case(alice))

        asking = set(FollowUp.objects.asking_plan_review().values_list("pk", flat=True))
        annotated = dict(FollowUp.objects.with_plan_review().values_list("pk", "plan_asked"))

        assert {spi.pk, planned.pk} <= asking
        assert plain.pk not in asking
        # Plain booleans, also for a one-off that has no protocol to compare.
        assert (annotated[spi.pk], annotated[planned.pk], annotated[plain.pk]) == (
            True,
            True,
            False,
        )

    def test_a_plan_made_after_the_followup_was_scheduled_counts(self, alice):
        fu = due_followup(make_case(alice))
        assert not FollowUp.objects.asking_plan_review().filter(pk=fu.pk).exists()

        make_safety_plan(alice, fu.case)

        assert FollowUp.objects.asking_plan_review().filter(pk=fu.pk).exists()

    def test_todays_rows_say_it_in_their_one_query(self, alice, django_assert_num_queries):
        spi = spi_call(make_case(alice))
        planned = with_plan(alice)
        plain = due_followup(make_case(alice))

        with django_assert_num_queries(1):
            asked = {fu.pk: fu.plan_asked for fu in today_rows(alice, timezone.now())}

        assert asked[spi.pk] and asked[planned.pk]
        assert asked[plain.pk] is False


class TestCompleteFollowup:
    def test_a_followup_that_asks_needs_whether_the_plan_was_reviewed(self, alice):
        fu = with_plan(alice)

        with pytest.raises(FollowUpInvalid) as error:
            services.complete_followup(actor=alice, followup=fu)

        assert error.value.field == "plan_reviewed"
        assert done(fu).status == Status.DUE

    def test_a_reviewed_plan_needs_whether_it_changed(self, alice):
        fu = spi_call(make_case(alice))

        with pytest.raises(FollowUpInvalid) as error:
            services.complete_followup(
                actor=alice, followup=fu, note="Safe tonight", plan_reviewed=True
            )

        assert error.value.field == "plan_changed"
        assert done(fu).status != Status.COMPLETED

    def test_changed_without_reviewed_is_refused(self, alice):
        fu = with_plan(alice)

        with pytest.raises(FollowUpInvalid) as error:
            services.complete_followup(
                actor=alice, followup=fu, plan_reviewed=False, plan_changed=True
            )

        assert error.value.field == "plan_changed"

    def test_a_plan_not_reviewed_needs_no_answer_about_a_change(self, alice):
        fu = services.complete_followup(actor=alice, followup=with_plan(alice), plan_reviewed=False)

        assert (done(fu).plan_reviewed, done(fu).plan_changed) == (False, None)

    def test_the_answers_are_kept_on_the_row_the_audit_row_and_the_timeline(self, alice):
        fu = services.complete_followup(
            actor=alice, followup=spi_call(make_case(alice)), note="Safe", **REVIEWED_CHANGED
        )

        assert (done(fu).plan_reviewed, done(fu).plan_changed) == (True, True)
        audit = AuditEvent.objects.filter(
            action=Action.UPDATE, object_type="followup", object_id=str(fu.pk)
        ).latest("pk")
        assert audit.detail["plan_reviewed"] is True
        assert audit.detail["plan_changed"] is True
        entry = CaseEvent.objects.filter(case=fu.case, detail__followup_id=fu.pk).latest("pk")
        assert entry.summary.endswith("· safety plan reviewed, changed")
        assert (entry.detail["plan_reviewed"], entry.detail["plan_changed"]) == (True, True)

    @pytest.mark.parametrize(
        ("answers", "english", "spanish"),
        [
            (REVIEWED_UNCHANGED, "safety plan reviewed, not changed", "repasado, sin cambios"),
            ({"plan_reviewed": False}, "safety plan not reviewed", "no repasado"),
        ],
    )
    def test_the_timeline_reads_the_answers_in_each_readers_language(
        self, alice, answers, english, spanish
    ):
        fu = services.complete_followup(actor=alice, followup=with_plan(alice), **answers)

        entry = CaseEvent.objects.filter(case=fu.case, detail__followup_id=fu.pk).latest("pk")
        assert entry.summary.endswith(english)
        with translation.override("es"):
            shown = render_stored(entry.detail["i18n"], entry.summary)
        assert shown.startswith("Seguimiento hecho: ")
        assert shown.endswith(f"plan de seguridad {spanish}")

    def test_a_followup_that_does_not_ask_refuses_answers_and_keeps_none(self, alice):
        fu = due_followup(make_case(alice))

        with pytest.raises(FollowUpInvalid) as error:
            services.complete_followup(actor=alice, followup=fu, **REVIEWED_UNCHANGED)
        assert error.value.field == "plan_reviewed"
        with pytest.raises(FollowUpInvalid) as error:
            services.complete_followup(actor=alice, followup=fu, plan_changed=False)
        assert error.value.field == "plan_changed"

        services.complete_followup(actor=alice, followup=fu)
        assert (done(fu).status, done(fu).plan_reviewed, done(fu).plan_changed) == (
            Status.COMPLETED,
            None,
            None,
        )
        entry = CaseEvent.objects.filter(case=fu.case, detail__followup_id=fu.pk).latest("pk")
        assert "safety plan" not in entry.summary
        assert "plan_reviewed" not in entry.detail


class TestLogAttempt:
    def test_a_reached_attempt_completes_it_with_the_answers(self, alice):
        fu = with_plan(alice)

        services.log_attempt(
            actor=alice, followup=fu, outcome=AttemptOutcome.REACHED, **REVIEWED_UNCHANGED
        )

        assert (done(fu).status, done(fu).plan_reviewed, done(fu).plan_changed) == (
            Status.COMPLETED,
            True,
            False,
        )

    def test_a_reached_attempt_without_them_is_refused_and_logs_nothing(self, alice):
        fu = with_plan(alice)

        with pytest.raises(FollowUpInvalid) as error:
            services.log_attempt(actor=alice, followup=fu, outcome=AttemptOutcome.REACHED)

        assert error.value.field == "plan_reviewed"
        assert not Attempt.objects.filter(followup=fu).exists()

    def test_answers_with_another_outcome_are_refused(self, alice):
        fu = with_plan(alice)

        with pytest.raises(FollowUpInvalid) as error:
            services.log_attempt(
                actor=alice, followup=fu, outcome=AttemptOutcome.NO_ANSWER, plan_reviewed=True
            )

        assert error.value.field == "plan_reviewed"
        services.log_attempt(actor=alice, followup=fu, outcome=AttemptOutcome.NO_ANSWER)
        assert done(fu).plan_reviewed is None


class TestFollowUpPage:
    def test_the_mark_done_form_asks_only_when_the_followup_does(self, login, alice):
        client = login(alice)
        asking = client.get(reverse("followups:detail", args=[with_plan(alice).pk]))
        plain = client.get(reverse("followups:detail", args=[due_followup(make_case(alice)).pk]))

        assert 'name="plan_reviewed"' in asking.content.decode()
        assert "Did the safety plan change?" in asking.content.decode()
        assert 'name="plan_reviewed"' not in plain.content.decode()

    def test_marking_it_done_without_the_answers_is_a_form_error(self, login, alice):
        fu = with_plan(alice)

        response = login(alice).post(
            reverse("followups:complete", args=[fu.pk]), {"confirm": "True", "note": ""}
        )

        assert response.status_code == 200
        assert "Say whether the safety plan was reviewed with the client." in (
            response.content.decode()
        )
        assert done(fu).status == Status.DUE

    def test_marked_done_it_shows_the_answers_and_offers_to_update_a_changed_plan(
        self, login, alice
    ):
        fu = with_plan(alice)
        client = login(alice)

        response = client.post(
            reverse("followups:complete", args=[fu.pk]),
            {"confirm": "True", "plan_reviewed": "yes", "plan_changed": "yes"},
            follow=True,
        )

        assert (done(fu).plan_reviewed, done(fu).plan_changed) == (True, True)
        html = response.content.decode()
        assert "Safety plan reviewed, changed" in html
        assert f'href="{edit_link(fu)}"' in html.replace("&amp;", "&")

    def test_an_unchanged_plan_offers_no_link(self, login, alice):
        fu = with_plan(alice)

        response = login(alice).post(
            reverse("followups:complete", args=[fu.pk]),
            {"confirm": "True", "plan_reviewed": "yes", "plan_changed": "no"},
            follow=True,
        )

        html = response.content.decode()
        assert "Safety plan reviewed, not changed" in html
        assert edit_link(fu) not in html.replace("&amp;", "&")

    def test_a_reached_attempt_on_the_page_records_them(self, login, alice):
        fu = with_plan(alice)

        response = login(alice).post(
            reverse("followups:attempt", args=[fu.pk]),
            {"outcome": "reached", "plan_reviewed": "no"},
        )

        assert response.status_code == 302
        assert (done(fu).status, done(fu).plan_reviewed, done(fu).plan_changed) == (
            Status.COMPLETED,
            False,
            None,
        )

    def test_the_case_page_shows_the_answers_on_its_followup_rows(self, login, alice):
        fu = services.complete_followup(
            actor=alice, followup=with_plan(alice), **REVIEWED_UNCHANGED
        )

        response = login(alice).get(reverse("casework:case_detail", args=[fu.case_id]))

        row = re.search(
            rf'<li class="mb-2" data-followup="{fu.pk}">(.*?)</li>', response.content.decode(), re.S
        )
        assert row is not None
        assert "Safety plan reviewed, not changed" in row.group(1)


class TestTodayList:
    def row(self, response, fu):
        html = response.content.decode()
        match = re.search(
            rf'<li class="list-group-item followup-row" id="fu-{fu.pk}".*?</li>', html, re.S
        )
        assert match is not None
        return match.group(0)

    def post(self, client, fu, **data):
        return client.post(
            reverse("followups:attempt", args=[fu.pk]), data, headers={"HX-Request": "true"}
        )

    def test_a_row_that_asks_opens_the_questions_before_reached(self, login, alice):
        asking, plain = with_plan(alice), due_followup(make_case(alice))

        response = login(alice).get(TODAY_URL)

        row = self.row(response, asking)
        assert f'data-bs-target="#reached-{asking.pk}"' in row
        assert f'id="plan_reviewed-yes-{asking.pk}"' in row
        assert 'name="plan_changed" value="no"' in row
        assert 'name="plan_reviewed"' not in self.row(response, plain)

    def test_reached_with_the_answers_completes_it_and_offers_the_plan(self, login, alice):
        fu = with_plan(alice)

        response = self.post(
            login(alice), fu, outcome="reached", plan_reviewed="yes", plan_changed="yes"
        )

        assert response.status_code == 200
        assert (done(fu).status, done(fu).plan_changed) == (Status.COMPLETED, True)
        assert f'href="{edit_link(fu)}"' in response.content.decode().replace("&amp;", "&")

    def test_reached_without_them_keeps_the_card_open_with_what_was_chosen(self, login, alice):
        fu = with_plan(alice)

        response = self.post(login(alice), fu, outcome="reached", plan_reviewed="yes")

        html = response.content.decode()
        assert "Say whether the safety plan changed." in html
        assert f'id="reached-{fu.pk}"' in html and "collapse show" in html
        assert re.search(rf'value="yes" id="plan_reviewed-yes-{fu.pk}" checked', html)
        assert done(fu).status == Status.DUE
        assert not Attempt.objects.filter(followup=fu).exists()

    def test_queries_do_not_grow_with_rows_that_ask(
        self, login, alice, django_assert_max_num_queries
    ):
        client = login(alice)
        spi_call(make_case(alice))
        with_plan(alice)
        with django_assert_max_num_queries(9):
            first = len(
                re.findall(
                    r'name="plan_reviewed" value="yes"', client.get(TODAY_URL).content.decode()
                )
            )
        for _ in range(4):
            spi_call(make_case(alice))
            with_plan(alice)
        with django_assert_max_num_queries(9):
            html = client.get(TODAY_URL).content.decode()
        assert len(re.findall(r'name="plan_reviewed" value="yes"', html)) == first + 8

    def test_the_questions_read_in_spanish(self, login, alice):
        User.objects.filter(pk=alice.pk).update(language="es")
        fu = with_plan(alice)

        row = self.row(login(alice).get(TODAY_URL), fu)

        assert "¿Repasó el plan de seguridad con la persona?" in row
        assert "¿Cambió el plan de seguridad?" in row


class TestAPI:
    @pytest.fixture
    def api_as(self, api):
        def sign_in(user):
            api.force_authenticate(user)
            return api

        return sign_in

    def complete(self, api, fu, **data):
        return api.post(f"/api/v1/followups/{fu.pk}/complete/", data, format="json")

    def test_complete_takes_and_returns_the_answers(self, api_as, alice):
        fu = with_plan(alice)

        response = self.complete(api_as(alice), fu, plan_reviewed=True, plan_changed=False)

        assert response.status_code == 200, response.content
        body = response.json()
        assert (body["status"], body["plan_asked"]) == ("completed", True)
        assert (body["plan_reviewed"], body["plan_changed"]) == (True, False)
        assert (done(fu).plan_reviewed, done(fu).plan_changed) == (True, False)

    @pytest.mark.parametrize(
        ("data", "field"),
        [
            ({}, "plan_reviewed"),
            ({"plan_reviewed": True}, "plan_changed"),
            ({"plan_reviewed": False, "plan_changed": True}, "plan_changed"),
        ],
    )
    def test_missing_or_contradictory_answers_are_a_400_on_their_field(
        self, api_as, alice, data, field
    ):
        fu = with_plan(alice)

        response = self.complete(api_as(alice), fu, **data)

        assert response.status_code == 400
        assert response.json()[field]
        assert done(fu).status == Status.DUE

    def test_answers_to_a_followup_that_does_not_ask_are_a_400(self, api_as, alice):
        fu = due_followup(make_case(alice))

        response = self.complete(api_as(alice), fu, plan_reviewed=True, plan_changed=False)

        assert response.status_code == 400
        assert "does not ask about a safety plan" in response.json()["plan_reviewed"][0]
        ok = self.complete(api_as(alice), fu)
        assert ok.status_code == 200
        assert ok.json()["plan_asked"] is False
        assert ok.json()["plan_reviewed"] is None

    def test_a_non_boolean_answer_is_a_400(self, api_as, alice):
        response = self.complete(api_as(alice), with_plan(alice), plan_reviewed="maybe")

        assert response.status_code == 400
        assert response.json()["plan_reviewed"]

    def test_a_reached_attempt_takes_them(self, api_as, alice):
        fu = with_plan(alice)
        api = api_as(alice)

        refused = api.post(
            f"/api/v1/followups/{fu.pk}/attempts/", {"outcome": "reached"}, format="json"
        )
        assert refused.status_code == 400
        assert refused.json()["plan_reviewed"]
        response = api.post(
            f"/api/v1/followups/{fu.pk}/attempts/",
            {"outcome": "reached", "plan_reviewed": True, "plan_changed": True},
            format="json",
        )

        assert response.status_code == 201, response.content
        assert (response.json()["plan_reviewed"], response.json()["plan_changed"]) == (True, True)

    def test_the_list_says_which_ask_in_a_bounded_number_of_queries(
        self, api_as, alice, django_assert_max_num_queries
    ):
        api = api_as(alice)
        with_plan(alice)
        due_followup(make_case(alice))
        with django_assert_max_num_queries(8):
            first = api.get("/api/v1/followups/", {"assigned_to": "me"})
        for _ in range(4):
            with_plan(alice)
        with django_assert_max_num_queries(8):
            response = api.get("/api/v1/followups/", {"assigned_to": "me"})

        rows = response.json()["results"]
        assert len(rows) == len(first.json()["results"]) + 4
        assert sum(row["plan_asked"] for row in rows) == 5

    def test_the_schema_documents_them(self):
        schemas = SchemaGenerator().get_schema(request=None, public=True)["components"]["schemas"]
        complete = schemas["CompleteInputRequest"]["properties"]

        assert complete["plan_reviewed"]["type"] == "boolean"
        assert complete["plan_changed"].get("nullable") is True
        output = schemas["FollowUp"]["properties"]
        assert {"plan_asked", "plan_reviewed", "plan_changed"} <= set(output)
