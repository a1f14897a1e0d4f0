"""The new-contact form in seconds: what it fills in by itself (from the request, the
follow-up, the worker's shift or last contact), the choices as buttons, and the parts
folded away until needed."""

import datetime
import re

import pytest
import time_machine
from django.urls import reverse

from cases.models import CallNature, ContactSource
from followups.models import Method
from tests.dispatch.factories import ShiftFactory, ShiftMemberFactory
from tests.followups.factories import due_followup

NEW_URL = reverse("casework:contact_new")
# 19:00 on 6 Dec in Los Angeles, already 7 Dec in UTC.
EVENING = datetime.datetime(2026, 12, 7, 3, 0, tzinfo=datetime.UTC)


@pytest.fixture(autouse=True)
def evening():
    with time_machine.travel(EVENING, tick=False):
        yield


@pytest.fixture
def as_alice(client, alice):
    client.force_login(alice)
    return client


def form_on(response):
    return response.context["form"]


def radio(page, name, value):
    """The <input> of one choice button, as the page has it."""
    found = re.search(rf'<input type="radio" name="{name}" value="{value}"[^>]*>', page)
    return found and found[0]


def contact_hours_ago(record_contact_for, worker, hours, **fields):
    return record_contact_for(
        worker,
        new_client_data={"legal_name": f"Client {hours}h", "phone": f"541-555-{hours:04d}"},
        received_at=EVENING - datetime.timedelta(hours=hours),
        **fields,
    )


class TestTheSource:
    def test_it_is_the_one_of_my_last_contact(self, as_alice, alice, bob, record_contact_for):
        contact_hours_ago(record_contact_for, alice, 30, source=ContactSource.DIVERSION_911)
        contact_hours_ago(record_contact_for, alice, 20, source=ContactSource.LIFELINE_988)
        # A teammate's later contact is not mine.
        contact_hours_ago(record_contact_for, bob, 1, source=ContactSource.WALK_IN)

        assert form_on(as_alice.get(NEW_URL))["source"].value() == ContactSource.LIFELINE_988

    def test_before_any_contact_it_is_asked(self, as_alice):
        response = as_alice.get(NEW_URL)

        assert form_on(response)["source"].value() is None
        page = response.content.decode()
        # Not folded: a fieldset of buttons, one required.
        assert '<fieldset class="choice-picker mb-3" id="div_id_source"' in page
        assert 'class="btn-check"' in radio(page, "source", "988")
        assert " required" in radio(page, "source", "988")

    def test_a_follow_up_by_phone_is_a_phone_call(self, as_alice, alice, alice_case):
        followup = due_followup(alice_case, method=Method.PHONE)

        form = form_on(as_alice.get(f"{NEW_URL}?followup={followup.pk}"))

        assert form["source"].value() == ContactSource.PHONE
        assert form["attended_by"].value() == [alice.pk]

    def test_a_follow_up_visit_is_outreach(self, as_alice, alice_case):
        followup = due_followup(alice_case, method=Method.VISIT)

        form = form_on(as_alice.get(f"{NEW_URL}?followup={followup.pk}"))

        assert form["source"].value() == ContactSource.OUTREACH

    def test_a_draft_is_restored_as_it_was(self, as_alice, alice, record_contact_for):
        contact_hours_ago(record_contact_for, alice, 2, source=ContactSource.LIFELINE_988)
        as_alice.post(reverse("casework:contact_draft"), {"narrative": "Half written"})

        assert form_on(as_alice.get(NEW_URL))["source"].value() is None


class TestWhoAttended:
    def test_it_is_my_crew_on_shift(self, as_alice, alice, bob):
        shift = ShiftFactory(unit__agency=alice.agency)
        ShiftMemberFactory(shift=shift, user=alice)
        ShiftMemberFactory(shift=shift, user=bob)

        assert form_on(as_alice.get(NEW_URL))["attended_by"].value() == sorted([alice.pk, bob.pk])

    def test_an_ended_shift_is_no_crew(self, as_alice, alice, bob):
        shift = ShiftFactory(unit__agency=alice.agency, ended_at=EVENING)
        ShiftMemberFactory(shift=shift, user=alice)
        ShiftMemberFactory(shift=shift, user=bob)

        assert form_on(as_alice.get(NEW_URL))["attended_by"].value() == [alice.pk]

    def test_off_a_unit_it_is_the_crew_of_my_last_contact_this_shift(
        self, as_alice, alice, bob, record_contact_for
    ):
        contact_hours_ago(record_contact_for, alice, 3, attended_by=[bob])

        assert form_on(as_alice.get(NEW_URL))["attended_by"].value() == sorted([alice.pk, bob.pk])

    def test_a_crew_from_another_shift_is_not_taken(self, as_alice, alice, bob, record_contact_for):
        contact_hours_ago(record_contact_for, alice, 13, attended_by=[alice, bob])

        assert form_on(as_alice.get(NEW_URL))["attended_by"].value() == [alice.pk]


class TestTheFormsShape:
    def test_choices_are_buttons_carrying_their_codes(self, as_alice):
        page = as_alice.get(NEW_URL).content.decode()
        suicidal = CallNature.objects.get(code="suicidal")

        button = radio(page, "call_nature", suicidal.pk)
        assert 'class="btn-check"' in button and 'data-code="suicidal"' in button
        assert " required" in radio(page, "disposition", "resolved")
        # No empty choice to tap.
        assert radio(page, "disposition", "") is None

    def test_the_rest_is_folded_until_an_error_is_in_it(self, as_alice):
        page = as_alice.get(NEW_URL).content.decode()
        for part in ("more-times", "more-scene", "more-services", "cssrs"):
            assert f'id="{part}" data-folded' in page or f'id="{part}" data-folded ' in page
            assert f'id="{part}" data-folded open' not in page

        response = as_alice.post(
            NEW_URL,
            {"legal_name": "Quinn Avery", "received_at": "garbage", "cssrs_performed": "on"},
        )

        assert response.context["opened"] == {"times", "cssrs"}
        page = response.content.decode()
        assert 'id="more-times" data-folded open' in page
        assert 'id="more-scene" data-folded>' in page

    def test_the_page_runs_a_fixed_number_of_queries(
        self, as_alice, alice, bob, record_contact_for, django_assert_max_num_queries
    ):
        shift = ShiftFactory(unit__agency=alice.agency)
        ShiftMemberFactory(shift=shift, user=alice)
        for hours in range(1, 6):
            contact_hours_ago(record_contact_for, alice, hours, attended_by=[bob])

        with django_assert_max_num_queries(16):
            as_alice.get(NEW_URL)
