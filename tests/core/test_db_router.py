"""The router and the replica's settings: the ORM reads and writes default whatever is
configured; only lag_tolerant_db() names the replica, and only when DATABASE_REPLICA_URL
configures one (tests/reports/test_replica.py: the reports that read it)."""

import json
import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.db import connections, router

from core.db import REPLICA, PrimaryReplicaRouter, lag_tolerant_db

DEFAULT_URL = "postgres://casebook:pw@127.0.0.1:5432/casebook"
REPLICA_URL = "postgres://reader:pw@replica.internal:5433/casebook"


def from_replica(obj):
    obj._state.db = REPLICA
    return obj


class TestLagTolerantDb:
    def test_it_is_default_without_a_replica(self, monkeypatch):
        monkeypatch.delitem(connections.settings, REPLICA, raising=False)

        assert lag_tolerant_db() == "default"

    def test_it_is_the_replica_when_one_is_configured(self, monkeypatch):
        replica = {**connections["default"].settings_dict, "TEST": {"MIRROR": "default"}}
        monkeypatch.setitem(connections.settings, REPLICA, replica)

        assert lag_tolerant_db() == "replica"


class TestPrimaryReplicaRouter:
    def test_it_is_the_projects_router(self):
        assert settings.DATABASE_ROUTERS == ["core.db.PrimaryReplicaRouter"]

    def test_an_object_read_from_the_replica_is_saved_to_default(self):
        # Without a router Django would write it back where it was read from.
        assert router.db_for_write(Group, instance=from_replica(Group())) == "default"

    def test_an_object_read_from_the_replica_reads_its_relations_from_default(self):
        assert router.db_for_read(Permission, instance=from_replica(Group())) == "default"

    def test_only_default_is_migrated(self):
        routes = PrimaryReplicaRouter()

        assert routes.allow_migrate("default", "cases") is True
        assert routes.allow_migrate(REPLICA, "cases") is False

    def test_objects_of_default_and_the_replica_relate(self):
        from_default = Group()
        from_default._state.db = "default"

        assert router.allow_relation(from_default, from_replica(Group())) is True

    def test_it_has_no_say_over_another_database(self):
        elsewhere = Group()
        elsewhere._state.db = "archive"

        assert PrimaryReplicaRouter().allow_relation(elsewhere, from_replica(Group())) is None


def replica_settings(database_url=DEFAULT_URL, replica_url=REPLICA_URL):
    """Import the settings in a fresh process, as a deployment starts, with these URLs:
    (exit status, the DATABASES and DATABASE_ROUTERS as JSON or the last line of stderr)."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("DATABASE_")}
    environ["DATABASE_URL"] = database_url
    if replica_url is not None:
        environ["DATABASE_REPLICA_URL"] = replica_url
    script = (
        "import json; from casebook.settings import base as s; "
        "print(json.dumps({'databases': s.DATABASES, 'routers': s.DATABASE_ROUTERS}))"
    )
    result = subprocess.run(  # noqa: S603 - our own settings, fixed arguments
        [sys.executable, "-c", script],
        cwd=settings.BASE_DIR,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
    )
    if result.returncode:
        return result.returncode, result.stderr.strip().splitlines()[-1]
    return 0, json.loads(result.stdout)


class TestReplicaSettings:
    def test_a_replica_url_adds_a_replica_alias_like_default(self):
        status, loaded = replica_settings()

        assert status == 0, loaded
        default, replica = loaded["databases"]["default"], loaded["databases"]["replica"]
        assert replica["ENGINE"] == "django.db.backends.postgresql"
        assert (replica["HOST"], replica["PORT"], replica["USER"]) == (
            "replica.internal",
            5433,
            "reader",
        )
        assert replica["CONN_MAX_AGE"] == default["CONN_MAX_AGE"] == 60
        assert replica["CONN_HEALTH_CHECKS"] is True
        # The test runner reads default's test database through it, never makes one.
        assert replica["TEST"] == {"MIRROR": "default"}
        assert loaded["routers"] == ["core.db.PrimaryReplicaRouter"]

    def test_without_it_there_is_no_replica_alias(self):
        status, loaded = replica_settings(replica_url=None)

        assert status == 0, loaded
        assert list(loaded["databases"]) == ["default"]

    def test_the_embedded_default_is_unaffected(self, tmp_path):
        status, loaded = replica_settings(f"sqlite:///{tmp_path}/db.sqlite3", replica_url=None)

        assert status == 0, loaded
        assert list(loaded["databases"]) == ["default"]
        assert loaded["databases"]["default"]["ENGINE"] == "django.db.backends.sqlite3"

    @pytest.mark.parametrize(
        "url",
        [
            "mysql://reader@replica.internal/casebook",
            "sqlite:////tmp/replica.sqlite3",
            "postgres://reader@replica.internal:notaport/casebook",
            "postgres://reader@replica.internal",
            "not-a-url",
        ],
    )
    def test_it_refuses_anything_but_a_postgresql_url(self, url):
        status, last_line = replica_settings(replica_url=url)

        assert status != 0
        assert "ImproperlyConfigured" in last_line
        assert "DATABASE_REPLICA_URL" in last_line

    def test_it_refuses_a_replica_of_the_embedded_default(self, tmp_path):
        status, last_line = replica_settings(f"sqlite:///{tmp_path}/db.sqlite3")

        assert status != 0
        assert "ImproperlyConfigured" in last_line
        assert "PostgreSQL" in last_line
