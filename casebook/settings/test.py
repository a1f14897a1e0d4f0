"""Tests run on real PostgreSQL and Redis at their default local addresses."""

import os
from urllib.parse import urlsplit, urlunsplit

from django.core.exceptions import ImproperlyConfigured

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/casebook")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")


def _redis_url_for_worker(url: str, index: int) -> str:
    """REDIS_URL with its database number lowered by `index` (gw0 keeps it)."""
    parts = urlsplit(url)
    number = int(parts.path.strip("/") or 0) - index
    if number < 0:
        raise ImproperlyConfigured(
            f"REDIS_URL={url} leaves no Redis database for pytest-xdist worker gw{index}"
        )
    return urlunsplit(parts._replace(path=f"/{number}"))


# pytest-xdist runs the suite in several processes (gw0, gw1, ...). Each takes a Redis
# database of its own, counting down from REDIS_URL's (15, the last of Redis's 16, by
# default), so that cache keys (login lock-outs, the heartbeat) and broker queues never
# cross between workers. The processes a test starts inherit the worker's URL unchanged.
_XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
if _XDIST_WORKER and os.environ.get("CASEBOOK_REDIS_WORKER") != _XDIST_WORKER:
    os.environ["REDIS_URL"] = _redis_url_for_worker(
        os.environ["REDIS_URL"], int(_XDIST_WORKER.removeprefix("gw"))
    )
    os.environ["CASEBOOK_REDIS_WORKER"] = _XDIST_WORKER

from .base import *  # noqa: E402, F403
from .base import env  # noqa: E402

SECRET_KEY = "test-only-key"  # noqa: S105
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# The browser tests load Bootstrap and htmx from the finders, as in development.
STATIC_ROOT = None
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
