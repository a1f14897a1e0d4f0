"""A social worker records a crisis contact on a phone, in a real headless Chromium
(Debian's `chromium`, driven by Playwright), and finds the new case on their caseload."""

import re

import pytest

from cases.cssrs import RiskLevel
from cases.models import Case
from tests.browser.support import (
    ARTIFACTS,
    LIVE_SERVER_DB,
    answer,
    choose,
    log_in,
    open_menu_item,
    unfold,
)

pytestmark = [pytest.mark.browser, *LIVE_SERVER_DB]


def test_a_worker_records_a_contact_for_a_new_client_and_finds_the_case(phone, live_server, alice):
    page = phone
    ARTIFACTS.mkdir(exist_ok=True)

    log_in(page, live_server, "alice")

    # Static files are served: Bootstrap collapses the navigation on a phone.
    assert not page.locator("#nav").get_by_role("link", name="New crisis contact").is_visible()
    open_menu_item(page, "New crisis contact")
    page.wait_for_url(re.compile(r"/cases/contacts/new/$"))

    page.fill("#id_legal_name", "Quinn Avery")
    page.fill("#id_date_of_birth", "1992-11-03")
    # The rest of what is known about the client is one tap away.
    unfold(page, "#new-client-fields details")
    page.fill("#id_preferred_name", "Q")
    page.fill("#id_pronouns", "she/her")
    page.fill("#id_phone", "541-555-0199")
    page.fill("#id_where_to_find", "Riverside camp, blue tent")

    choose(page, "source", "988 Lifeline")
    # A suicidal call opens the C-SSRS screen; answering it is doing it.
    assert not page.locator("#q-cssrs_wish_dead").is_visible()
    choose(page, "call_nature", "Suicidal ideation or threat")
    unfold(page, "#more-scene")
    page.fill("#id_location", "Riverside path")
    page.get_by_label("Mental health").check()

    answer(page, "cssrs_wish_dead", "yes")
    assert page.get_by_label("Screen done").is_checked()
    answer(page, "cssrs_suicidal_thoughts", "no")
    assert not page.locator("#q-cssrs_method").is_visible()
    answer(page, "cssrs_suicidal_thoughts", "yes")
    answer(page, "cssrs_method", "yes")
    answer(page, "cssrs_intent", "yes")
    answer(page, "cssrs_plan", "no")
    answer(page, "cssrs_behavior", "no")
    assert not page.locator("#q-cssrs_behavior_recent").is_visible()

    unfold(page, "#more-services")
    page.get_by_label("Crisis counselling or de-escalation").check()
    choose(page, "disposition", "Transported to crisis centre")
    page.fill("#id_narrative", "Met on the path; agreed to go to the crisis centre.")
    page.screenshot(path=ARTIFACTS / "contact-form-phone.png", full_page=True)

    page.get_by_role("button", name="Save contact").click()
    page.wait_for_url(re.compile(r"/cases/\d+/$"))
    assert page.get_by_text("Contact saved").is_visible()
    page.screenshot(path=ARTIFACTS / "case-page-phone.png", full_page=True)

    open_menu_item(page, "My caseload")
    page.wait_for_url(re.compile(r"/cases/$"))
    row = page.locator(".caseload-row", has_text="Q (Quinn Avery)")
    row.wait_for()
    badge = row.locator(".risk-high")
    assert badge.first.inner_text() == "High"
    assert badge.first.is_visible()
    page.screenshot(path=ARTIFACTS / "caseload-phone.png", full_page=True)

    case = Case.objects.get(client__legal_name="Quinn Avery")
    assert case.assigned_worker == alice
    assert case.risk_level == RiskLevel.HIGH
