"""The installable app's two server-side rules (README: "The installable app and offline
work").

- Which pages a phone may keep for reading offline: a view marks its answer with
  `keep_offline(response, user)`, and the service worker caches a page only when that
  header names the signed-in user (static/js/offline/sw.js). Nothing else is kept.
- What the phone's outbox is told when it sends a record saved offline (a request with
  `X-Casebook-Outbox: 1`): a redirect, which fetch() cannot read, becomes `204` with the
  address in `X-Casebook-Location`; an answer that is not a success says why in
  `X-Casebook-Problem`, as a code (the page says it in words, in the worker's language).
"""

from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import resolve_url

OFFLINE_HEADER = "X-Casebook-Offline"
OUTBOX_HEADER = "HTTP_X_CASEBOOK_OUTBOX"
LOCATION_HEADER = "X-Casebook-Location"
PROBLEM_HEADER = "X-Casebook-Problem"

# The codes of X-Casebook-Problem (static/js/offline/outbox.js reads the same list).
SIGNED_OUT = "signed_out"  # no session, or it changed: sign in and send again
INVALID = "invalid"  # the form came back with errors
DUPLICATE = "duplicate"  # a likely existing client: choose them or confirm a new person
FORBIDDEN = "forbidden"  # 403: visible but no longer yours to change (reassigned)
GONE = "gone"  # 404: no longer visible to you
CONFLICT = "conflict"  # 409: the record changed meanwhile (a case since closed)

_BY_STATUS = {403: FORBIDDEN, 404: GONE, 409: CONFLICT}

R = TypeVar("R", bound=HttpResponseBase)


def keep_offline(response: R, user: Any) -> R:
    """Let the user's phone keep this page for reading offline. Call only for pages that
    are the user's own: their Today list, caseload, own open cases, the contact form."""
    if user.is_authenticated:
        response[OFFLINE_HEADER] = str(user.pk)
    return response


def _signed_out_paths() -> tuple[str, ...]:
    return (resolve_url(settings.LOGIN_URL), "/accounts/mfa/")


class OutboxMiddleware:
    """Answers the phone's outbox can read (see the module docstring). Sits below
    CsrfViewMiddleware: a request refused before its view (a CSRF failure after a new
    sign-in) is told `signed_out`, not `forbidden`."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if request.META.get(OUTBOX_HEADER) != "1" or request.method != "POST":
            return response
        if response.status_code in (301, 302, 303, 307, 308):
            location = response["Location"]
            answer = HttpResponse(status=204)
            answer[LOCATION_HEADER] = location
            if location.split("?")[0].startswith(_signed_out_paths()):
                answer[PROBLEM_HEADER] = SIGNED_OUT
            # The success message the view queued stays for the next page the user opens.
            return answer
        if PROBLEM_HEADER not in response:
            if response.status_code == 403 and not getattr(request, "_outbox_reached_view", False):
                response[PROBLEM_HEADER] = SIGNED_OUT
            elif response.status_code == 200:
                response[PROBLEM_HEADER] = INVALID
            elif response.status_code in _BY_STATUS:
                response[PROBLEM_HEADER] = _BY_STATUS[response.status_code]
        return response

    def process_view(
        self, request: HttpRequest, view_func: Any, view_args: Any, view_kwargs: Any
    ) -> None:
        request._outbox_reached_view = True  # type: ignore[attr-defined]
