"""Tests run on real PostgreSQL and Redis at their default local addresses."""

import os
from urllib.parse import urlsplit, urlunsplit

from django.core.exceptions import ImproperlyConfigured

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/casebook")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")


def _redis_url_lowered(url: str, index: int) -> str:
    """REDIS_URL with its database number lowered by `index` (0 keeps it)."""
    parts = urlsplit(url)
    number = int(parts.path.strip("/") or 0) - index
    if number < 0:
        raise ImproperlyConfigured(
            f"REDIS_URL={url} leaves no Redis database for test lane {index}"
        )
    return urlunsplit(parts._replace(path=f"/{number}"))


# pytest-xdist runs the suite in several processes (gw0, gw1, ...), and `make test` runs
# the tests that wait on real processes in one pytest more beside them, given the next
# number in CASEBOOK_TEST_LANE. Each such lane takes a Redis database of its own,
# counting down from REDIS_URL's (15, the last of Redis's 16, by default), so that cache
# keys (login lock-outs, the heartbeat) and broker queues never cross between lanes; the
# side lane has a test database of its own too (below). The processes a test starts
# inherit the lane's URL unchanged.
_LANE = os.environ.get("PYTEST_XDIST_WORKER", "").removeprefix("gw") or os.environ.get(
    "CASEBOOK_TEST_LANE", ""
)
if _LANE and os.environ.get("CASEBOOK_REDIS_LANE") != _LANE:
    os.environ["REDIS_URL"] = _redis_url_lowered(os.environ["REDIS_URL"], int(_LANE))
    os.environ["CASEBOOK_REDIS_LANE"] = _LANE

from .base import *  # noqa: E402, F403
from .base import DATABASES, env  # noqa: E402

SECRET_KEY = "test-only-key"  # noqa: S105  # nosec B105
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    # tests/attachments put the files in a temporary folder of each test's own.
    "attachments": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
}

# The browser tests load Bootstrap and htmx from the finders, as in development.
STATIC_ROOT = None
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True

# A replica in the developer's environment (DATABASE_REPLICA_URL) is not the tests':
# tests/reports/test_replica.py adds its own alias, a mirror of default.
DATABASES.pop("replica", None)

# The side lane is not an xdist worker, so its test database takes the lane's number
# (SQLite's test databases are in memory, one per process).
_db = DATABASES["default"]
_side_lane = os.environ.get("CASEBOOK_TEST_LANE") and not os.environ.get("PYTEST_XDIST_WORKER")
if _side_lane and _db["ENGINE"] != "django.db.backends.sqlite3":
    _db["TEST"] = {"NAME": f"test_{_db['NAME']}_lane{os.environ['CASEBOOK_TEST_LANE']}"}
