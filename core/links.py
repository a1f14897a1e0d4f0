"""Signed tokens for the links people open without an account (a provider's referral
link, a client's safety plan): `<public id>.<HMAC of the public id>`. The row holds
nothing secret; each purpose has its own key, derived from SECRET_KEY."""

import hashlib
import hmac
import uuid

from django.conf import settings


def signature(purpose: str, public_id: uuid.UUID) -> str:
    key = f"casebook.{purpose}:{settings.SECRET_KEY}".encode()
    return hmac.new(key, str(public_id).encode(), hashlib.sha256).hexdigest()[:40]


def token(purpose: str, public_id: uuid.UUID) -> str:
    return f"{public_id}.{signature(purpose, public_id)}"


def parse(purpose: str, written_token: str) -> uuid.UUID | None:
    """The public id a well-formed token, correctly signed for `purpose`, names; else
    None."""
    written, _dot, sig = (written_token or "").partition(".")
    try:
        public_id = uuid.UUID(written)
    except ValueError:
        return None
    # As bytes: compare_digest refuses a str with non-ASCII characters (a TypeError).
    if not hmac.compare_digest(sig.encode(), signature(purpose, public_id).encode()):
        return None
    return public_id
