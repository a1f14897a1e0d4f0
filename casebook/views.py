"""GET /healthz: for load balancers and monitoring. No authentication, no client data,
not audited. And the icon at /favicon.ico.

- "ok" (200): the database and the broker answer.
- "degraded" (200): the broker does not. Pages still read and write; what they enqueue
  waits (follow-ups and notifications are swept from their database rows once the broker
  is back), so a load balancer must keep sending traffic. `failing` names the part.
- "unhealthy" (503): the database does not answer; no page can.
"""

import os
from urllib.parse import urlsplit

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import redirect
from django.templatetags.static import static
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from kombu import Connection

from casebook.tasks import HEARTBEAT_KEY

# A load balancer polls this; an unreachable broker must not hold the request.
BROKER_TIMEOUT_SECONDS = 2


def _database():
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        return {"ok": False, "vendor": connection.vendor, "error": type(exc).__name__}
    return {"ok": True, "vendor": connection.vendor}


def _scheme(url):
    # Only the scheme: the rest of a broker URL may carry a password.
    return f"{urlsplit(url).scheme or 'unknown'}://"


def _broker():
    url = settings.CELERY_BROKER_URL
    result = {"url": _scheme(url)}
    if url.startswith("filesystem://"):
        options = getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {})
        folders = [options.get("data_folder_in"), options.get("data_folder_out")]
        missing = [f for f in folders if not f or not os.path.isdir(f) or not os.access(f, os.W_OK)]
        if missing:
            return {**result, "ok": False, "error": "broker folder missing or not writable"}
        return {**result, "ok": True}
    try:
        with Connection(
            url,
            connect_timeout=BROKER_TIMEOUT_SECONDS,
            transport_options={"socket_timeout": BROKER_TIMEOUT_SECONDS},
        ) as conn:
            conn.ensure_connection(
                max_retries=1, interval_start=0, interval_step=0, timeout=BROKER_TIMEOUT_SECONDS
            )
    except Exception as exc:
        return {**result, "ok": False, "error": type(exc).__name__}
    return {**result, "ok": True}


def _last_heartbeat():
    try:
        return cache.get(HEARTBEAT_KEY)
    except Exception:
        # The cache may live on the same Redis as the broker; its state is reported there.
        return None


@never_cache
@require_safe
def healthz(request):
    database = _database()
    broker = _broker()
    failing = [
        name for name, part in (("database", database), ("broker", broker)) if not part["ok"]
    ]
    if not database["ok"]:
        status, code = "unhealthy", 503
    elif failing:
        status, code = "degraded", 200
    else:
        status, code = "ok", 200
    return JsonResponse(
        {
            "status": status,
            "failing": failing,
            "database": database,
            "broker": broker,
            "worker": {"last_heartbeat": _last_heartbeat()},
        },
        status=code,
    )


@require_safe
def favicon(request):
    """Pages name their icon (base.html); a browser asks /favicon.ico where none is named
    (the admin)."""
    return redirect(static("favicon.svg"), permanent=True)
