"""The supervisor's compliance page in a real headless Chromium, on a desktop and on the
narrowest phone: the numbers made through the services are on the page, a preset
changes the period, and a number opens the cases behind it."""

import datetime
import re

import pytest
from django.db import connections
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from followups import services
from followups.models import FollowUp
from followups.protocols import install_standard_protocols
from tests.browser.support import (
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    LIVE_SERVER_DB,
    PHONE,
    SMALL_PHONE,
    fits_the_screen,
    log_in,
)
from tests.followups.factories import ed_visit, make_case

pytestmark = [pytest.mark.browser, *LIVE_SERVER_DB]

DESKTOP = {"viewport": {"width": 1280, "height": 900}}
DEVICES = {"desktop": DESKTOP, "phone": {**PHONE, "viewport": SMALL_PHONE}}


@pytest.fixture(params=list(DEVICES))
def device(request, transactional_db, monkeypatch, live_server):
    """(name, page): a page in headless Chromium sized as a desktop or a small phone."""
    from playwright.sync_api import sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    expect.set_options(timeout=10_000)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(**DEVICES[request.param])
        page = context.new_page()
        page.set_default_timeout(10_000)
        yield request.param, page
        context.close()
        browser.close()
        connections.close_all()


@pytest.fixture
def robin(alice):
    """Robin's ER visit 20 days ago enrols them in the post-ER protocol: contact 1 (days
    1-3) is done on day 2, within its window; contact 2 (days 7-10) was missed. Contacts 3
    and 4 fall due later, after the period."""
    install_standard_protocols(alice.agency_id)
    now = timezone.now()
    case = make_case(
        alice, legal_name="Robin Achebe", received_at=now - datetime.timedelta(days=21)
    )
    ed_visit(case, arrived_at=now - datetime.timedelta(days=20))
    first, second = FollowUp.objects.filter(case=case).order_by("due_at")[:2]
    services.complete_followup(actor=alice, followup=first, at=first.due_at)
    return case, first, second


def fits(name, page):
    """On the phone, nothing sticks out sideways. On the desktop the page's own content
    is measured: a supervisor's menu of sixteen links does not fit one line of 1280 px
    yet (templates/base.html), which is the menu's matter, not this page's."""
    if name == "phone":
        fits_the_screen(page)
        return
    width = page.evaluate("() => document.querySelector('main').scrollWidth")
    assert width <= page.viewport_size["width"], f"{page.url}: content {width}px wide"


def tile(page, name):
    return page.locator(f"#totals a[data-count={name}]")


def test_a_supervisor_follows_a_number_to_the_cases_behind_it(
    device, live_server, sam, alice, robin
):
    name, page = device
    case, done, missed = robin
    ARTIFACTS.mkdir(exist_ok=True)
    compliance = reverse("metrics:compliance")

    page.goto(live_server.url + compliance)
    log_in(page, live_server, "sam", next_url=compliance)

    # The last 30 days by default: both closed contacts are in it, one done in window.
    expect(page.locator("#period")).to_contain_text("Days and times in Los Angeles time")
    expect(tile(page, "due")).to_have_text("2")
    expect(tile(page, "done_within_window")).to_have_text("1")
    expect(tile(page, "missed")).to_have_text("1")
    expect(tile(page, "overdue")).to_have_text("0")
    # A rate never stands without what it is of.
    expect(page.locator("#totals")).to_contain_text("50% of 2 closed")
    expect(page.locator("#totals")).to_contain_text("1 of 2 steps")
    expect(page.locator("#hedis-fum")).to_contain_text("ER visits counted: 1")
    workers = page.locator("#worker-rows" if name == "desktop" else "#worker-cards")
    expect(workers).to_contain_text(str(alice))
    expect(page.locator("#drop-off")).to_contain_text("Nobody")
    # The chart says what it shows, and the same numbers are there as a table.
    chart = page.locator("#trend svg[role=group]")
    expect(chart).to_have_accessible_name(re.compile("Weekly follow-ups due"))
    page.locator("#trend-table summary").click()
    expect(page.locator("#trend-table tbody tr")).to_have_count(12)
    fits(name, page)
    page.screenshot(path=ARTIFACTS / f"compliance-{name}.png", full_page=True)

    # The last 7 days: neither contact fell due in them.
    page.get_by_role("link", name="Last 7 days").click()
    page.wait_for_url(re.compile(r"\?days=7$"))
    expect(page.get_by_role("link", name="Last 7 days")).to_have_attribute("aria-current", "page")
    expect(tile(page, "due")).to_have_text("0")
    expect(tile(page, "missed")).to_have_text("0")
    fits(name, page)

    # Back to 90 days, then the missed number opens the follow-up behind it.
    page.get_by_role("link", name="90 days").click()
    page.wait_for_url(re.compile(r"\?days=90$"))
    expect(tile(page, "missed")).to_have_text("1")
    tile(page, "missed").click()
    page.wait_for_url(
        re.compile(re.escape(reverse("metrics:drilldown", args=["followups-missed"])))
    )
    expect(page.locator("#item-count")).to_contain_text("1 follow-up")
    items = page.locator("#drilldown-items .drilldown-item")
    expect(items).to_have_count(1)
    expect(items.first).to_contain_text("Robin Achebe")
    expect(items.first).to_contain_text(missed.title)
    expect(items.first.locator(".followup-status")).to_have_text("Missed")
    fits(name, page)
    page.screenshot(path=ARTIFACTS / f"compliance-drilldown-{name}.png", full_page=True)

    # From the list to the case.
    items.first.get_by_role("link", name="Robin Achebe").click()
    page.wait_for_url(re.compile(rf"/cases/{case.pk}/$"))
    fits(name, page)
