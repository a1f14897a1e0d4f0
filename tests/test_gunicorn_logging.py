"""The access logs hold routes, never what was typed in a query string nor a provider
link's token: gunicorn's (casebook/gunicorn_logging.py, loaded by gunicorn.conf.py) and
the development server's line (django.server, as settings.LOGGING configures it)."""

import datetime
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from contextlib import closing, suppress
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.conf import settings
from gunicorn.config import Config  # type: ignore[import-untyped]

from casebook.gunicorn_logging import RedactingLogger, loggable_path

NAME = "Quillon Marchbanks"
PHONE = "5415550187"
SECRET = "s3cr3t-Token-Value"
PUBLIC_ID = uuid.UUID("2f1c8a47-9b0e-4c1d-8e2f-3a4b5c6d7e8f")
COMBINED = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s"'


class TestLoggablePath:
    @pytest.mark.parametrize(
        ("target", "logged"),
        [
            ("/cases/contacts/suggest/?legal_name=Q+M&phone=541", "/cases/contacts/suggest/"),
            (f"/p/{PUBLIC_ID}.{SECRET}/", f"/p/{PUBLIC_ID}.***/"),
            (f"/p/{PUBLIC_ID}.{SECRET}/?download=1", f"/p/{PUBLIC_ID}.***/"),
            (f"https://casebook.example.org/p/{PUBLIC_ID}.{SECRET}/", f"/p/{PUBLIC_ID}.***/"),
            (f"/p/{SECRET}/", "/p/***/"),
            ("/p/not-a-uuid.secret/more/", "/p/***/"),
            ("/cases/%0Afake line", "/cases/%0Afake line"),
            # urlsplit drops a raw newline; a decoded one is escaped: no forged line.
            ("/cases/\nfake line", "/cases/fake line"),
            ("/cases/\r\x00x", "/cases/\\x00x"),
            ("", "/"),
        ],
    )
    def test_it_keeps_the_route_only(self, target, logged):
        assert loggable_path(target) == logged


def access_line(environ_extra: dict, headers: tuple[tuple[str, str], ...] = ()) -> str:
    """The access-log line RedactingLogger writes for one request, in the combined format."""
    config = Config()
    config.set("accesslog", None)
    config.set("access_log_format", COMBINED)
    logger = RedactingLogger(config)
    environ = {
        "REQUEST_METHOD": "GET",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "10.0.0.7",
        "HTTP_USER_AGENT": "pytest",
        **environ_extra,
    }
    response = SimpleNamespace(status="200 OK", sent=12, headers=[("Set-Cookie", "sid=abc")])
    request = SimpleNamespace(headers=[(name.upper(), value) for name, value in headers])
    elapsed = datetime.timedelta(milliseconds=5)
    atoms = logger.atoms_wrapper_class(logger.atoms(response, request, environ, elapsed))
    return config.access_log_format % atoms


class TestRedactingLogger:
    def test_the_request_line_and_referer_lose_their_query_strings(self):
        query = f"legal_name={NAME.replace(' ', '+')}&phone={PHONE}"
        line = access_line(
            {
                "RAW_URI": f"/cases/contacts/suggest/?{query}",
                "PATH_INFO": "/cases/contacts/suggest/",
                "QUERY_STRING": query,
                "HTTP_REFERER": f"https://casebook.example.org/cases/clients/?q={PHONE}",
            },
            headers=(("Referer", f"https://casebook.example.org/cases/clients/?q={PHONE}"),),
        )
        assert '"GET /cases/contacts/suggest/ HTTP/1.1" 200 12 "/cases/clients/" "pytest"' in line
        assert line.startswith("10.0.0.7 - - [")
        for secret in ("Quillon", "Marchbanks", PHONE):
            assert secret not in line

    def test_a_provider_token_is_cut_to_the_public_id(self):
        path = f"/p/{PUBLIC_ID}.{SECRET}/"
        line = access_line({"RAW_URI": path, "PATH_INFO": path, "HTTP_REFERER": path})
        assert f'"GET /p/{PUBLIC_ID}.***/ HTTP/1.1"' in line
        assert SECRET not in line

    @pytest.mark.parametrize("atom", ["%(q)s", "%(U)s", "%({query_string}e)s", "%({raw_uri}e)s"])
    def test_no_atom_brings_the_query_back(self, atom):
        config = Config()
        config.set("access_log_format", atom)
        logger = RedactingLogger(config)
        environ = {
            "REQUEST_METHOD": "GET",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "RAW_URI": f"/cases/clients/?q={PHONE}",
            "PATH_INFO": "/cases/clients/",
            "QUERY_STRING": f"q={PHONE}",
        }
        response = SimpleNamespace(status="200 OK", sent=0, headers=[])
        atoms = logger.atoms_wrapper_class(
            logger.atoms(response, SimpleNamespace(headers=[]), environ, datetime.timedelta())
        )
        assert PHONE not in config.access_log_format % atoms


class TestTheDevelopmentServerLine:
    def server_line(self, request_line: str) -> str:
        record = logging.LogRecord(
            "django.server",
            logging.INFO,
            __file__,
            1,
            '"%s" %s %s',
            (request_line, "200", "512"),
            None,
        )
        for configured in logging.getLogger("django.server").filters:
            assert isinstance(configured, logging.Filter)
            assert configured.filter(record)
        return record.getMessage()

    def test_it_holds_the_route_only(self):
        line = self.server_line(f"GET /cases/contacts/suggest/?phone={PHONE}&legal_name=Q HTTP/1.1")
        assert line == '"GET /cases/contacts/suggest/ HTTP/1.1" 200 512'

    def test_a_provider_token_is_cut(self):
        line = self.server_line(f"GET /p/{PUBLIC_ID}.{SECRET}/ HTTP/1.1")
        assert line == f'"GET /p/{PUBLIC_ID}.***/ HTTP/1.1" 200 512'

    def test_a_line_it_cannot_read_is_left_out(self):
        assert SECRET not in self.server_line(f"GET /p/{PUBLIC_ID}.{SECRET} /x HTTP/1.1")


# A whole WSGI application for gunicorn to serve: the log, not Django, is under test.
APP = """
def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]
"""


def free_port() -> int:
    with closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def gunicorn(tmp_path):
    """gunicorn with the project's gunicorn.conf.py (read from the working directory, as
    `gunicorn casebook.wsgi` run from the checkout reads it), serving a stub app."""
    (tmp_path / "stub_app.py").write_text(APP)
    port = free_port()
    access_log = tmp_path / "access.log"
    output = open(tmp_path / "gunicorn.out", "wb")  # noqa: SIM115 - closed below
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{settings.BASE_DIR}"}
    process = subprocess.Popen(  # noqa: S603 - our own server, fixed arguments
        [
            str(Path(sys.executable).with_name("gunicorn")),
            *("--bind", f"127.0.0.1:{port}", "--workers", "1"),
            *("--access-logfile", str(access_log), "stub_app:application"),
        ],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=output,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while True:
        with suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            break
        if process.poll() is not None or time.monotonic() > deadline:
            output.close()
            pytest.fail("gunicorn did not start:\n" + (tmp_path / "gunicorn.out").read_text())
        time.sleep(0.2)
    yield SimpleNamespace(url=f"http://127.0.0.1:{port}", access_log=access_log)
    process.terminate()
    with suppress(subprocess.TimeoutExpired):
        process.wait(timeout=10)
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)
    output.close()


@pytest.mark.integration
class TestGunicornAccessLog:
    def test_it_holds_no_query_string_nor_token(self, gunicorn):
        query = f"legal_name={NAME.replace(' ', '+')}&phone={PHONE}"
        for path, referer in (
            (f"/cases/contacts/suggest/?{query}", f"{gunicorn.url}/cases/contacts/new/?{query}"),
            (f"/p/{PUBLIC_ID}.{SECRET}/?print=1", f"{gunicorn.url}/p/{PUBLIC_ID}.{SECRET}/"),
        ):
            request = urllib.request.Request(gunicorn.url + path, headers={"Referer": referer})  # noqa: S310
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                assert response.status == 200
        deadline = time.monotonic() + 10
        while gunicorn.access_log.read_text().count("\n") < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        log = gunicorn.access_log.read_text()
        assert '"GET /cases/contacts/suggest/ HTTP/1.1" 200' in log
        assert f'"GET /p/{PUBLIC_ID}.***/ HTTP/1.1" 200' in log
        for secret in ("Quillon", "Marchbanks", PHONE, SECRET, "legal_name"):
            assert secret not in log, secret
