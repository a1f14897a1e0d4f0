"""Rate limits counted in the shared cache (django-ratelimit), and the once-per-window
signal that lets a caller write one audit row when a limit is first hit rather than one
per refused request."""

import logging
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from django_ratelimit.core import get_usage  # type: ignore[import-untyped]

from core.cache import CACHE_ERRORS

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Usage:
    limited: bool
    # True for the first refused request of the window only.
    first_refusal: bool = False
    # Seconds until the window ends, when limited.
    retry_after: int = 0


def count(request: HttpRequest, *, group: str, who: str, rate: str) -> Usage:
    """Count one request of `group` by `who` (a user id, an address) against `rate`
    ("20/h", "30/m"); `limited` once past it, until the window ends. With the cache
    down nothing is limited (logged): a limit slows guessers, it must not stop the work."""
    try:
        usage = get_usage(
            request, group=group, key=lambda _group, _request: who, rate=rate, increment=True
        )
        if usage is None or not usage["should_limit"]:
            return Usage(limited=False)
        prefix = getattr(settings, "RATELIMIT_CACHE_PREFIX", "rl:")
        time_left = max(usage["time_left"], 1)
        # Lives until the window ends; of several processes refusing at once, the cache's
        # add decides which one was first.
        first = cache.add(f"{prefix}refused:{group}:{who}", 1, time_left)
    except CACHE_ERRORS as exc:
        logger.warning("Rate limit %s: cache unavailable (%s); not applied.", group, exc)
        return Usage(limited=False)
    return Usage(limited=True, first_refusal=bool(first), retry_after=time_left)
