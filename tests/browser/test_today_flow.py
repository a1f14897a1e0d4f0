"""A worker's Today list on a phone, in a real headless Chromium: one follow-up gets a
no-answer attempt logged in place, another is completed by the contact recorded for it."""

import datetime
import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from cases.cssrs import RiskLevel
from followups.models import Attempt, FollowUp, Status
from notifications import services as notifications
from tests.browser.support import (
    ARTIFACTS,
    LIVE_SERVER_DB,
    choose,
    fits_the_screen,
    log_in,
    open_menu_item,
)
from tests.conftest import HIGH_RISK, MODERATE_RISK
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
    # A follow-up planned as a phone call is recorded as one.
    expect(page.locator("#div_id_source .folded-summary")).to_have_text("Phone")
    choose(page, "call_nature", "Welfare check")
    choose(page, "disposition", "Referred to services")
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


def test_a_high_risk_call_asks_for_its_note_and_a_one_tap_outcome_can_be_undone(
    phone, live_server, alice
):
    """Reached on a Safety Planning call opens a note on the card, required; a one-tap
    outcome shows "Logged: … Undo" for a few seconds; the counts and the inbox count
    follow without a reload."""
    page = phone
    ARTIFACTS.mkdir(exist_ok=True)
    robin = make_case(alice, legal_name="Robin Vale", **HIGH_RISK)
    # The first Safety Planning call (within 72 hours); the weekly calls come later.
    call = FollowUp.objects.filter(case=robin).order_by("due_at").first()
    sky = make_case(alice, legal_name="Sky Marsh")
    check = due_followup(sky, due_in=datetime.timedelta(hours=3), reason="Ask about the clinic")
    notifications.followup_fell_due(call)

    log_in(page, live_server, "alice")
    open_menu_item(page, "Today")
    page.wait_for_url(re.compile(re.escape(reverse("followups:today")) + "$"))
    inbox_badge = page.locator(f'#nav a.nav-link[href="{reverse("notifications:inbox")}"] .badge')
    expect(inbox_badge).to_have_text("1")
    expect(page.locator("#today-due-count")).to_have_text("2")
    card = page.locator(f"#fu-{call.pk}")
    expect(card).to_contain_text("Safety Planning")
    # The client's phone is one tap away.
    expect(
        page.locator(f"#fu-{check.pk}").get_by_role("link", name=re.compile("^Call"))
    ).to_have_attribute("href", f"tel:{sky.client.phone_normalized}")

    card.get_by_role("button", name="Reached…").click()
    note = card.get_by_label("Note for this call (required)")
    expect(note).to_be_visible()
    fits_the_screen(page)
    # The browser will not send it empty; nothing is logged.
    card.get_by_role("button", name="Save: reached").click()
    expect(note).to_be_visible()
    assert not Attempt.objects.filter(followup=call).exists()
    note.fill("Safe tonight; safety plan reviewed, sister has the medications.")
    # The Safety Planning call asks about the plan too (Yes/No buttons on the card).
    card.locator(f"label[for=plan_reviewed-yes-{call.pk}]").click()
    card.locator(f"label[for=plan_changed-no-{call.pk}]").click()
    card.get_by_role("button", name="Save: reached").click()

    expect(card.locator(".undo-offer")).to_contain_text("Logged: reached")
    expect(card).to_contain_text("Completed")
    expect(page.locator("#today-due-count")).to_have_text("1")
    expect(inbox_badge).to_have_count(0)
    fits_the_screen(page)
    page.screenshot(path=ARTIFACTS / "today-reached-note-phone.png", full_page=True)
    assert Attempt.objects.get(followup=call).note.startswith("Safe tonight")
    call.refresh_from_db()
    assert (call.plan_reviewed, call.plan_changed) == (True, False)

    # A one-tap outcome, taken back.
    other = page.locator(f"#fu-{check.pk}")
    other.get_by_role("button", name="No answer").click()
    expect(other.locator(".undo-offer")).to_contain_text("Logged: no answer")
    expect(other).to_contain_text("1 attempt, last: no answer")
    other.get_by_role("button", name="Undo").click()
    expect(other).to_contain_text("Undone.")
    expect(other).to_contain_text("No attempts yet")
    assert not Attempt.objects.filter(followup=check).exists()
    check.refresh_from_db()
    assert check.status == Status.DUE

    # The offer on the first card goes away by itself after its few seconds.
    expect(card.locator(".undo-offer")).to_have_count(0, timeout=15_000)
    call.refresh_from_db()
    assert call.status == Status.COMPLETED
