"""Recording and revoking a client's consent to share."""

import datetime
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Agency, User
from audit.models import Action
from audit.services import record as audit
from cases.models import Case, CaseStatus, Client
from directory.models import Organization
from referrals import events
from referrals.exceptions import (
    ConsentInvalid,
    NotPermitted,
    ReferralInvalid,
)
from referrals.models import (
    Consent,
    ConsentMethod,
    ShareItem,
)
from referrals.services.common import clean_text, share_items

# 42 CFR 2.31(a): what a Part 2 consent allows is described specifically and meaningfully.
VAGUE_PART2_DESCRIPTION = gettext_lazy(
    "Say that substance use information is shared, and which (42 CFR 2.31(a) asks for a "
    'specific, meaningful description): for example "my name and phone number, and that I '
    'am referred for substance use treatment". "Name and phone number" alone is not enough.'
)


# Sanity bound on when a consent was obtained: beyond it a date is a typo.
OLDEST_CONSENT = datetime.timedelta(days=5 * 365)


@transaction.atomic
def record_consent(
    *,
    actor: User,
    client: Client,
    case: Case | None = None,
    method: str,
    scope: Iterable[str],
    recipients: str,
    purpose: str,
    recipient_organization: Organization | None = None,
    expires_on: datetime.date | None = None,
    expiry_event: str = "",
    is_part2: bool = False,
    discloser: str = "",
    information_description: str = "",
    right_to_revoke_explained: bool = False,
    signed_by: str = "",
    signed_on: datetime.date | None = None,
    note: str = "",
    obtained_at: datetime.datetime | None = None,
    request: HttpRequest | None = None,
) -> Consent:
    """Record a client's consent to share `scope` (ShareItem values) with `recipients`.

    A Part 2 consent must carry every §2.31 element (Consent.part2_missing) and sharing
    substance use information needs one. The consent goes on `case`'s timeline, or on the
    client's open case when none is given (if the actor may change it).
    """
    case = _consent_case(actor=actor, client=client, case=case)
    if method not in ConsentMethod.values:
        raise ConsentInvalid(_("Say whether the consent was verbal or written."), field="method")
    scope = _consent_scope(scope)
    recipients, purpose = clean_text(recipients), clean_text(purpose)
    if not recipients:
        raise ConsentInvalid(_("Say with whom the client agreed to share."), field="recipients")
    if not purpose:
        raise ConsentInvalid(_("Say for what purpose."), field="purpose")
    _check_recipient_organization(actor, recipient_organization)
    _check_consent_days(client.agency, expires_on=expires_on, signed_on=signed_on)
    consent = Consent(
        agency_id=client.agency_id,
        client=client,
        case=case,
        method=method,
        obtained_by=actor,
        obtained_at=_obtained_at(obtained_at),
        scope=scope,
        recipient_organization=recipient_organization,
        recipients=recipients,
        purpose=purpose,
        expires_on=expires_on,
        expiry_event=clean_text(expiry_event),
        is_part2=bool(is_part2),
        discloser=clean_text(discloser),
        information_description=clean_text(information_description),
        right_to_revoke_explained=bool(right_to_revoke_explained),
        signed_by=clean_text(signed_by),
        signed_on=signed_on,
        note=clean_text(note),
    )
    _check_part2(consent)
    try:
        consent.full_clean(exclude=["agency", "client", "case", "obtained_by"])
    except ValidationError as exc:
        field, messages = next(iter(exc.message_dict.items()))
        raise ConsentInvalid(" ".join(messages), field=field) from exc
    consent.save()
    if case is not None:
        events.consent_recorded(consent=consent, case=case, actor=actor)
    audit(
        request=request,
        actor=actor,
        action=Action.CREATE,
        obj=consent,
        detail={"scope": scope, "is_part2": consent.is_part2, "case_id": getattr(case, "pk", None)},
    )
    return consent


def _consent_case(*, actor: User, client: Client, case: Case | None) -> Case | None:
    """The case a consent is recorded on: `case`, which must be the client's and one the
    actor may change, or else the client's open case the actor may change (None without
    one). Refuses an actor who may not change the client."""
    if not Client.objects.writable_by(actor).filter(pk=client.pk).exists():
        raise NotPermitted(_("Only the workers on this client's case can record their consent."))
    if case is None:
        return Case.objects.writable_by(actor).filter(client=client, status=CaseStatus.OPEN).first()
    if case.client_id != client.pk:
        raise ConsentInvalid(_("That case is not this client's."), field="case")
    if not Case.objects.writable_by(actor).filter(pk=case.pk).exists():
        raise NotPermitted(_("Only the workers on this case can record consent on it."))
    return case


def _consent_scope(values: Iterable[str]) -> list[str]:
    try:
        return share_items(values, field="scope", for_consent=True)
    except ReferralInvalid as exc:
        raise ConsentInvalid(str(exc), field="scope") from exc


def _check_recipient_organization(actor: User, organization: Organization | None) -> None:
    if (
        organization is not None
        and not Organization.objects.visible_to(actor).filter(pk=organization.pk).exists()
    ):
        raise ConsentInvalid(_("No such organization."), field="recipient_organization")


def _check_consent_days(
    agency: Agency, *, expires_on: datetime.date | None, signed_on: datetime.date | None
) -> None:
    # Dates typed by workers and providers are the agency's days, whatever zone the
    # request runs in.
    today = agency.today()
    if expires_on is not None and expires_on < today:
        raise ConsentInvalid(
            _("The expiry date has already passed: today is %(today)s.")
            % {"today": agency.describe_day(today)},
            field="expires_on",
        )
    if signed_on is not None and signed_on > today:
        raise ConsentInvalid(
            _("The date signed cannot be after today, %(today)s.")
            % {"today": agency.describe_day(today)},
            field="signed_on",
        )


def _obtained_at(obtained_at: datetime.datetime | None) -> datetime.datetime:
    """When the consent was obtained: `obtained_at`, or now when not given."""
    now = timezone.now()
    obtained_at = obtained_at or now
    if obtained_at > now + datetime.timedelta(minutes=5):
        raise ConsentInvalid(_("Consent cannot be obtained in the future."), field="obtained_at")
    if obtained_at < now - OLDEST_CONSENT:
        # Also keeps out year-1 times, which overflow when shown in a local time zone.
        raise ConsentInvalid(
            _("Check the date: that is more than five years ago."), field="obtained_at"
        )
    return obtained_at


def _check_part2(consent: Consent) -> None:
    """A Part 2 consent has every §2.31 element and says that substance use information
    is shared; sharing substance use information needs a Part 2 consent."""
    if consent.is_part2:
        missing = consent.part2_missing()
        if missing:
            raise ConsentInvalid(
                _("A 42 CFR Part 2 consent must have: %(missing)s.")
                % {"missing": ", ".join(missing)},
                field="is_part2",
            )
        if not consent.describes_substance_use:
            raise ConsentInvalid(str(VAGUE_PART2_DESCRIPTION), field="information_description")
    elif ShareItem.SUBSTANCE_USE in consent.scope:
        raise ConsentInvalid(
            _("Sharing substance use information needs a written 42 CFR Part 2 consent."),
            field="is_part2",
        )


@transaction.atomic
def revoke_consent(
    *, actor: User, consent: Consent, note: str = "", request: HttpRequest | None = None
) -> Consent:
    """The client withdraws a consent. From now on nothing more is sent under it and the
    provider links of its referrals reveal nothing (resolve_provider_link checks it on
    every use); what was disclosed before stays recorded."""
    consent = Consent.objects.select_for_update().get(pk=consent.pk)
    if not Client.objects.writable_by(actor).filter(pk=consent.client_id).exists():
        raise NotPermitted(_("Only the workers on this client's case can revoke their consent."))
    if consent.revoked_at is not None:
        raise ConsentInvalid(_("This consent was already revoked."))
    consent.revoked_at = timezone.now()
    consent.revoked_by = actor
    consent.revocation_note = clean_text(note)[:1000]
    consent.save(update_fields=["revoked_at", "revoked_by", "revocation_note"])
    case = consent.case or (
        Case.objects.filter(client_id=consent.client_id, status=CaseStatus.OPEN).first()
    )
    if case is not None:
        events.consent_revoked(consent=consent, case=case, actor=actor)
    audit(request=request, actor=actor, action=Action.UPDATE, obj=consent, detail={"revoked": True})
    return consent
