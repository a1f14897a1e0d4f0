"""What the provider sees of a referral through its link."""

from cases.models import Client
from referrals.models import (
    PART2_REDISCLOSURE_NOTICE,
    Consent,
    Referral,
    ShareItem,
)

# Presenting concerns that identify substance use: shown to a provider only with
# ShareItem.SUBSTANCE_USE (42 CFR Part 2), never among the other concerns.
SUBSTANCE_USE_CONCERNS = ("substance-use",)


def shared_view(referral: Referral) -> dict:
    """What the provider may see of a referral: the referral itself, and exactly the
    client data both the consent and the referral's shared items allow. The provider's
    page renders only this. `client` holds only the keys shared:
    name, preferred_name, phone, date_of_birth, reason, concerns, risk_level, substance_use.
    `part2_notice` is the §2.32 notice for a Part 2 referral, else ""; `consent_scope` is
    then the scope of the consent it goes under (§2.32(b): each disclosure carries a copy
    of the consent or a clear explanation of its scope), else None."""
    consent = referral.consent
    allowed = set(referral.shared_items) & set(consent.scope if consent else ())
    shown = _shown_person(referral.client, allowed) | _shown_need(referral, allowed)
    return {
        "referral_id": referral.pk,
        "provider_name": referral.provider_name,
        "need_category": referral.get_need_category_display(),
        "urgency": referral.get_urgency_display(),
        "status": str(referral.status),
        "status_label": referral.get_status_display(),
        "sent_at": referral.sent_at,
        "appointment_at": referral.appointment_at,
        "service_date": referral.service_date,
        "outcome": referral.get_outcome_display() if referral.outcome else "",
        "shared": [label for value, label in ShareItem.choices if value in allowed],
        "client": shown,
        "part2_notice": PART2_REDISCLOSURE_NOTICE if referral.is_part2 else "",
        "consent_scope": consent_scope(consent) if referral.is_part2 and consent else None,
    }


def _shown_person(client: Client, allowed: set[str]) -> dict[str, object]:
    """Who the client is, as far as `allowed` (ShareItem values) goes."""
    shown: dict[str, object] = {}
    if ShareItem.NAME in allowed:
        shown["name"] = client.legal_name
        if client.preferred_name and client.preferred_name != client.legal_name:
            shown["preferred_name"] = client.preferred_name
    if ShareItem.PHONE in allowed:
        shown["phone"] = client.phone
    if ShareItem.DATE_OF_BIRTH in allowed:
        shown["date_of_birth"] = client.date_of_birth
    return shown


def _shown_need(referral: Referral, allowed: set[str]) -> dict[str, object]:
    """Why the client is referred and what the case knows of them, as far as `allowed`
    (ShareItem values) goes; substance use concerns only with ShareItem.SUBSTANCE_USE."""
    case = referral.case
    shown: dict[str, object] = {}
    if ShareItem.REASON in allowed:
        shown["reason"] = referral.reason
    concerns = (
        list(case.presenting_concerns.all()) if allowed & {"concerns", "substance_use"} else []
    )
    if ShareItem.CONCERNS in allowed:
        shown["concerns"] = [c.label for c in concerns if c.code not in SUBSTANCE_USE_CONCERNS]
    if ShareItem.RISK in allowed:
        shown["risk_level"] = case.get_risk_level_display()
    if ShareItem.SUBSTANCE_USE in allowed:
        shown["substance_use"] = [c.label for c in concerns if c.code in SUBSTANCE_USE_CONCERNS]
    return shown


def consent_scope(consent: Consent) -> dict:
    """A Part 2 consent's scope as the recipient reads it (42 CFR 2.32(b)): its §2.31
    elements, without the signer's name (the client's, which the referral may not share)."""
    return {
        "discloser": consent.discloser,
        "information": consent.information_description,
        "items": [label for value, label in ShareItem.choices if value in consent.scope],
        "recipients": consent.recipients,
        "purpose": consent.purpose,
        "expires_on": consent.expires_on,
        "expiry_event": consent.expiry_event,
        "signed_on": consent.signed_on,
    }
