"""The new-contact page's htmx and script work, on a phone: duplicate suggestions, the
duplicate guard, the draft that outlives the idle logoff, and the C-SSRS skip logic."""

import datetime
import re

import pytest
from django.contrib.sessions.models import Session
from django.urls import reverse
from playwright.sync_api import expect

from cases.cssrs import GATED, RiskLevel
from cases.models import Case, Client, Contact, ContactDraft
from tests.browser.support import (
    ARTIFACTS,
    LIVE_SERVER_DB,
    answer,
    choose,
    log_in,
    open_menu_item,
    unfold,
)
from tests.conftest import HIGH_RISK, new_client

pytestmark = [pytest.mark.browser, *LIVE_SERVER_DB]

NOTE = "Met at the library; calm, talked through the week, declined transport."


@pytest.fixture
def maria_case(bob, record_contact_for):
    """Maria Lopez, a client of the agency on bob's (alice's teammate's) open case."""
    return record_contact_for(
        bob,
        new_client_data=new_client(
            legal_name="Maria Lopez",
            date_of_birth=datetime.date(1987, 6, 2),
            phone="541-555-0142",
        ),
    ).case


@pytest.fixture
def outside_case(erin, record_contact_for):
    """Mara Lopez, a client on erin's case: another team's, outside alice's caseload."""
    return record_contact_for(
        erin,
        new_client_data=new_client(
            legal_name="Mara Lopez",
            date_of_birth=datetime.date(1987, 6, 2),
            phone="541-555-0143",
        ),
    ).case


def open_new_contact(page, live_server):
    log_in(page, live_server, "alice")
    open_menu_item(page, "New crisis contact")
    page.wait_for_url(re.compile(re.escape(reverse("casework:contact_new")) + "$"))


def type_maria_again(page):
    """What a worker types for Maria without knowing she is already a client."""
    page.get_by_label("Legal name").press_sequentially("Maria Lopes")
    page.get_by_label("Date of birth").fill("1987-06-02")


def fill_call(page, narrative=NOTE):
    choose(page, "source", "Outreach or welfare check")
    choose(page, "call_nature", "Welfare check")
    choose(page, "disposition", "Resolved on scene")
    page.get_by_label("Narrative").fill(narrative)


def suggestion_for(page, name):
    return page.locator("#suggestions .suggestion", has_text=name)


class TestDuplicateSuggestions:
    def test_choosing_the_suggested_client_adds_the_contact_to_their_open_case(
        self, phone, live_server, alice, maria_case
    ):
        page = phone
        open_new_contact(page, live_server)
        type_maria_again(page)

        suggestion = suggestion_for(page, "Maria Lopez")
        expect(suggestion).to_be_visible()
        expect(suggestion).to_contain_text("Born Tue 2 Jun 1987")
        expect(suggestion).to_contain_text("Same date of birth and a similar name")
        ARTIFACTS.mkdir(exist_ok=True)
        suggestion.scroll_into_view_if_needed()
        page.screenshot(path=ARTIFACTS / "suggestions-phone.png")

        suggestion.get_by_role("button", name="Use this client").click()
        expect(page.locator("#chosen-client")).to_contain_text("Maria Lopez · born Tue 2 Jun 1987")
        expect(page.get_by_label("Legal name")).to_be_hidden()
        fill_call(page)
        page.get_by_role("button", name="Save contact").click()

        page.wait_for_url(re.compile(rf"/cases/{maria_case.pk}/$"))
        expect(page.get_by_text("Contact saved")).to_be_visible()
        expect(page.get_by_role("heading", level=1)).to_have_text("Maria Lopez")
        expect(page.locator("#contacts-heading .badge")).to_have_text("2")
        contact = Contact.objects.get(narrative=NOTE)
        assert contact.case_id == maria_case.pk
        assert contact.client_id == maria_case.client_id
        assert contact.recorded_by == alice
        assert Client.objects.count() == 1
        assert Case.objects.count() == 1
        assert not ContactDraft.objects.filter(user=alice).exists()

    def test_a_client_outside_my_caseload_is_offered_emergency_access_instead(
        self, phone, live_server, alice, maria_case, outside_case
    ):
        page = phone
        open_new_contact(page, live_server)
        type_maria_again(page)

        mine = suggestion_for(page, "Maria Lopez")
        outside = suggestion_for(page, "Mara Lopez")
        expect(mine).to_be_visible()
        expect(outside).to_be_visible()
        expect(mine.get_by_role("button", name="Use this client")).to_be_visible()
        expect(outside.get_by_role("button", name="Use this client")).to_have_count(0)
        expect(outside).to_contain_text("Outside your caseload")

        outside.get_by_role("link", name="Emergency access").click()

        page.wait_for_url(
            re.compile(
                re.escape(reverse("casework:emergency_access", args=[outside_case.pk])) + "$"
            )
        )
        expect(page.get_by_text("Mara Lopez").first).to_be_visible()

    def test_saving_past_the_suggestion_is_stopped_and_keeps_everything_typed(
        self, phone, live_server, alice, maria_case
    ):
        page = phone
        open_new_contact(page, live_server)
        type_maria_again(page)
        unfold(page, "#new-client-fields details")
        page.locator("#id_phone").fill("541-555-0199")
        expect(suggestion_for(page, "Maria Lopez")).to_be_visible()
        fill_call(page)
        page.get_by_role("button", name="Save contact").click()

        expect(page.locator("#form-errors")).to_be_visible()
        expect(page.locator("#form-errors")).to_contain_text("This may be an existing client")
        expect(
            page.locator("#contact-form").get_by_text("This may be an existing client")
        ).to_be_visible()
        expect(suggestion_for(page, "Maria Lopez")).to_be_visible()
        expect(page.get_by_label("Legal name")).to_have_value("Maria Lopes")
        expect(page.get_by_label("Date of birth")).to_have_value("1987-06-02")
        expect(page.locator("#id_phone")).to_have_value("541-555-0199")
        expect(page.locator("input[name=source]:checked")).to_have_value("outreach")
        expect(page.get_by_role("radio", name="Welfare check")).to_be_checked()
        expect(page.locator("input[name=disposition]:checked")).to_have_value("resolved")
        expect(page.get_by_label("Narrative")).to_have_value(NOTE)
        assert Client.objects.count() == 1
        assert Contact.objects.count() == 1


class TestDraft:
    def test_a_long_note_outlives_the_idle_logoff(self, phone, live_server, alice):
        page = phone
        # The page's idle timer runs on a clock the test can move forward.
        page.clock.install()
        open_new_contact(page, live_server)
        note = " ".join(
            ["Sat with her on the steps for an hour; she talked about the eviction."] * 30
        )
        page.get_by_label("Narrative").fill(note)
        expect(page.locator("#draft-status")).to_contain_text("Draft saved")
        assert ContactDraft.objects.get(user=alice).data["narrative"] == [note]

        # Thirty minutes pass: the server's session ends and the page goes to the login.
        Session.objects.all().delete()
        page.clock.fast_forward("30:01")
        page.wait_for_url(re.compile(r"/accounts/login/\?.*idle=1"))
        expect(page.get_by_text("You were logged out after 30 minutes")).to_be_visible()

        log_in(page, live_server, "alice", next_url=reverse("casework:contact_new"))
        expect(page.get_by_text("Restored your unsaved draft")).to_be_visible()
        expect(page.get_by_label("Narrative")).to_have_value(note)


class TestCssrsSkipLogic:
    def test_questions_are_asked_only_when_the_screener_asks_them(self, phone, live_server, alice):
        page = phone
        open_new_contact(page, live_server)
        unfold(page, "#cssrs")
        screen_done = page.get_by_label("Screen done")
        expect(screen_done).not_to_be_checked()
        gated = [page.locator(f"#q-{key}") for key in GATED]
        recent = page.locator("#q-cssrs_behavior_recent")

        # Answering is doing the screen.
        answer(page, "cssrs_suicidal_thoughts", "yes")
        expect(screen_done).to_be_checked()
        answer(page, "cssrs_method", "yes")
        answer(page, "cssrs_suicidal_thoughts", "no")
        for question in gated:
            expect(question).to_be_hidden()
        # Skipped questions are not sent with the form.
        expect(page.locator("#id_cssrs_method_yes")).to_be_disabled()

        answer(page, "cssrs_suicidal_thoughts", "yes")
        for question in gated:
            expect(question).to_be_visible()
        expect(page.locator("#id_cssrs_method_yes")).to_be_checked()

        answer(page, "cssrs_behavior", "no")
        expect(recent).to_be_hidden()
        answer(page, "cssrs_behavior", "yes")
        expect(recent).to_be_visible()

        # Turned off, the screen's questions go, and their answers are not sent.
        screen_done.uncheck()
        expect(page.locator("#cssrs-questions")).to_be_hidden()
        expect(page.locator("#id_cssrs_behavior_yes")).to_be_disabled()

    def test_correcting_a_screen_follows_the_same_skip_logic(
        self, phone, live_server, alice, record_contact_for
    ):
        contact = record_contact_for(alice, **HIGH_RISK)
        page = phone
        log_in(page, live_server, "alice")
        page.goto(live_server.url + reverse("cases:contact_amend", args=[contact.pk]))

        # Prefilled with the answers on record; 6b is not asked since 6 was no.
        expect(page.get_by_label("Screen done")).to_be_checked()
        expect(page.locator("#id_cssrs_intent_yes")).to_be_checked()
        expect(page.locator("#q-cssrs_behavior_recent")).to_be_hidden()

        answer(page, "cssrs_suicidal_thoughts", "no")
        for key in GATED:
            expect(page.locator(f"#q-{key}")).to_be_hidden()
        page.get_by_label("Reason for the correction").fill("Question 2 was mis-keyed")
        page.get_by_role("button", name="Save correction").click()

        page.wait_for_url(
            re.compile(re.escape(reverse("cases:contact_detail", args=[contact.pk])) + "$")
        )
        expect(page.get_by_text("Contact amended")).to_be_visible()
        contact.refresh_from_db()
        contact.case.refresh_from_db()
        assert contact.risk_level == contact.case.risk_level == RiskLevel.LOW
        assert contact.cssrs_method is None
