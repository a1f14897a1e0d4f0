"""An agency's keys for its CAD (computer-aided dispatch) system.

A key reads ``cad_<prefix>_<secret>`` and is shown once, when made; the row keeps the
prefix (to find it) and the SHA-256 of the whole key. A key posts to its own agency and
nowhere else: the agency of everything it records is the key's.
The requests a CAD posts are recorded by its key (TeamRequest.cad_key), not by a person.
"""

import datetime
import hashlib
import hmac
import secrets

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Agency, User
from audit.models import Action
from audit.services import record as audit
from core.text import without_nul
from dispatch.exceptions import DispatchInvalid
from dispatch.models import CadKey

KEY_START = "cad_"
# last_used_at is written at most this often: a CAD posting every second costs no writes.
LAST_USE_WRITE_EVERY = datetime.timedelta(minutes=1)
NAME_MAX = CadKey._meta.get_field("name").max_length or 100


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def prefix_of(raw: str) -> str | None:
    """The prefix of a key in the ``cad_<prefix>_<secret>`` shape, else None."""
    if not raw.startswith(KEY_START):
        return None
    prefix, sep, secret = raw[len(KEY_START) :].partition("_")
    if not (sep and secret and prefix.isascii() and prefix.isalnum() and len(prefix) <= 16):
        return None
    return prefix


@transaction.atomic
def create_cad_key(*, agency: Agency, name: str, actor: User | None) -> tuple[CadKey, str]:
    """A new key for the agency's CAD system named `name`, and the key itself: shown
    this once, never stored. `actor` is who made it (None from the command line)."""
    name = without_nul(name or "").strip()
    if not name:
        raise DispatchInvalid(_("Name the system that holds the key."), field="name")
    if len(name) > NAME_MAX:
        raise DispatchInvalid(
            _("A name has at most %(max)s characters.") % {"max": NAME_MAX}, field="name"
        )
    prefix = secrets.token_hex(6)
    raw = f"{KEY_START}{prefix}_{secrets.token_urlsafe(32)}"
    key = CadKey.objects.create(
        agency=agency, name=name, prefix=prefix, digest=_digest(raw), created_by=actor
    )
    audit(
        actor=actor,
        action=Action.CREATE,
        obj=key,
        detail={"event": "cad key created", "prefix": prefix},
    )
    return key, raw


@transaction.atomic
def revoke_cad_key(*, key: CadKey, actor: User | None) -> CadKey:
    """Stop the key working, at once and for good (revoking twice changes nothing)."""
    now = timezone.now()
    if CadKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(revoked_at=now):
        audit(
            actor=actor,
            action=Action.UPDATE,
            obj=key,
            detail={"event": "cad key revoked", "prefix": key.prefix},
        )
    key.refresh_from_db(fields=["revoked_at"])
    return key


def authenticate_cad_key(raw: str) -> CadKey | None:
    """The active key `raw` is (with its agency), else None. Notes its use, in the row at
    most once every LAST_USE_WRITE_EVERY."""
    prefix = prefix_of(raw)
    if prefix is None:
        return None
    key = CadKey.objects.active().select_related("agency").filter(prefix=prefix).first()
    if key is None or not hmac.compare_digest(key.digest, _digest(raw)):
        return None
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at >= LAST_USE_WRITE_EVERY:
        stale = Q(last_used_at__isnull=True) | Q(last_used_at__lte=now - LAST_USE_WRITE_EVERY)
        CadKey.objects.filter(stale, pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    return key
