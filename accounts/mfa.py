"""The second factor: a TOTP authenticator app, with single-use recovery codes.

Who must verify: everyone when settings.MFA_REQUIRED is on (production), and anyone who
has enrolled an authenticator whatever the setting (so a development login with a device
is asked for its code like in production). The system admin is not exempt: the Django
admin creates accounts and grants roles.

Recovery codes are kept only as a hash (django-otp's StaticToken holds up to 16
characters): what the database leaks cannot be typed in.
"""

import hashlib
import secrets
from base64 import b32decode, b32encode
from binascii import unhexlify
from typing import cast

from django.conf import settings
from django.contrib.auth import SESSION_KEY as AUTH_SESSION_KEY
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp import login as otp_login
from django_otp.models import Device
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import Role, User
from audit.models import Action
from audit.services import record
from core.exceptions import DomainError, NotPermitted

RECOVERY_CODE_COUNT = 10
TOTP_DEVICE_NAME = "Authenticator app"
RECOVERY_DEVICE_NAME = "Recovery codes"
# In the session: whether the user had an authenticator when they signed in.
SESSION_KEY = "mfa_enrolled_at_sign_in"


def mfa_required(user: User) -> bool:
    """Whether `user` must give a second factor after the password on every sign-in."""
    if not user.is_authenticated:
        return False
    return bool(getattr(settings, "MFA_REQUIRED", False)) or has_authenticator(user)


def owes_factor(request: HttpRequest) -> bool:
    """Whether this request's signed-in user has yet to give their second factor in this
    session. With MFA_REQUIRED off, asks the database only about a user who had an
    authenticator at sign-in (note_sign_in), not on every page."""
    user = request.user
    if not user.is_authenticated or _is_verified(user):
        return False
    if getattr(settings, "MFA_REQUIRED", False):
        return True
    if request.session.get(SESSION_KEY) is False:
        return False
    enrolled = has_authenticator(user)
    request.session[SESSION_KEY] = enrolled
    return enrolled


def _is_verified(user: object) -> bool:
    # OTPMiddleware gives the request's user is_verified().
    return bool(getattr(user, "is_verified", lambda: False)())


def note_sign_in(sender: object, request: HttpRequest | None, user: User, **kwargs: object) -> None:
    """user_logged_in receiver: note whether this sign-in owes a second factor."""
    # Only a browser's sign-in (django.contrib.auth.login); the API's token sign-in sends
    # the same signal but keeps no session, and must not start one.
    session = getattr(request, "session", None)
    if session is not None and session.get(AUTH_SESSION_KEY) == str(user.pk):
        # Signing in again in the same browser asks for the code again too.
        session.pop(DEVICE_ID_SESSION_KEY, None)
        session[SESSION_KEY] = has_authenticator(user)


def has_authenticator(user: User) -> bool:
    """Whether `user` has a confirmed authenticator app (enrolment is done)."""
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def check_code(user: User, code: str) -> bool:
    """Whether `code` is the current code of `user`'s authenticator or one of their unused
    recovery codes (which it consumes). A wrong code counts toward the device's growing
    delay, during which even a right code is refused."""
    return matching_device(user, code) is not None


def matching_device(user: User, code: str) -> Device | None:
    """The device that accepts `code` (six digits: the authenticator; anything else: a
    recovery code), or None."""
    code = "".join(code.split()).replace("-", "").lower()
    if not code or len(code) > 32:
        return None
    with transaction.atomic():
        if code.isdigit() and len(code) == 6:
            devices: list[Device] = list(
                TOTPDevice.objects.filter(user=user, confirmed=True).select_for_update()
            )
            token = code
        else:
            devices = list(
                StaticDevice.objects.filter(user=user, confirmed=True).select_for_update()
            )
            token = _stored_form(code)
        for device in devices:
            if device.verify_token(token):
                return device
    return None


def seconds_to_wait(user: User) -> int:
    """How long the user's devices refuse every code after repeated wrong ones (0: not)."""
    now = timezone.now()
    waits = [0]
    for model in (TOTPDevice, StaticDevice):
        for device in model.objects.filter(user=user, confirmed=True):
            allowed, _ = device.verify_is_allowed()
            if not allowed and device.throttling_failure_timestamp is not None:
                delay = device.get_throttle_factor() * 2 ** (device.throttling_failure_count - 1)
                ends = device.throttling_failure_timestamp.timestamp() + delay
                waits.append(max(1, int(ends - now.timestamp()) + 1))
    return max(waits)


def verify(request: HttpRequest, code: str) -> bool:
    """Check the signed-in user's code and, when right, mark this session verified."""
    user = cast(User, request.user)  # the pages that call this require a signed-in user
    device = matching_device(user, code)
    if device is None:
        record(request=request, action=Action.LOGIN_FAILED, obj=user, detail={"mfa": "wrong code"})
        return False
    otp_login(request, device)
    detail = {"mfa": "verified", "device": device.name}
    if isinstance(device, StaticDevice):
        detail["recovery_codes_left"] = str(device.token_set.count())
    record(request=request, action=Action.LOGIN, obj=user, detail=detail)
    return True


def pending_authenticator(user: User) -> TOTPDevice:
    """The authenticator being enrolled: unconfirmed until its first code is given. The
    same one is offered again on reload, so a QR code already scanned stays good."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=TOTP_DEVICE_NAME, confirmed=False)
    return device


def secret_text(device: TOTPDevice) -> str:
    """The secret as authenticator apps ask for it when typed in: base32, in groups of 4."""
    secret = b32encode(unhexlify(device.key)).decode()
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def current_code(device: TOTPDevice) -> str:
    """The code an authenticator with this device's secret shows now (demo and tests)."""
    totp = TOTP(unhexlify(device.key), device.step, device.t0, device.digits, device.drift)
    return f"{totp.token():0{device.digits}d}"


@transaction.atomic
def confirm_enrolment(*, user: User, code: str, request: HttpRequest | None = None) -> list[str]:
    """Confirm `user`'s pending authenticator with its first code and return fresh
    recovery codes, to be shown once. With `request`, that browser session counts as
    verified. Raises DomainError on a wrong code."""
    device = TOTPDevice.objects.select_for_update().get(pk=pending_authenticator(user).pk)
    token = "".join(code.split())
    if not (token.isdigit() and len(token) == 6) or not device.verify_token(token):
        raise DomainError(
            _("That code does not match. Enter the 6-digit code your app shows now."),
            field="code",
        )
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
    codes = _replace_recovery_codes(user)
    if request is not None:
        otp_login(request, device)
    record(request=request, actor=user, action=Action.UPDATE, obj=user, detail={"mfa": "enrolled"})
    return codes


@transaction.atomic
def renew_recovery_codes(*, user: User, code: str, request: HttpRequest | None = None) -> list[str]:
    """Replace `user`'s recovery codes with fresh ones, to be shown once, against a code
    from their authenticator app: not a recovery code, so that whoever holds one cannot
    mint more. The app's own growing wait applies. Raises DomainError on a wrong code."""
    device = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=True).first()
    token = "".join(code.split())
    if device is None or not (token.isdigit() and len(token) == 6):
        raise DomainError(
            _("Enter the 6-digit code your authenticator app shows now."), field="code"
        )
    if not device.verify_token(token):
        raise DomainError(
            _("That code does not match. Enter the 6-digit code your app shows now."),
            field="code",
        )
    codes = _replace_recovery_codes(user)
    record(
        request=request,
        actor=user,
        action=Action.UPDATE,
        obj=user,
        detail={"mfa": "new recovery codes"},
    )
    return codes


def _replace_recovery_codes(user: User) -> list[str]:
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name=RECOVERY_DEVICE_NAME, confirmed=True)
    codes = [_new_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create(
        StaticToken(device=device, token=_stored_form(c.replace("-", ""))) for c in codes
    )
    return codes


def _new_recovery_code() -> str:
    # 80 random bits, shown as four groups of four to be copied by hand.
    raw = b32encode(secrets.token_bytes(10)).decode().lower()
    return "-".join(raw[i : i + 4] for i in range(0, 16, 4))


def _stored_form(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()[:16]


def may_reset(actor: User, user: User) -> bool:
    """A system admin resets anyone's factor; an agency admin, their own agency's users
    other than system admins."""
    if actor.is_superuser or actor.role == Role.SYSTEM_ADMIN:
        return True
    return (
        actor.role == Role.AGENCY_ADMIN
        and actor.agency_id is not None
        and actor.agency_id == user.agency_id
        and not user.is_superuser
        and user.role != Role.SYSTEM_ADMIN
    )


@transaction.atomic
def reset_devices(
    *, actor: User, user: User, reason: str, request: HttpRequest | None = None
) -> User:
    """Remove every second-factor device of `user` (a lost phone): they enrol again at
    their next sign-in, and sessions verified with the old devices stop being verified."""
    reason = reason.strip()
    if not reason:
        raise DomainError(_("Say why the second factor is reset."), field="reason")
    if not may_reset(actor, user):
        raise NotPermitted(_("You may reset the second factor of your own agency's users only."))
    removed = TOTPDevice.objects.filter(user=user).count()
    removed += StaticDevice.objects.filter(user=user).count()
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()
    record(
        request=request,
        actor=actor,
        action=Action.UPDATE,
        obj=user,
        agency_id=user.agency_id,
        detail={"mfa": "reset", "reason": reason[:500], "devices_removed": removed},
    )
    return user


@transaction.atomic
def set_demo_authenticator(*, user: User, secret: str) -> TOTPDevice:
    """Give a demo login a confirmed authenticator with a published base32 `secret`, so
    that anyone can compute its codes (`oathtool --totp -b SECRET`, `manage.py demo_totp`).
    Never for a real account: seed_demo refuses to run in production."""
    key = b32decode(secret.replace(" ", "").upper()).hex()
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = TOTPDevice(user=user, name=TOTP_DEVICE_NAME, confirmed=True)
    if device.key != key or device.pk is None:
        device.key = key
        device.save()
    return device
