"""A form sent back with errors opens on a summary at the top of the page (far from an
error at the bottom of a long page): announced, focused, each error a link to its field.
And on a phone the crisis-contact form's checkboxes are targets a thumb can hit."""

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from tests.browser.support import ARTIFACTS, LIVE_SERVER_DB, log_in, serious_violations
from tests.followups.factories import due_followup, make_case

pytestmark = [pytest.mark.browser, *LIVE_SERVER_DB]

# Each link of the summary: its text, and whether the page has the field it points to
# (by id, or by name for a control that has ids of its own, as the page script finds it).
SUMMARY_LINKS = """() => [...document.querySelectorAll("#form-errors a")].map((a) => ({
  text: a.textContent,
  found: Boolean(document.getElementById(a.hash.slice(1))
    || document.querySelector(`[name="${a.dataset.field}"]:not([type=hidden])`)),
}))"""


def summary(page):
    """The error summary, checked to be announced, focused and above everything else."""
    box = page.locator("#form-errors")
    expect(box).to_have_attribute("role", "alert")
    expect(box).to_be_focused()
    assert box.bounding_box()["y"] < page.locator("main h1").first.bounding_box()["y"]
    links = page.evaluate(SUMMARY_LINKS)
    assert links, "the summary links to the fields"
    assert all(link["found"] for link in links), links
    return box


def test_moving_a_followup_into_the_past_says_so_at_the_top(phone, live_server, alice):
    page = phone
    fu = due_followup(make_case(alice, legal_name="Robin Vale"))
    log_in(page, live_server, "alice")
    page.goto(live_server.url + reverse("followups:detail", args=[fu.pk]))

    page.locator("summary", has_text="Move the due date").click()
    past = timezone.localtime(timezone.now() - datetime.timedelta(days=3), alice.agency.zone)
    move = page.locator("#move-form")
    move.get_by_label("New due date and time").fill(past.strftime("%Y-%m-%dT%H:%M"))
    move.get_by_label("Reason").fill("Client asked for last week")
    move.get_by_role("button", name="Move").click()

    page.wait_for_url(re.compile(re.escape(reverse("followups:move", args=[fu.pk]))))
    box = summary(page)
    expect(box).to_contain_text("cannot be due in the past")
    page.screenshot(path=ARTIFACTS / "error-summary-followup-phone.png")
    assert serious_violations(page) == []

    # The link takes the worker to the field, even though it is far down the page.
    box.get_by_role("link", name=re.compile("New due date and time")).click()
    expect(move.get_by_label("New due date and time")).to_be_focused()
    expect(move.get_by_label("New due date and time")).to_be_in_viewport()


def test_the_crisis_contact_form_lists_every_error_at_the_top(phone, live_server, alice):
    page = phone
    ARTIFACTS.mkdir(exist_ok=True)
    log_in(page, live_server, "alice")
    page.goto(live_server.url + reverse("casework:contact_new"))

    # Thumb-sized: each checkbox's label, which ticks it, is at least 44 px each way.
    for part in page.locator("#contact-form details").all():
        part.evaluate("(e) => { e.open = true; }")
    checks = page.locator("#contact-form .form-check-label:visible")
    assert checks.count() > 10
    for i in range(checks.count()):
        box = checks.nth(i).bounding_box()
        assert box["height"] >= 44 and box["width"] >= 44, (checks.nth(i).inner_text(), box)
    label = page.locator("#contact-form .form-check-label", has_text="Mental health")
    label.locator("xpath=ancestor::div[contains(@class, 'check-columns')]").screenshot(
        path=ARTIFACTS / "contact-checkboxes-phone.png"
    )
    label.click()
    expect(page.get_by_label("Mental health")).to_be_checked()

    # A date of birth in the future and a call that ends before it starts; the rest of the
    # form left for the server to refuse.
    page.fill("#id_legal_name", "Quinn Avery")
    page.fill("#id_date_of_birth", "2999-01-01")
    page.evaluate("document.getElementById('contact-form').noValidate = true")
    page.get_by_role("button", name="Save contact").click()

    box = summary(page)
    expect(box).to_contain_text("Nothing was saved yet")
    expect(box.get_by_role("link", name=re.compile("Date of birth"))).to_have_count(1)
    page.screenshot(path=ARTIFACTS / "error-summary-contact-phone.png")
    assert serious_violations(page) == []
    last = box.get_by_role("link").last
    name = last.get_attribute("data-field")
    last.click()
    field = page.locator(f'[name="{name}"]:not([type=hidden])').first
    expect(field).to_be_focused()
    # A choice's radio is hidden behind its button: the button is what must be in sight.
    if "btn-check" in (field.get_attribute("class") or ""):
        field = page.locator(f'label[for="{field.get_attribute("id")}"]')
    expect(field).to_be_in_viewport()


def test_a_failed_login_opens_on_the_summary(phone, live_server, alice):
    page = phone
    page.goto(live_server.url + reverse("login"))
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill("not her password")
    page.get_by_role("button", name="Log in").click()

    box = page.locator("#form-errors")
    expect(box).to_contain_text("Not logged in.")
    expect(box).to_be_focused()
