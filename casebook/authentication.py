"""API tokens that end like a session does.

Each sign-in has a token of its own (accounts.models.ApiToken). It stops working when it
is ended (signed out, revoked, the password changed), API_TOKEN_MAX_HOURS after it was
issued, and after API_TOKEN_IDLE_SECONDS without use (the pages' idle logoff, HIPAA
164.312(a)(2)(iii)).

Last use is kept exactly in the shared cache, so every web process sees it, and written
to the row at most once every API_TOKEN_LAST_USE_WRITE_SECONDS. The cache only saves
writes: when it is down or has lost a token's entry, the row's last use counts (a token
may then end up to that many seconds early), and every use is written to the row until
the cache is back. A cache outage never refuses a good token nor answers 500.
"""

import datetime
import logging

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed

from accounts.models import API_TOKEN_LAST_USE_WRITE_SECONDS, ApiToken
from accounts.tokens import find_token
from core.cache import CACHE_ERRORS

logger = logging.getLogger(__name__)


def _seen_key(token: ApiToken) -> str:
    return f"casebook:api-token-seen:{token.pk}"


def _cached_last_use(token: ApiToken) -> tuple[datetime.datetime | None, bool]:
    """(the cache's last use of `token` or None, whether the cache answered)."""
    try:
        seen = cache.get(_seen_key(token))
    except CACHE_ERRORS as exc:
        logger.warning("Token last use: cache unavailable (%s); using the database.", exc)
        return None, False
    return (datetime.datetime.fromisoformat(seen) if seen else None), True


def _note_use(token: ApiToken, now: datetime.datetime, cache_up: bool) -> None:
    if cache_up:
        try:
            cache.set(_seen_key(token), now.isoformat(), timeout=settings.API_TOKEN_IDLE_SECONDS)
        except CACHE_ERRORS as exc:
            logger.warning("Token last use: cache unavailable (%s); using the database.", exc)
            cache_up = False
    stale = now - token.last_used_at >= datetime.timedelta(seconds=API_TOKEN_LAST_USE_WRITE_SECONDS)
    if stale or not cache_up:
        ApiToken.objects.filter(pk=token.pk, last_used_at__lt=now).update(last_used_at=now)


class ExpiringTokenAuthentication(TokenAuthentication):
    """`Authorization: Token <token>`, for a token that has not ended."""

    def authenticate_credentials(self, key: str) -> tuple[object, ApiToken]:
        token = find_token(key)
        if token is None:
            raise AuthenticationFailed(_("Invalid token."))
        user = token.user
        if not user.is_active:
            raise AuthenticationFailed(_("User inactive or deleted."))
        if token.is_revoked:
            raise AuthenticationFailed(_("This sign-in has ended: obtain a new token."))
        now = timezone.now()
        cached, cache_up = _cached_last_use(token)
        last = max(cached, token.last_used_at) if cached else token.last_used_at
        if token.is_expired(now, last):
            raise AuthenticationFailed(_("The token has expired: obtain a new one."))
        _note_use(token, now, cache_up)
        # The page middleware activated no zone (a token is read only now): dates in the
        # answer and its checks are the user's agency's days, as on the pages.
        if user.agency is not None:
            timezone.activate(user.agency.zone)
        return user, token
