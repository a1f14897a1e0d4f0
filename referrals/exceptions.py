"""Refusals of the referral and consent workflows. Each is a DomainError: the API answers
400 and pages show the message. `field`, when set, names the input the message is about,
so a form or serializer can put it beside that field."""

from core.exceptions import DomainError, NotPermitted

__all__ = [
    "ConsentInvalid",
    "ConsentRequired",
    "InvalidTransition",
    "LinkUnusable",
    "NotPermitted",
    "ReferralError",
    "ReferralInvalid",
]


class ReferralError(DomainError):
    pass


class InvalidTransition(ReferralError):
    """The status change is not in ALLOWED_TRANSITIONS for the side asking for it."""

    code = "invalid_transition"


class ConsentRequired(ReferralError):
    """No active consent of the client covers what the referral would disclose."""

    code = "consent_required"


class ConsentInvalid(ReferralError):
    """A consent is incomplete, expired, revoked, or does not cover the referral."""

    code = "consent_invalid"


class ReferralInvalid(ReferralError):
    """The referral's own data breaks a rule (missing outcome, future service date, ...)."""

    code = "referral_invalid"


class LinkUnusable(ReferralError):
    """The provider link is revoked, expired, or its referral no longer allows it."""

    code = "link_unusable"
