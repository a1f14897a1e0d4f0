"""The contact a team records for a request it served (casework's New crisis contact with
?request=): opened pre-filled from the request's stamps, and linked to it once saved."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from audit.models import Action, AuditEvent
from cases.models import CallNature, Contact
from dispatch import services
from dispatch.models import RequestEvent, RequestEventKind, Step
from tests.casework.test_contact_form import EXISTING_CLIENT_ONLY, form_data, local

pytestmark = pytest.mark.django_db

NEW_URL = reverse("casework:contact_new")


@pytest.fixture
def served(request_at, on_shift, alice, frozen):
    """A request Van 1 (alice and bob) served: assigned, en route 4 min later, on scene 14
    min after that, back in service 40 min later."""
    request = request_at("assigned", source="lifeline_988", police_requested=True)
    frozen.shift(minutes=4)
    services.advance(unit=on_shift, actor=alice)
    frozen.shift(minutes=14)
    services.advance(unit=on_shift, actor=alice)
    frozen.shift(minutes=40)
    services.advance(unit=on_shift, actor=alice, to=Step.BACK_IN_SERVICE)
    request.refresh_from_db()
    return request


class TestPrefilled:
    def test_the_form_opens_with_the_stamps_and_the_crew(self, client, alice, bob, served):
        client.force_login(alice)
        form = client.get(NEW_URL, {"request": served.pk}).context["form"]

        assert form.initial["received_at"] == served.received_at
        assert form.initial["dispatched_at"] == served.dispatched_at
        assert form.initial["on_scene_at"] == served.on_scene_at
        assert form.initial["cleared_at"] == served.back_in_service_at
        assert (form.initial["source"], form.initial["location"]) == (
            "988",
            "Skinner Butte Park, by the playground",
        )
        assert form.initial["police_backup_requested"] is True
        assert sorted(form.initial["attended_by"]) == sorted([alice.pk, bob.pk])
        assert form.initial["team_request"] == served.pk

    def test_the_known_client_is_chosen(self, client, alice, request_at, alice_case, on_shift):
        request = request_at("completed", client=alice_case.client)
        client.force_login(alice)
        page = client.get(NEW_URL, {"request": request.pk})
        assert page.context["client_form"].initial["client"] == alice_case.client_id
        assert AuditEvent.objects.filter(
            actor=alice, action=Action.VIEW, object_type="teamrequest", object_id=str(request.pk)
        ).exists()

    def test_saving_links_the_contact_to_the_request(self, client, alice, served):
        client.force_login(alice)
        data = form_data(
            received_at=local(served.received_at),
            dispatched_at=local(served.dispatched_at),
            on_scene_at=local(served.on_scene_at),
            cleared_at=local(served.back_in_service_at),
            team_request=served.pk,
        )
        client.post(NEW_URL, data)

        contact = Contact.objects.get()
        served.refresh_from_db()
        assert served.contact == contact
        assert served.client_id == contact.client_id
        # The response time is the request's, to the minute the form keeps.
        assert contact.response_minutes == 18
        assert RequestEvent.objects.filter(
            request=served, kind=RequestEventKind.CONTACT_RECORDED
        ).exists()

    def test_a_second_contact_is_saved_but_not_linked(self, client, alice, served, alice_case):
        client.force_login(alice)
        before = set(Contact.objects.values_list("pk", flat=True))
        data = form_data(
            **EXISTING_CLIENT_ONLY,
            client=alice_case.client_id,
            team_request=served.pk,
            received_at=local(timezone.now() - datetime.timedelta(minutes=30)),
            dispatched_at=None,
            on_scene_at=None,
            cleared_at=None,
            call_nature=CallNature.objects.get(code="suicidal").pk,
        )
        first = client.post(NEW_URL, data)
        assert first.status_code == 302, first.context["form"].errors
        data["submission_id"] = "7d8d7a2e-8a0f-4a55-9d55-0d41d7e1e2aa"
        page = client.post(NEW_URL, data, follow=True)

        first, second = Contact.objects.exclude(pk__in=before).order_by("pk")
        assert "not linked to the request" in page.content.decode()
        served.refresh_from_db()
        assert served.contact == first != second

    def test_another_agencys_request_is_not_found(self, client, carol, served):
        client.force_login(carol)
        assert client.get(NEW_URL, {"request": served.pk}).status_code == 404
