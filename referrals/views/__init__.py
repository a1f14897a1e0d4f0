"""The worker's referral and consent pages. The receiving provider's page is in
referrals/provider_views.py."""

from referrals.views.consents import consent_detail, consent_new, consent_revoke
from referrals.views.referral_pages import (
    link_new,
    link_revoke,
    referral_appointment,
    referral_detail,
    referral_list,
    referral_new,
    referral_send,
    referral_status,
)

__all__ = [
    "consent_detail",
    "consent_new",
    "consent_revoke",
    "link_new",
    "link_revoke",
    "referral_appointment",
    "referral_detail",
    "referral_list",
    "referral_new",
    "referral_send",
    "referral_status",
]
