"""The consent gate: whether a consent allows sending a referral, and which consent a
referral goes under."""

import datetime
import re
from collections.abc import Iterable

from django.utils.translation import gettext as _

from referrals.exceptions import (
    ConsentInvalid,
    ConsentRequired,
)
from referrals.models import (
    ITEM_WORDS,
    Consent,
    Referral,
)

# §2.31(a)(4)(i): a consent for treatment may name the recipients by this general
# designation ("my treating providers, health plans, third-party payers, and people
# helping to operate this program"); it covers any provider the client is referred to.
GENERAL_DESIGNATION = "my treating providers"


def _item_labels(values: Iterable[str]) -> str:
    return ", ".join(_(ITEM_WORDS[v]) if v in ITEM_WORDS else v for v in values)


def _recipient_covered(consent: Consent, referral: Referral) -> bool:
    if consent.recipient_organization_id is None and not consent.is_part2:
        return True
    if consent.recipient_organization_id is not None and referral.service is not None:
        return referral.service.organization_id == consent.recipient_organization_id
    text = consent.recipients.casefold()
    if consent.is_part2 and GENERAL_DESIGNATION in text:
        return True
    names = [referral.provider_name]
    if referral.service is not None:
        names.append(referral.service.organization.name)
    return any(_named_in(name, text) for name in names)


# What separates the recipients a consent names ("A, B and C; D").
_RECIPIENT_EDGE = r"(?:^|$|[,;:()/.]|\band\b|\bor\b)"


def _named_in(name: str, recipients: str) -> bool:
    """Whether the consent's `recipients` (casefolded) name `name` in full: a part of a
    name ("Riverside" of "Riverside Recovery Center") names another provider."""
    name = " ".join(name.split()).casefold()
    if not name:
        return False
    text = " ".join(recipients.replace("\n", ";").split())
    pattern = rf"{_RECIPIENT_EDGE}\s*{re.escape(name)}\s*{_RECIPIENT_EDGE}"
    return re.search(pattern, text) is not None


def consent_problems(
    consent: Consent, referral: Referral, at: datetime.datetime | None = None
) -> list[str]:
    """Why `consent` does not allow sending `referral`, in words a worker understands
    (empty when it does)."""
    if consent.client_id != referral.client_id:
        return [_("This consent is another client's.")]
    if consent.revoked_at is not None:
        return [
            _("The client revoked this consent on %(date)s.")
            % {"date": f"{consent.revoked_at:%Y-%m-%d}"}
        ]
    if not consent.is_active(at):
        return [
            _("The client's consent expired on %(date)s.")
            % {"date": f"{consent.expires_on:%Y-%m-%d}"}
        ]
    problems = []
    if not _recipient_covered(consent, referral):
        problems.append(
            _("The client's consent does not cover sending to %(provider)s.")
            % {"provider": referral.provider_name}
        )
    uncovered = [item for item in referral.shared_items if item not in consent.scope]
    if uncovered:
        problems.append(
            _("The client's consent does not cover: %(items)s.")
            % {"items": _item_labels(uncovered)}
        )
    if referral.is_part2:
        if not consent.is_part2:
            problems.append(
                _(
                    "This referral is covered by 42 CFR Part 2 (substance use): it needs a "
                    "written Part 2 consent."
                )
            )
        else:
            missing = consent.part2_missing()
            if missing:
                problems.append(
                    _("The Part 2 consent lacks: %(missing)s.") % {"missing": ", ".join(missing)}
                )
            elif not consent.describes_substance_use:
                problems.append(
                    _(
                        "The Part 2 consent does not say that substance use information is "
                        "shared (it describes: %(description)s): record a new one that does "
                        "(42 CFR 2.31(a))."
                    )
                    % {"description": repr(consent.information_description)}
                )
    return problems


def consent_for(referral: Referral) -> Consent:
    """The consent the referral goes under: its own, or else the newest active consent of
    the client that covers it. Refuses (ConsentInvalid, ConsentRequired; field "consent")
    when there is none."""
    if referral.consent_id is not None:
        consent = Consent.objects.select_related("recipient_organization").get(
            pk=referral.consent_id
        )
        problems = consent_problems(consent, referral)
        if problems:
            raise ConsentInvalid(" ".join(problems), field="consent")
        return consent
    candidates = list(Consent.objects.filter(client_id=referral.client_id).active(referral.agency))
    for consent in candidates:
        if not consent_problems(consent, referral):
            return consent
    if not candidates:
        raise ConsentRequired(
            _("No referral leaves the agency without the client's consent: record it first."),
            field="consent",
        )
    raise ConsentRequired(
        _("None of the client's consents covers this referral. Newest: %(problems)s")
        % {"problems": " ".join(consent_problems(candidates[0], referral))},
        field="consent",
    )
