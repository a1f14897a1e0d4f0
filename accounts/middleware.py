from typing import cast
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.mfa import has_authenticator, owes_factor
from accounts.models import User, zone_of
from core.i18n import supported


class AgencyTimezoneMiddleware:
    """Show times in the signed-in user's agency time zone (they are stored in UTC)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.agency_id:
            # An agency whose zone this machine does not know shows the installation's.
            timezone.activate(zone_of(user.agency))
        else:
            timezone.deactivate()
        return self.get_response(request)


class UserLanguageMiddleware:
    """Speak the signed-in user's language (their setting); before sign-in, and for a
    user who has not chosen, LocaleMiddleware's choice from the browser stands."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        language = supported(getattr(user, "language", "")) if user is not None else None
        if language and user.is_authenticated:
            translation.activate(language)
            request.LANGUAGE_CODE = language
        response = self.get_response(request)
        if language:
            response.headers["Content-Language"] = language
        return response


# When the session's user signed in, in seconds since the epoch (accounts/receivers.py).
SIGNED_IN_AT = "casebook_signed_in_at"
# When the session was last renewed, in seconds since the epoch.
TOUCHED_AT = "casebook_touched_at"


class SessionLifetimeMiddleware:
    """End a session SESSION_MAX_HOURS after its sign-in, however active it has been; the
    idle logoff (SESSION_COOKIE_AGE) ends it sooner without activity. A stolen session
    cookie kept alive by a script dies within the day too.

    A signed-in request renews the idle expiry when it was last renewed more than
    SESSION_TOUCH_SECONDS ago: changing the session has the session middleware save it,
    with a new expiry.

    After the logout the request goes on as an anonymous one: a page redirects to the login
    page, which shows why, and the API answers 401/403."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated:
            if self._expired(request):
                logout(request)
                messages.info(
                    request,
                    _("Your session reached its %(hours)d-hour limit. Log in again to go on.")
                    % {"hours": settings.SESSION_MAX_HOURS},
                )
            else:
                self._touch(request.session)
        return self.get_response(request)

    def _touch(self, session) -> None:
        now = timezone.now().timestamp()
        if now - session.get(TOUCHED_AT, 0) >= settings.SESSION_TOUCH_SECONDS:
            session[TOUCHED_AT] = now

    def _expired(self, request) -> bool:
        now = timezone.now().timestamp()
        signed_in_at = request.session.get(SIGNED_IN_AT)
        if signed_in_at is None:
            # A session from before this limit existed: its clock starts now.
            request.session[SIGNED_IN_AT] = now
            return False
        return now - signed_in_at >= settings.SESSION_MAX_HOURS * 60 * 60


class MfaMiddleware:
    """Send a signed-in user who owes a second factor to the page that takes it.

    Until the session is verified (django_otp's OTPMiddleware, installed before this one),
    only the enrolment and verify pages, sign-in and sign-out, static files and the health
    check answer. The API answers 403: a token is issued only against a code
    (casebook/api_views.py), so only a half-signed-in browser session lands here.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not owes_factor(request) or self._open(request.path):
            return self.get_response(request)
        if request.path.startswith("/api/"):
            return JsonResponse(
                {"detail": _("Verify your second factor before using the API.")}, status=403
            )
        user = cast(User, request.user)  # owes_factor: signed in
        page = "accounts:mfa_verify" if has_authenticator(user) else "accounts:mfa_enrol"
        target = reverse(page)
        if request.method == "GET" and request.path != "/":
            target += "?" + urlencode({"next": request.get_full_path()})
        if request.headers.get("HX-Request"):
            # A fragment request: the whole page goes to the code form, not the fragment.
            return HttpResponse(status=204, headers={"HX-Redirect": target})
        return HttpResponseRedirect(target)

    @staticmethod
    def _open(path: str) -> bool:
        open_paths = (
            reverse("accounts:mfa_enrol"),
            reverse("accounts:mfa_verify"),
            reverse("login"),
            reverse("logout"),
            reverse("admin:logout"),
            reverse("healthz"),
            "/favicon.ico",
        )
        return path in open_paths or path.startswith("/" + settings.STATIC_URL.lstrip("/"))
