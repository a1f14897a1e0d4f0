"""A social worker records a crisis contact on a phone, in a real headless Chromium
(Debian's `chromium`, driven by Playwright), and finds the new case on their caseload."""

import os
import re
from pathlib import Path

import pytest
from django.db import connections
from django.urls import reverse

from cases.cssrs import RiskLevel
from cases.models import Case

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}

pytestmark = [
    pytest.mark.browser,
    # The live server commits for real; serialized rollback restores the reference data
    # (concerns, call natures) that the flush after the test removes.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed"),
]


@pytest.fixture
def phone(transactional_db, monkeypatch, live_server):
    """A page in a phone-sized headless Chromium.

    Asks for the database before the live server, so that the server (and its database
    connection) stops before the test database is dropped."""
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the test's own database
    # work (fixtures, teardown) is still synchronous.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        context = browser.new_context(**PHONE, device_scale_factor=2)
        page = context.new_page()
        page.set_default_timeout(10_000)
        yield page
        context.close()
        browser.close()
        # Queries run while Playwright's event loop was active hold a connection of their
        # own; close it, or the test database cannot be dropped at the end of the session.
        connections.close_all()


def open_menu_item(page, name):
    """On a phone the navigation sits behind the toggler."""
    page.get_by_role("button", name="Menu").click()
    link = page.locator("#nav").get_by_role("link", name=name)
    link.wait_for(state="visible")
    link.click()


def answer(page, question_key, value):
    page.click(f"label[for=id_{question_key}_{value}]")


def test_a_worker_records_a_contact_for_a_new_client_and_finds_the_case(phone, live_server, alice):
    page = phone
    ARTIFACTS.mkdir(exist_ok=True)

    page.goto(live_server.url + reverse("login"))
    page.fill("#id_username", "alice")
    page.fill("#id_password", "pw-for-tests")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/cases/$"))

    # Static files are served: Bootstrap collapses the navigation on a phone.
    assert not page.locator("#nav").get_by_role("link", name="New crisis contact").is_visible()
    open_menu_item(page, "New crisis contact")
    page.wait_for_url(re.compile(r"/cases/contacts/new/$"))

    page.fill("#id_legal_name", "Quinn Avery")
    page.fill("#id_preferred_name", "Q")
    page.fill("#id_date_of_birth", "1992-11-03")
    page.fill("#id_pronouns", "she/her")
    page.fill("#id_phone", "541-555-0199")
    page.fill("#id_where_to_find", "Riverside camp, blue tent")

    page.select_option("#id_source", label="988 Lifeline")
    page.select_option("#id_call_nature", label="Suicidal ideation or threat")
    page.fill("#id_location", "Riverside path")
    page.get_by_label("Mental health").check()

    # The C-SSRS questions appear once the screen is marked done.
    assert not page.locator("#q-cssrs_wish_dead").is_visible()
    page.get_by_label("Screen done").check()
    answer(page, "cssrs_wish_dead", "yes")
    answer(page, "cssrs_suicidal_thoughts", "no")
    assert not page.locator("#q-cssrs_method").is_visible()
    answer(page, "cssrs_suicidal_thoughts", "yes")
    answer(page, "cssrs_method", "yes")
    answer(page, "cssrs_intent", "yes")
    answer(page, "cssrs_plan", "no")
    answer(page, "cssrs_behavior", "no")
    assert not page.locator("#q-cssrs_behavior_recent").is_visible()

    page.get_by_label("Crisis counselling or de-escalation").check()
    page.select_option("#id_disposition", label="Transported to crisis centre")
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
