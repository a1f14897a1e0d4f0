"""Unidentified persons, and a likely match answered before a new person is created
(contact form, client form, API)."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from cases import services
from cases.models import Client, Contact
from tests.cases.test_api import contact_body
from tests.casework.test_contact_form import form_data

NEW_URL = reverse("casework:contact_new")
NOW = datetime.datetime(2026, 12, 6, 3, 0, tzinfo=datetime.UTC)
UNNAMED = {
    "legal_name": "",
    "preferred_name": "",
    "date_of_birth": "",
    "estimated_age": "",
    "phone": "",
    "pronouns": "",
    "preferred_language": "",
    "identifier_kind": "",
    "identifier_value": "",
}


@pytest.fixture
def marcus(alice, record_contact_for, time_machine):
    time_machine.move_to(NOW, tick=False)
    contact = record_contact_for(
        alice,
        new_client_data={"legal_name": "Marcus Bell", "estimated_age": 39, "phone": ""},
    )
    return contact.client


class TestUnidentifiedPerson:
    def test_the_service_records_one_by_description(self, alice):
        client = services.create_client(
            actor=alice,
            data={"is_unidentified": True, "description": "man, about 40, red jacket"},
        )
        assert client.legal_name == ""
        assert client.display_name == "Unidentified person: man, about 40, red jacket"

    def test_a_description_is_needed_and_a_name_otherwise(self, alice):
        with pytest.raises(ValidationError) as raised:
            services.create_client(actor=alice, data={"is_unidentified": True})
        assert "description" in raised.value.message_dict
        with pytest.raises(ValidationError) as raised:
            services.create_client(actor=alice, data={"description": "man"})
        assert "legal_name" in raised.value.message_dict

    def test_unable_to_locate_needs_no_made_up_name_or_age(self, client, alice, marcus):
        client.force_login(alice)
        data = form_data(
            **UNNAMED,
            is_unidentified="on",
            description="man, about 40, red jacket, near the bridge",
            disposition="unable_to_locate",
        )
        response = client.post(NEW_URL, data)
        assert response.status_code == 302
        person = Contact.objects.get(disposition="unable_to_locate").client
        assert person.is_unidentified
        assert person.estimated_age is None and person.date_of_birth is None

    def test_the_form_asks_for_a_description(self, client, alice):
        client.force_login(alice)
        response = client.post(NEW_URL, form_data(**UNNAMED, is_unidentified="on"))
        assert "Describe the unidentified person" in response.content.decode()
        assert not Client.objects.exists()

    def test_identified_later_by_editing(self, client, alice, record_contact_for):
        person = record_contact_for(
            alice, new_client_data={"is_unidentified": True, "description": "woman, red coat"}
        ).client
        client.force_login(alice)
        url = reverse("cases:client_edit", args=[person.pk])
        data = {"legal_name": "Dana Ruiz", "estimated_age": "30", "description": "red coat"}
        assert client.post(url, data).status_code == 302
        person.refresh_from_db()
        assert (person.is_unidentified, person.display_name) == (False, "Dana Ruiz")
        assert person.name_phonetic.strip()

    def test_identifying_as_a_known_client_asks_first(
        self, client, alice, marcus, record_contact_for
    ):
        person = record_contact_for(
            alice, new_client_data={"is_unidentified": True, "description": "man, 40s"}
        ).client
        client.force_login(alice)
        url = reverse("cases:client_edit", args=[person.pk])
        data = {"legal_name": "Marcus Bel", "estimated_age": "40"}
        page = client.post(url, data).content.decode()
        assert "This may be an existing client: Marcus Bell" in page
        assert "ask an agency admin to merge" in page
        person.refresh_from_db()
        assert person.is_unidentified

        assert client.post(url, {**data, "confirm_distinct": "on"}).status_code == 302

    def test_the_api_records_one(self, api, alice):
        api.force_login(alice)
        response = api.post(
            "/api/v1/clients/",
            {"is_unidentified": True, "description": "man, about 40"},
            format="json",
        )
        assert response.status_code == 201, response.json()
        assert response.json()["display_name"] == "Unidentified person: man, about 40"
        response = api.post("/api/v1/clients/", {"description": "man"}, format="json")
        assert response.status_code == 400
        assert "legal_name" in response.json()


class TestLikelyMatchMustBeAnswered:
    def test_the_contact_form_refuses_a_second_marcus_bell(self, client, alice, marcus):
        client.force_login(alice)
        data = form_data(
            **{**UNNAMED, "legal_name": "Marcus Bel", "estimated_age": "39"},
        )
        page = client.post(NEW_URL, data).content.decode()
        assert "This may be an existing client: Marcus Bell" in page
        assert Client.objects.count() == 1

        assert client.post(NEW_URL, {**data, "confirm_new": "on"}).status_code == 302
        assert Client.objects.count() == 2

    @pytest.mark.parametrize("typed", ["Marcus Bel", "Marcos Bell", "Marcus", "Bell"])
    def test_suggestions_while_typing(self, client, alice, marcus, typed):
        client.force_login(alice)
        page = client.get(
            reverse("casework:client_suggest"), {"legal_name": typed}
        ).content.decode()
        assert f'data-use-client="{marcus.pk}"' in page

    def test_the_api_answers_400_naming_the_match(self, api, alice, marcus):
        api.force_login(alice)
        body = {"legal_name": "Marcus Bel", "estimated_age": 39}
        response = api.post("/api/v1/clients/", body, format="json")
        assert response.status_code == 400
        message = response.json()["confirm_new"][0]
        assert f"Marcus Bell (client {marcus.pk}" in message

        response = api.post("/api/v1/clients/", {**body, "confirm_new": True}, format="json")
        assert response.status_code == 201
        assert "confirm_new" not in response.json()

    def test_the_contacts_api_too(self, api, alice, marcus):
        api.force_login(alice)
        new = {"legal_name": "Marcos Bell", "estimated_age": 40}
        response = api.post("/api/v1/contacts/", contact_body(new_client=new), format="json")
        assert response.status_code == 400
        assert "Marcus Bell" in response.json()["new_client"]["confirm_new"][0]
        response = api.post(
            "/api/v1/contacts/",
            contact_body(new_client={**new, "confirm_new": True}),
            format="json",
        )
        assert response.status_code == 201

    def test_another_agencys_client_is_never_named(self, api, carol, marcus):
        api.force_login(carol)
        response = api.post(
            "/api/v1/clients/", {"legal_name": "Marcus Bell", "estimated_age": 39}, format="json"
        )
        assert response.status_code == 201
