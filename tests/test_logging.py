"""Logs are quiet, one line per event: a refused or missing page is one line (method, path,
status, user) without a traceback, printed once, and the app starts without warnings."""

import io
import logging
import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from casebook.log import ClientErrorLine

REPORT_ONLY = "The referral report is for agency admins and supervisors."


@pytest.fixture
def request_records(caplog):
    """The records django.request logs during the test."""
    caplog.set_level(logging.INFO, logger="django.request")

    def records():
        return [r for r in caplog.records if r.name == "django.request"]

    return records


@pytest.fixture
def console():
    """What the configured console handler (settings.LOGGING) prints during the test."""
    handler = next(h for h in logging.getLogger().handlers if h.get_name() == "console")
    stream = io.StringIO()
    previous = handler.setStream(stream)
    yield stream
    handler.setStream(previous)


class TestRefusedAndMissingPages:
    def test_a_404_is_one_line_without_a_traceback(self, login, alice, request_records, console):
        path = reverse("casework:case_detail", args=[999999])

        assert login(alice).get(path).status_code == 404

        [record] = request_records()
        assert record.levelno == logging.WARNING and record.exc_info is None
        assert record.getMessage() == f"GET {path} 404 user={alice.pk}"
        [line] = console.getvalue().splitlines()
        assert line.endswith(f"WARNING django.request: GET {path} 404 user={alice.pk}")

    def test_a_403_page_is_one_line_with_its_reason(self, login, alice, request_records, console):
        path = reverse("reports:referral_report")

        assert login(alice).get(path).status_code == 403

        [record] = request_records()
        assert record.exc_info is None
        assert record.getMessage() == f"GET {path} 403 user={alice.pk}: {REPORT_ONLY}"
        assert "Traceback" not in console.getvalue()
        assert len(console.getvalue().splitlines()) == 1

    def test_an_api_403_is_one_line(self, api, alice, request_records):
        api.force_login(alice)

        assert api.get("/api/v1/reports/exports/").status_code == 403

        [record] = request_records()
        assert record.getMessage() == f"GET /api/v1/reports/exports/ 403 user={alice.pk}"

    def test_an_anonymous_visitor_is_no_user(self, client, db, request_records):
        assert client.get("/no-such-page/%0Aforged").status_code == 404

        # The decoded newline stays escaped: it cannot start a forged log line.
        [record] = request_records()
        assert record.getMessage() == "GET /no-such-page/\\nforged 404 user=-"


class TestClientErrorLine:
    def record(self, status, exc):
        record = logging.LogRecord(
            "django.request", logging.ERROR, __file__, 1, "Boom: %s", ("/x",), exc
        )
        record.status_code = status
        record.request = type("Request", (), {"method": "POST", "path": "/x", "user": None})()
        return record

    def test_a_server_error_keeps_its_traceback(self):
        try:
            raise ValueError("broken")
        except ValueError:
            record = self.record(500, sys.exc_info())

        assert ClientErrorLine().filter(record)
        assert record.exc_info and record.getMessage() == "Boom: /x"

    def test_a_record_filtered_twice_keeps_its_reason(self):
        # runserver sets Django up twice, and dictConfig then adds the filter twice.
        exc = PermissionDenied("No.")
        record = self.record(403, (type(exc), exc, None))

        ClientErrorLine().filter(record)
        ClientErrorLine().filter(record)

        assert record.getMessage() == "POST /x 403 user=-: No."


class TestLoggingConfig:
    def test_django_records_are_printed_by_the_root_handler_only(self):
        # Django's default config gives "django" its own console handler: every record was
        # printed by it and again by the root's.
        for name in ("django", "django.request", "django.server"):
            logger = logging.getLogger(name)
            assert logger.handlers == [] and logger.propagate, name


@pytest.mark.integration
class TestStartup:
    def test_the_embedded_default_starts_and_serves_a_404_without_warnings(self, tmp_path):
        scrubbed = ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "DJANGO_SETTINGS_MODULE")
        env = {k: v for k, v in os.environ.items() if k not in scrubbed}
        env.update(DJANGO_SETTINGS_MODULE="casebook.settings.dev", VAR_DIR=str(tmp_path))
        script = (
            "import django; django.setup()\n"
            "from django.test import Client\n"
            "from casebook.celery import app\n"
            "app.connection_for_write().info()\n"  # kombu said "No hostname was supplied"
            "Client(HTTP_HOST='localhost').get('/no-such-page/')\n"
        )

        result = subprocess.run(  # noqa: S603 - our own interpreter and script
            [sys.executable, "-c", script],
            cwd=settings.BASE_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

        assert result.returncode == 0, result.stderr
        # DEBUG is on in development: Django's own console handler printed it a second time.
        [line] = (result.stdout + result.stderr).splitlines()
        assert line.endswith("WARNING django.request: GET /no-such-page/ 404 user=-")
