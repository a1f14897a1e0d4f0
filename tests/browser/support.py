"""What every browser test shares: where Chromium is, the phone it pretends to be, the
marks a live-server test needs, and the steps a worker takes on every page."""

import os
import re
from pathlib import Path

import pytest
from django.urls import reverse

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "is_mobile": True,
    "has_touch": True,
    "device_scale_factor": 2,
}
PASSWORD = "pw-for-tests"

LIVE_SERVER_DB = [
    # The live server commits for real; serialized rollback restores the reference data
    # (concerns, call natures) that the flush after the test removes.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed"),
]


def log_in(page, live_server, username, *, next_url=None):
    """Log in on the login page the browser is on, or opens; waits to land on `next_url`
    (the caseload by default)."""
    if "/accounts/login/" not in page.url:
        page.goto(live_server.url + reverse("login"))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(re.escape(next_url or reverse("casework:caseload")) + "$"))


# The phone's menu once its opening animation is over (Bootstrap's collapse: "collapsing"
# while it moves, then "show").
MENU_OPEN = re.compile(r"(^|\s)show(\s|$)")


def open_menu_item(page, name):
    """On a phone the navigation sits behind the toggler; its links are clicked once it
    has stopped moving."""
    from playwright.sync_api import expect

    page.get_by_role("button", name="Menu").click()
    expect(page.locator("#nav")).to_have_class(MENU_OPEN)
    link = page.locator("#nav").get_by_role("link", name=name)
    link.wait_for(state="visible")
    link.click()


def answer(page, question_key, value):
    """Tap Yes or No on a C-SSRS question (the radio itself is visually hidden)."""
    page.click(f"label[for=id_{question_key}_{value}]")


# The narrowest phone the pages are made for.
SMALL_PHONE = {"width": 375, "height": 812}


def fits_the_screen(page):
    """Nothing on the page sticks out sideways: no horizontal scrolling on the phone. (A
    mobile browser widens `window.innerWidth` to fit a page that is too wide, so the page
    is measured against the screen itself.)"""
    width = page.evaluate("() => document.documentElement.scrollWidth")
    screen = page.viewport_size["width"]
    if width > screen:
        sticking_out = page.evaluate(STICKING_OUT, screen)
        raise AssertionError(
            f"{page.url} is {width}px wide on a {screen}px screen: {', '.join(sticking_out)}"
        )


# The innermost elements whose right edge is past the screen's, as tag#id.classes.
STICKING_OUT = """(screen) => {
  const out = (e) => e.getBoundingClientRect().right > screen + 0.5;
  return [...document.body.querySelectorAll("*")]
    .filter((e) => out(e) && ![...e.children].some(out))
    .slice(0, 5)
    .map((e) => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "")
      + [...e.classList].map((c) => "." + c).join(""));
}"""


# axe-core, from npm (package.json), run in the page.
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
SERIOUS_VIOLATIONS = """async () => {
  const result = await axe.run(document, { resultTypes: ["violations"] });
  return result.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id}: ${v.nodes.slice(0, 4).map((n) => n.target.join(" ")).join(", ")}`);
}"""


def serious_violations(page):
    """What axe-core finds of serious or critical impact on the page, as "rule: the
    elements" lines."""
    # Evaluated by the test, not added as a <script>: the page's Content-Security-Policy
    # refuses an inline script without its nonce.
    page.evaluate(AXE.read_text())
    return page.evaluate(SERIOUS_VIOLATIONS)
