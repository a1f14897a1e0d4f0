"""Making a referral and sending it through the consent gate."""

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from audit.models import Action
from audit.services import record as audit
from cases.models import Case, CaseStatus
from directory.models import Contact as DirectoryContact
from directory.models import Location, NeedCategory, Phone, Service, ServiceStatus
from followups import services as followup_services
from referrals import events
from referrals.exceptions import (
    InvalidTransition,
    NotPermitted,
    ReferralInvalid,
)
from referrals.models import (
    Consent,
    Disclosure,
    DisclosureChannel,
    EventVia,
    Party,
    Referral,
    ReferralEventKind,
    Status,
    Urgency,
)
from referrals.services.common import (
    check_email,
    clean_text,
    lock_referral,
    require_case_writer,
    share_items,
)
from referrals.services.consent_gate import consent_for
from referrals.services.links import issue_provider_link
from referrals.services.transitions import refusal


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


@transaction.atomic
def create_referral(
    *,
    actor: User,
    case: Case,
    service: Service | None = None,
    location: Location | None = None,
    provider_name: str = "",
    provider_email: str = "",
    provider_phone: str = "",
    need_category: str,
    urgency: str = Urgency.ROUTINE,
    reason: str,
    shared_items: Iterable[str],
    consent: Consent | None = None,
    send: bool = False,
    request: HttpRequest | None = None,
) -> Referral:
    """A draft referral on an open case, to a directory service or an outside provider
    (exactly one). The provider's name, email and phone default from the directory.
    `send=True` sends it at once (send_referral), in the same transaction."""
    case = _open_case(actor, case)
    service, provider_name, provider_email, provider_phone = _provider(
        actor,
        service=service,
        name=clean_text(provider_name),
        email=clean_text(provider_email),
        phone=clean_text(provider_phone),
    )
    _check_location(actor, location, service)
    if provider_email:
        check_email(provider_email, "provider_email")
    if need_category not in NeedCategory.values:
        raise ReferralInvalid(_("Choose what the client needs."), field="need_category")
    if urgency not in Urgency.values:
        raise ReferralInvalid(_("Choose how urgent the referral is."), field="urgency")
    reason = clean_text(reason)
    if not reason:
        raise ReferralInvalid(_("Say why the client is referred."), field="reason")
    shared_items = share_items(shared_items, field="shared_items")
    if consent is not None and consent.client_id != case.client_id:
        raise ReferralInvalid(_("That consent is another client's."), field="consent")

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


def _open_case(actor: User, case: Case) -> Case:
    """`case` read afresh, when it is open and the actor may change it."""
    fresh = (
        Case.objects.writable_by(actor).filter(pk=case.pk).first()
        if actor is not None and actor.is_authenticated
        else None
    )
    if fresh is None:
        raise NotPermitted(_("Only the workers on this case can refer the client."))
    if fresh.status != CaseStatus.OPEN:
        raise ReferralInvalid(_("This case is closed: reopen work on an open case to refer."))
    return fresh


def _provider(
    actor: User, *, service: Service | None, name: str, email: str, phone: str
) -> tuple[Service | None, str, str, str]:
    """(service, name, email, phone) of the provider referred to: a directory service
    the actor sees (its name, and its email and phone unless typed), or an outside
    provider by its typed name; exactly one of the two."""
    if (service is None) == (not name):
        raise ReferralInvalid(
            _(
                "Choose a service from the directory, or type the name of an outside provider "
                "(not both)."
            ),
            field="service" if service is None else "provider_name",
        )
    if service is None:
        return None, name, email, phone
    service = _active_service(actor, service)
    name, directory_email, directory_phone = _directory_defaults(service)
    return service, name, email or directory_email, phone or directory_phone


def _active_service(actor: User, service: Service) -> Service:
    fresh = (
        Service.objects.visible_to(actor)
        .select_related("organization")
        .filter(pk=service.pk)
        .first()
    )
    if fresh is None:
        raise ReferralInvalid(_("No such service."), field="service")
    if fresh.status != ServiceStatus.ACTIVE:
        raise ReferralInvalid(
            _("%(service)s is %(status)s: choose another service.")
            % {"service": fresh.name, "status": str(fresh.get_status_display()).lower()},
            field="service",
        )
    return fresh


def _check_location(actor: User, location: Location | None, service: Service | None) -> None:
    """A location the actor sees and, for a directory service, one that offers it."""
    if location is None:
        return
    visible = location.__class__.objects.visible_to(actor).filter(pk=location.pk)
    if service is not None:
        visible = visible.filter(services_at__service=service)
    if not visible.exists():
        raise ReferralInvalid(_("That location does not offer this service."), field="location")


@transaction.atomic
def send_referral(
    *, actor: User, referral: Referral, request: HttpRequest | None = None
) -> Referral:
    """The consent gate, then draft -> requested.

    Needs an active consent of the client that covers the recipient and every shared
    item, and a complete Part 2 consent when the referral is Part 2 (Referral.is_part2).
    Without a consent of its own the referral takes the newest active one that covers
    it, and keeps it. Records the Disclosure (with the §2.32 notice when Part 2) and,
    when the provider has an email, issues a provider link and emails it after commit.
    """
    referral = lock_referral(referral)
    require_case_writer(actor, referral)
    if not referral.can_transition_to(Status.REQUESTED, Party.REQUESTER):
        raise InvalidTransition(refusal(referral.status, Status.REQUESTED, Party.REQUESTER))
    if referral.case.status != CaseStatus.OPEN:
        raise ReferralInvalid(_("This case is closed: a referral cannot be sent from it."))
    consent = consent_for(referral)
    now = timezone.now()
    referral.consent = consent
    referral.status = Status.REQUESTED
    referral.sent_at = now
    referral.last_activity_at = now
    staleness = referral.refresh_staleness(now)
    referral.save(update_fields=["consent", "status", "sent_at", "last_activity_at", *staleness])
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
