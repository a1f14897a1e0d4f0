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
"""

import datetime
import re

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from audit.models import Action
from audit.services import record as audit
from casebook.text import without_nul
from cases.models import Case, CaseStatus, Client
from directory.models import Contact as DirectoryContact
from directory.models import NeedCategory, Organization, Phone, Service, ServiceStatus
from followups import services as followup_services
from followups.models import Enrolment, EnrolmentStatus
from notifications import services as notices
from referrals import events
from referrals.exceptions import (
    ConsentInvalid,
    ConsentRequired,
    InvalidTransition,
    LinkUnusable,
    NotPermitted,
    ReferralInvalid,
)
from referrals.models import (
    ALLOWED_TRANSITIONS,
    FINAL_STATUSES,
    LIVE_STATUSES,
    OUTCOMES_FOR_STATUS,
    PART2_REDISCLOSURE_NOTICE,
    Consent,
    ConsentMethod,
    Disclosure,
    DisclosureChannel,
    EventVia,
    Outcome,
    Party,
    ProviderLink,
    Referral,
    ReferralEventKind,
    ShareItem,
    Status,
    Urgency,
)

# §2.31(a)(4)(i): a consent for treatment may name the recipients by this general
# designation ("my treating providers, health plans, third-party payers, and people
# helping to operate this program"); it covers any provider the client is referred to.
GENERAL_DESIGNATION = "my treating providers"

# Presenting concerns that identify substance use: shown to a provider only with
# ShareItem.SUBSTANCE_USE (42 CFR Part 2), never among the other concerns.
SUBSTANCE_USE_CONCERNS = ("substance-use",)

# 42 CFR 2.31(a): what a Part 2 consent allows is described specifically and meaningfully.
VAGUE_PART2_DESCRIPTION = (
    "Say that substance use information is shared, and which (42 CFR 2.31(a) asks for a "
    'specific, meaningful description): for example "my name and phone number, and that I '
    'am referred for substance use treatment". "Name and phone number" alone is not enough.'
)

# Sanity bounds on times typed by workers and providers: beyond them a date is a typo.
APPOINTMENT_HORIZON = datetime.timedelta(days=5 * 365)
OLDEST_CONSENT = datetime.timedelta(days=5 * 365)


def _text(value) -> str:
    return without_nul(value or "").strip()


def _item_labels(values) -> str:
    labels = dict(ShareItem.choices)
    return ", ".join(labels.get(v, v).lower() for v in values)


def _share_items(values, *, field, what) -> list[str]:
    """The ShareItem values of `values`, in ShareItem order; refuses anything else."""
    if not isinstance(values, list | tuple | set | frozenset) or not values:
        raise ReferralInvalid(f"Choose at least one thing {what}.", field=field)
    values = [str(v) for v in values]
    unknown = [v for v in values if v not in ShareItem.values]
    if unknown:
        raise ReferralInvalid(f"Unknown item: {', '.join(unknown)}.", field=field)
    return [v for v in ShareItem.values if v in values]


def _can_write_case(actor, case_id) -> bool:
    return (
        actor is not None
        and actor.is_authenticated
        and Case.objects.writable_by(actor).filter(pk=case_id).exists()
    )


def _require_case_writer(actor, referral):
    if not _can_write_case(actor, referral.case_id):
        raise NotPermitted("Only the workers on this client's case can change its referrals.")


# --- Consent ------------------------------------------------------------------------------


@transaction.atomic
def record_consent(
    *,
    actor: User,
    client: Client,
    case: Case | None = None,
    method: str,
    scope,
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
    request=None,
) -> Consent:
    """Record a client's consent to share `scope` (ShareItem values) with `recipients`.

    A Part 2 consent must carry every §2.31 element (Consent.part2_missing) and sharing
    substance use information needs one. The consent goes on `case`'s timeline, or on the
    client's open case when none is given (if the actor may change it).
    """
    if not Client.objects.writable_by(actor).filter(pk=client.pk).exists():
        raise NotPermitted("Only the workers on this client's case can record their consent.")
    if case is not None:
        if case.client_id != client.pk:
            raise ConsentInvalid("That case is not this client's.", field="case")
        if not Case.objects.writable_by(actor).filter(pk=case.pk).exists():
            raise NotPermitted("Only the workers on this case can record consent on it.")
    else:
        case = Case.objects.writable_by(actor).filter(client=client, status=CaseStatus.OPEN).first()
    if method not in ConsentMethod.values:
        raise ConsentInvalid("Say whether the consent was verbal or written.", field="method")
    try:
        scope = _share_items(scope, field="scope", what="the client agreed to share")
    except ReferralInvalid as exc:
        raise ConsentInvalid(str(exc), field="scope") from exc
    recipients, purpose = _text(recipients), _text(purpose)
    if not recipients:
        raise ConsentInvalid("Say with whom the client agreed to share.", field="recipients")
    if not purpose:
        raise ConsentInvalid("Say for what purpose.", field="purpose")
    if (
        recipient_organization is not None
        and not Organization.objects.visible_to(actor).filter(pk=recipient_organization.pk).exists()
    ):
        raise ConsentInvalid("No such organization.", field="recipient_organization")
    # Dates typed by workers and providers are the agency's days, whatever zone the
    # request runs in.
    agency = client.agency
    today = agency.today()
    if expires_on is not None and expires_on < today:
        raise ConsentInvalid(
            f"The expiry date has already passed: today is {agency.describe_day(today)}.",
            field="expires_on",
        )
    if signed_on is not None and signed_on > today:
        raise ConsentInvalid(
            f"The date signed cannot be after today, {agency.describe_day(today)}.",
            field="signed_on",
        )
    obtained_at = obtained_at or timezone.now()
    if obtained_at > timezone.now() + datetime.timedelta(minutes=5):
        raise ConsentInvalid("Consent cannot be obtained in the future.", field="obtained_at")
    if obtained_at < timezone.now() - OLDEST_CONSENT:
        # Also keeps out year-1 times, which overflow when shown in a local time zone.
        raise ConsentInvalid(
            "Check the date: that is more than five years ago.", field="obtained_at"
        )

    consent = Consent(
        agency_id=client.agency_id,
        client=client,
        case=case,
        method=method,
        obtained_by=actor,
        obtained_at=obtained_at,
        scope=scope,
        recipient_organization=recipient_organization,
        recipients=recipients,
        purpose=purpose,
        expires_on=expires_on,
        expiry_event=_text(expiry_event),
        is_part2=bool(is_part2),
        discloser=_text(discloser),
        information_description=_text(information_description),
        right_to_revoke_explained=bool(right_to_revoke_explained),
        signed_by=_text(signed_by),
        signed_on=signed_on,
        note=_text(note),
    )
    if consent.is_part2:
        missing = consent.part2_missing()
        if missing:
            raise ConsentInvalid(
                "A 42 CFR Part 2 consent must have: " + ", ".join(missing) + ".",
                field="is_part2",
            )
        if not consent.describes_substance_use:
            raise ConsentInvalid(VAGUE_PART2_DESCRIPTION, field="information_description")
    elif ShareItem.SUBSTANCE_USE in scope:
        raise ConsentInvalid(
            "Sharing substance use information needs a written 42 CFR Part 2 consent.",
            field="is_part2",
        )
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


@transaction.atomic
def revoke_consent(*, actor: User, consent: Consent, note: str = "", request=None) -> Consent:
    """The client withdraws a consent. From now on nothing more is sent under it and the
    provider links of its referrals reveal nothing (resolve_provider_link checks it on
    every use); what was disclosed before stays recorded."""
    consent = Consent.objects.select_for_update().get(pk=consent.pk)
    if not Client.objects.writable_by(actor).filter(pk=consent.client_id).exists():
        raise NotPermitted("Only the workers on this client's case can revoke their consent.")
    if consent.revoked_at is not None:
        raise ConsentInvalid("This consent was already revoked.")
    consent.revoked_at = timezone.now()
    consent.revoked_by = actor
    consent.revocation_note = _text(note)[:1000]
    consent.save(update_fields=["revoked_at", "revoked_by", "revocation_note"])
    case = consent.case or (
        Case.objects.filter(client_id=consent.client_id, status=CaseStatus.OPEN).first()
    )
    if case is not None:
        events.consent_revoked(consent=consent, case=case, actor=actor)
    audit(request=request, actor=actor, action=Action.UPDATE, obj=consent, detail={"revoked": True})
    return consent


# --- The consent gate -----------------------------------------------------------------


def _recipient_covered(consent: Consent, referral: Referral) -> bool:
    if consent.recipient_organization_id is None and not consent.is_part2:
        return True
    if consent.recipient_organization_id is not None and referral.service_id is not None:
        return referral.service.organization_id == consent.recipient_organization_id
    text = consent.recipients.casefold()
    if consent.is_part2 and GENERAL_DESIGNATION in text:
        return True
    names = [referral.provider_name]
    if referral.service_id is not None:
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


def consent_problems(consent: Consent, referral: Referral, at=None) -> list[str]:
    """Why `consent` does not allow sending `referral`, in words a worker understands
    (empty when it does)."""
    if consent.client_id != referral.client_id:
        return ["This consent is another client's."]
    if consent.revoked_at is not None:
        return [f"The client revoked this consent on {consent.revoked_at:%Y-%m-%d}."]
    if not consent.is_active(at):
        return [f"The client's consent expired on {consent.expires_on:%Y-%m-%d}."]
    problems = []
    if not _recipient_covered(consent, referral):
        problems.append(f"The client's consent does not cover sending to {referral.provider_name}.")
    uncovered = [item for item in referral.shared_items if item not in consent.scope]
    if uncovered:
        problems.append(f"The client's consent does not cover: {_item_labels(uncovered)}.")
    if referral.is_part2:
        if not consent.is_part2:
            problems.append(
                "This referral is covered by 42 CFR Part 2 (substance use): it needs a "
                "written Part 2 consent."
            )
        else:
            missing = consent.part2_missing()
            if missing:
                problems.append("The Part 2 consent lacks: " + ", ".join(missing) + ".")
            elif not consent.describes_substance_use:
                problems.append(
                    "The Part 2 consent does not say that substance use information is "
                    f"shared (it describes: {consent.information_description!r}): record a "
                    "new one that does (42 CFR 2.31(a))."
                )
    return problems


def _consent_for(referral: Referral) -> Consent:
    """The consent the referral goes under: its own, or else the newest active consent of
    the client that covers it."""
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
            "No referral leaves the agency without the client's consent: record it first.",
            field="consent",
        )
    raise ConsentRequired(
        "None of the client's consents covers this referral. Newest: "
        + " ".join(consent_problems(candidates[0], referral)),
        field="consent",
    )


# --- Referrals ----------------------------------------------------------------------------


def _directory_defaults(service: Service) -> tuple[str, str, str]:
    """(name, email, phone) of a directory service: its organization and service names;
    the service's email, else a contact's of the service, else of its organization; the
    first phone of the service, else of its organization."""
    organization = service.organization
    name = f"{organization.name} — {service.name}"[:300]
    email = service.email.strip()
    if not email:
        contact = (
            DirectoryContact.objects.filter(Q(service=service) | Q(organization=organization))
            .exclude(email="")
            .order_by(F("service_id").asc(nulls_last=True), "name", "id")
            .first()
        )
        email = contact.email.strip() if contact else ""
    phone = (
        Phone.objects.filter(Q(service=service) | Q(organization=organization))
        .exclude(number="")
        .order_by(F("service_id").asc(nulls_last=True), "id")
        .first()
    )
    return name, email, phone.number.strip()[:60] if phone else ""


def _check_email(email, field):
    try:
        validate_email(email)
    except ValidationError as exc:
        raise ReferralInvalid("Enter a valid email address.", field=field) from exc


@transaction.atomic
def create_referral(
    *,
    actor: User,
    case: Case,
    service: Service | None = None,
    location=None,
    provider_name: str = "",
    provider_email: str = "",
    provider_phone: str = "",
    need_category: str,
    urgency: str = Urgency.ROUTINE,
    reason: str,
    shared_items,
    consent: Consent | None = None,
    send: bool = False,
    request=None,
) -> Referral:
    """A draft referral on an open case, to a directory service or an outside provider
    (exactly one). The provider's name, email and phone default from the directory.
    `send=True` sends it at once (send_referral), in the same transaction."""
    case = (
        Case.objects.writable_by(actor).filter(pk=case.pk).first()
        if actor is not None and actor.is_authenticated
        else None
    )
    if case is None:
        raise NotPermitted("Only the workers on this case can refer the client.")
    if case.status != CaseStatus.OPEN:
        raise ReferralInvalid("This case is closed: reopen work on an open case to refer.")
    provider_name = _text(provider_name)
    provider_email = _text(provider_email)
    provider_phone = _text(provider_phone)
    if (service is None) == (not provider_name):
        raise ReferralInvalid(
            "Choose a service from the directory, or type the name of an outside provider "
            "(not both).",
            field="service" if service is None else "provider_name",
        )
    if service is not None:
        service = (
            Service.objects.visible_to(actor)
            .select_related("organization")
            .filter(pk=service.pk)
            .first()
        )
        if service is None:
            raise ReferralInvalid("No such service.", field="service")
        if service.status != ServiceStatus.ACTIVE:
            raise ReferralInvalid(
                f"{service.name} is {service.get_status_display().lower()}: choose another "
                "service.",
                field="service",
            )
        name, email, phone = _directory_defaults(service)
        provider_name = name
        provider_email = provider_email or email
        provider_phone = provider_phone or phone
    if location is not None:
        visible = location.__class__.objects.visible_to(actor).filter(pk=location.pk)
        if service is not None:
            visible = visible.filter(services_at__service=service)
        if not visible.exists():
            raise ReferralInvalid("That location does not offer this service.", field="location")
    if provider_email:
        _check_email(provider_email, "provider_email")
    if need_category not in NeedCategory.values:
        raise ReferralInvalid("Choose what the client needs.", field="need_category")
    if urgency not in Urgency.values:
        raise ReferralInvalid("Choose how urgent the referral is.", field="urgency")
    reason = _text(reason)
    if not reason:
        raise ReferralInvalid("Say why the client is referred.", field="reason")
    shared_items = _share_items(shared_items, field="shared_items", what="to share")
    if consent is not None and consent.client_id != case.client_id:
        raise ReferralInvalid("That consent is another client's.", field="consent")

    now = timezone.now()
    referral = Referral(
        agency_id=case.agency_id,
        case=case,
        client_id=case.client_id,
        service=service,
        location=location,
        provider_name=provider_name[:300],
        provider_email=provider_email,
        provider_phone=provider_phone[:60],
        need_category=need_category,
        urgency=urgency,
        reason=reason,
        shared_items=shared_items,
        consent=consent,
        created_by=actor,
        created_at=now,
        last_activity_at=now,
    )
    try:
        referral.full_clean(exclude=["agency", "case", "client", "created_by", "consent"])
    except ValidationError as exc:
        field, messages = next(iter(exc.message_dict.items()))
        raise ReferralInvalid(" ".join(messages), field=field) from exc
    referral.save()
    events.referral_event(
        referral=referral,
        kind=ReferralEventKind.CREATED,
        actor=actor,
        via=EventVia.STAFF,
        to_status=Status.DRAFT,
        at=now,
    )
    events.referral_created(referral=referral, actor=actor)
    audit(request=request, actor=actor, action=Action.CREATE, obj=referral)
    if send:
        referral = send_referral(actor=actor, referral=referral, request=request)
    return referral


def _lock(referral: Referral) -> Referral:
    return (
        Referral.objects.select_for_update(of=("self",))
        .select_related("agency", "case", "client", "service", "service__organization", "consent")
        .get(pk=referral.pk)
    )


@transaction.atomic
def send_referral(*, actor: User, referral: Referral, request=None) -> Referral:
    """The consent gate, then draft -> requested.

    Needs an active consent of the client that covers the recipient and every shared
    item, and a complete Part 2 consent when the referral is Part 2 (Referral.is_part2).
    Without a consent of its own the referral takes the newest active one that covers
    it, and keeps it. Records the Disclosure (with the §2.32 notice when Part 2) and,
    when the provider has an email, issues a provider link and emails it after commit.
    """
    referral = _lock(referral)
    _require_case_writer(actor, referral)
    if not referral.can_transition_to(Status.REQUESTED, Party.REQUESTER):
        raise InvalidTransition(_refusal(referral.status, Status.REQUESTED, Party.REQUESTER))
    if referral.case.status != CaseStatus.OPEN:
        raise ReferralInvalid("This case is closed: a referral cannot be sent from it.")
    consent = _consent_for(referral)
    now = timezone.now()
    referral.consent = consent
    referral.status = Status.REQUESTED
    referral.sent_at = now
    referral.last_activity_at = now
    referral.save(update_fields=["consent", "status", "sent_at", "last_activity_at"])
    events.referral_event(
        referral=referral,
        kind=ReferralEventKind.STATUS,
        actor=actor,
        via=EventVia.STAFF,
        from_status=Status.DRAFT,
        to_status=Status.REQUESTED,
        at=now,
        detail={"consent_id": consent.pk},
    )
    events.referral_status_changed(
        referral=referral, actor=actor, from_status=Status.DRAFT, via=EventVia.STAFF, at=now
    )
    # Without an email the worker tells the provider by phone: no written notice went
    # with it, and the record says so (the provider link's page carries the §2.32 notice).
    channel = (
        DisclosureChannel.PROVIDER_LINK if referral.provider_email else DisclosureChannel.PHONE
    )
    disclosure = Disclosure.objects.create(
        agency_id=referral.agency_id,
        client_id=referral.client_id,
        case_id=referral.case_id,
        referral=referral,
        consent=consent,
        recipient=referral.provider_name,
        items=list(referral.shared_items),
        channel=channel,
        disclosed_at=now,
        disclosed_by=actor,
        part2_notice=referral.is_part2 and channel == DisclosureChannel.PROVIDER_LINK,
    )
    events.disclosure_made(disclosure=disclosure, actor=actor)
    audit(
        request=request,
        actor=actor,
        action=Action.DISCLOSE,
        obj=referral,
        detail={
            "disclosure_id": disclosure.pk,
            "consent_id": consent.pk,
            "recipient": disclosure.recipient,
            "items": disclosure.items,
            "channel": disclosure.channel,
            "part2_notice": disclosure.part2_notice,
        },
    )
    if referral.provider_email:
        issue_provider_link(actor=actor, referral=referral, request=request)
    followup_services.enrol_from_referral(referral=referral, actor=actor)
    return referral


_TO_WORDS = {
    Status.DRAFT: "made a draft again",
    Status.REQUESTED: "sent",
    Status.ACCEPTED: "accepted",
    Status.REJECTED: "rejected",
    Status.IN_PROGRESS: "marked in progress",
    Status.ON_HOLD: "put on hold",
    Status.COMPLETED: "completed",
    Status.CANCELLED: "cancelled",
    Status.FAILED: "marked failed",
    Status.ENTERED_IN_ERROR: "marked entered in error",
}


def _refusal(from_status: str, to_status: str, party: str) -> str:
    """Why `party` may not move a referral from `from_status` to `to_status`."""
    frm = Status(from_status).label.lower()
    if from_status == to_status:
        return f"The referral is already {frm}."
    who = ALLOWED_TRANSITIONS.get((from_status, to_status), frozenset())
    if who and party not in who:
        if Party.PERFORMER in who:
            if (from_status, to_status) in {
                (Status.REQUESTED, Status.ACCEPTED),
                (Status.REQUESTED, Status.REJECTED),
            }:
                return (
                    "A sent referral can be accepted or rejected only by the receiving "
                    "provider: record what the provider reported."
                )
            return (
                f"A {frm} referral can be {_TO_WORDS[to_status]} only by the receiving "
                "provider: record what the provider reported."
            )
        return f"A {frm} referral can be {_TO_WORDS[to_status]} only by the referring agency."
    if from_status == Status.ENTERED_IN_ERROR:
        return "A referral entered in error cannot be changed."
    if from_status in FINAL_STATUSES:
        return f"A {frm} referral cannot be reopened."
    if from_status == Status.DRAFT:
        return f"A draft referral cannot be {_TO_WORDS[to_status]} before it is sent."
    if to_status == Status.DRAFT:
        return f"A {frm} referral cannot go back to draft."
    return f"A {frm} referral cannot be {_TO_WORDS[to_status]}."


def _check_outcome(to_status, outcome):
    if to_status == Status.COMPLETED:
        if outcome not in ("", Outcome.GOT_HELP):
            raise ReferralInvalid("A completed referral's outcome is 'got help'.", field="outcome")
        return Outcome.GOT_HELP
    allowed = OUTCOMES_FOR_STATUS.get(to_status)
    if allowed is None:
        if outcome:
            raise ReferralInvalid(
                "An outcome is recorded only when a referral ends.", field="outcome"
            )
        return ""
    if not outcome:
        raise ReferralInvalid(f"Say why the referral was {_TO_WORDS[to_status]}.", field="outcome")
    if outcome not in allowed:
        labels = ", ".join(Outcome(o).label.lower() for o in allowed)
        raise ReferralInvalid(
            f"A {Status(to_status).label.lower()} referral's outcome is one of: {labels}.",
            field="outcome",
        )
    return outcome


def _check_service_date(referral, to_status, service_date):
    if service_date is None:
        if to_status == Status.COMPLETED and referral.service_date is None:
            raise ReferralInvalid(
                "Give the date the client was seen: a referral is completed only when the "
                "client was seen.",
                field="service_date",
            )
        return referral.service_date
    if to_status not in (Status.COMPLETED, Status.IN_PROGRESS):
        raise ReferralInvalid(
            "A service date is recorded only when the client was seen (in progress or completed).",
            field="service_date",
        )
    agency = referral.agency
    today = agency.today()
    if service_date > today:
        raise ReferralInvalid(
            f"The service date cannot be after today, {agency.describe_day(today)}.",
            field="service_date",
        )
    if referral.sent_at is not None and service_date < agency.day_of(referral.sent_at):
        sent_on = agency.describe_day(agency.day_of(referral.sent_at))
        raise ReferralInvalid(
            f"The service date cannot be before the referral was sent, {sent_on}.",
            field="service_date",
        )
    return service_date


def _check_seen_after_appointment(referral, service_date):
    """Refuse a date seen before the day of the booked appointment until it is confirmed
    (field `seen_early_confirmed`)."""
    if referral.appointment_at is None:
        return
    agency = referral.agency
    booked = agency.day_of(referral.appointment_at)
    if service_date < booked:
        raise ReferralInvalid(
            f"The appointment is booked for {agency.describe_day(booked)}, after the date "
            f"seen ({service_date.day} {service_date:%b %Y}). Check the date seen; if the "
            "client was indeed seen before the appointment, confirm it.",
            field="seen_early_confirmed",
        )


def _end_referral_check(referral, *, actor, request=None):
    """The referral ended: the referral check its sending scheduled has nothing left to
    check. Its open follow-ups are cancelled with the reason, in the caller's
    transaction (followups' end_enrolment)."""
    reason = f"Referral to {referral.provider_name} {_TO_WORDS[referral.status]}"[:300]
    running = Enrolment.objects.filter(source_referral=referral, status=EnrolmentStatus.ACTIVE)
    for enrolment in running:
        followup_services.end_enrolment(
            actor=actor, enrolment=enrolment, reason=reason, request=request
        )


def _provider_move(referral) -> str:
    """What the provider did, as the referring worker's inbox says it."""
    outcome = f" ({referral.get_outcome_display().lower()})" if referral.outcome else ""
    status = referral.status
    if status == Status.COMPLETED:
        return f"saw the client on {referral.agency.describe_day(referral.service_date)}"
    if status == Status.FAILED:
        return f"did not see the client{outcome}"
    if status == Status.REJECTED:
        return f"declined the referral{outcome}"
    if status == Status.IN_PROGRESS:
        return "started working with the client"
    if status == Status.ON_HOLD:
        return "put the referral on hold"
    return f"{_TO_WORDS[status]} the referral{outcome}"


def _tell_referrer(referral, *, event, actor, what):
    """The referring worker hears of the provider's move in their inbox (in-app only),
    unless they recorded it themselves. When the case has since left their view, its
    assigned worker hears instead."""
    worker = referral.created_by
    if not worker.is_active or not _can_see_case(worker, referral.case_id):
        worker = referral.case.assigned_worker
    if worker == actor or not worker.is_active:
        return
    notices.referral_update(referral=referral, event_id=event.pk, recipient=worker, what=what)


def _can_see_case(user, case_id) -> bool:
    return Case.objects.visible_to(user).filter(pk=case_id).exists()


def _check_via(actor, via):
    if via == EventVia.PROVIDER_LINK:
        if actor is not None:
            raise ReferralInvalid("A change through the provider link has no staff actor.")
        return Party.PERFORMER
    if via == EventVia.STAFF:
        return Party.REQUESTER
    if via == EventVia.STAFF_FOR_PROVIDER:
        return Party.PERFORMER
    raise ReferralInvalid("Say who made the change.", field="via")


@transaction.atomic
def transition_referral(
    *,
    actor: User | None,
    referral: Referral,
    to_status: str,
    via: str,
    outcome: str = "",
    note: str = "",
    service_date: datetime.date | None = None,
    seen_early_confirmed: bool = False,
    request=None,
) -> Referral:
    """Move a referral to `to_status` as the side `via` names (ALLOWED_TRANSITIONS).

    `via` STAFF: the requester (the actor changes the case). STAFF_FOR_PROVIDER: a worker
    records what the provider reported (the performer side; `note` says how it was
    reported). PROVIDER_LINK: the provider itself (actor None). Endings need an outcome
    (OUTCOMES_FOR_STATUS); completion needs the service date and sets outcome 'got help'.
    A service date before the day of the booked appointment is refused unless
    `seen_early_confirmed` (a typo is likelier than a client seen early).
    A revoked or expired consent does not stop the loop being closed.

    An ending (FINAL_STATUSES) cancels the referral check its sending scheduled; a move
    by the provider's side tells the referring worker in-app (_tell_referrer).
    """
    party = _check_via(actor, via)
    referral = _lock(referral)
    if via != EventVia.PROVIDER_LINK:
        _require_case_writer(actor, referral)
    if to_status not in Status.values:
        raise InvalidTransition("Unknown status.")
    from_status = referral.status
    if to_status == Status.REQUESTED and from_status == Status.DRAFT and party == Party.REQUESTER:
        # Sending goes through the consent gate.
        raise InvalidTransition("Send the referral to request it: sending checks the consent.")
    if not referral.can_transition_to(to_status, party):
        raise InvalidTransition(_refusal(from_status, to_status, party))
    note = _text(note)
    if via == EventVia.STAFF_FOR_PROVIDER and not note:
        raise ReferralInvalid(
            "Say how the provider reported this (phone call, email, in person, ...).",
            field="note",
        )
    if to_status == Status.ENTERED_IN_ERROR:
        if outcome:
            raise ReferralInvalid(
                "A referral entered in error has no outcome: say what was wrong in the note.",
                field="outcome",
            )
    else:
        outcome = _check_outcome(to_status, outcome)
        referral.outcome = outcome
        referral.service_date = _check_service_date(referral, to_status, service_date)
        if service_date is not None and not seen_early_confirmed:
            _check_seen_after_appointment(referral, service_date)

    now = timezone.now()
    referral.status = to_status
    referral.last_activity_at = now
    if to_status == Status.ACCEPTED and referral.accepted_at is None:
        referral.accepted_at = now
    if to_status in OUTCOMES_FOR_STATUS and referral.sent_at is not None:
        # The loop closes when the client was seen or a final outcome was recorded; a
        # draft that was never sent had no loop to close.
        referral.closed_at = now
    referral.save(
        update_fields=[
            "status",
            "outcome",
            "service_date",
            "accepted_at",
            "closed_at",
            "last_activity_at",
        ]
    )
    event = events.referral_event(
        referral=referral,
        kind=ReferralEventKind.STATUS,
        actor=actor,
        via=via,
        from_status=from_status,
        to_status=to_status,
        outcome=outcome,
        note=note[:2000],
        at=now,
        detail={"service_date": referral.service_date.isoformat()}
        if referral.service_date and to_status in (Status.COMPLETED, Status.IN_PROGRESS)
        else {},
    )
    events.referral_status_changed(
        referral=referral, actor=actor, from_status=from_status, via=via, at=now
    )
    if party == Party.REQUESTER and to_status in (Status.CANCELLED, Status.ENTERED_IN_ERROR):
        # Called off or withdrawn by us: the provider has nothing left to do, and must
        # see nothing more of the client.
        for link in referral.links.usable(now):
            _revoke_link(actor=actor, link=link, referral=referral, request=request, now=now)
    if to_status == Status.COMPLETED and referral.need_category == NeedCategory.MENTAL_HEALTH:
        # The client was seen for mental health care: the calls that run until then stop.
        followup_services.end_engaged_in_care(
            case=referral.case,
            actor=actor,
            reason=f"The client attended mental health care ({referral.provider_name})"[:300],
        )
    if to_status in FINAL_STATUSES:
        _end_referral_check(referral, actor=actor, request=request)
    if party == Party.PERFORMER:
        _tell_referrer(referral, event=event, actor=actor, what=_provider_move(referral))
    audit(
        request=request,
        actor=actor,
        action=Action.UPDATE,
        obj=referral,
        detail={"from": from_status, "to": to_status, "via": via, "outcome": outcome},
    )
    return referral


@transaction.atomic
def record_appointment(
    *,
    actor: User | None,
    referral: Referral,
    via: str,
    appointment_at: datetime.datetime,
    note: str = "",
    request=None,
) -> Referral:
    """Record the client's appointment with the provider, on a live referral."""
    _check_via(actor, via)
    referral = _lock(referral)
    if via != EventVia.PROVIDER_LINK:
        _require_case_writer(actor, referral)
    if referral.status not in LIVE_STATUSES:
        raise InvalidTransition(
            f"An appointment is recorded only on a sent, accepted, in-progress or on-hold "
            f"referral; this one is {referral.get_status_display().lower()}."
        )
    if not isinstance(appointment_at, datetime.datetime) or timezone.is_naive(appointment_at):
        raise ReferralInvalid("Give the appointment's date and time.", field="appointment_at")
    now = timezone.now()
    if appointment_at > now + APPOINTMENT_HORIZON:
        # Also keeps out a time that overflows the year 9999 in UTC or in a local time
        # zone, which no page could show again.
        raise ReferralInvalid(
            "Check the date: that is more than five years ahead.", field="appointment_at"
        )
    if appointment_at < referral.created_at - datetime.timedelta(days=1):
        raise ReferralInvalid(
            "The appointment cannot be before the referral was made.", field="appointment_at"
        )
    referral.appointment_at = appointment_at
    referral.last_activity_at = now
    referral.save(update_fields=["appointment_at", "last_activity_at"])
    event = events.referral_event(
        referral=referral,
        kind=ReferralEventKind.APPOINTMENT,
        actor=actor,
        via=via,
        note=_text(note)[:2000],
        at=now,
        detail={"appointment_at": appointment_at.isoformat()},
    )
    events.appointment_recorded(referral=referral, actor=actor, at=now)
    if via != EventVia.STAFF:
        local = referral.agency.local(appointment_at)
        _tell_referrer(
            referral,
            event=event,
            actor=actor,
            what=f"booked an appointment for {local:%a} {local.day} {local:%b %Y, %H:%M}",
        )
    audit(
        request=request,
        actor=actor,
        action=Action.UPDATE,
        obj=referral,
        detail={"appointment_at": appointment_at.isoformat(), "via": via},
    )
    return referral


# --- Provider links -----------------------------------------------------------------------


def _link_audit(*, request, actor, action, link, referral, **detail):
    audit(
        request=request,
        actor=actor,
        action=action,
        object_type="providerlink",
        object_id=link.pk,
        agency_id=referral.agency_id,
        client_id=referral.client_id,
        detail={"referral_id": referral.pk, "link": str(link.public_id), **detail},
    )


@transaction.atomic
def issue_provider_link(
    *, actor: User, referral: Referral, email: str | None = None, request=None
) -> ProviderLink:
    """A new link for the provider of a live referral, emailed (after commit) to `email`
    or the referral's provider email. The referral's earlier usable links are revoked:
    one referral has one working link at a time."""
    referral = _lock(referral)
    _require_case_writer(actor, referral)
    if referral.status not in LIVE_STATUSES:
        raise LinkUnusable(
            f"A provider link is sent only for a live referral; this one is "
            f"{referral.get_status_display().lower()}."
        )
    if referral.consent is None or not referral.consent.is_active():
        raise ConsentInvalid(
            "The client's consent for this referral is no longer active: no link can be sent."
        )
    email = _text(email) or referral.provider_email
    if not email:
        raise ReferralInvalid("Give the provider's email address.", field="email")
    _check_email(email, "email")
    now = timezone.now()
    for old in referral.links.usable(now).select_for_update():
        _revoke_link(actor=actor, link=old, referral=referral, request=request, now=now)
    link = ProviderLink.objects.create(
        referral=referral,
        sent_to=email,
        created_by=actor,
        created_at=now,
        expires_at=ProviderLink.default_expiry(now),
    )
    events.referral_event(
        referral=referral,
        kind=ReferralEventKind.LINK_SENT,
        actor=actor,
        via=EventVia.STAFF,
        at=now,
        detail={"link": str(link.public_id), "sent_to": email},
    )
    _link_audit(
        request=request,
        actor=actor,
        action=Action.CREATE,
        link=link,
        referral=referral,
        sent_to=email,
    )
    from referrals.tasks import send_provider_link_email

    link_id = link.pk
    transaction.on_commit(lambda: send_provider_link_email.delay(link_id))
    return link


def _revoke_link(*, actor, link, referral, request, now):
    link.revoked_at = now
    link.revoked_by = actor
    link.save(update_fields=["revoked_at", "revoked_by"])
    events.referral_event(
        referral=referral,
        kind=ReferralEventKind.LINK_REVOKED,
        actor=actor,
        via=EventVia.STAFF,
        at=now,
        detail={"link": str(link.public_id)},
    )
    _link_audit(
        request=request,
        actor=actor,
        action=Action.UPDATE,
        link=link,
        referral=referral,
        revoked=True,
    )


@transaction.atomic
def revoke_provider_link(*, actor: User, link: ProviderLink, request=None) -> ProviderLink:
    link = ProviderLink.objects.select_for_update().select_related("referral").get(pk=link.pk)
    _require_case_writer(actor, link.referral)
    if link.revoked_at is not None:
        raise LinkUnusable("This link was already revoked.")
    _revoke_link(
        actor=actor, link=link, referral=link.referral, request=request, now=timezone.now()
    )
    return link


def resolve_provider_link(token: str) -> ProviderLink | None:
    """The usable link `token` names, with its referral, case, client and consent joined;
    None when the token is malformed or unknown, the link expired or was revoked, the
    referral is a draft or entered in error, or its consent is no longer active."""
    public_id = ProviderLink.parse(token)
    if public_id is None:
        return None
    link = (
        ProviderLink.objects.select_related(
            "referral",
            "referral__agency",
            "referral__case",
            "referral__client",
            "referral__consent",
            "referral__service",
            "referral__service__organization",
            "referral__location",
        )
        .filter(public_id=public_id)
        .first()
    )
    if link is None or not link.is_usable():
        return None
    referral = link.referral
    if referral.status in (Status.DRAFT, Status.ENTERED_IN_ERROR):
        return None
    if referral.consent is None:
        return None
    # The consent expires at the end of its day where the agency works, not in UTC: the
    # provider has no account, so no time zone of its own is active here.
    with timezone.override(referral.agency.zone):
        if not referral.consent.is_active():
            return None
    return link


# What stands for a provider link's signature in the audit trail.
REDACTED = "***"


def link_audit_path(request, public_id=None) -> str:
    """The provider page's path as the audit trail keeps it: the token cut down to the
    link's public id (`public_id`, None for a token that names no link), so the trail
    shows which link was used and how, and never holds a token anyone could use."""
    token = f"{public_id}.{REDACTED}" if public_id else REDACTED
    path = reverse("provider:link", args=[token])
    query = request.META.get("QUERY_STRING", "") if request is not None else ""
    return f"{path}?{query}" if query else path


def record_link_use(*, link: ProviderLink, request, what: str):
    """Audit one use of a provider link (Action.PROVIDER_LINK) and count it.

    The actor is nobody (the provider has no account; someone signed in who opens the
    link is recorded as themselves). The row keeps the caller's
    address and the path without the token (link_audit_path): a token in the trail
    would let anyone who reads it use the link.
    """
    referral = link.referral
    audit(
        request=request,
        actor=None,
        action=Action.PROVIDER_LINK,
        object_type="referral",
        object_id=referral.pk,
        agency_id=referral.agency_id,
        client_id=referral.client_id,
        detail={"link": str(link.public_id), "what": what},
        path=link_audit_path(request, link.public_id),
    )
    ProviderLink.objects.filter(pk=link.pk).update(
        use_count=F("use_count") + 1, last_used_at=timezone.now()
    )


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
    client = referral.client
    case = referral.case
    shown = {}
    if ShareItem.NAME in allowed:
        shown["name"] = client.legal_name
        if client.preferred_name and client.preferred_name != client.legal_name:
            shown["preferred_name"] = client.preferred_name
    if ShareItem.PHONE in allowed:
        shown["phone"] = client.phone
    if ShareItem.DATE_OF_BIRTH in allowed:
        shown["date_of_birth"] = client.date_of_birth
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
