"""A phone-sized headless Chromium (Debian's `chromium`, driven by Playwright) against
the live server."""

import asyncio
import concurrent.futures

import pytest
from django.db import connections

from tests.browser.support import DESKTOP, PHONE, browser_page


@pytest.fixture
def phone(transactional_db, monkeypatch, live_server):
    """A page in a phone-sized headless Chromium.

    Asks for the database before the live server, so that the server (and its database
    connection) stops before the test database is dropped."""
    yield from browser_page(monkeypatch, PHONE)


@pytest.fixture
def desktop(transactional_db, monkeypatch, live_server):
    """A page in a desktop-sized headless Chromium (as `phone`)."""
    yield from browser_page(monkeypatch, DESKTOP)


class AsgiServer:
    """casebook over ASGI (casebook/asgi.py) in a thread of the test's process, as uvicorn
    serves it: the pages and the dispatch pages' WebSockets, on the test database."""

    def __init__(self, port=0):
        import threading

        import uvicorn

        from casebook.asgi import application

        config = uvicorn.Config(
            application, host="127.0.0.1", port=port, log_level="warning", lifespan="off"
        )
        self.server = uvicorn.Server(config)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self):
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self.server.serve())

    def __enter__(self):
        import time

        self.thread.start()
        for _ in range(200):
            if self.server.started:
                break
            time.sleep(0.05)
        else:
            raise RuntimeError("The ASGI server did not start")
        self.port = self.server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        return self

    def __exit__(self, *exc):
        # The views ran in the server's one thread for sync code: close its connection
        # there, or the test database cannot be dropped.
        from asgiref.sync import sync_to_async

        closing = sync_to_async(connections.close_all)()
        asyncio.run_coroutine_threadsafe(closing, self.loop).result(10)
        self.server.should_exit = True
        self.thread.join(10)


class RestartableServer:
    """An AsgiServer that can be stopped and started again at the same address, as a
    deployment restarts: open WebSockets are closed (1012, service restart)."""

    def __init__(self):
        self.current = AsgiServer().__enter__()
        self.url = self.current.url

    def stop(self):
        self.current.__exit__(None, None, None)

    def start(self):
        self.current = AsgiServer(port=self.current.port).__enter__()


@pytest.fixture
def asgi_server(transactional_db, monkeypatch):
    """The live ASGI server (the database first, so that it stops before the database is
    dropped). Its connections close after each request, as casebook/asgi.py has them."""
    for alias in connections:
        monkeypatch.setitem(connections.settings[alias], "CONN_MAX_AGE", 0)
    server = RestartableServer()
    yield server
    server.stop()
    connections.close_all()


@pytest.fixture
def desk_and_phone(asgi_server, monkeypatch):
    """Two browsers at once, as a dispatch centre and a team have them: a desktop page and
    a phone page, each with its own sign-in."""
    from playwright.sync_api import expect, sync_playwright

    from tests.browser.support import CHROMIUM, CHROMIUM_ARGS, PHONE

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    expect.set_options(timeout=10_000)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        desk = browser.new_context(viewport={"width": 1400, "height": 900})
        phone = browser.new_context(**PHONE)
        pages = desk.new_page(), phone.new_page()
        for page in pages:
            page.set_default_timeout(10_000)
        yield pages
        desk.close()
        phone.close()
        browser.close()
        connections.close_all()


def elsewhere(work, *args, **kwargs):
    """Run `work` in a thread of its own, as another process would (a Celery worker): the
    test's thread runs Playwright's event loop, where a change cannot tell the channel
    layer synchronously."""

    def run():
        try:
            return work(*args, **kwargs)
        finally:
            connections.close_all()

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(run).result()
