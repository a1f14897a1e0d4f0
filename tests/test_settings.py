"""Production settings, checked the way a deployment starts them: in a fresh process."""

import os
import secrets
import subprocess
import sys

import pytest
from django.conf import settings

pytestmark = pytest.mark.integration

PROD_ENV = {
    "DJANGO_SETTINGS_MODULE": "casebook.settings.prod",
    "ALLOWED_HOSTS": "casebook.example.org",
    "DATABASE_URL": "postgres://casebook:pw@127.0.0.1:5432/casebook",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
}
# Whatever the test run's own environment says must not leak into the deployment check.
SCRUBBED = (
    "DJANGO_SETTINGS_MODULE",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "CSRF_TRUSTED_ORIGINS",
    "DATABASE_URL",
    "REDIS_URL",
    "CELERY_BROKER_URL",
    "DEBUG",
    "ALLOW_SQLITE",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
)


def manage(*args, **env):
    environ = {k: v for k, v in os.environ.items() if k not in SCRUBBED}
    environ.update({k: v for k, v in env.items() if v is not None})
    return subprocess.run(  # noqa: S603 - our own manage.py with fixed arguments
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )


def prod_env(**overrides):
    env = {**PROD_ENV, "SECRET_KEY": secrets.token_urlsafe(64)}
    env.update(overrides)
    return env


class TestProductionSettings:
    def test_check_deploy_is_clean(self):
        result = manage("check", "--deploy", "--fail-level", "WARNING", **prod_env())

        assert result.returncode == 0, result.stdout + result.stderr
        assert "System check identified no issues" in result.stdout
        assert "WARNING" not in result.stdout + result.stderr

    def test_it_refuses_to_start_without_a_secret_key(self):
        result = manage("check", **prod_env(SECRET_KEY=None))

        assert result.returncode != 0
        last_line = result.stderr.strip().splitlines()[-1]
        assert "ImproperlyConfigured" in last_line
        assert "SECRET_KEY" in last_line

    def test_it_refuses_a_short_secret_key(self):
        result = manage("check", **prod_env(SECRET_KEY="too-short"))

        assert result.returncode != 0
        assert "SECRET_KEY" in result.stderr.strip().splitlines()[-1]

    @pytest.mark.parametrize(
        "url", ["not-a-url", "postgres://u@db.example.org:notaport/casebook", "mysql://u@h/db"]
    )
    def test_it_refuses_a_bad_database_url(self, url):
        result = manage("check", **prod_env(DATABASE_URL=url))

        assert result.returncode != 0
        last_line = result.stderr.strip().splitlines()[-1]
        assert "ImproperlyConfigured" in last_line
        assert "DATABASE_URL" in last_line

    def test_it_refuses_sqlite(self):
        result = manage("check", **prod_env(DATABASE_URL="sqlite:////tmp/casebook.sqlite3"))

        assert result.returncode != 0
        assert "PostgreSQL" in result.stderr.strip().splitlines()[-1]

    def test_it_refuses_to_run_without_redis(self):
        result = manage("check", **prod_env(REDIS_URL=None))

        assert result.returncode != 0
        assert "REDIS_URL" in result.stderr.strip().splitlines()[-1]

    def test_seed_demo_refuses_to_create_demo_logins(self):
        result = manage("seed_demo", **prod_env())

        assert result.returncode != 0
        assert "Refusing to load demo logins" in result.stderr
