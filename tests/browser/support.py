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
DESKTOP = {"viewport": {"width": 1280, "height": 900}}
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


def open_menu(page):
    """Open the phone's menu and wait for its animation to end (Bootstrap's "show")."""
    from playwright.sync_api import expect

    page.get_by_role("button", name="Menu").click()
    expect(page.locator("#nav")).to_have_class(MENU_OPEN)


def choose(page, field, label):
    """Tap the button of a choice on the new-contact form (source, call nature,
    disposition); a choice filled in already is folded behind its summary."""
    group = page.locator(f"#div_id_{field}")
    if group.evaluate("(e) => e.tagName === 'DETAILS' && !e.open"):
        group.locator("summary").click()
    group.get_by_text(label, exact=True).click()


def unfold(page, part):
    """Open a folded part of the new-contact form (a <details>), if it is not open."""
    details = page.locator(part)
    if details.evaluate("(e) => !e.open"):
        details.locator("summary").first.click()


def browser_page(monkeypatch, device):
    """A page in a headless Chromium made as `device` (a Playwright context's options),
    for a fixture to yield from; closed, with the database connections the test's thread
    opened meanwhile, when the fixture ends."""
    from django.db import connections
    from playwright.sync_api import expect, sync_playwright

    # Playwright's sync API runs an event loop in this thread; the test's own database
    # work (fixtures, teardown) is still synchronous.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    # Autosave waits 3 s after typing stops; leave room for it and the request.
    expect.set_options(timeout=10_000)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(**device)
        page = context.new_page()
        page.set_default_timeout(10_000)
        yield page
        context.close()
        browser.close()
        # Queries run while Playwright's event loop was active hold a connection of their
        # own; close it, or the test database cannot be dropped at the end of the session.
        connections.close_all()
