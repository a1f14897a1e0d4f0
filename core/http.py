"""Who is on the other end of a request."""

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def client_address(request: HttpRequest) -> str | None:
    """The caller's address, as the sign-in limits, the audit trail and the API throttles
    count it.

    With `settings.TRUSTED_PROXY_COUNT` = 0 (no proxy) it is the connection's REMOTE_ADDR.
    Behind N proxies that each append the address they were connected from to
    X-Forwarded-For, it is the Nth address from the right: the ones to its left were
    written by the client and prove nothing. A value that is not an address (a
    misconfigured proxy) falls back to REMOTE_ADDR, so a header can never put garbage in
    the audit trail. Same rule as Django REST framework's NUM_PROXIES.
    """
    remote = _address(request.META.get("REMOTE_ADDR", ""))
    proxies = settings.TRUSTED_PROXY_COUNT
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies <= 0 or not forwarded:
        return remote
    hops = [hop.strip() for hop in forwarded.split(",")]
    return _address(hops[-min(proxies, len(hops))]) or remote


def _address(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None
