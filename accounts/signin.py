"""Slowing down password guessing: the login page, the admin's and the API token's.

Failed sign-ins are counted per username, whatever the address, and per client address,
whatever the username. Past a few free failures each further failure makes the next
attempt wait, twice as long each time, up to 15 minutes. While it waits an attempt is
refused before any password is checked, and the refusal is not counted as a failure: a
stranger guessing at a worker's username slows that worker down but never locks them out,
and the worker who comes back when the wait is over signs in with the right password.

The counts live in the cache (Redis in production, shared by every process). Losing them
forgets at most what a lock-out would have forgotten after a quarter of an hour. While the
cache is down nothing is slowed (and a warning is logged): people in a crisis must still
sign in, and every failure is still in the audit trail.
"""

import dataclasses
import datetime
import hashlib
import logging
import math

from django.contrib.auth.backends import ModelBackend
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import ngettext

from audit.models import Action
from audit.services import record
from core.cache import CACHE_ERRORS
from core.http import client_address

logger = logging.getLogger(__name__)

FIRST_WAIT = datetime.timedelta(seconds=30)
LONGEST_WAIT = datetime.timedelta(minutes=15)
# Failures are forgotten after this long without one once the wait they caused is over,
# so a mistyped password on Monday does not slow Tuesday's sign-in.
FORGET_AFTER = datetime.timedelta(minutes=15)
# 30 s doubled 5 times passes LONGEST_WAIT: more doublings would change nothing.
_MOST_DOUBLINGS = 5


@dataclasses.dataclass(frozen=True)
class Limit:
    name: str
    free_failures: int


# A worker who mistypes a few times is never slowed; a guesser is, whatever their address.
USERNAME = Limit("username", free_failures=5)
# Many usernames tried from one address (a guesser spraying one common password).
ADDRESS = Limit("address", free_failures=20)


@dataclasses.dataclass(frozen=True)
class Refusal:
    limit: str
    wait_seconds: int
    # When the wait ends: it names the wait, whose first refusal alone is audited.
    until: datetime.datetime | None = None

    @property
    def message(self) -> str:
        if self.wait_seconds < 120:
            return ngettext(
                "Too many failed sign-in attempts. Wait %(count)d second, then try again.",
                "Too many failed sign-in attempts. Wait %(count)d seconds, then try again.",
                self.wait_seconds,
            ) % {"count": self.wait_seconds}
        minutes = math.ceil(self.wait_seconds / 60)
        return ngettext(
            "Too many failed sign-in attempts. Wait %(count)d minute, then try again.",
            "Too many failed sign-in attempts. Wait %(count)d minutes, then try again.",
            minutes,
        ) % {"count": minutes}


def check_allowed(request: HttpRequest, username: str) -> Refusal | None:
    """None when this sign-in may go ahead, else how long it must wait (the longer wait
    when both the username and the address must)."""
    now = timezone.now()
    try:
        waits = [
            Refusal(limit.name, math.ceil((until - now).total_seconds()), until)
            for limit, key in _keys(request, username)
            if (until := _waits_until(_failures(limit, key, now), limit)) and until > now
        ]
    except CACHE_ERRORS as exc:
        logger.warning("Sign-in limits: cache unavailable (%s); not applied.", exc)
        return None
    return max(waits, key=lambda refusal: refusal.wait_seconds, default=None)


def record_failure(request: HttpRequest, username: str) -> None:
    """Count a wrong password (or unknown username) for the username and the address.
    Not for a refused attempt: the wait it was refused for must not grow by itself."""
    now = timezone.now()
    try:
        for limit, key in _keys(request, username):
            _count(limit, key, now)
    except CACHE_ERRORS as exc:
        logger.warning("Sign-in limits: cache unavailable (%s); failure not counted.", exc)


def record_success(request: HttpRequest, username: str) -> None:
    """The right password ends the username's wait. Not the address's: one account of its
    own must not let a guesser's address start afresh."""
    key = _key(USERNAME, username)
    try:
        cache.delete_many([f"{key}:count", f"{key}:last"])
    except CACHE_ERRORS as exc:
        logger.warning("Sign-in limits: cache unavailable (%s); count not reset.", exc)


def refusal_of(request: object) -> Refusal | None:
    """The refusal `SignInLimitBackend` gave this request, if it refused it."""
    return getattr(request, "signin_refusal", None)


class SignInLimitBackend(ModelBackend):
    """Django's username and password backend, refusing a sign-in that must wait before
    its password is checked. Django then sends `user_login_failed` (the audit trail's
    failed sign-in); the refusal's reason is recorded here as well.

    The only backend: a second one after it would check a refused password anyway."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is not None and username is not None:
            self._refuse_if_waiting(request, str(username))
        return super().authenticate(request, username=username, password=password, **kwargs)

    def _refuse_if_waiting(self, request, username: str) -> None:
        refusal = check_allowed(request, username)
        if refusal is None:
            return
        request.signin_refusal = refusal
        if not _first_refusal(request, username, refusal):
            raise PermissionDenied(refusal.message)
        record(
            request=request,
            action=Action.DENIED,
            object_type="sign-in",
            detail={
                "username": username[:150],
                "limit": refusal.limit,
                "wait_seconds": refusal.wait_seconds,
            },
        )
        raise PermissionDenied(refusal.message)


def _first_refusal(request: HttpRequest, username: str, refusal: Refusal) -> bool:
    """True for the first attempt refused in a wait: a guesser's flood leaves one row in
    the trail per wait, not one per request (the growing wait bounds how many)."""
    key = dict((limit.name, key) for limit, key in _keys(request, username))[refusal.limit]
    try:
        ends = int(refusal.until.timestamp()) if refusal.until else 0
        return bool(cache.add(f"{key}:refused:{ends}", 1, refusal.wait_seconds + 60))
    except CACHE_ERRORS:
        return True


# The cache keeps a count long enough to outlive the longest wait and the quiet time after.
_KEPT_FOR = int((LONGEST_WAIT + FORGET_AFTER).total_seconds()) + 60
# Where the counts are in the cache (the tests give each test a prefix of its own).
KEY_PREFIX = "casebook:signin"


def _keys(request: HttpRequest, username: str) -> list[tuple[Limit, str]]:
    keys = [(USERNAME, _key(USERNAME, username))]
    address = client_address(request)
    if address:
        keys.append((ADDRESS, _key(ADDRESS, address)))
    return keys


def _key(limit: Limit, value: str) -> str:
    # Hashed: a username may hold anything, and the cache needs neither it nor its length.
    digest = hashlib.sha256(value.strip().casefold().encode()).hexdigest()
    return f"{KEY_PREFIX}:{limit.name}:{digest}"


def _count(limit: Limit, key: str, now: datetime.datetime) -> None:
    count_key, last_key = f"{key}:count", f"{key}:last"
    if _failures(limit, key, now) is None:
        cache.set(count_key, 0, _KEPT_FOR)
    else:
        cache.add(count_key, 0, _KEPT_FOR)
    # An increment, not a read and a write, so that guesses sent in parallel all count.
    cache.incr(count_key)
    cache.touch(count_key, _KEPT_FOR)
    cache.set(last_key, now.timestamp(), _KEPT_FOR)


def _failures(
    limit: Limit, key: str, now: datetime.datetime
) -> tuple[int, datetime.datetime] | None:
    """How many failures are remembered under `key`, and when the last one was; None when
    there are none, or they are forgotten."""
    stored = cache.get_many([f"{key}:count", f"{key}:last"])
    count, last = stored.get(f"{key}:count"), stored.get(f"{key}:last")
    if not count or last is None:
        return None
    at = datetime.datetime.fromtimestamp(last, tz=datetime.UTC)
    if now >= at + _wait(count, limit) + FORGET_AFTER:
        return None
    return count, at


def _waits_until(
    failures: tuple[int, datetime.datetime] | None, limit: Limit
) -> datetime.datetime | None:
    if failures is None:
        return None
    count, last = failures
    wait = _wait(count, limit)
    return last + wait if wait else None


def _wait(count: int, limit: Limit) -> datetime.timedelta:
    """How long the attempt after `count` failures waits: nothing within the free failures,
    then FIRST_WAIT doubled for each failure past them, up to LONGEST_WAIT."""
    past = count - limit.free_failures
    if past < 0:
        return datetime.timedelta(0)
    return min(FIRST_WAIT * 2 ** min(past, _MOST_DOUBLINGS), LONGEST_WAIT)
