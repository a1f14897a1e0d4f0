"""The client's details form: one message for one mistake."""

import datetime

import pytest
import time_machine

from cases.forms.clients import ClientDetailsForm

# 19:00 on 5 Dec in Los Angeles is already 6 Dec in UTC.
EVENING = datetime.datetime(2026, 12, 6, 3, 0, tzinfo=datetime.UTC)


@pytest.fixture(autouse=True)
def evening_in_los_angeles(settings):
    settings.TIME_ZONE = "America/Los_Angeles"
    with time_machine.travel(EVENING, tick=False):
        yield


def details(**data):
    form = ClientDetailsForm({"legal_name": "Quinn Avery", **data})
    form.is_valid()
    form.check_details(form.cleaned_data)
    return form


class TestDateOfBirth:
    def test_a_future_date_of_birth_has_its_own_message_only(self):
        form = details(date_of_birth="2026-12-06")

        assert form.errors["date_of_birth"] == ["The date of birth is in the future."]
        assert "estimated_age" not in form.errors

    def test_today_in_the_agencys_zone_is_not_the_future(self):
        assert not details(date_of_birth="2026-12-05").errors

    def test_the_age_may_be_unknown(self):
        # A person in crisis may not say, and the field cannot know: no guess is forced.
        form = details()

        assert not form.errors
        assert form.cleaned_data["date_of_birth"] is None
        assert form.cleaned_data["estimated_age"] is None
