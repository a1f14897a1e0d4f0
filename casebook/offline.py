"""The installable app: its manifest, its service worker, the outbox page, and the two
small answers the phone's outbox asks for before and after sending (README: "The
installable app and offline work").

The service worker's code is a static file (static/js/offline/sw.js, on Workbox from
npm); /sw.js is served here, at the site's root so that its scope is the whole site, and
names the exact files it loads, so that a change to any of them is a new worker.
"""

import hashlib
import json
import re
import uuid
from functools import cache

from django.conf import settings
from django.contrib.staticfiles import finders
from django.http import HttpResponse, JsonResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from cases.models import CaseNote, Contact
from followups.models import Attempt

# What every page needs, kept by the service worker at install (Workbox precaching, each
# with the digest of its content as its revision).
SHELL_STATIC = (
    "vendor/bootstrap/css/bootstrap.min.css",
    "vendor/bootstrap/js/bootstrap.bundle.min.js",
    "vendor/htmx/htmx.min.js",
    "vendor/idb/umd.js",
    "css/casebook.css",
    "js/casebook.js",
    "js/contact_form.js",
    "js/offline/outbox.js",
    "js/offline/page.js",
    "favicon.svg",
    "icons/casebook-192.png",
    "icons/casebook-512.png",
)
# The worker's own code, loaded by /sw.js (its digest is part of /sw.js).
WORKER_STATIC = (
    "vendor/workbox/workbox-sw.js",
    "vendor/workbox/workbox-core.prod.js",
    "vendor/workbox/workbox-routing.prod.js",
    "vendor/workbox/workbox-strategies.prod.js",
    "vendor/workbox/workbox-expiration.prod.js",
    "vendor/workbox/workbox-precaching.prod.js",
    "vendor/workbox/workbox-cacheable-response.prod.js",
    "vendor/idb/umd.js",
    "js/offline/outbox.js",
    "js/offline/sw.js",
)
# At most this many ids in one /offline/recorded/ question.
MAX_IDS = 100


def _digest(path: str) -> str:
    found = finders.find(path)
    if not found:
        return "missing"
    with open(found, "rb") as file:
        return hashlib.sha256(file.read()).hexdigest()[:16]


def _read_digests() -> dict[str, str]:
    return {path: _digest(path) for path in {*SHELL_STATIC, *WORKER_STATIC}}


_cached_digests = cache(_read_digests)


def _digests() -> dict[str, str]:
    """Each static file's digest: read once per process in production (static files
    change with a deployment, which restarts it), at every request while developing."""
    return _read_digests() if settings.DEBUG else _cached_digests()


# An id no route will hold, replaced by \d+ in _pattern.
_ANY_ID = 987654321


def _pattern(name: str, *, with_id: bool = True) -> str:
    """A route of the outbox's as a regular expression over the path."""
    path = reverse(name, args=[_ANY_ID]) if with_id else reverse(name)
    return "^" + re.escape(path).replace(str(_ANY_ID), r"\d+") + "$"


def _worker_config() -> dict:
    digests = _digests()
    return {
        "modulePathPrefix": static("vendor/workbox/"),
        "staticUrl": static(""),
        "precache": [{"url": static(path), "revision": digests[path]} for path in SHELL_STATIC],
        # Pages without client data, kept for every user of the phone: the outbox page
        # and the scripts' texts.
        "shell": [reverse("offline_outbox"), reverse("javascript-catalog")],
        "offlinePage": reverse("offline_outbox"),
        "sessionUrl": reverse("offline_session"),
        # The new-contact form is read offline for any ?followup=&client= (the page fills
        # them in); it is kept only without them.
        "anyQuery": [reverse("casework:contact_new")],
        # The forms whose POST is kept in the outbox when it cannot reach the server.
        "kinds": {
            "contact": _pattern("casework:contact_new", with_id=False),
            "attempt": _pattern("followups:attempt"),
            "note": _pattern("casework:case_note"),
        },
    }


@require_GET
def service_worker(request):
    """/sw.js: scope `/`, never cached by HTTP (the browser checks it for updates)."""
    config = _worker_config()
    digests = _digests()
    version = hashlib.sha256(
        json.dumps([config, [digests[p] for p in WORKER_STATIC]]).encode()
    ).hexdigest()[:16]
    scripts = ", ".join(
        json.dumps(static(path))
        for path in (
            "vendor/workbox/workbox-sw.js",
            "vendor/idb/umd.js",
            "js/offline/outbox.js",
            "js/offline/sw.js",
        )
    )
    body = (
        f"// casebook's service worker: static/js/offline/sw.js. Version {version}.\n"
        f"self.CASEBOOK_OFFLINE = {json.dumps(config)};\n"
        f"importScripts({scripts});\n"
    )
    response = HttpResponse(body, content_type="application/javascript; charset=utf-8")
    response["Service-Worker-Allowed"] = "/"
    return response


@require_GET
def manifest(request):
    """/manifest.webmanifest: what the phone installs (name, icons, where it opens)."""
    data = {
        "name": "casebook",
        "short_name": "casebook",
        "description": _("Crisis contacts, follow-ups and cases, on the phone."),
        "id": "/",
        "start_url": reverse("followups:today"),
        "scope": "/",
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": THEME_COLOR,
        "icons": [
            {
                "src": static(f"icons/casebook-{size}.png"),
                "sizes": f"{size}x{size}",
                "type": "image/png",
                "purpose": "any",
            }
            for size in (192, 512)
        ],
    }
    return HttpResponse(json.dumps(data), content_type="application/manifest+json")


# The navigation bar's colour (Bootstrap's bg-dark).
THEME_COLOR = "#212529"


@require_GET
def outbox_page(request):
    """/offline/: what is waiting to send and what needs the worker's attention, read from
    the phone itself by the page's script. It holds nothing of any user's (the service
    worker keeps one copy for every user of the phone, shown also when a page cannot be
    reached)."""
    return render(request, "offline/outbox.html", {"theme_color": THEME_COLOR})


@require_GET
def session(request):
    """Who is signed in, and a CSRF token for the outbox to send with: asked right before
    sending, as the token changes at each sign-in."""
    user = request.user
    return JsonResponse(
        {"user": user.pk if user.is_authenticated else None, "csrf": get_token(request)}
    )


@require_GET
def recorded(request):
    """Which of the given one-time submission ids (`?id=`, repeated) the signed-in user has
    already recorded: a contact, an attempt or a note. The outbox drops a task once the
    worker has resolved it on its form."""
    user = request.user
    if not user.is_authenticated:
        return JsonResponse({"user": None, "recorded": []})
    ids = []
    for value in request.GET.getlist("id")[:MAX_IDS]:
        try:
            ids.append(uuid.UUID(value))
        except ValueError:
            continue
    found: set[str] = set()
    if ids:
        for queryset in (
            Contact.objects.filter(recorded_by=user, submission_id__in=ids),
            Attempt.objects.filter(by=user, submission_id__in=ids),
            CaseNote.objects.filter(author=user, submission_id__in=ids),
        ):
            found.update(str(value) for value in queryset.values_list("submission_id", flat=True))
    return JsonResponse({"user": user.pk, "recorded": sorted(found)})
