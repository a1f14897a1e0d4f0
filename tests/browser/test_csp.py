"""The pages work under their Content-Security-Policy in a real Chromium: nothing is
refused (no style, script or eval blocked) and the htmx actions still answer."""

import datetime
import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from followups.models import Attempt
from tests.browser.support import LIVE_SERVER_DB, log_in
from tests.browser.test_htmx_flows import maria_case, suggestion_for, type_maria_again
from tests.followups.factories import due_followup, make_case
from tests.referrals.factories import sent_referral

pytestmark = [pytest.mark.browser, *LIVE_SERVER_DB]

__all__ = ["maria_case"]  # a fixture, used by name

# Added before any of the page's own scripts run, on every page the browser opens.
REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.reportViolation(
    `${event.violatedDirective} refused ${event.blockedURI || "inline"}`
    + ` at ${event.sourceFile || document.location.pathname}:${event.lineNumber}`
  );
});
"""


@pytest.fixture
def refused(phone):
    """What the policy refused on every page `phone` opens, and what the pages logged as
    errors or warnings (Chromium logs a refusal there too)."""
    seen = []
    phone.expose_function("reportViolation", lambda text: seen.append(f"violation: {text}"))
    phone.add_init_script(REPORT_VIOLATIONS)
    phone.on(
        "console",
        lambda message: (
            seen.append(f"console {message.type}: {message.text}")
            if message.type in ("error", "warning")
            else None
        ),
    )
    phone.on("pageerror", lambda error: seen.append(f"page error: {error}"))
    return seen


def test_a_workers_pages_and_htmx_actions_run_with_nothing_refused(
    phone, refused, live_server, alice, maria_case
):
    page = phone
    case = make_case(alice, legal_name="Robin Vale")
    followup = due_followup(case, due_in=datetime.timedelta(hours=2), reason="Safety plan")

    log_in(page, live_server, "alice")
    expect(page.locator(".caseload-row", has_text="Robin Vale")).to_be_visible()
    # Bootstrap's script runs: the menu opens.
    page.get_by_role("button", name="Menu").click()
    expect(page.locator("#nav").get_by_role("link", name="Today")).to_be_visible()

    page.goto(live_server.url + reverse("casework:case_detail", args=[case.pk]))
    expect(page.get_by_role("heading", level=1)).to_have_text("Robin Vale")

    # The contact form: htmx asks for duplicate suggestions as the worker types.
    page.goto(live_server.url + reverse("casework:contact_new"))
    type_maria_again(page)
    suggestion = suggestion_for(page, "Maria Lopez")
    expect(suggestion).to_be_visible()
    suggestion.get_by_role("button", name="Use this client").click()
    expect(page.locator("#chosen-client")).to_contain_text("Maria Lopez")

    # Today: one tap logs an attempt, and htmx swaps the row in place.
    page.goto(live_server.url + reverse("followups:today"))
    page.locator(f"#fu-{followup.pk}").get_by_role("button", name="No answer").click()
    expect(page.locator(f"#fu-{followup.pk}")).to_contain_text("1 attempt, last: no answer")
    assert Attempt.objects.filter(followup=followup).count() == 1

    # htmx took its settings from base.html: no eval.
    assert page.evaluate("htmx.config.allowEval") is False
    assert refused == []


def test_a_supervisors_charts_draw_with_nothing_refused(phone, refused, live_server, alice, sam):
    page = phone
    case = make_case(alice, legal_name="Robin Vale")
    sent_referral(alice, case)
    due_followup(case, due_in=datetime.timedelta(hours=2))

    compliance = reverse("metrics:compliance")
    page.goto(live_server.url + compliance)
    log_in(page, live_server, "sam", next_url=compliance)
    expect(page.locator("#trend svg.trend-chart")).to_be_visible()
    # The legend's swatches and the chart's bars take their colours from casebook.css.
    swatch = page.locator(".trend-swatch-done")
    assert swatch.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(13, 110, 253)"

    page.goto(live_server.url + reverse("reports:referral_report"))
    bar = page.locator(".reports-bar").first
    expect(bar).to_be_visible()
    # The bar's width comes from the nonce'd style: the longest need fills its track.
    track = page.locator(".reports-bar-track").first
    assert abs(bar.bounding_box()["width"] - track.bounding_box()["width"]) < 1

    # The team page's filter swaps the list in with htmx and pushes its address; htmx
    # keeps no copy of the page (client names) in localStorage for the back button, which
    # loads the page again instead.
    page.goto(live_server.url + reverse("supervision:team"))
    page.locator("#id_worker").select_option(index=1)
    page.wait_for_url(re.compile(r"worker="))
    expect(page.locator("#teams")).to_contain_text("Robin Vale")
    assert page.evaluate("localStorage.getItem('htmx-history-cache')") is None
    page.go_back()
    page.wait_for_url(re.compile(re.escape(reverse("supervision:team")) + "$"))
    expect(page.locator("#teams")).to_contain_text("Robin Vale")

    assert refused == []


def test_the_api_docs_load_under_the_policy(phone, refused, live_server, alice):
    page = phone
    log_in(page, live_server, "alice")

    page.goto(live_server.url + reverse("api-docs"))

    expect(page.locator(".swagger-ui .info .title")).to_contain_text("casebook API")
    expect(page.get_by_text(re.compile(r"/api/v1/cases/"))).not_to_have_count(0)
    assert refused == []
