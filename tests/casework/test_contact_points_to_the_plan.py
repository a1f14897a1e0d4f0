"""After a contact that gave safety planning, or a high-risk screen of a client with no
plan, the case page offers to write the plan with the client, linked to the contact."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from cases.models import Contact
from tests.casework.test_contact_form import (
    EXISTING_CLIENT_ONLY,
    HIGH_RISK_FORM,
    NEW_URL,
    form_data,
)
from tests.plans.factories import make_safety_plan

pytestmark = pytest.mark.django_db


def saved(browser, **overrides):
    response = browser.post(NEW_URL, form_data(**overrides))
    assert response.status_code == 302
    contact = Contact.objects.latest("pk")
    assert response.url == reverse("casework:case_detail", args=[contact.case_id])
    return contact, [str(m) for m in get_messages(response.wsgi_request)]


def plan_link(contact):
    url = reverse("plans:safety_plan_edit", args=[contact.case_id])
    return f'href="{url}?contact={contact.pk}"'


class TestThePlanAfterAContact:
    def test_safety_planning_given_offers_to_write_the_plan(self, client, alice):
        client.force_login(alice)
        contact, said = saved(client)
        assert any("Write the safety plan" in m and plan_link(contact) in m for m in said)

    def test_a_client_with_a_plan_is_offered_to_update_it(self, client, alice, alice_case):
        make_safety_plan(alice, alice_case)
        client.force_login(alice)
        contact, said = saved(client, client=alice_case.client_id, **EXISTING_CLIENT_ONLY)
        assert any("Update the safety plan" in m and plan_link(contact) in m for m in said)

    def test_a_high_risk_screen_without_a_plan_says_so(self, client, alice):
        client.force_login(alice)
        contact, said = saved(client, services_on_scene=[], **HIGH_RISK_FORM)
        assert any("no safety plan yet" in m and plan_link(contact) in m for m in said)

    def test_nothing_is_said_otherwise(self, client, alice):
        client.force_login(alice)
        _contact, said = saved(client, services_on_scene=[])
        assert not any("safety plan" in m.lower() for m in said)
