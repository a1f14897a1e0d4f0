"""A worker's second factor in a real headless Chromium, as production asks for it: the
first sign-in sets up the authenticator (its secret read off the page, as a person types it
into an app), later sign-ins ask for the app's code, and a wrong code is refused."""

import hashlib
import hmac
import re
import struct
import time
from base64 import b32decode

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from tests.browser.support import (
    ARTIFACTS,
    LIVE_SERVER_DB,
    MENU_OPEN,
    PASSWORD,
    fits_the_screen,
)

pytestmark = [pytest.mark.browser, *LIVE_SERVER_DB]


def totp(secret: str, *, steps_ahead: int = 0) -> str:
    """RFC 6238 with the defaults authenticator apps use (SHA-1, 30 s, 6 digits), written
    out here so that the test checks the page's secret as an app would read it."""
    key = b32decode(secret.replace(" ", "").upper())
    counter = int(time.time()) // 30 + steps_ahead
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    number = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{number % 1_000_000:06d}"


def sign_in_with_password(page, live_server, username):
    page.goto(live_server.url + reverse("login"))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def test_a_worker_enrols_then_signs_in_with_the_apps_code(phone, live_server, settings, alice):
    settings.MFA_REQUIRED = True
    page = phone
    ARTIFACTS.mkdir(exist_ok=True)
    caseload = re.compile(re.escape(reverse("casework:caseload")) + "$")

    # First sign-in: the password leads to setting up the authenticator, not the caseload.
    sign_in_with_password(page, live_server, "alice")
    page.wait_for_url(re.compile(re.escape(reverse("accounts:mfa_enrol"))))
    expect(page.locator(".mfa-qr svg")).to_be_visible()
    secret = page.locator("#mfa-secret").inner_text()
    fits_the_screen(page)
    page.screenshot(path=ARTIFACTS / "mfa-enrol-phone.png", full_page=True)
    page.get_by_label("Code").fill(totp(secret))
    page.get_by_role("button", name="Confirm").click()

    # Ten recovery codes, shown this once; then on to the caseload.
    expect(page.get_by_role("heading", name="Your recovery codes")).to_be_visible()
    expect(page.locator("#recovery-codes li")).to_have_count(10)
    page.get_by_role("link", name="I have saved my codes: continue").click()
    page.wait_for_url(caseload)

    # Sign out, and in again: the app's code is asked for.
    page.get_by_role("button", name="Menu").click()
    # The menu opens with an animation, during which its buttons move: wait for its end
    # (Bootstrap's "show"), or on a busy machine the click can land where nothing is.
    expect(page.locator("#nav")).to_have_class(MENU_OPEN)
    log_out = page.get_by_role("button", name="Log out")
    expect(log_out).to_be_visible()
    with page.expect_navigation(url=re.compile(re.escape(reverse("login"))), timeout=30_000):
        log_out.click()
    sign_in_with_password(page, live_server, "alice")
    page.wait_for_url(re.compile(re.escape(reverse("accounts:mfa_verify"))))
    page.goto(live_server.url + reverse("casework:caseload"))
    page.wait_for_url(re.compile(re.escape(reverse("accounts:mfa_verify"))))

    # A wrong code is refused, and nothing opens.
    right = totp(secret, steps_ahead=1)  # the code used at enrolment counts once
    page.get_by_label("Code").fill(f"{(int(right) + 1) % 1_000_000:06d}")
    page.get_by_role("button", name="Verify").click()
    expect(page.locator("#id_code").locator("xpath=..")).to_contain_text("not right")
    assert reverse("accounts:mfa_verify") in page.url

    # After the short wait a wrong code causes, the app's code opens the caseload.
    page.wait_for_timeout(2_100)
    page.get_by_label("Code").fill(totp(secret, steps_ahead=1))
    page.get_by_role("button", name="Verify").click()
    page.wait_for_url(caseload)
    expect(page.get_by_role("heading", level=1)).to_be_visible()
