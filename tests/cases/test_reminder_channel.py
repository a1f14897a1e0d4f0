"""The reminder channel needs its address: one rule on the client (Client.clean), the
same message on the same field from the page, the API and the service."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from cases import services
from cases.models import Client, ReminderChannel

EMAIL_MESSAGE = "Give the client's email address for email reminders."
PHONE_MESSAGE = "Give the client's phone number for text reminders."
MISSING = [
    ({"reminder_channel": "email", "email": ""}, "email", EMAIL_MESSAGE),
    ({"reminder_channel": "email", "email": "  "}, "email", EMAIL_MESSAGE),
    ({"reminder_channel": "text", "phone": ""}, "phone", PHONE_MESSAGE),
]


class TestCleanReminderChannel:
    @pytest.mark.parametrize(("details", "field", "message"), MISSING)
    def test_a_channel_without_its_address_names_the_field(self, details, field, message):
        client = Client(**{"email": "", "phone": "541-555-0100", **details})

        with pytest.raises(ValidationError) as excinfo:
            client.clean_reminder_channel()

        assert excinfo.value.message_dict == {field: [message]}

    @pytest.mark.parametrize(
        "details",
        [
            {"reminder_channel": ReminderChannel.NONE},
            {"reminder_channel": "email", "email": "robin@example.org"},
            {"reminder_channel": "text", "phone": "541-555-0100"},
        ],
    )
    def test_a_channel_with_its_address_or_none_passes(self, details):
        Client(**details).clean_reminder_channel()

    def test_full_clean_checks_it(self, alice):
        client = Client(
            agency_id=alice.agency_id, legal_name="Robin Hale", reminder_channel="email"
        )

        with pytest.raises(ValidationError) as excinfo:
            client.full_clean(exclude=["created_by", "agency", "name_key"])

        assert excinfo.value.message_dict["email"] == [EMAIL_MESSAGE]


class TestEverywhereTheSame:
    @pytest.mark.parametrize(("details", "field", "message"), MISSING)
    def test_the_service_refuses_and_saves_nothing(
        self, alice, alice_case, details, field, message
    ):
        with pytest.raises(ValidationError) as excinfo:
            services.update_client(actor=alice, client=alice_case.client, data=details)

        # Blanks only are also not an email address: the field may carry that too.
        assert message in excinfo.value.message_dict[field]
        alice_case.client.refresh_from_db()
        assert alice_case.client.reminder_channel == ReminderChannel.NONE

    @pytest.mark.parametrize(("details", "field", "message"), MISSING)
    def test_the_page_and_the_api_say_it_on_the_same_field(
        self, login, api, alice, alice_case, details, field, message
    ):
        person = alice_case.client
        page = login(alice).post(
            reverse("cases:client_edit", args=[person.pk]),
            {
                "legal_name": person.legal_name,
                "date_of_birth": person.date_of_birth.isoformat(),
                "phone": person.phone,
                **details,
            },
        )
        api.force_authenticate(alice)
        answer = api.patch(f"/api/v1/clients/{person.pk}/", details, format="json")

        assert page.status_code == 200
        assert page.context["form"].errors[field] == [message]
        assert answer.status_code == 400
        assert answer.json()[field] == [message]

    def test_an_invalid_email_keeps_only_its_own_error_on_the_page(self, login, alice, alice_case):
        person = alice_case.client
        page = login(alice).post(
            reverse("cases:client_edit", args=[person.pk]),
            {
                "legal_name": person.legal_name,
                "date_of_birth": person.date_of_birth.isoformat(),
                "reminder_channel": "email",
                "email": "not-an-email",
            },
        )

        assert page.context["form"].errors["email"] == ["Enter a valid email address."]
