"""The client's link to their safety plan: issuing it (by text message or email),
revoking it, resolving a token, and auditing each opening.

The message that carries the link may be read by anyone holding the phone or the
mailbox: like a client reminder (notifications/client_reminders.py) it names nothing
clinical, no plan, no programme, no agency. It says only that this is the link the person
asked for and until when it works; the page behind it says the rest.
"""

import datetime
import re
import uuid
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import F
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts.models import User
from audit.models import Action
from audit.services import record as audit
from cases.models import Case, phone_digits
from core.dates import day_label
from core.i18n import client_language, english, label, stored_text
from core.text import without_nul
from notifications import services as notices
from notifications.client_reminders import mask_address
from notifications.models import Channel, Kind, Notification
from plans import events
from plans.exceptions import LinkUnusable, NotPermitted, PlanInvalid
from plans.models import LinkChannel, SafetyPlan, SafetyPlanLink

TEXT_BODY = "plans/email/plan_link_text.txt"
EMAIL_SUBJECT = "plans/email/plan_link_subject.txt"
EMAIL_TEXT = "plans/email/plan_link.txt"
EMAIL_HTML = "plans/email/plan_link.html"

# A phone number as people write it: digits, spaces, dashes, dots, brackets, a leading +.
PHONE_CHARACTERS = re.compile(r"^\+?[0-9 ().\-]+$")
# The channel inside a sentence ("sent by text message"), for the timeline.
CHANNEL_WORDS: dict[str, str] = {
    LinkChannel.TEXT: gettext_noop("text message"),
    LinkChannel.EMAIL: gettext_noop("email"),
}
# What stands for a link's signature in the audit trail.
REDACTED = "***"


def _require_worker(actor: User, plan: SafetyPlan) -> None:
    """The link is sent and revoked by a worker on the plan's case, as the plan is written
    (an emergency access included)."""
    if not Case.objects.contactable_by(actor).filter(pk=plan.case_id).exists():
        raise NotPermitted(_("Only the workers on this client's case can send or revoke a link."))


def clean_address(channel: str, address: str) -> str:
    """`address` checked for `channel`: a phone number of 10 to 15 digits for a text
    message, an email address for email (PlanInvalid on "address" otherwise)."""
    address = " ".join(without_nul(address or "").split())
    if channel == LinkChannel.TEXT:
        if not address:
            raise PlanInvalid(
                _("The client has no phone number on record: type the number to text."),
                field="address",
            )
        digits = phone_digits(address)
        if not PHONE_CHARACTERS.match(address) or not 10 <= len(digits) <= 15:
            raise PlanInvalid(
                _("Enter a phone number that can get text messages."), field="address"
            )
        return address
    if not address:
        raise PlanInvalid(
            _("The client has no email address on record: type the address."), field="address"
        )
    try:
        validate_email(address)
    except ValidationError as exc:
        raise PlanInvalid(_("Enter a valid email address."), field="address") from exc
    return address


def _same_address(channel: str, one: str, other: str) -> bool:
    if channel == LinkChannel.TEXT:
        return phone_digits(one) == phone_digits(other)
    return one.casefold() == other.casefold()


def _link_audit(
    *,
    request: HttpRequest | None,
    actor: User | None,
    action: str,
    link: SafetyPlanLink,
    **detail: Any,
) -> None:
    plan = link.plan
    audit(
        request=request,
        actor=actor,
        action=action,
        object_type="safetyplanlink",
        object_id=link.pk,
        agency_id=plan.agency_id,
        client_id=plan.client_id,
        detail={"safety_plan_id": plan.pk, "link": str(link.public_id), **detail},
    )


@transaction.atomic
def issue_safety_plan_link(
    *,
    actor: User,
    plan: SafetyPlan,
    channel: str,
    address: str | None = None,
    request: HttpRequest | None = None,
) -> SafetyPlanLink:
    """A new link to the plan's current version, sent to the client by `channel` (text
    or email) at `address`, else at the client's phone (text) or email on record. The
    message is a notification queued in this transaction and sent after commit, in the
    client's language, naming nothing clinical.

    One working link per address: the plan's earlier usable links sent by the same channel
    to the same address are revoked (a message of theirs still queued is withdrawn).
    Links sent elsewhere (the client's email as well as their phone) keep working.
    """
    plan = (
        SafetyPlan.objects.select_for_update(of=("self",))
        .select_related("agency", "client", "current")
        .get(pk=plan.pk)
    )
    _require_worker(actor, plan)
    if channel not in LinkChannel.values:
        raise PlanInvalid(_("Choose a text message or an email."), field="channel")
    if plan.current_id is None:
        raise PlanInvalid(_("The plan has no saved version to send yet."))
    client = plan.client
    typed = without_nul(address or "").strip()
    recorded = client.phone if channel == LinkChannel.TEXT else client.email
    address = clean_address(channel, typed or recorded)

    now = timezone.now()
    for old in plan.links.usable(now).filter(channel=channel).select_for_update():
        if _same_address(channel, old.sent_to, address):
            _revoke(actor=actor, link=old, request=request, now=now)
    link = SafetyPlanLink(
        plan=plan,
        channel=channel,
        sent_to=address,
        created_by=actor,
        created_at=now,
        expires_at=SafetyPlanLink.default_expiry(now),
    )
    link.notification = _queue_message(link, plan)
    link.save()
    masked = mask_address(channel, address)
    events.on_timeline(
        case_id=plan.case_id,
        actor=actor,
        kind=events.SAFETY_PLAN,
        text=stored_text(events.SAFETY_PLAN_LINK_SENT, channel=label(CHANNEL_WORDS[channel])),
        detail={"safety_plan_id": plan.pk, "link": str(link.public_id), "sent_to": masked},
    )
    _link_audit(
        request=request,
        actor=actor,
        action=Action.CREATE,
        link=link,
        channel=channel,
        sent_to=masked,
        version=plan.current.number if plan.current else None,
    )
    return link


def link_url(link: SafetyPlanLink) -> str:
    return f"{settings.SITE_URL}{reverse('plan_link:link', args=[link.token()])}"


def message_content(link: SafetyPlanLink, plan: SafetyPlan) -> tuple[str, str, str]:
    """(subject, body, html body) of the message carrying `link`, in the client's language,
    its last day the agency's (Agency.day_of). A text message has a body only."""
    agency = plan.agency
    with translation.override(client_language(plan.client)):
        context = {
            "url": link_url(link),
            "until": day_label(agency.day_of(link.expires_at)),
        }
        if link.channel == LinkChannel.TEXT:
            body = " ".join(render_to_string(TEXT_BODY, context).split())
            return "", body, ""
        subject = " ".join(render_to_string(EMAIL_SUBJECT, context).split())
        body = render_to_string(EMAIL_TEXT, context)
        html = render_to_string(EMAIL_HTML, context)
    return subject, body, html


def _queue_message(link: SafetyPlanLink, plan: SafetyPlan) -> Notification:
    subject, body, html = message_content(link, plan)
    return notices.notify(
        agency_id=plan.agency_id,
        kind=Kind.SAFETY_PLAN_LINK,
        channel=Channel.TEXT if link.channel == LinkChannel.TEXT else Channel.EMAIL,
        dedupe_key=f"safety_plan_link:{link.public_id}",
        client=plan.client,
        address=link.sent_to,
        # A text message has no subject: the row's says what it is, for staff lists.
        subject=subject or english(Kind.SAFETY_PLAN_LINK.label),
        body=body,
        html_body=html,
        url=reverse("plans:safety_plan", args=[plan.client_id]),
    )


def _revoke(
    *,
    actor: User | None,
    link: SafetyPlanLink,
    request: HttpRequest | None,
    now: datetime.datetime,
) -> None:
    """Revoke `link` at `now`, with its timeline entry and audit row; its message, if still
    queued, is withdrawn. Call inside the transaction that locked the link."""
    link.revoked_at = now
    link.revoked_by = actor
    link.save(update_fields=["revoked_at", "revoked_by"])
    if link.notification_id is not None:
        notices.cancel_delivery(
            notification_id=link.notification_id,
            reason=stored_text(gettext_noop("The link was revoked before it was sent.")),
        )
    plan = link.plan
    events.on_timeline(
        case_id=plan.case_id,
        actor=actor,
        kind=events.SAFETY_PLAN,
        text=stored_text(events.SAFETY_PLAN_LINK_REVOKED),
        detail={"safety_plan_id": plan.pk, "link": str(link.public_id)},
    )
    _link_audit(request=request, actor=actor, action=Action.UPDATE, link=link, revoked=True)


@transaction.atomic
def revoke_safety_plan_link(
    *, actor: User, link: SafetyPlanLink, request: HttpRequest | None = None
) -> SafetyPlanLink:
    """Stop `link` working now; its message, if not sent yet, is not sent."""
    link = (
        SafetyPlanLink.objects.select_for_update(of=("self",))
        .select_related("plan")
        .get(pk=link.pk)
    )
    _require_worker(actor, link.plan)
    if link.revoked_at is not None:
        raise LinkUnusable(_("This link was already revoked."))
    _revoke(actor=actor, link=link, request=request, now=timezone.now())
    return link


def resolve_safety_plan_link(token: str) -> SafetyPlanLink | None:
    """The usable link `token` names, with its plan, agency, client and current version
    joined; None when the token is malformed or unknown, the link expired or was revoked,
    or the plan has no current version."""
    public_id = SafetyPlanLink.parse(token)
    if public_id is None:
        return None
    link = (
        SafetyPlanLink.objects.select_related(
            "plan", "plan__agency", "plan__client", "plan__current"
        )
        .filter(public_id=public_id)
        .first()
    )
    if link is None or not link.is_usable() or link.plan.current is None:
        return None
    return link


def plan_link_audit_path(request: HttpRequest | None, public_id: uuid.UUID | None = None) -> str:
    """The client's page's path as the audit trail keeps it: the token cut down to the
    link's public id (`public_id`, None for a token that names no link), never a token
    anyone could use."""
    token = f"{public_id}.{REDACTED}" if public_id else REDACTED
    path = reverse("plan_link:link", args=[token])
    query = request.META.get("QUERY_STRING", "") if request is not None else ""
    return f"{path}?{query}" if query else path


def record_plan_link_use(*, link: SafetyPlanLink, request: HttpRequest) -> None:
    """Audit one opening of the client's link (a VIEW of the plan, actor nobody: the
    client has no account) and count it. The row keeps the caller's address and the
    path without the token (plan_link_audit_path)."""
    plan = link.plan
    audit(
        request=request,
        actor=None,
        action=Action.VIEW,
        object_type="safetyplan",
        object_id=plan.pk,
        agency_id=plan.agency_id,
        client_id=plan.client_id,
        detail={
            "link": str(link.public_id),
            "via": "client link",
            "version": plan.current.number if plan.current else None,
        },
        path=plan_link_audit_path(request, link.public_id),
    )
    SafetyPlanLink.objects.filter(pk=link.pk).update(
        use_count=F("use_count") + 1, last_used_at=timezone.now()
    )
