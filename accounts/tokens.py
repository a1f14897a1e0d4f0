"""API sign-ins (accounts.models.ApiToken): issuing a token, finding the token a request
sends, and ending tokens, each audited.

Page sessions and API tokens are separate sign-ins: signing out of the pages ends no
token, and ending a token signs no page out. A new password ends both.
"""

import datetime
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from accounts.models import ApiToken, User
from audit.access import get_for_user
from audit.models import Action
from audit.services import record
from core.http import client_address

PREFIX_BYTES = 6
SECRET_BYTES = 32
SEPARATOR = "."


@dataclass(frozen=True)
class IssuedToken:
    """A new token row and its plaintext, which is shown once and never stored."""

    token: ApiToken
    key: str


def digest_of(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def find_token(key: str) -> ApiToken | None:
    """The token row whose plaintext is `key`, revoked or expired ones included, with its
    user and agency; None when no row matches."""
    prefix, separator, secret = key.partition(SEPARATOR)
    if not separator or not secret or not _is_prefix(prefix):
        return None
    token = ApiToken.objects.select_related("user__agency").filter(prefix=prefix).first()
    if token is None or not hmac.compare_digest(token.digest, digest_of(secret)):
        return None
    return token


@transaction.atomic
def issue_token(*, user: User, request: HttpRequest | None = None) -> IssuedToken:
    """A new API sign-in for `user`, who has just proved who they are: the row, and the
    plaintext token to hand back once."""
    now = timezone.now()
    prefix = secrets.token_hex(PREFIX_BYTES)
    secret = secrets.token_urlsafe(SECRET_BYTES)
    token = ApiToken.objects.create(
        user=user,
        agency_id=user.agency_id,
        prefix=prefix,
        digest=digest_of(secret),
        created_at=now,
        last_used_at=now,
        expires_at=now + datetime.timedelta(hours=settings.API_TOKEN_MAX_HOURS),
        user_agent=_user_agent(request),
        ip_address=client_address(request) if request is not None else None,
    )
    record(
        request=request,
        actor=user,
        action=Action.CREATE,
        obj=token,
        detail={"api_token": prefix, "expires_at": token.expires_at.isoformat()},
    )
    return IssuedToken(token=token, key=f"{prefix}{SEPARATOR}{secret}")


@transaction.atomic
def revoke_token(
    *, token: ApiToken, actor: User | None, reason: str, request: HttpRequest | None = None
) -> ApiToken:
    """End one token (signed out, revoked by its user or their agency admin). Ending an
    ended token changes nothing and records nothing."""
    now = timezone.now()
    ended = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
        revoked_at=now, revoked_by=actor, revoked_reason=reason[:200]
    )
    token.refresh_from_db()
    if ended:
        record(
            request=request,
            actor=actor,
            action=Action.LOGOUT,
            obj=token,
            detail={"api_token": token.prefix, "user": token.user_id, "reason": reason[:200]},
        )
    return token


@transaction.atomic
def revoke_all_tokens(
    *,
    user: User,
    reason: str,
    actor: User | None = None,
    request: HttpRequest | None = None,
) -> int:
    """End every token of `user` not yet ended; how many were."""
    open_tokens = ApiToken.objects.of_user(user).filter(revoked_at__isnull=True)
    prefixes = list(open_tokens.values_list("prefix", flat=True))
    if not prefixes:
        return 0
    ended = open_tokens.update(revoked_at=timezone.now(), revoked_by=actor, revoked_reason=reason)
    record(
        request=request,
        actor=actor,
        action=Action.LOGOUT,
        obj=user,
        agency_id=user.agency_id,
        detail={"api_tokens": prefixes, "reason": reason},
    )
    return ended


def get_token_for_user(request: HttpRequest, pk: object) -> ApiToken:
    """A live token the signed-in user may end (see ApiTokenQuerySet.revocable_by): 404,
    audited, for any other, as for a record they may not see."""
    user = request.user
    if not isinstance(user, User):  # the views ask for a signed-in user
        raise PermissionDenied
    visible = ApiToken.objects.live().revocable_by(user).select_related("user")
    return get_for_user(request, ApiToken, visible, visible, pk, write=True, audit_read=False)


def _is_prefix(text: str) -> bool:
    # Checked before the query: a header may hold anything, NUL included, which
    # PostgreSQL refuses in a string.
    return len(text) == 2 * PREFIX_BYTES and all(c in "0123456789abcdef" for c in text)


def _user_agent(request: HttpRequest | None) -> str:
    if request is None:
        return ""
    return str(request.META.get("HTTP_USER_AGENT", ""))[:300].replace("\x00", "")
