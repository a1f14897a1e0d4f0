"""A worker's Today list on a phone, in a real headless Chromium: one follow-up gets a
no-answer attempt logged in place, another is completed by the contact recorded for it."""

import datetime
import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from cases.cssrs import RiskLevel
from followups.models import Attempt, Status
from tests.browser.support import (
    ARTIFACTS,
    LIVE_SERVER_DB,
    fits_the_screen,
    log_in,
    open_menu_item,
)
from tests.conftest import MODERATE_RISK
from tests.followups.factories import due_followup, make_case

pytestmark = [pytest.mark.browser, *LIVE_SERVER_DB]


def test_a_worker_logs_an_attempt_and_records_the_contact_that_completes_another(
    phone, live_server, alice
):
    page = phone
    ARTIFACTS.mkdir(exist_ok=True)
    robin = make_case(alice, legal_name="Robin Vale", **MODERATE_RISK)
    sky = make_case(alice, legal_name="Sky Marsh")
    unanswered = due_followup(
        robin, due_in=datetime.timedelta(hours=2), reason="Check the safety plan"
    )
    to_complete = due_followup(
        sky, due_in=datetime.timedelta(hours=3), reason="Ask about the clinic visit"
    )
    assert robin.risk_level == RiskLevel.MODERATE

    log_in(page, live_server, "alice")
    open_menu_item(page, "Today")
    page.wait_for_url(re.compile(re.escape(reverse("followups:today")) + "$"))

    rows = page.locator("#today-due .followup-row")
    expect(rows).to_have_count(2)
    # The higher-risk client comes first.
    expect(rows.nth(0)).to_contain_text("Robin Vale")
    expect(rows.nth(0)).to_contain_text("Why: Check the safety plan")
    expect(rows.nth(0)).to_contain_text("No attempts yet")
    fits_the_screen(page)
    page.screenshot(path=ARTIFACTS / "today-phone.png", full_page=True)

    robin_row = page.locator(f"#fu-{unanswered.pk}")
    # One tap: the usual outcomes are on the row itself.
    robin_row.get_by_role("button", name="No answer").click()
    # The row is replaced in place by the updated one.
    expect(page.locator(f"#fu-{unanswered.pk}")).to_contain_text("1 attempt, last: no answer")
    assert page.url.endswith(reverse("followups:today"))
    fits_the_screen(page)
    attempt = Attempt.objects.get(followup=unanswered)
    assert (attempt.outcome, attempt.by) == ("no_answer", alice)

    page.locator(f"#fu-{to_complete.pk}").get_by_role("link", name="Record contact").click()
    page.wait_for_url(re.compile(r"/cases/contacts/new/\?followup="))
    expect(page.locator("#completes-followup")).to_contain_text("Saving this contact completes")
    expect(page.locator("#chosen-client")).to_contain_text("Sky Marsh")
    fits_the_screen(page)
    page.select_option("#id_source", label="Phone")
    page.select_option("#id_call_nature", label="Welfare check")
    page.select_option("#id_disposition", label="Referred to services")
    page.fill("#id_narrative", "Follow-up call: went to the clinic on Tuesday.")
    page.get_by_role("button", name="Save contact").click()

    page.wait_for_url(re.compile(rf"/cases/{sky.pk}/$"))
    expect(page.get_by_role("alert").filter(has_text="Follow-up done")).to_be_visible()
    expect(page.locator("#closed-followups")).to_contain_text("Completed")
    fits_the_screen(page)
    to_complete.refresh_from_db()
    assert to_complete.status == Status.COMPLETED
    assert to_complete.completed_contact.narrative.startswith("Follow-up call")
    unanswered.refresh_from_db()
    assert unanswered.status == Status.DUE

    open_menu_item(page, "Today")
    page.wait_for_url(re.compile(re.escape(reverse("followups:today")) + "$"))
    expect(page.locator("#today-due .followup-row")).to_have_count(1)
    fits_the_screen(page)

    # Everything about the one still to do, on the same small screen.
    page.locator(f"#fu-{unanswered.pk}").get_by_role("link", name="One-off follow-up").click()
    page.wait_for_url(re.compile(re.escape(reverse("followups:detail", args=[unanswered.pk]))))
    expect(page.locator("#attempts")).to_contain_text("No answer")
    expect(page.locator("#history")).to_contain_text("Attempt logged")
    fits_the_screen(page)
    page.screenshot(path=ARTIFACTS / "followup-detail-phone.png", full_page=True)
