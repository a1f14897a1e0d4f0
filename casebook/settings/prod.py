"""Production: PostgreSQL, Redis, HTTPS. Everything secret comes from the environment."""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import ATTACHMENTS_STORAGE, CELERY_BROKER_URL, DATABASES, SECRET_KEY, _bool, _int, env

if not SECRET_KEY or len(SECRET_KEY) < 50:
    raise ImproperlyConfigured("SECRET_KEY must be set to at least 50 random characters")
if not env.list("ALLOWED_HOSTS", default=[]):
    raise ImproperlyConfigured("ALLOWED_HOSTS must name the hosts this site answers on")
_engine = DATABASES["default"]["ENGINE"]
if _engine == "django.db.backends.sqlite3":
    if not _bool("ALLOW_SQLITE", False):
        raise ImproperlyConfigured("DATABASE_URL must point at PostgreSQL in production")
elif _engine != "django.db.backends.postgresql" or not DATABASES["default"].get("NAME"):
    raise ImproperlyConfigured(
        "DATABASE_URL must be postgres://user:password@host:port/name in production"
    )
if CELERY_BROKER_URL.startswith("filesystem://"):
    # The filesystem broker and file cache are per machine: production shares Redis.
    raise ImproperlyConfigured("REDIS_URL (or CELERY_BROKER_URL) must be set in production")

# seed_demo refuses to create its published logins here.
DEMO_DATA_ALLOWED = False

DEBUG = False
# Every role signs in with a second factor, the system admin included. A misspelt value
# must not quietly turn it off, as env.bool would read it.
_mfa_required = env.str("MFA_REQUIRED", default="true").strip().lower()
if _mfa_required not in ("true", "false", "on", "off", "yes", "no", "1", "0"):
    raise ImproperlyConfigured("MFA_REQUIRED must be true or false")
MFA_REQUIRED = _mfa_required in ("true", "on", "yes", "1")
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = _bool("SECURE_SSL_REDIRECT", True)
# Load balancers probe over plain HTTP inside the network; a redirect would read as down.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = _int("SECURE_HSTS_SECONDS", 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
CSRF_COOKIE_HTTPONLY = True
# The __Host- prefix makes the browser refuse these cookies unless they are Secure, for
# Path=/ and without a Domain: no subdomain or plain-http page can set or shadow them.
# (Development and tests keep the plain names: http://localhost cannot set them.) Pages
# send the CSRF token from the page itself (base.html's hx-headers), never from the cookie.
SESSION_COOKIE_NAME = "__Host-sessionid"
CSRF_COOKIE_NAME = "__Host-csrftoken"
SESSION_COOKIE_DOMAIN = None
CSRF_COOKIE_DOMAIN = None
SESSION_COOKIE_PATH = "/"
CSRF_COOKIE_PATH = "/"
X_FRAME_OPTIONS = "DENY"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    # A private folder, or the S3-compatible bucket of ATTACHMENTS_S3_BUCKET (base.py).
    "attachments": ATTACHMENTS_STORAGE,
}
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = _int("EMAIL_PORT", 587)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = _bool("EMAIL_USE_TLS", True)
EMAIL_TIMEOUT = _int("EMAIL_TIMEOUT", 10)
