"""The case page's Referrals, Consents and Disclosures sections: three queries, whatever
the case's history."""

from django.utils import timezone

from referrals.models import PART2_REDISCLOSURE_NOTICE, Consent, Disclosure, Referral
from referrals.staleness import stale_reason


def case_sections(case) -> dict:
    """Context for templates/referrals/_case_sections.html."""
    now = timezone.now()
    referrals = list(Referral.objects.filter(case=case).select_related("service"))
    for referral in referrals:
        referral.stale_reason = stale_reason(referral, now)
    consents = list(
        Consent.objects.filter(client_id=case.client_id).select_related(
            "agency", "recipient_organization"
        )
    )
    for consent in consents:
        consent.active_now = consent.is_active(now)
    disclosures = list(Disclosure.objects.filter(case=case).select_related("consent"))
    return {
        "referrals": referrals,
        "consents": consents,
        "disclosures": disclosures,
        "part2_notice": (
            PART2_REDISCLOSURE_NOTICE if any(d.part2_notice for d in disclosures) else ""
        ),
    }
