"""Settings shared by every environment.

The environment is read once, here, through django-environ. A bad value fails at start-up
with ImproperlyConfigured rather than at the first request. `dev.py`, `test.py` and
`prod.py` only override.
"""

from pathlib import Path

import environ
from csp import constants as csp
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()

# The embedded default's files (SQLite, the filesystem broker, the file cache, beat's
# schedule, exports): var/ in the checkout unless VAR_DIR moves them.
VAR_DIR = Path(env.str("VAR_DIR", default=str(BASE_DIR / "var")))


def _bool(name, default):
    try:
        return env.bool(name, default=default)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be true or false") from exc


def _int(name, default):
    try:
        return env.int(name, default=default)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer") from exc


DEBUG = False
SECRET_KEY = env.str("SECRET_KEY", default="")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "crispy_forms",
    "crispy_bootstrap5",
    "django_htmx",
    "csp",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "accounts",
    "audit",
    "cases",
    "directory",
    "plans",
    "referrals",
    "attachments",
    "dispatch",
    "reports",
    "followups",
    "notifications",
    "metrics",
    "supervision",
    "casework",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Below WhiteNoise: every answer from Django carries the policy and no-store; static
    # files keep their caching (core/middleware.py).
    "core.middleware.ContentSecurityPolicyMiddleware",
    "core.middleware.NoStoreMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The browser's language before sign-in; the user's own after (accounts/middleware.py).
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    # Answers the phone's outbox can read (a redirect as 204): core/offline.py.
    "core.offline.OutboxMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    # A signed-in user who still owes a second factor reaches only the pages that take it.
    "accounts.middleware.MfaMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # After the messages: a session ended for its age says so on the login page.
    "accounts.middleware.SessionLifetimeMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "accounts.middleware.AgencyTimezoneMiddleware",
    "accounts.middleware.UserLanguageMiddleware",
]

ROOT_URLCONF = "casebook.urls"

# Who is told, inside the change's transaction, when a contact is recorded on a case, a
# case closes or it changes hands (cases/fanout.py): the apps above cases that keep work
# on a case.
CASE_FANOUT = {
    "contact_recorded": ["followups.services.enrol_from_contact"],
    "case_closed": ["followups.services.cancel_for_closed_case"],
    "case_reassigned": ["followups.services.move_to_new_worker"],
}
WSGI_APPLICATION = "casebook.wsgi.application"
# The same Django over ASGI, with the dispatch board's and the team phone's WebSockets
# (casebook/asgi.py): served by uvicorn (bin/run; in production beside gunicorn, which
# keeps the pages, or alone).
ASGI_APPLICATION = "casebook.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "casebook.context_processors.session_timeout",
                "notifications.context_processors.inbox",
            ],
            "libraries": {"casebook": "casebook.template_tags"},
        },
    },
]

# Embedded default: SQLite in var/. Production sets DATABASE_URL (postgres://...).
try:
    DATABASES = {
        "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'casebook.sqlite3'}")
    }
except Exception as exc:  # django-environ raises several types on a malformed URL
    raise ImproperlyConfigured(f"DATABASE_URL is not a valid database URL: {exc}") from exc
if not DATABASES["default"].get("ENGINE"):
    raise ImproperlyConfigured("DATABASE_URL is not a valid database URL (scheme://...)")
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # SQLite creates the file but not its folder (var/ on a fresh clone).
    _sqlite_name = str(DATABASES["default"].get("NAME", ""))
    if _sqlite_name and _sqlite_name != ":memory:" and not _sqlite_name.startswith("file:"):
        Path(_sqlite_name).parent.mkdir(parents=True, exist_ok=True)
    # Several processes (web, worker, beat) share the file: wait for the lock, not fail.
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
    DATABASES["default"]["OPTIONS"]["transaction_mode"] = "IMMEDIATE"
else:
    DATABASES["default"]["CONN_MAX_AGE"] = _int("CONN_MAX_AGE", 60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

# A PostgreSQL replica of default, read only by the queries that ask for it because they
# tolerate replication lag (reports and exports: core/db.py). The router keeps every other
# read, every write and the migrations on default, replica or not.
DATABASE_ROUTERS = ["core.db.PrimaryReplicaRouter"]
if env.str("DATABASE_REPLICA_URL", default=""):
    try:
        _replica = env.db_url("DATABASE_REPLICA_URL")
    except Exception as exc:  # django-environ raises several types on a malformed URL
        raise ImproperlyConfigured(
            f"DATABASE_REPLICA_URL is not a valid database URL: {exc}"
        ) from exc
    if _replica.get("ENGINE") != "django.db.backends.postgresql" or not _replica.get("NAME"):
        raise ImproperlyConfigured(
            "DATABASE_REPLICA_URL must be postgres://user:password@host:port/name"
        )
    if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        raise ImproperlyConfigured("DATABASE_REPLICA_URL needs DATABASE_URL on PostgreSQL")
    _replica["CONN_MAX_AGE"] = DATABASES["default"]["CONN_MAX_AGE"]
    _replica["CONN_HEALTH_CHECKS"] = True
    # Tests make no database on the replica (it is read-only): its alias reads default's
    # test database, through a connection of its own that sees only what is committed.
    _replica["TEST"] = {"MIRROR": "default"}
    DATABASES["replica"] = _replica

# PostgreSQL: the role the application connects as (DATABASE_URL's user), when the
# migrations run as the owner of the tables (MIGRATION_DATABASE_URL, used by `make
# migrate`). `migrate` then re-applies its narrow grants (audit/roles.py).
DATABASE_APP_ROLE = env.str("DATABASE_APP_ROLE", default="")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

AUTHENTICATION_BACKENDS = [
    # Django's ModelBackend, refusing a sign-in that must wait before checking a password.
    "accounts.signin.SignInLimitBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "accounts.passwords.GuessablePasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "casework:caseload"
LOGOUT_REDIRECT_URL = "login"

# HIPAA 164.312(a)(2)(iii) automatic logoff: the session ends after 30 minutes idle.
# A signed-in request renews it when it was last renewed more than SESSION_TOUCH_SECONDS
# ago (accounts/middleware.py), so only real inactivity ends it, give or take that much,
# and a page view does not write the session row every time.
SESSION_COOKIE_AGE = _int("SESSION_IDLE_SECONDS", 30 * 60)
SESSION_TOUCH_SECONDS = 60
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# And at most this many hours after sign-in, however active (accounts/middleware.py).
SESSION_MAX_HOURS = _int("SESSION_MAX_HOURS", 12)

# Content-Security-Policy (core/middleware.py): scripts and styles only from our own static
# files or an element carrying this answer's nonce; no inline handlers, style attributes or
# eval. htmx's own inline style and eval are turned off in base.html (meta htmx-config).
# The dispatch board's map tiles (Leaflet): a tile server's URL template such as
# https://tile.example.org/{z}/{x}/{y}.png, or empty for a map without tiles (the units and
# requests on a blank grid, with the lists beside it). Its origin is allowed as images.
DISPATCH_TILE_URL = env.str("DISPATCH_TILE_URL", default="")
DISPATCH_TILE_ATTRIBUTION = env.str("DISPATCH_TILE_ATTRIBUTION", default="")
if DISPATCH_TILE_URL and not DISPATCH_TILE_URL.startswith(("https://", "http://")):
    raise ImproperlyConfigured("DISPATCH_TILE_URL must start with https:// (or http://)")
_tile_origin = "/".join(DISPATCH_TILE_URL.split("/", 3)[:3]) if DISPATCH_TILE_URL else ""

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [csp.SELF],
        "script-src": [csp.SELF, csp.NONCE],
        "style-src": [csp.SELF, csp.NONCE],
        # Bootstrap draws its form controls' icons with data: SVGs in its stylesheet.
        "img-src": [csp.SELF, "data:", *([_tile_origin] if _tile_origin else [])],
        "font-src": [csp.SELF],
        "connect-src": [csp.SELF],
        "frame-ancestors": [csp.NONE],
        "object-src": [csp.NONE],
        "base-uri": [csp.NONE],
        "form-action": [csp.SELF],
        # The installable app: its service worker (/sw.js) and manifest, from the site.
        "worker-src": [csp.SELF],
        "manifest-src": [csp.SELF],
    }
}

# Password guessing is slowed per username and per address (accounts/signin.py).
# The client's address: REMOTE_ADDR, or behind this many proxies that each append to
# X-Forwarded-For, the address the outermost one saw (core/http.py). Leave 0 unless every
# request passes through that many proxies: otherwise a client chooses its own address.
TRUSTED_PROXY_COUNT = _int("TRUSTED_PROXY_COUNT", 0)

# A second factor (an authenticator app, accounts/mfa.py) after the password on every
# sign-in. prod.py turns it on; a user who has enrolled one is asked for it regardless.
MFA_REQUIRED = _bool("MFA_REQUIRED", False)
OTP_TOTP_ISSUER = "casebook"

# The languages the product speaks; every text goes through Django's translation machinery
# and the catalogues live in locale/ (README: "Translating"). core/i18n.py says whose
# language each text is written in.
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("es", "Español")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
# Dates as "Sat 5 Dec 2026", date-times as "Sat 5 Dec 2026, 19:30": casebook/formats/en
# (and formats/es: "sáb 5 dic 2026, 19:30").
FORMAT_MODULE_PATH = ["casebook.formats"]

STATIC_URL = "static/"
STATIC_ROOT: Path | None = BASE_DIR / "staticfiles"
# Front-end packages come from npm (package.json + package-lock.json), served as they
# are installed in node_modules: nothing vendored, nothing from a CDN.
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("vendor/bootstrap", BASE_DIR / "node_modules" / "bootstrap" / "dist"),
    ("vendor/htmx", BASE_DIR / "node_modules" / "htmx.org" / "dist"),
    ("vendor/htmx-ext-ws", BASE_DIR / "node_modules" / "htmx-ext-ws" / "dist"),
    ("vendor/leaflet", BASE_DIR / "node_modules" / "leaflet" / "dist"),
    # The installable app (casebook/offline.py): Workbox's modules side by side, as
    # workbox-sw loads them from one folder, and idb's UMD build.
    *(
        ("vendor/workbox", BASE_DIR / "node_modules" / f"workbox-{name}" / "build")
        for name in (
            "sw",
            "core",
            "routing",
            "strategies",
            "expiration",
            "precaching",
            "cacheable-response",
        )
    ),
    ("vendor/idb", BASE_DIR / "node_modules" / "idb" / "build"),
]
# Photos and documents attached to client records (attachments/): never under a public URL
# (no MEDIA_URL route serves them), only streamed by the access-checked, audited views. On
# the embedded default a private folder, readable by this user only; with
# ATTACHMENTS_S3_BUCKET an S3-compatible bucket (django-storages), private, read by the
# server with its own keys (when the keys are left out, boto3 finds them as usual: an
# instance role, ~/.aws). prod.py uses the same.
ATTACHMENTS_DIR = Path(env.str("ATTACHMENTS_DIR", default=str(VAR_DIR / "attachments")))
ATTACHMENTS_S3_BUCKET = env.str("ATTACHMENTS_S3_BUCKET", default="")
ATTACHMENTS_STORAGE: dict[str, object]
if ATTACHMENTS_S3_BUCKET:
    _s3_endpoint = env.str("ATTACHMENTS_S3_ENDPOINT_URL", default="")
    if _s3_endpoint and not _s3_endpoint.startswith(("https://", "http://")):
        raise ImproperlyConfigured("ATTACHMENTS_S3_ENDPOINT_URL must start with https://")
    ATTACHMENTS_STORAGE = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": ATTACHMENTS_S3_BUCKET,
            "endpoint_url": _s3_endpoint or None,
            "region_name": env.str("ATTACHMENTS_S3_REGION", default="") or None,
            "access_key": env.str("ATTACHMENTS_S3_ACCESS_KEY_ID", default="") or None,
            "secret_key": env.str("ATTACHMENTS_S3_SECRET_ACCESS_KEY", default="") or None,
            "location": env.str("ATTACHMENTS_S3_PREFIX", default="attachments"),
            "default_acl": "private",
            "file_overwrite": False,
            # Nothing links to the bucket: files are streamed through Django.
            "querystring_auth": True,
        },
    }
else:
    ATTACHMENTS_STORAGE = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {
            "location": str(ATTACHMENTS_DIR),
            "file_permissions_mode": 0o600,
            "directory_permissions_mode": 0o700,
        },
    }
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    "attachments": ATTACHMENTS_STORAGE,
}
# The largest photo or PDF that may be attached, in MB (attachments/files.py): a larger one
# is refused with a message naming this limit. Its bytes are dropped as they arrive
# (attachments.uploads), before they reach a temporary file; a file under the limit is
# held in memory up to FILE_UPLOAD_MAX_MEMORY_SIZE (Django's 2.5 MB), then in a temporary
# file. DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB) counts the form's other fields, not files.
# The proxy in front must let a body this large through (README, "Attachments").
ATTACHMENT_MAX_MB = _int("ATTACHMENT_MAX_MB", 15)
if not 1 <= ATTACHMENT_MAX_MB <= 100:
    raise ImproperlyConfigured("ATTACHMENT_MAX_MB must be between 1 and 100")
FILE_UPLOAD_HANDLERS = [
    "attachments.uploads.SizeLimitedUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: an unauthenticated request answers 401 with WWW-Authenticate.
        "casebook.authentication.ExpiringTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "core.api.Pagination",
    "PAGE_SIZE": 25,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "core.api_schema.AutoSchema",
    "EXCEPTION_HANDLER": "core.api.exception_handler",
    # Throttles count per client address as core/http.py reads it.
    "NUM_PROXIES": TRUSTED_PROXY_COUNT,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "casebook API",
    "DESCRIPTION": "Case management and continuity of care for crisis social work.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI and Redoc are served from our own static files, never from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # One schema name per choice set used by more than one field.
    "ENUM_NAME_OVERRIDES": {
        "IdentifierKindEnum": "cases.models.IdentifierKind",
        "AttachmentKindEnum": "attachments.models.AttachmentKind",
        # The dispatch API's choices share their field names with other apps' (status,
        # reason, source): each gets its own name, and the contacts' source keeps its own.
        "DispatchRequestStatusEnum": "dispatch.models.RequestStatus",
        "UnitStatusEnum": "dispatch.models.UnitStatus",
        "RequestSourceEnum": "dispatch.models.RequestSource",
        "RequestReasonEnum": "dispatch.models.RequestReason",
        "NotServedReasonEnum": "dispatch.models.NotServedReason",
        "StepEnum": "dispatch.models.Step",
        "SourceEnum": "cases.models.ContactSource",
        "CaseEventKindEnum": "cases.models.CaseEventKind",
        "CloseReasonEnum": "cases.models.CloseReason",
        "ReferralStatusEnum": "referrals.models.Status",
        "ShareItemEnum": "referrals.models.ShareItem",
        "NeedCategoryEnum": "directory.models.NeedCategory",
        "PlaceTypeEnum": "directory.models.LocationType",
        "FollowUpStatusEnum": "followups.models.Status",
        "FollowUpMethodEnum": "followups.models.Method",
        "AttemptOutcomeEnum": "followups.models.AttemptOutcome",
        "FollowUpEventKindEnum": "followups.models.FollowUpEventKind",
        "VisitKindEnum": "followups.models.VisitKind",
        "VisitReasonEnum": "followups.models.VisitReason",
        "ConsentMethodEnum": "referrals.models.ConsentMethod",
        "ReferralOutcomeEnum": "referrals.models.Outcome",
        # A client's reminders and the links to their safety plan: text message or email.
        "ReminderChannelEnum": "cases.models.ReminderChannel",
        "MeansKindEnum": "plans.models.MeansKind",
        "CrisisPlanStatusEnum": "plans.models.CrisisPlanStatus",
    },
}

# Celery. Embedded default: the filesystem transport in var/celery (no server).
# Production: REDIS_URL or CELERY_BROKER_URL.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="") or env.str("REDIS_URL", default="")
if not CELERY_BROKER_URL:
    # The transport ignores the host, but kombu warns at every connection ("No hostname
    # was supplied") when the URL names none.
    CELERY_BROKER_URL = "filesystem://localhost/"
    _broker_dir = VAR_DIR / "celery" / "broker"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir),
        "data_folder_out": str(_broker_dir),
        "processed_folder": str(VAR_DIR / "celery" / "processed"),
        # Exchange bindings; kombu's default is a folder relative to the working directory.
        "control_folder": str(VAR_DIR / "celery" / "control"),
        "store_processed": False,
        # How long an idle worker waits before looking for messages again (kombu: 1 s);
        # a batch of follow-ups waits no longer than this for a worker.
        "polling_interval": 0.1,
    }
# Cache: Redis when REDIS_URL is set (shared by every process), else files in var/cache.
_redis_url = env.str("REDIS_URL", default="")
if _redis_url:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": _redis_url,
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

# Live updates (dispatch.live): Channels' Redis layer when REDIS_URL is set, shared by the
# web servers and the Celery worker; else the in-process layer, which reaches the pages
# served by the same process (on the embedded default, changes the worker makes reach
# the pages on their next catch-up, dispatch.live.CATCH_UP_SECONDS).
if _redis_url:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [_redis_url], "prefix": "casebook-live"},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# What a task prints (the console email and text backends on the embedded default) is
# news, not a warning.
CELERY_WORKER_REDIRECT_STDOUTS_LEVEL = "INFO"
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celery" / "beat-schedule")
CELERY_BEAT_SCHEDULE = {
    "heartbeat": {"task": "casebook.tasks.heartbeat", "schedule": 60.0},
    "purge-stale-contact-drafts": {
        "task": "cases.tasks.purge_stale_drafts",
        "schedule": 60.0 * 60,
    },
    # An export whose worker died is marked failed, never left running silently; one whose
    # hand-off to a worker was lost (the broker down) is built here instead.
    "sweep-exports": {"task": "reports.tasks.sweep_exports", "schedule": 60.0},
    # Follow-ups: the database holds every due time; this sweep claims what has come (a
    # full sweep sends the next at once). One that waited longer than the interval behind
    # other work is dropped: the next is on its way.
    "sweep-followups": {
        "task": "followups.tasks.sweep",
        "schedule": 10.0,
        "options": {"expires": 10.0},
    },
    # Notifications waiting for delivery (a lost message is found here again).
    "sweep-notifications": {"task": "notifications.tasks.sweep", "schedule": 60.0},
    # Referrals whose stale_at has come are flagged is_stale for the referral list's
    # order; the list lags their stale_at by at most this interval.
    "flag-stale-referrals": {
        "task": "referrals.tasks.flag_stale_referrals",
        "schedule": 60.0 * 5,
    },
    # Units' shared positions past the agency's retention (dispatch.DispatchSettings):
    # kept at most an hour longer than it says.
    "purge-unit-positions": {"task": "dispatch.tasks.purge_positions", "schedule": 60.0 * 60},
    # Dispatch alerts: assignments not acknowledged, missed check-ins, escalations
    # (dispatch.services.safety); an alert waits at most this long past its deadline.
    "dispatch-safety": {"task": "dispatch.tasks.sweep_safety", "schedule": 10.0},
    # Each worker's digest goes once a day, after DIGEST_HOUR in the agency's time zone.
    "daily-digests": {"task": "followups.tasks.send_daily_digests", "schedule": 60.0 * 15},
    # The audit trail's monthly partitions, a year ahead (audit/partitions.py: created when
    # the worker connects as the owner, else only checked; `migrate` tops them up too).
    "audit-partitions": {"task": "audit.tasks.top_up_partitions", "schedule": 60.0 * 60 * 24},
}
# How long a dispatched follow-up is held before the sweeper sends it again (a lost
# message, a killed worker); followups/engine/ doubles it on each resend, up to an hour.
FOLLOWUP_LEASE_SECONDS = _int("FOLLOWUP_LEASE_SECONDS", 300)
# How many claimed follow-ups one processing task takes (followups/engine/).
FOLLOWUP_BATCH_SIZE = _int("FOLLOWUP_BATCH_SIZE", 200)
if not 1 <= FOLLOWUP_BATCH_SIZE <= 1000:
    raise ImproperlyConfigured("FOLLOWUP_BATCH_SIZE must be between 1 and 1000")
# Client reminders by text: a dotted path to a backend class (notifications/backends.py).
# The default prints to the console, like the console email backend.
SMS_BACKEND = env.str("SMS_BACKEND", default="notifications.backends.ConsoleSMSBackend")

EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="casebook@localhost")
# The address links in emails point to (the provider link), without a trailing slash.
# Production sets it; otherwise it is the development server's address, on the port that
# `make run` serves (bin/run's PORT, passed to the web server and the Celery worker alike).
SITE_URL = env.str("SITE_URL", default=f"http://localhost:{_int('PORT', 8000)}").rstrip("/")
# Where finished exports wait for their requester (not served as static or media).
EXPORT_DIR = Path(env.str("EXPORT_DIR", default=str(VAR_DIR / "exports")))
# Address geocoding for "nearest first": "directory" matches the directory's own
# addresses (no outside service); "nominatim" asks GEOCODER_URL.
GEOCODER = env.str("GEOCODER", default="directory")
GEOCODER_URL = env.str("GEOCODER_URL", default="")

# API tokens end like sessions: idle for as long as a page session may be, and at most
# this many hours after they were issued (casebook/authentication.py).
API_TOKEN_IDLE_SECONDS = SESSION_COOKIE_AGE
API_TOKEN_MAX_HOURS = _int("API_TOKEN_MAX_HOURS", 12)

# Break the glass: how long an emergency access grant lasts.
EMERGENCY_ACCESS_HOURS = _int("EMERGENCY_ACCESS_HOURS", 4)

# Rate limits (core/ratelimit.py: django-ratelimit, counted in the shared cache): lookups
# of clients outside one's caseload per user; provider-link, safety-plan-link and API
# token requests per client address.
OUTSIDE_SCOPE_LOOKUP_RATE = env.str("OUTSIDE_SCOPE_LOOKUP_RATE", default="20/h")
PROVIDER_LINK_RATE = env.str("PROVIDER_LINK_RATE", default="30/m")
SAFETY_PLAN_LINK_RATE = env.str("SAFETY_PLAN_LINK_RATE", default="30/m")
API_TOKEN_RATE = env.str("API_TOKEN_RATE", default="20/m")
# The CAD endpoint (dispatch/api/cad.py): posts per key, and refused keys per address.
DISPATCH_CAD_RATE = env.str("DISPATCH_CAD_RATE", default="120/m")
DISPATCH_CAD_REFUSED_RATE = env.str("DISPATCH_CAD_REFUSED_RATE", default="20/m")

# What an HSDS package may hold once uncompressed (directory/hsds.py).
HSDS_MAX_FILE_BYTES = _int("HSDS_MAX_FILE_BYTES", 50 * 1024 * 1024)
HSDS_MAX_TOTAL_BYTES = _int("HSDS_MAX_TOTAL_BYTES", 200 * 1024 * 1024)
HSDS_MAX_MEMBERS = _int("HSDS_MAX_MEMBERS", 100)
HSDS_MAX_ROWS_PER_TABLE = _int("HSDS_MAX_ROWS_PER_TABLE", 100_000)

# One line per event, printed once. Every record goes to the root's console handler only:
# naming "django" and "django.server" here drops the handlers Django's default config gives
# them (records reached the console through them and through the root, so each was printed
# twice). A 4xx is one line without a traceback (casebook/log.py); the development
# server's own line for an error response is left out, django.request has logged it.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "client_error_line": {"()": "casebook.log.ClientErrorLine"},
        "skip_logged_errors": {"()": "casebook.log.SkipLoggedErrors"},
        # The request line without its query string nor a provider link's token.
        "route_only": {"()": "casebook.gunicorn_logging.RouteOnlyRequestLine"},
    },
    "formatters": {"line": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "line"}},
    "root": {"handlers": ["console"], "level": "INFO"},
    "loggers": {
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        "django.request": {"filters": ["client_error_line"]},
        "django.server": {
            "handlers": [],
            "filters": ["route_only", "skip_logged_errors"],
            "propagate": True,
        },
        # WeasyPrint (the safety plan's PDF) tells of each step of a layout at INFO.
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
    },
}
