"""Every pointer target on every page is at least 44 × 44 CSS px on a phone (WCAG 2.5.5,
Target Size, enhanced): crisis workers tap these pages standing, often in a hurry. And no
page is wider than the narrowest phone the pages are made for (375 px).

One phone-sized Chromium walks every page a GET shows each persona (the route list and
world of tests/test_empty_posts.py, as tests/test_spanish.py reads them), the phone's menu
open and every folded part (a <details>, a collapsed form) unfolded, then the second
factor's pages and the login page. WCAG's exceptions are kept: a link inside a sentence, an
element not shown, a target whose link a full-size one on the page repeats (a chart's bar
and its table's row), and the inside of a control the browser draws (a date picker)."""

import re
from collections import Counter
from urllib.parse import urlsplit

import pytest
from django.test import Client as DjangoClient
from django.urls import reverse
from playwright.sync_api import expect

from accounts import mfa
from accounts.models import User
from tests.browser.support import (
    LIVE_SERVER_DB,
    PASSWORD,
    PHONE,
    SMALL_PHONE,
    STICKING_OUT,
    browser_page,
    open_menu,
)
from tests.test_empty_posts import routes, url_of, world
from tests.test_spanish import ACCOUNT_PAGES, NOT_A_PAGE, PAGES_WITH_A_QUERY

pytestmark = [pytest.mark.browser, *LIVE_SERVER_DB]

__all__ = ["world"]  # a fixture, used by name

# Who walks the pages (and how the url names of the pages they walk begin), each role's
# pages differing: a worker, a supervisor, an agency admin, a dispatcher, the system admin,
# and a worker whose unit is on shift (the team's phone: only the dispatch pages differ
# from the first worker's).
WALKERS = {
    "alice": "",
    "sam": "",
    "dana": "",
    "dex": "",
    "root": "",
    "erin": "dispatch:",
}
# More states of some pages, shown by their query: search results, a chosen service, a
# form's errors (and the summary of them at the top of the page).
STATES = {
    "cases:client_search": lambda ids: "?q=Client",
    "referrals:new": lambda ids: (
        f"?case={ids['casework:case_detail']}&service={ids['directory:service_detail']}"
    ),
    "metrics:compliance": lambda ids: "?start=2026-02-30&end=2026-01-01",
}
# Pages that are the same whoever is signed in (the provider's page has no user): walked once.
SAME_FOR_EVERYONE = {"provider:link", "offline_outbox"}

# The page's targets under 44 CSS px either way, as "tag#id.classes 'text' w×h".
SMALL_TARGETS = """() => {
  const MIN = 44 - 0.05;  // a size in rem may land a hair under the whole pixel
  const describe = (e) => {
    const text = (e.innerText || e.textContent || e.value || e.getAttribute("aria-label") || "")
      .replace(/\\s+/g, " ").trim().slice(0, 40);
    return e.tagName.toLowerCase() + (e.id ? "#" + e.id : "")
      + [...e.classList].map((c) => "." + c).join("") + ` '${text}'`;
  };
  // Shown and taking the pointer: a box, not hidden, not clipped away (Bootstrap's
  // .visually-hidden, and .btn-check whose label is the target).
  const tappable = (e) => {
    const box = e.getBoundingClientRect();
    if (box.width === 0 || box.height === 0) return false;
    const style = getComputedStyle(e);
    return style.visibility === "visible" && style.pointerEvents !== "none"
      && style.clip !== "rect(0px, 0px, 0px, 0px)" && !(box.width <= 1 && box.height <= 1);
  };
  // A link in a sentence: non-blank text beside it, or beside an inline element holding
  // it, within its block.
  const inSentence = (link) => {
    for (let node = link; node.parentElement && node !== document.body; node = node.parentElement) {
      const parent = node.parentElement;
      const text = [...parent.childNodes].some(
        (n) => n !== node && n.nodeType === Node.TEXT_NODE && n.textContent.trim());
      if (text) return true;
      if (getComputedStyle(parent).display !== "inline") return false;
    }
    return false;
  };
  const href = (a) => new URL(a.getAttribute("href"), location.href).href;
  const sized = [];
  for (const e of document.querySelectorAll(
    "a[href], button, input:not([type=hidden]), select, textarea, summary")) {
    // Tapping a checkbox's or radio's label toggles it: the larger box is the target.
    const own = e.matches("input[type=checkbox], input[type=radio]") ? [e, ...e.labels] : [e];
    const boxes = own.filter(tappable).map((b) => b.getBoundingClientRect());
    if (!boxes.length || e.disabled) continue;
    const box = boxes.reduce((a, b) => (b.width * b.height > a.width * a.height ? b : a));
    sized.push([e, box, box.width >= MIN && box.height >= MIN]);
  }
  const fullSize = new Set(sized.filter(([e, , ok]) => ok && e.matches("a[href]")).map(([e]) => href(e)));
  return sized
    .filter(([e, , ok]) => !ok && !(e.matches("a[href]") && (inSentence(e) || fullSize.has(href(e)))))
    .map(([e, box]) => `${describe(e)} ${Math.round(box.width)}×${Math.round(box.height)}`);
}"""

# What a tap would unfold: every <details>, and the forms that open under a button (the
# phone's menu is opened with its own button).
UNFOLD = """() => {
  document.querySelectorAll("details").forEach((d) => { d.open = true; });
  document.querySelectorAll(".collapse:not(#nav)").forEach((c) => c.classList.add("show"));
}"""

# Once htmx has filled in what it loads after the page (the attachments panel): true, or
# false after 3 s (such a part is then measured as it is).
SETTLED = """async () => {
  const settled = () => !document.querySelector("[hx-trigger=load], .htmx-request");
  for (const end = Date.now() + 3000; !settled() && Date.now() < end; ) {
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return settled();
}"""


@pytest.fixture
def still_phone(transactional_db, monkeypatch, live_server):
    """The phone, asking for reduced motion: its menu opens without an animation to wait
    for, on each of the many pages."""
    yield from browser_page(
        monkeypatch, {**PHONE, "viewport": SMALL_PHONE, "reduced_motion": "reduce"}
    )


def pages(ids) -> list[tuple[str, str]]:
    """(url name, url) of every page a GET may show."""
    found = [(name, url_of(name, arguments, ids)) for name, _route, arguments in routes()]
    found += [(name, reverse(name)) for name in ACCOUNT_PAGES]
    for queries in (PAGES_WITH_A_QUERY, STATES):
        found += [(name, reverse(name) + query(ids)) for name, query in queries.items()]
    return [(name, url) for name, url in found if url and name not in NOT_A_PAGE]


def signed_in(user) -> DjangoClient:
    client = DjangoClient()
    client.force_login(user)
    return client


def shown_to(client, candidates, actions: set[str]) -> list[tuple[str, str]]:
    """The candidates that are a whole page to the client's user (not a refusal, a
    redirect, or a fragment htmx puts into a page). Asked of Django in the test's process:
    far quicker than the browser for the many answers that are none. An action answers
    every GET 405, whoever asks: noted in `actions`, and not asked again."""
    shown = []
    for name, url in candidates:
        if name in actions:
            continue
        response = client.get(url)
        if response.status_code == 405:
            actions.add(name)
        is_html = "text/html" in response.get("Content-Type", "")
        if response.status_code == 200 and is_html and b"casebook.css" in response.content:
            shown.append((name, url))
    return shown


def sign_in(page, live_server, client):
    """The browser takes the session of a Django test client signed in as the user (the
    sign-in form itself is walked at the end)."""
    page.context.clear_cookies()
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )


def small_targets(page) -> list[str]:
    """The targets under 44 px on the page the browser shows, its menu open."""
    page.evaluate(SETTLED)
    if page.get_by_role("button", name="Menu").is_visible():
        open_menu(page)
    page.evaluate(UNFOLD)
    return page.evaluate(SMALL_TARGETS)


def listing(small: dict[str, list[str]]) -> list[str]:
    """Each target as "who url: target", once: the same target on several pages (the
    menu's) is listed at its first page, with how many more have it."""
    pages_of: dict[str, list[str]] = {}
    for where, targets in small.items():
        for target, times in Counter(targets).items():
            shown = target if times == 1 else f"{target} (×{times})"
            pages_of.setdefault(shown, []).append(where)
    return [
        f"{where[0]}: {target}"
        + (f" (and on {len(where) - 1} more pages)" if len(where) > 1 else "")
        for target, where in pages_of.items()
    ]


def test_every_target_is_44_px_and_every_page_fits_a_phone(still_phone, live_server, world, root):
    page = still_phone
    small: dict[str, list[str]] = {}
    wide: dict[str, str] = {}
    walked = set()

    def measure(who):
        where = f"{who} {urlsplit(page.url).path}"
        if found := small_targets(page):
            small[where] = found
        width = page.evaluate("() => document.documentElement.scrollWidth")
        if width > page.viewport_size["width"]:
            wide[where] = f"{width}px: " + ", ".join(page.evaluate(STICKING_OUT, 375))

    candidates, actions = pages(world), set()
    for username, names in WALKERS.items():
        client = signed_in(User.objects.get(username=username))
        sign_in(page, live_server, client)
        theirs = [(name, url) for name, url in candidates if name.startswith(names)]
        for name, url in shown_to(client, theirs, actions):
            if name in SAME_FOR_EVERYONE:
                candidates.remove((name, url))
            page.goto(live_server.url + url)
            walked.add(name)
            measure(username)
    # A sign-in that failed would leave the walk short.
    assert len(walked) >= 55, sorted(walked)

    # The second factor: setting up the app (then its recovery codes), and the code the
    # next sign-in asks for after the password.
    alice = User.objects.get(username="alice")
    sign_in(page, live_server, signed_in(alice))
    page.goto(live_server.url + reverse("accounts:mfa_enrol"))
    page.get_by_label("Code").fill(mfa.current_code(mfa.pending_authenticator(alice)))
    page.get_by_role("button", name="Confirm").click()
    expect(page.locator("#recovery-codes li")).to_have_count(10)
    measure("alice")
    page.context.clear_cookies()
    page.goto(live_server.url + reverse("login"))
    measure("nobody")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    # Loaded, scripts and all: the menu's button works only once Bootstrap has run.
    page.wait_for_url(re.compile(re.escape(reverse("accounts:mfa_verify"))))
    measure("alice")

    lines = listing(small)
    assert not lines, f"{len(lines)} targets under 44 px on a phone:\n" + "\n".join(lines)
    assert not wide, "Wider than the phone:\n" + "\n".join(f"{w}: {o}" for w, o in wide.items())
