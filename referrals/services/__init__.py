"""Workflows on consents, referrals, disclosures and provider links.

Each writes its referral history (ReferralEvent), case timeline (CaseEvent) and audit row in
the same transaction as the change. Refusals raise the errors of referrals.exceptions.

Who may do what:
- Consent is recorded and revoked by a worker or supervisor who may change the client
  (Client.objects.writable_by).
- The requester side (create, send, cancel, entered-in-error, links) is a worker or
  supervisor who may change the case (Case.objects.writable_by). Agency admins read
  referrals but change none; system admins see none.
- The performer side is the provider through its link (actor None), or a worker who may
  change the case recording what the provider reported (EventVia.STAFF_FOR_PROVIDER,
  with a note saying how it was reported).

Entered-in-error keeps the referral's other fields as they were (closed_at included: a
live referral marked entered-in-error has closed_at None); reports leave such referrals
out by their status.

Callers import from here (`from referrals import services`); the submodules hold the code
by concern: consents, the consent gate, creating and sending, transitions, provider links,
and the provider's view. A test that patches a function patches it in the submodule that
calls it (`referrals.services.transitions.audit`), not here.
"""

from referrals.services.consent_gate import consent_problems
from referrals.services.consents import record_consent, revoke_consent
from referrals.services.links import (
    issue_provider_link,
    link_audit_path,
    record_link_use,
    resolve_provider_link,
    revoke_provider_link,
)
from referrals.services.provider_view import consent_scope, shared_view
from referrals.services.sending import create_referral, send_referral
from referrals.services.transitions import record_appointment, transition_referral

__all__ = [
    "consent_problems",
    "consent_scope",
    "create_referral",
    "issue_provider_link",
    "link_audit_path",
    "record_appointment",
    "record_consent",
    "record_link_use",
    "resolve_provider_link",
    "revoke_consent",
    "revoke_provider_link",
    "send_referral",
    "shared_view",
    "transition_referral",
]
