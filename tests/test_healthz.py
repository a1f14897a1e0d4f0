import time

import pytest
from django.core.cache import cache
from django.db import OperationalError, connection

from audit.models import AuditEvent
from casebook.tasks import HEARTBEAT_KEY


@pytest.fixture
def heartbeat():
    cache.delete(HEARTBEAT_KEY)
    yield
    cache.delete(HEARTBEAT_KEY)


@pytest.mark.django_db
@pytest.mark.usefixtures("heartbeat")
class TestHealthz:
    def test_it_answers_200_when_database_and_broker_answer(self, client):
        response = client.get("/healthz")

        assert response.status_code == 200
        body = response.json()
        assert body["status"] == "ok"
        assert body["failing"] == []
        assert body["database"] == {"ok": True, "vendor": "postgresql"}
        assert body["broker"] == {"ok": True, "url": "redis://"}
        assert body["worker"] == {"last_heartbeat": None}

    def test_it_reports_the_last_worker_heartbeat(self, client):
        cache.set(HEARTBEAT_KEY, "2026-01-02T03:04:05+00:00")

        body = client.get("/healthz").json()

        assert body["worker"]["last_heartbeat"] == "2026-01-02T03:04:05+00:00"

    def test_a_broker_down_is_degraded_yet_200_quickly(self, client, settings):
        # Pages still read and write without the broker: a load balancer keeps this one.
        settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"

        started = time.monotonic()
        response = client.get("/healthz")

        assert time.monotonic() - started < 3
        assert response.status_code == 200
        body = response.json()
        assert body["status"] == "degraded"
        assert body["failing"] == ["broker"]
        assert body["broker"]["ok"] is False
        assert body["database"]["ok"] is True

    def test_a_database_down_is_unhealthy_503(self, client, monkeypatch):
        def refuse(*args, **kwargs):
            raise OperationalError("connection refused")

        monkeypatch.setattr(connection, "cursor", refuse)

        response = client.get("/healthz")

        assert response.status_code == 503
        body = response.json()
        assert body["status"] == "unhealthy"
        assert body["failing"] == ["database"]
        assert body["database"] == {
            "ok": False,
            "vendor": "postgresql",
            "error": "OperationalError",
        }
        assert body["broker"]["ok"] is True
        assert b"connection refused" not in response.content

    def test_database_and_broker_down_is_unhealthy_naming_both(self, client, settings, monkeypatch):
        settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"

        def refuse(*args, **kwargs):
            raise OperationalError("connection refused")

        monkeypatch.setattr(connection, "cursor", refuse)

        response = client.get("/healthz")

        assert response.status_code == 503
        assert response.json()["failing"] == ["database", "broker"]

    def test_it_never_shows_broker_credentials(self, client, settings):
        settings.CELERY_BROKER_URL = "redis://casebook:s3cret-pass@127.0.0.1:1/0"

        response = client.get("/healthz")

        assert response.json()["broker"]["url"] == "redis://"
        assert b"s3cret-pass" not in response.content
        assert b"casebook" not in response.content

    def test_it_needs_no_login_and_writes_no_audit_row(self, client):
        response = client.get("/healthz")

        assert response.status_code == 200
        assert AuditEvent.objects.count() == 0

    def test_it_is_not_cached(self, client):
        response = client.get("/healthz")

        assert "no-cache" in response["Cache-Control"]

    def test_it_refuses_post(self, client):
        assert client.post("/healthz").status_code == 405


@pytest.mark.django_db
class TestHealthzFilesystemBroker:
    """The embedded default: the broker is a pair of folders."""

    @pytest.fixture
    def filesystem_broker(self, settings, tmp_path):
        folder = tmp_path / "broker"
        settings.CELERY_BROKER_URL = "filesystem://"
        settings.CELERY_BROKER_TRANSPORT_OPTIONS = {
            "data_folder_in": str(folder),
            "data_folder_out": str(folder),
        }
        return folder

    def test_it_is_ok_when_the_folders_exist(self, client, filesystem_broker):
        filesystem_broker.mkdir()

        response = client.get("/healthz")

        assert response.status_code == 200
        assert response.json()["broker"] == {"ok": True, "url": "filesystem://"}

    def test_it_is_degraded_when_the_folders_are_missing(self, client, filesystem_broker):
        response = client.get("/healthz")

        assert response.status_code == 200
        assert response.json()["status"] == "degraded"
        assert response.json()["broker"]["ok"] is False
