"""What the referral workflows share: cleaning typed text, checking shared items and
email addresses, and who may change a case's referrals."""

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _

from accounts.models import User
from cases.models import Case
from core.text import without_nul
from referrals.exceptions import (
    NotPermitted,
    ReferralInvalid,
)
from referrals.models import (
    Referral,
    ShareItem,
)


def clean_text(value: str | None) -> str:
    """Typed text without NUL characters or surrounding blanks ("" for None)."""
    return without_nul(value or "").strip()


def share_items(values: Iterable[str], *, field: str, for_consent: bool = False) -> list[str]:
    """The ShareItem values of `values`, in ShareItem order; refuses anything else.
    `for_consent`: the items a consent lets the agency share, else a referral's."""
    if not isinstance(values, list | tuple | set | frozenset) or not values:
        message = (
            _("Choose at least one thing the client agreed to share.")
            if for_consent
            else _("Choose at least one thing to share.")
        )
        raise ReferralInvalid(message, field=field)
    values = [str(v) for v in values]
    unknown = [v for v in values if v not in ShareItem.values]
    if unknown:
        raise ReferralInvalid(
            _("Unknown item: %(items)s.") % {"items": ", ".join(unknown)}, field=field
        )
    return [v for v in ShareItem.values if v in values]


def _can_write_case(actor: User | None, case_id: int) -> bool:
    return (
        actor is not None
        and actor.is_authenticated
        and Case.objects.writable_by(actor).filter(pk=case_id).exists()
    )


def require_case_writer(actor: User | None, referral: Referral) -> None:
    """Refuse (NotPermitted) unless `actor` may change the referral's case."""
    if not _can_write_case(actor, referral.case_id):
        raise NotPermitted(_("Only the workers on this client's case can change its referrals."))


def check_email(email: str, field: str) -> None:
    """Refuse (ReferralInvalid on `field`) an email address that is not one."""
    try:
        validate_email(email)
    except ValidationError as exc:
        raise ReferralInvalid(_("Enter a valid email address."), field=field) from exc


def lock_referral(referral: Referral) -> Referral:
    """The referral's row locked for the caller's transaction, read afresh with what the
    workflows read of it joined."""
    return (
        Referral.objects.select_for_update(of=("self",))
        .select_related("agency", "case", "client", "service", "service__organization", "consent")
        .get(pk=referral.pk)
    )
