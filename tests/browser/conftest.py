"""A phone-sized headless Chromium (Debian's `chromium`, driven by Playwright) against
the live server."""

import pytest
from django.db import connections

from tests.browser.support import CHROMIUM, CHROMIUM_ARGS, PHONE


@pytest.fixture
def phone(transactional_db, monkeypatch, live_server):
    """A page in a phone-sized headless Chromium.

    Asks for the database before the live server, so that the server (and its database
    connection) stops before the test database is dropped."""
    from playwright.sync_api import expect, sync_playwright

    # Playwright's sync API runs an event loop in this thread; the test's own database
    # work (fixtures, teardown) is still synchronous.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    # Autosave waits 3 s after typing stops; leave room for it and the request.
    expect.set_options(timeout=10_000)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(**PHONE)
        page = context.new_page()
        page.set_default_timeout(10_000)
        yield page
        context.close()
        browser.close()
        # Queries run while Playwright's event loop was active hold a connection of their
        # own; close it, or the test database cannot be dropped at the end of the session.
        connections.close_all()
