"""Spanish in a real Chromium on a phone: the login page follows the browser's language
(and its switcher), a user's own setting wins after sign-in, and the scripts speak the
page's language too."""

import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from tests.browser.support import LIVE_SERVER_DB, PASSWORD, fits_the_screen, serious_violations

pytestmark = [pytest.mark.browser, *LIVE_SERVER_DB]


def sign_in(page, username, button):
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(PASSWORD)
    page.get_by_role("button", name=button).click()
    page.wait_for_url(re.compile(re.escape(reverse("casework:caseload")) + "$"))


def test_a_spanish_browser_gets_a_spanish_login_and_product(phone, live_server, alice):
    page = phone
    # The browser asks for Spanish first; alice has not chosen a language.
    page.context.set_extra_http_headers({"Accept-Language": "es-MX,es;q=0.9,en;q=0.5"})

    page.goto(live_server.url + reverse("login"))
    expect(page.locator("html")).to_have_attribute("lang", "es")
    sign_in(page, "alice", "Iniciar sesión")

    expect(page.locator("html")).to_have_attribute("lang", "es")
    page.goto(live_server.url + reverse("casework:contact_new"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Nuevo contacto de crisis")
    expect(page.get_by_role("button", name="Guardar contacto")).to_be_visible()
    # The scripts' texts come from the JavaScript catalogue in the page's language.
    assert page.evaluate("gettext('Draft not saved')") == "Borrador no guardado"


def test_the_users_own_language_wins_over_the_browsers(phone, live_server, alice):
    page = phone
    alice.language = "es"
    alice.save(update_fields=["language"])

    # An English browser: the login page is English, and its switcher offers Spanish.
    page.goto(live_server.url + reverse("login"))
    expect(page.locator("html")).to_have_attribute("lang", "en")
    sign_in(page, "alice", "Log in")
    # Signed in, alice's own setting speaks.
    expect(page.locator("html")).to_have_attribute("lang", "es")

    # She chooses English on her language page; the next page is English.
    page.goto(live_server.url + reverse("accounts:language"))
    form = page.locator("form", has=page.locator("select[name=language]"))
    form.locator("select").select_option("en")
    form.locator("button[type=submit]").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    alice.refresh_from_db()
    assert alice.language == "en"


def test_the_login_pages_switcher_turns_it_to_spanish(phone, live_server):
    page = phone
    page.goto(live_server.url + reverse("login"))
    expect(page.locator("html")).to_have_attribute("lang", "en")

    switcher = page.locator(f"form[action='{reverse('set_language')}']")
    switcher.locator("select").select_option("es")
    switcher.locator("button").click()

    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page.get_by_role("button", name="Iniciar sesión")).to_be_visible()


def test_the_spanish_pages_fit_a_phone(phone, live_server, alice, sam, alice_case):
    """Spanish runs longer than English: the pages a worker and a supervisor use on a
    phone still fit its width, and stay accessible."""
    page = phone
    for user in (alice, sam):
        user.language = "es"
        user.save(update_fields=["language"])
    pages = {
        "alice": [
            reverse("casework:caseload"),
            reverse("followups:today"),
            reverse("casework:contact_new"),
            reverse("casework:case_detail", args=[alice_case.pk]),
            reverse("referrals:list"),
            reverse("directory:search"),
            reverse("dispatch:unit"),
            reverse("accounts:language"),
        ],
        "sam": [reverse("metrics:compliance"), reverse("supervision:team")],
    }
    for username, urls in pages.items():
        page.context.clear_cookies()
        page.goto(live_server.url + reverse("login"))
        sign_in(page, username, "Log in")
        for url in urls:
            page.goto(live_server.url + url)
            expect(page.locator("html")).to_have_attribute("lang", "es")
            fits_the_screen(page)
            assert serious_violations(page) == [], url
