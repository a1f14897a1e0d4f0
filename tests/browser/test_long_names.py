"""A name with no place to break (one long word) fits a 390 px phone on every page that
shows it, and so does the login page: nothing sticks out sideways."""

import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from tests.browser.support import LIVE_SERVER_DB, fits_the_screen, log_in
from tests.conftest import MODERATE_RISK
from tests.followups.factories import due_followup, make_case
from tests.referrals.factories import sent_referral

pytestmark = [pytest.mark.browser, *LIVE_SERVER_DB]

LONG_NAME = "Bartholomewmaximilianovanderwesthuizen-Okonkwo"


def test_the_login_page_fits_a_phone(phone, live_server):
    page = phone
    page.goto(live_server.url + reverse("login"))
    expect(page.get_by_role("button", name="Log in")).to_be_visible()
    fits_the_screen(page)


def test_a_long_unbroken_name_fits_a_phone(phone, live_server, alice):
    page = phone
    assert page.viewport_size["width"] == 390
    case = make_case(alice, legal_name=LONG_NAME, **MODERATE_RISK)
    due_followup(case, reason=f"Call {LONG_NAME} about the clinic")
    sent_referral(alice, case, provider_name=f"{LONG_NAME} Recovery Collective")

    log_in(page, live_server, "alice")
    expect(page.locator(".caseload-row .client-name")).to_have_text(LONG_NAME)
    fits_the_screen(page)

    page.goto(live_server.url + reverse("casework:case_detail", args=[case.pk]))
    expect(page.get_by_role("heading", level=1)).to_have_text(LONG_NAME)
    fits_the_screen(page)

    page.goto(live_server.url + reverse("referrals:list"))
    expect(page.locator(".referral-row .client-name")).to_have_text(LONG_NAME)
    fits_the_screen(page)

    page.goto(live_server.url + reverse("cases:client_search") + "?q=Bartholomew")
    expect(page.locator("#results")).to_contain_text(LONG_NAME)
    fits_the_screen(page)

    page.goto(live_server.url + reverse("followups:today"))
    expect(page.locator("#today-due")).to_contain_text(LONG_NAME)
    fits_the_screen(page)

    page.goto(live_server.url + reverse("cases:client_detail", args=[case.client_id]))
    expect(page.get_by_role("heading", level=1)).to_contain_text(re.compile("Bartholomew"))
    fits_the_screen(page)
