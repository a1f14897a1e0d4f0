"""The "New crisis contact" page: find-or-create the client, the contact, duplicate
suggestions, the C-SSRS screen, drafts."""

import datetime
import re
import uuid
import zoneinfo

import pytest
from django.urls import reverse
from django.utils import timezone

from audit.models import Action, AuditEvent
from cases import services
from cases.cssrs import RiskLevel
from cases.forms import ClientSectionForm
from cases.forms.clients import REMINDER_FIELDS
from cases.models import (
    CallNature,
    Case,
    CaseEventKind,
    Client,
    ClientIdentifier,
    Concern,
    Contact,
    ContactDraft,
    OnSceneService,
)
from cases.services import CLIENT_FIELDS
from tests.cases.factories import CaseFactory

NEW_URL = reverse("casework:contact_new")
SUGGEST_URL = reverse("casework:client_suggest")
DRAFT_URL = reverse("casework:contact_draft")
LOS_ANGELES = zoneinfo.ZoneInfo("America/Los_Angeles")


def local(moment):
    """A datetime as the agency's datetime-local inputs send it."""
    return timezone.localtime(moment, LOS_ANGELES).strftime("%Y-%m-%dT%H:%M")


def form_data(**overrides):
    """A complete, valid new-contact form for a new client, as a browser posts it."""
    received = timezone.now() - datetime.timedelta(hours=1)
    data = {
        "legal_name": "Morgan Ellis",
        "preferred_name": "Mo",
        "date_of_birth": "1985-06-30",
        "pronouns": "they/them",
        "preferred_language": "English",
        "phone": "(541) 555-0177",
        "where_to_find": "Under the Washington St bridge",
        "identifier_kind": "hmis",
        "identifier_value": "HM-4411",
        "source": "988",
        "received_at": local(received),
        "dispatched_at": local(received + datetime.timedelta(minutes=3)),
        "on_scene_at": local(received + datetime.timedelta(minutes=18)),
        "cleared_at": local(received + datetime.timedelta(minutes=70)),
        "call_nature": CallNature.objects.get(code="suicidal").pk,
        "location": "Washington St bridge",
        "others_present": "Sister",
        "presenting_concerns": [
            Concern.objects.get(code="mental-health").pk,
            Concern.objects.get(code="housing").pk,
        ],
        "services_on_scene": [OnSceneService.objects.get(code="safety-planning").pk],
        "disposition": "referred",
        "narrative": "Long conversation on the bridge; agreed to a safety plan.",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


# The high-risk screen as the form posts it.
HIGH_RISK_FORM = {
    "cssrs_performed": "on",
    "cssrs_wish_dead": "yes",
    "cssrs_suicidal_thoughts": "yes",
    "cssrs_method": "yes",
    "cssrs_intent": "yes",
    "cssrs_plan": "no",
    "cssrs_behavior": "no",
}
EXISTING_CLIENT_ONLY = {
    name: None
    for name in (
        "legal_name",
        "preferred_name",
        "date_of_birth",
        "pronouns",
        "preferred_language",
        "phone",
        "where_to_find",
        "identifier_kind",
        "identifier_value",
    )
}


@pytest.fixture
def as_alice(client, alice):
    client.force_login(alice)
    return client


class TestNewContactPage:
    def test_it_offers_the_form_with_received_now_and_me_attending(self, as_alice, alice):
        response = as_alice.get(NEW_URL)
        assert response.status_code == 200
        form = response.context["form"]
        assert form["attended_by"].value() == [alice.pk]
        page = response.content.decode()
        shown = re.search(r'type="datetime-local" name="received_at" value="([^"]+)"', page)
        received = datetime.datetime.fromisoformat(shown[1]).replace(tzinfo=LOS_ANGELES)
        assert abs(received - timezone.now()) < datetime.timedelta(minutes=2)
        assert "In the past month, have you wished you were dead" in page

    @pytest.mark.parametrize("persona", ["dana", "root"])
    def test_people_without_a_caseload_cannot_record(self, db, client, persona, request):
        client.force_login(request.getfixturevalue(persona))
        assert client.get(NEW_URL).status_code == 403
        assert client.post(NEW_URL, form_data()).status_code == 403
        assert not Contact.objects.exists()

    def test_a_refusal_by_role_is_audited(self, client, dana):
        client.force_login(dana)

        assert client.post(NEW_URL, form_data()).status_code == 403

        denied = AuditEvent.objects.get(actor=dana, action=Action.DENIED)
        assert (denied.object_type, denied.detail) == ("contact_new", {"reason": "role"})
        assert denied.agency_id == dana.agency_id

    def test_each_page_gets_its_own_one_time_id(self, as_alice):
        first = as_alice.get(NEW_URL).context["form"]["submission_id"].value()
        second = as_alice.get(NEW_URL).context["form"]["submission_id"].value()
        assert uuid.UUID(str(first)) != uuid.UUID(str(second))
        page = as_alice.get(NEW_URL)
        shown = page.context["form"]["submission_id"].value()
        assert f'name="submission_id" value="{shown}"' in page.content.decode()

    def test_login_is_required(self, client, db):
        response = client.get(NEW_URL)
        assert response.status_code == 302
        assert response.url.startswith(reverse("login"))


class TestRecordingForANewClient:
    def test_it_creates_the_client_case_and_contact(self, as_alice, alice):
        response = as_alice.post(NEW_URL, form_data(**HIGH_RISK_FORM), follow=True)

        contact = Contact.objects.get()
        client = contact.client
        case = contact.case
        assert response.redirect_chain == [(reverse("casework:case_detail", args=[case.pk]), 302)]
        assert "Contact saved" in response.content.decode()
        assert (client.legal_name, client.preferred_name, client.agency) == (
            "Morgan Ellis",
            "Mo",
            alice.agency,
        )
        assert client.date_of_birth == datetime.date(1985, 6, 30)
        assert list(client.identifiers.values_list("kind", "value")) == [("hmis", "HM-4411")]
        assert (case.assigned_worker, case.team, case.risk_level) == (
            alice,
            alice.team,
            RiskLevel.HIGH,
        )
        assert contact.risk_level == RiskLevel.HIGH
        assert contact.cssrs_method is True and contact.cssrs_plan is False
        assert contact.cssrs_behavior_recent is None
        assert list(contact.attended_by.all()) == [alice]
        assert {c.code for c in case.presenting_concerns.all()} == {"mental-health", "housing"}
        assert contact.response_minutes == 18
        assert AuditEvent.objects.filter(
            actor=alice, action=Action.CREATE, object_type="contact", object_id=str(contact.pk)
        ).exists()

    def test_times_are_read_in_the_agency_time_zone(self, as_alice, time_machine):
        # Four days later (19 Jan 19:00 in Los Angeles): not a late entry.
        time_machine.move_to(datetime.datetime(2024, 1, 20, 3, tzinfo=datetime.UTC), tick=False)
        as_alice.post(
            NEW_URL,
            form_data(
                received_at="2024-01-15T09:30",
                dispatched_at=None,
                on_scene_at=None,
                cleared_at=None,
            ),
        )
        received = Contact.objects.get().received_at
        # 09:30 in Los Angeles in January is 17:30 UTC.
        assert received == datetime.datetime(2024, 1, 15, 17, 30, tzinfo=datetime.UTC)

    def test_an_estimated_age_stands_in_for_an_unknown_date_of_birth(self, as_alice):
        as_alice.post(NEW_URL, form_data(date_of_birth="", estimated_age="40"))
        client = Client.objects.get()
        assert client.date_of_birth is None
        assert client.estimated_age == 40
        assert client.age_is_estimated


class TestRecordingForAnExistingClient:
    def test_it_adds_to_the_clients_open_case(self, as_alice, alice_case):
        data = form_data(client=alice_case.client_id, **EXISTING_CLIENT_ONLY)
        response = as_alice.post(NEW_URL, data)

        assert response.status_code == 302
        assert response.url == reverse("casework:case_detail", args=[alice_case.pk])
        assert alice_case.contacts.count() == 2
        assert Client.objects.count() == 1

    def test_new_client_fields_are_ignored_once_a_client_is_chosen(self, as_alice, alice_case):
        data = form_data(client=alice_case.client_id, legal_name="", date_of_birth="")
        assert as_alice.post(NEW_URL, data).status_code == 302
        assert Client.objects.count() == 1

    def test_a_client_outside_my_scope_is_refused_with_the_way_to_emergency_access(
        self, as_alice, alice, erin_case
    ):
        response = as_alice.post(
            NEW_URL, form_data(client=erin_case.client_id, **EXISTING_CLIENT_ONLY)
        )

        assert response.status_code == 200
        emergency = reverse("casework:emergency_access", args=[erin_case.pk])
        link = f'<a href="{emergency}" class="alert-link">Emergency access</a>'
        assert response.context["client_form"].errors["client"] == [
            f"This client is outside your caseload. {link}"
        ]
        page = response.content.decode()
        assert link in page
        # Not even the client's name is shown, and the choice is not kept.
        assert response.context["chosen_client"] is None
        assert "Erin Client" not in page
        assert 'name="client" value=""' in page
        assert erin_case.contacts.count() == 1
        assert not Contact.objects.filter(recorded_by=alice).exists()
        assert Client.objects.count() == 1
        denied = AuditEvent.objects.get(actor=alice, action=Action.DENIED)
        assert (denied.object_type, denied.object_id) == ("client", str(erin_case.client_id))

    def test_after_emergency_access_the_same_post_lands_on_their_open_case(
        self, as_alice, alice, erin, erin_case
    ):
        data = form_data(client=erin_case.client_id, **EXISTING_CLIENT_ONLY)
        assert as_alice.post(NEW_URL, data).status_code == 200
        services.grant_emergency_access(
            actor=alice, case=erin_case, reason="Client on scene, in crisis, needs history"
        )

        response = as_alice.post(NEW_URL, data)

        assert response.status_code == 302
        assert response.url == reverse("casework:case_detail", args=[erin_case.pk])
        assert erin_case.contacts.filter(recorded_by=alice).count() == 1
        erin_case.refresh_from_db()
        assert erin_case.assigned_worker == erin
        assert Case.objects.count() == 1

    def test_a_visible_client_whose_open_case_is_outside_my_scope_needs_emergency_access(
        self, as_alice, alice, erin, alice_case
    ):
        # Alice knows the client from her closed case; their new case is on erin's team.
        services.close_case(actor=alice, case=alice_case, reason="stabilised")
        open_case = CaseFactory(client=alice_case.client, assigned_worker=erin)

        response = as_alice.post(
            NEW_URL, form_data(client=alice_case.client_id, **EXISTING_CLIENT_ONLY)
        )

        assert response.status_code == 200
        errors = response.context["client_form"].errors["client"]
        emergency = reverse("casework:emergency_access", args=[open_case.pk])
        # The service's message, escaped; the link, not.
        message = "This client&#x27;s open case is outside your caseload"
        link = f'<a href="{emergency}" class="alert-link">Emergency access</a>'
        assert errors[0].startswith(message)
        assert errors[0].endswith(link)
        assert link in response.content.decode()
        assert not open_case.contacts.exists()
        assert alice_case.contacts.count() == 1

    def test_another_agencys_client_cannot_be_chosen(self, as_alice, carol_case):
        response = as_alice.post(NEW_URL, form_data(client=carol_case.client_id))

        assert response.status_code == 200
        assert "That client was not found" in response.content.decode()
        assert carol_case.contacts.count() == 1
        assert not Contact.objects.filter(recorded_by__username="alice").exists()

    def test_client_parameter_preselects_the_client(self, as_alice, alice_case):
        response = as_alice.get(NEW_URL, {"client": alice_case.client_id})

        assert response.status_code == 200
        assert response.context["chosen_client"] == alice_case.client
        page = response.content.decode()
        assert f'name="client" value="{alice_case.client_id}"' in page
        assert "Alice Client" in page

    def test_client_parameter_for_an_invisible_client_is_404(
        self, as_alice, alice, erin_case, carol_case
    ):
        for case in (erin_case, carol_case):
            assert as_alice.get(NEW_URL, {"client": case.client_id}).status_code == 404
        denied = AuditEvent.objects.filter(actor=alice, action=Action.DENIED, object_type="client")
        assert set(denied.values_list("object_id", flat=True)) == {
            str(erin_case.client_id),
            str(carol_case.client_id),
        }


class TestDuplicateGuard:
    def test_a_likely_existing_client_must_be_chosen_or_confirmed_new(self, as_alice, alice_case):
        # Same date of birth as "Alice Client", similar name.
        data = form_data(
            legal_name="Alice Cliente",
            preferred_name="",
            date_of_birth="1990-04-12",
            phone="",
            identifier_value="",
            identifier_kind="",
        )
        response = as_alice.post(NEW_URL, data)

        page = response.content.decode()
        assert response.status_code == 200
        assert "This may be an existing client" in page
        assert "Use this client" in page
        assert f'data-use-client="{alice_case.client_id}"' in page
        assert Client.objects.count() == 1

        response = as_alice.post(NEW_URL, {**data, "confirm_new": "on"})

        assert response.status_code == 302
        assert Client.objects.filter(legal_name="Alice Cliente").exists()

    def test_the_same_phone_is_a_likely_duplicate(self, as_alice, alice_case):
        data = form_data(phone="541 555 0100", identifier_value="", identifier_kind="")
        response = as_alice.post(NEW_URL, data)
        assert "This may be an existing client" in response.content.decode()
        assert not Contact.objects.filter(client__legal_name="Morgan Ellis").exists()

    def test_a_taken_identifier_is_refused_even_when_confirmed_new(self, as_alice, alice_case):
        ClientIdentifier.objects.create(
            agency=alice_case.agency, client=alice_case.client, kind="hmis", value="HM-4411"
        )
        response = as_alice.post(NEW_URL, form_data(confirm_new="on"))
        assert "This identifier already belongs to a client" in response.content.decode()
        assert Client.objects.count() == 1


class TestValidationKeepsWhatWasTyped:
    def test_errors_are_shown_and_every_value_is_kept(self, as_alice):
        narrative = "A long note typed on the kerb. " * 20
        data = form_data(
            disposition="",
            cleared_at="2020-01-01T00:00",
            narrative=narrative,
            legal_name="Riley Quinn",
            location="Bus shelter on 7th",
        )
        response = as_alice.post(NEW_URL, data)

        assert response.status_code == 200
        assert not Contact.objects.exists()
        assert not Client.objects.exists()
        form = response.context["form"]
        assert "disposition" in form.errors
        assert form.errors["cleared_at"] == ["The cleared time is before the received time."]
        page = response.content.decode()
        assert "Nothing was saved yet" in page
        assert narrative.strip() in page
        assert 'value="Riley Quinn"' in page
        assert 'value="Bus shelter on 7th"' in page
        assert 'value="HM-4411"' in page
        concern = Concern.objects.get(code="housing")
        assert f'value="{concern.pk}"' in page
        assert response.context["form"]["presenting_concerns"].value() == [
            str(pk) for pk in data["presenting_concerns"]
        ]

    def test_a_chosen_client_stays_chosen(self, as_alice, alice_case):
        response = as_alice.post(
            NEW_URL, form_data(client=alice_case.client_id, disposition="", **EXISTING_CLIENT_ONLY)
        )
        assert response.context["chosen_client"] == alice_case.client
        assert f'name="client" value="{alice_case.client_id}"' in response.content.decode()

    def test_a_new_client_needs_a_name_but_not_an_age(self, as_alice):
        response = as_alice.post(NEW_URL, form_data(legal_name="", date_of_birth=""))
        errors = response.context["client_form"].errors
        assert "legal_name" in errors
        assert "estimated_age" not in errors
        assert "date_of_birth" not in errors

    def test_every_later_call_time_given_must_not_be_earlier(self, as_alice):
        received = timezone.now() - datetime.timedelta(hours=1)
        response = as_alice.post(
            NEW_URL,
            form_data(
                dispatched_at=local(received + datetime.timedelta(minutes=20)),
                on_scene_at=local(received + datetime.timedelta(minutes=10)),
                cleared_at=None,
            ),
        )
        errors = response.context["form"].errors
        assert errors["on_scene_at"] == ["The on scene time is before the dispatched time."]
        assert "dispatched_at" not in errors
        assert not Contact.objects.exists()

    def test_a_future_call_time_is_refused(self, as_alice):
        future = local(timezone.now() + datetime.timedelta(hours=3))
        response = as_alice.post(
            NEW_URL,
            form_data(received_at=future, dispatched_at=None, on_scene_at=None, cleared_at=None),
        )
        assert response.context["form"].errors["received_at"] == [
            "The call cannot be received in the future."
        ]

    def test_garbage_is_a_form_error_not_a_crash(self, as_alice):
        response = as_alice.post(
            NEW_URL,
            form_data(
                received_at="yesterday-ish",
                call_nature="999999",
                source="carrier pigeon",
                cssrs_wish_dead="maybe",
                attended_by=["x"],
                date_of_birth="1990-13-45",
                client="abc",
            ),
        )
        assert response.status_code == 200
        form, client_form = response.context["form"], response.context["client_form"]
        assert {"received_at", "call_nature", "source", "cssrs_wish_dead", "attended_by"} <= set(
            form.errors
        )
        assert {"date_of_birth", "client"} <= set(client_form.errors)


class TestDoubleSubmit:
    def test_the_same_page_sent_twice_records_one_contact(self, as_alice):
        submission_id = as_alice.get(NEW_URL).context["form"]["submission_id"].value()
        data = form_data(submission_id=str(submission_id))

        first = as_alice.post(NEW_URL, data)
        second = as_alice.post(NEW_URL, data)

        case = Case.objects.get()
        assert first.status_code == second.status_code == 302
        assert first.url == second.url == reverse("casework:case_detail", args=[case.pk])
        assert (Client.objects.count(), Case.objects.count(), Contact.objects.count()) == (1, 1, 1)
        assert Contact.objects.get().submission_id == uuid.UUID(str(submission_id))

    def test_the_one_time_id_is_kept_when_the_form_comes_back_with_errors(self, as_alice):
        submission_id = str(uuid.uuid4())
        response = as_alice.post(NEW_URL, form_data(disposition="", submission_id=submission_id))

        assert response.status_code == 200
        assert f'name="submission_id" value="{submission_id}"' in response.content.decode()
        response = as_alice.post(NEW_URL, form_data(submission_id=submission_id))
        assert response.status_code == 302
        assert Contact.objects.get().submission_id == uuid.UUID(submission_id)

    def test_another_workers_page_with_the_same_id_is_not_mine(self, client, as_alice, bob):
        submission_id = str(uuid.uuid4())
        as_alice.post(NEW_URL, form_data(submission_id=submission_id))
        client.force_login(bob)
        data = form_data(
            submission_id=submission_id,
            legal_name="Robin Vale",
            preferred_name="",
            date_of_birth="1970-01-01",
            phone="",
            identifier_kind="",
            identifier_value="",
        )
        assert client.post(NEW_URL, data).status_code == 302
        assert Contact.objects.count() == 2

    def test_a_damaged_id_is_a_form_error(self, as_alice):
        response = as_alice.post(NEW_URL, form_data(submission_id="not-a-uuid"))
        assert response.status_code == 200
        assert "This form is damaged" in response.content.decode()
        assert not Contact.objects.exists()


class TestSuicideRiskScreen:
    def test_skip_logic_errors_are_shown_on_the_questions(self, as_alice):
        data = form_data(
            cssrs_performed="on",
            cssrs_wish_dead="yes",
            cssrs_suicidal_thoughts="no",
            cssrs_method="yes",
            cssrs_behavior="yes",
        )
        response = as_alice.post(NEW_URL, data)

        errors = response.context["form"].errors
        assert errors["cssrs_method"] == ["Skipped when question 2 is no: leave it blank."]
        assert errors["cssrs_behavior_recent"] == ["Asked when question 6 is yes."]
        page = response.content.decode()
        assert 'id="error_cssrs_method"' in page
        assert not Contact.objects.exists()

    def test_question_2_yes_requires_questions_3_to_5(self, as_alice):
        data = form_data(
            cssrs_performed="on",
            cssrs_wish_dead="yes",
            cssrs_suicidal_thoughts="yes",
            cssrs_behavior="no",
        )
        errors = as_alice.post(NEW_URL, data).context["form"].errors
        assert errors["cssrs_intent"] == ["Asked when question 2 is yes."]

    def test_answers_need_the_screen_done_toggle(self, as_alice):
        errors = as_alice.post(NEW_URL, form_data(cssrs_wish_dead="no")).context["form"].errors
        assert errors["cssrs_performed"] == ["Tick 'screen done' to record answers."]

    def test_a_low_risk_screen_updates_the_case(self, as_alice):
        data = form_data(
            cssrs_performed="on",
            cssrs_wish_dead="yes",
            cssrs_suicidal_thoughts="no",
            cssrs_behavior="no",
        )
        as_alice.post(NEW_URL, data)
        case = Case.objects.get()
        assert case.risk_level == RiskLevel.LOW
        assert case.events.filter(kind=CaseEventKind.RISK_CHANGED).exists()

    def test_no_screen_leaves_the_risk_not_screened(self, as_alice):
        as_alice.post(NEW_URL, form_data())
        assert Case.objects.get().risk_level == RiskLevel.NOT_SCREENED


class TestDuplicateSuggestions:
    def test_it_lists_likely_clients_of_the_agency_with_minimal_identity(
        self, as_alice, alice, erin_case, carol_case
    ):
        # Erin's client (outside alice's scope) and Carol's (another agency) share the DOB;
        # "Clent" sounds like "Client", word for word.
        response = as_alice.get(
            SUGGEST_URL,
            {"legal_name": "Erin Clent", "date_of_birth": "1990-04-12", "phone": ""},
        )

        page = response.content.decode()
        assert response.status_code == 200
        assert "Erin Client" in page
        assert "Carol Client" not in page
        assert "Same name and date of birth" in page
        # Outside the caseload: no birth date or phone beyond what was typed.
        assert "Born" not in page and "0300" not in page
        event = AuditEvent.objects.get(
            actor=alice, action=Action.SEARCH, detail__purpose="duplicate suggestions"
        )
        assert event.detail["ids"] == [erin_case.client_id]
        assert event.detail["outside_scope_ids"] == [erin_case.client_id]

    def test_a_client_outside_my_caseload_is_offered_emergency_access_not_use(
        self, as_alice, alice_case, erin_case
    ):
        page = as_alice.get(
            SUGGEST_URL, {"legal_name": "Erin Client", "date_of_birth": "1990-04-12"}
        ).content.decode()

        assert f'data-use-client="{alice_case.client_id}"' in page
        assert f'data-use-client="{erin_case.client_id}"' not in page
        erin_row = page[page.index("Erin Client") :]
        assert "Outside your caseload" in erin_row
        emergency = reverse("casework:emergency_access", args=[erin_case.pk])
        assert f'href="{emergency}">Emergency access</a>' in erin_row
        alice_row = page[page.index("Alice Client") : page.index("Erin Client")]
        assert "Outside your caseload" not in alice_row

    def test_the_link_opens_the_open_case_else_the_latest(self, as_alice, erin, erin_case):
        services.close_case(actor=erin, case=erin_case, reason="stabilised")
        later = CaseFactory(client=erin_case.client, assigned_worker=erin)
        services.close_case(actor=erin, case=later, reason="stabilised")
        query = {"legal_name": "Erin Client", "date_of_birth": "1990-04-12"}

        page = as_alice.get(SUGGEST_URL, query).content.decode()
        assert reverse("casework:emergency_access", args=[later.pk]) in page

        # An open case wins over a more recently opened closed one.
        open_case = CaseFactory(client=erin_case.client, assigned_worker=erin)
        Case.objects.filter(pk=open_case.pk).update(
            opened_at=later.opened_at - datetime.timedelta(days=9)
        )
        page = as_alice.get(SUGGEST_URL, query).content.decode()
        assert reverse("casework:emergency_access", args=[open_case.pk]) in page
        assert reverse("casework:emergency_access", args=[later.pk]) not in page

    def test_by_identifier(self, as_alice, alice_case):
        ClientIdentifier.objects.create(
            agency=alice_case.agency, client=alice_case.client, kind="county", value="C-9"
        )
        page = as_alice.get(
            SUGGEST_URL, {"identifier_kind": "county", "identifier_value": "c-9"}
        ).content.decode()
        assert "Alice Client" in page
        assert "Same identifier" in page

    def test_nothing_typed_looks_nothing_up(self, as_alice, alice):
        response = as_alice.get(SUGGEST_URL, {"legal_name": "", "date_of_birth": "19"})
        assert response.status_code == 200
        assert "Use this client" not in response.content.decode()
        assert not AuditEvent.objects.filter(actor=alice, action=Action.SEARCH).exists()

    def test_only_workers_may_ask(self, client, dana, alice_case):
        client.force_login(dana)
        assert client.get(SUGGEST_URL, {"date_of_birth": "1990-04-12"}).status_code == 403


class TestDrafts:
    def test_autosave_keeps_the_form_and_the_page_restores_it(self, as_alice, alice):
        narrative = "Half-written note about the call"
        response = as_alice.post(
            DRAFT_URL,
            {
                "legal_name": "Sky Draft",
                "narrative": narrative,
                "presenting_concerns": [Concern.objects.get(code="medical").pk],
                "cssrs_performed": "on",
                "cssrs_wish_dead": "yes",
                "csrfmiddlewaretoken": "ignored",
                "not_a_field": "ignored",
            },
            headers={"HX-Request": "true"},
        )
        assert response.status_code == 200
        assert "Draft saved" in response.content.decode()
        draft = ContactDraft.objects.get(user=alice)
        assert draft.data["narrative"] == [narrative]
        assert "not_a_field" not in draft.data
        assert "csrfmiddlewaretoken" not in draft.data

        response = as_alice.get(NEW_URL)

        page = response.content.decode()
        assert "Restored your unsaved draft from" in page
        assert "Discard draft" in page
        assert narrative in page
        assert 'value="Sky Draft"' in page
        form = response.context["form"]
        assert form["presenting_concerns"].value() == [str(Concern.objects.get(code="medical").pk)]
        assert form["cssrs_wish_dead"].value() == "yes"

    def test_saving_the_contact_deletes_the_draft(self, as_alice, alice):
        as_alice.post(DRAFT_URL, {"narrative": "draft"})
        as_alice.post(NEW_URL, form_data())
        assert not ContactDraft.objects.filter(user=alice).exists()
        assert "Restored your unsaved draft" not in as_alice.get(NEW_URL).content.decode()

    def test_a_failed_save_keeps_the_draft(self, as_alice, alice):
        as_alice.post(DRAFT_URL, {"narrative": "draft"})
        as_alice.post(NEW_URL, form_data(disposition=""))
        assert ContactDraft.objects.filter(user=alice).exists()

    def test_discard(self, as_alice, alice):
        as_alice.post(DRAFT_URL, {"narrative": "draft"})
        response = as_alice.post(DRAFT_URL, {"discard": "1"})
        assert response.status_code == 302
        assert response.url == NEW_URL
        assert not ContactDraft.objects.filter(user=alice).exists()

    def test_an_oversized_draft_is_refused(self, as_alice, alice):
        response = as_alice.post(DRAFT_URL, {"narrative": "x" * 200_000})
        assert response.status_code == 400
        assert not ContactDraft.objects.filter(user=alice).exists()

    def test_drafts_are_per_user(self, client, as_alice, bob):
        as_alice.post(DRAFT_URL, {"narrative": "alice's note"})
        client.force_login(bob)
        assert "alice&#x27;s note" not in client.get(NEW_URL).content.decode()

    def test_a_draft_client_i_can_no_longer_see_is_left_out(self, as_alice, erin_case):
        as_alice.post(DRAFT_URL, {"client": erin_case.client_id, "narrative": "Kept note"})

        response = as_alice.get(NEW_URL)

        assert response.status_code == 200
        assert response.context["chosen_client"] is None
        page = response.content.decode()
        assert "Kept note" in page
        assert 'name="client" value=""' in page
        assert "Erin Client" not in page

    def test_a_nul_in_a_value_is_dropped_not_a_crash(self, as_alice, alice):
        response = as_alice.post(DRAFT_URL, {"narrative": "before\x00after", "legal_name": "\x00"})

        assert response.status_code == 200
        assert ContactDraft.objects.get(user=alice).data["narrative"] == ["beforeafter"]
        assert "beforeafter" in as_alice.get(NEW_URL).content.decode()

    def test_the_draft_keeps_the_pages_one_time_id(self, as_alice):
        submission_id = str(uuid.uuid4())
        as_alice.post(DRAFT_URL, {"narrative": "draft", "submission_id": submission_id})
        form = as_alice.get(NEW_URL).context["form"]
        assert str(form["submission_id"].value()) == submission_id

    def test_a_draft_with_a_used_one_time_id_gets_a_new_one(self, as_alice, alice):
        data = form_data(submission_id=str(uuid.uuid4()))
        as_alice.post(NEW_URL, data)
        # A late autosave of the page just saved.
        as_alice.post(DRAFT_URL, {"narrative": "next call", "submission_id": data["submission_id"]})

        form = as_alice.get(NEW_URL).context["form"]

        assert str(form["submission_id"].value()) != data["submission_id"]
        assert uuid.UUID(str(form["submission_id"].value()))

    def test_the_draft_endpoint_takes_only_post(self, as_alice):
        assert as_alice.get(DRAFT_URL).status_code == 405


class TestClientSectionForm:
    def test_it_hands_the_service_every_client_field(self):
        # How the client wants reminders is asked on the client's page, not in the
        # middle of a crisis contact.
        asked_later = set(REMINDER_FIELDS)
        assert set(CLIENT_FIELDS) - asked_later <= set(ClientSectionForm.base_fields)
        assert not asked_later & set(ClientSectionForm.base_fields)


# Saturday 5 December 2026, 19:00 in Los Angeles; already Sunday 6 December in UTC.
LATE_NOW = datetime.datetime(2026, 12, 6, 3, tzinfo=datetime.UTC)


def call_at(received_at, **overrides):
    return form_data(
        received_at=received_at, dispatched_at=None, on_scene_at=None, cleared_at=None, **overrides
    )


class TestLateEntries:
    """A call received more than 30 days before the agency's today needs an explicit
    "Yes, this is a late entry"; more than 2 years back is refused. Days are the
    agency's: today is 5 December in Los Angeles (6 December in UTC)."""

    @pytest.fixture(autouse=True)
    def _now(self, time_machine):
        time_machine.move_to(LATE_NOW, tick=False)

    def test_thirty_days_ago_in_the_agencys_calendar_needs_no_confirmation(self, as_alice):
        # 5 Nov 10:00 in Los Angeles is 30 days before 5 Dec (31 by UTC dates).
        response = as_alice.post(NEW_URL, call_at("2026-11-05T10:00"))
        assert response.status_code == 302
        assert Contact.objects.count() == 1

    def test_thirty_one_days_ago_asks_for_the_confirmation_naming_the_day(self, as_alice):
        # 4 Nov 20:00 in Los Angeles is already 5 Nov in UTC: the message names 4 Nov.
        response = as_alice.post(NEW_URL, call_at("2026-11-04T20:00"))
        assert response.status_code == 200
        assert not Contact.objects.exists()
        errors = response.context["form"].errors["received_at"]
        assert errors == [
            "The call was received on Wed 4 Nov 2026, Los Angeles time, "
            '31 days before today. If that is right, tick "Yes, this is a late entry" '
            "below the times."
        ]
        assert 'name="late_entry"' in response.content.decode()

    def test_the_confirmation_is_not_offered_before_it_is_needed(self, as_alice):
        assert 'name="late_entry"' not in as_alice.get(NEW_URL).content.decode()

    def test_a_confirmed_late_entry_is_recorded(self, as_alice):
        response = as_alice.post(NEW_URL, call_at("2026-11-04T20:00", late_entry="on"))
        assert response.status_code == 302
        received = Contact.objects.get().received_at
        assert received == datetime.datetime(2026, 11, 5, 4, tzinfo=datetime.UTC)

    @pytest.mark.parametrize("confirmed", [{}, {"late_entry": "on"}])
    def test_a_call_years_ago_is_refused_even_when_confirmed(self, as_alice, confirmed):
        response = as_alice.post(NEW_URL, call_at("1999-03-01T10:00", **confirmed))
        assert response.status_code == 200
        assert not Contact.objects.exists()
        assert response.context["form"].errors["received_at"] == [
            "The call would have been received on Mon 1 Mar 1999, Los Angeles time, "
            "more than 2 years ago: check the year."
        ]
        if not confirmed:  # a confirmation would not help: it is not offered
            assert 'name="late_entry"' not in response.content.decode()

    def test_an_amendment_cannot_move_the_call_years_back(self, as_alice, alice_case):
        contact = alice_case.contacts.get()
        url = reverse("cases:contact_amend", args=[contact.pk])
        form = as_alice.get(url).context["form"]
        data = {}
        for name in form.fields:
            value = form[name].value()
            if hasattr(value, "strftime"):
                value = value.strftime("%Y-%m-%dT%H:%M")
            if value not in (None, False):
                data[name] = "on" if value is True else value
        data.update({"received_at": "1999-03-01T10:00", "reason": "Typed the wrong date"})
        response = as_alice.post(url, data)
        assert response.status_code == 200
        assert response.context["form"].errors["received_at"] == [
            "The call would have been received on Mon 1 Mar 1999, Los Angeles time, "
            "more than 2 years ago: check the year."
        ]
        contact.refresh_from_db()
        assert contact.amendment_count == 0
