"""API tokens that end like a session does.

A token stops working after API_TOKEN_IDLE_SECONDS without use (the pages' idle
logoff, HIPAA 164.312(a)(2)(iii)) and API_TOKEN_MAX_HOURS after it was issued, and when
its user's password changes (accounts.models.User.save). Last use is kept in the shared
cache, so every web process sees it; a token whose last use the cache has lost counts
from when it was issued.
"""

import hashlib
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed


def _seen_key(token):
    # The cache never holds the token itself.
    return "casebook:token-seen:" + hashlib.sha256(token.key.encode()).hexdigest()[:32]


def token_expired(token, now=None) -> bool:
    now = now or timezone.now()
    if now - token.created > timedelta(hours=settings.API_TOKEN_MAX_HOURS):
        return True
    last_seen = cache.get(_seen_key(token))
    last = datetime.fromisoformat(last_seen) if last_seen else token.created
    return now - last > timedelta(seconds=settings.API_TOKEN_IDLE_SECONDS)


def touch(token, now=None):
    now = now or timezone.now()
    cache.set(_seen_key(token), now.isoformat(), timeout=settings.API_TOKEN_IDLE_SECONDS + 60)


class ExpiringTokenAuthentication(TokenAuthentication):
    def authenticate_credentials(self, key):
        user, token = super().authenticate_credentials(key)
        if token_expired(token):
            token.delete()
            raise AuthenticationFailed("The token has expired: obtain a new one.")
        touch(token)
        # The page middleware activated no zone (a token is read only now): dates in the
        # answer and its checks are the user's agency's days, as on the pages.
        if user.agency_id:
            timezone.activate(user.agency.zone)
        return user, token
