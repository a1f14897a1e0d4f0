"""Provider links: issuing, revoking and resolving them, and auditing their use."""

import datetime
import uuid
from typing import Any

from django.conf import settings
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
from core.i18n import client_language, stored_text
from notifications import services as notices
from notifications.models import Notification
from referrals import events
from referrals.exceptions import (
    ConsentInvalid,
    LinkUnusable,
    ReferralInvalid,
)
from referrals.models import (
    LIVE_STATUSES,
    EventVia,
    ProviderLink,
    Referral,
    ReferralEventKind,
    Status,
)
from referrals.services.common import check_email, clean_text, lock_referral, require_case_writer

EMAIL_SUBJECT = "referrals/email/provider_link_subject.txt"
EMAIL_TEXT = "referrals/email/provider_link.txt"
EMAIL_HTML = "referrals/email/provider_link.html"


def _link_audit(
    *,
    request: HttpRequest | None,
    actor: User | None,
    action: str,
    link: ProviderLink,
    referral: Referral,
    **detail: Any,
) -> None:
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
    *, actor: User, referral: Referral, email: str | None = None, request: HttpRequest | None = None
) -> ProviderLink:
    """A new link for the provider of a live referral, emailed to `email` or the
    referral's provider email: the email is a notification queued in this transaction
    and sent after commit. The referral's earlier usable links are revoked (an email of
    theirs still queued is withdrawn): one referral has one working link at a time."""
    referral = lock_referral(referral)
    require_case_writer(actor, referral)
    if referral.status not in LIVE_STATUSES:
        raise LinkUnusable(
            _("A provider link is sent only for a live referral; this one is %(status)s.")
            % {"status": str(referral.get_status_display()).lower()}
        )
    if referral.consent is None or not referral.consent.is_active():
        raise ConsentInvalid(
            _("The client's consent for this referral is no longer active: no link can be sent.")
        )
    email = clean_text(email) or referral.provider_email
    if not email:
        raise ReferralInvalid(_("Give the provider's email address."), field="email")
    check_email(email, "email")
    now = timezone.now()
    for old in referral.links.usable(now).select_for_update():
        revoke_link(actor=actor, link=old, referral=referral, request=request, now=now)
    link = ProviderLink(
        referral=referral,
        sent_to=email,
        created_by=actor,
        created_at=now,
        expires_at=ProviderLink.default_expiry(now),
    )
    link.notification = _queue_email(link, referral)
    link.save()
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
    return link


def _queue_email(link: ProviderLink, referral: Referral) -> Notification:
    """The email that gives the provider `link`, queued. It names the referring agency
    only: no client, nothing clinical (a Part 2 referral's email is no different), as
    email is not a secure channel. It speaks the language of the client the referral is
    about (core.i18n.client_language), as the provider's page does."""
    agency = referral.agency
    context = {
        "agency": agency.name,
        "url": f"{settings.SITE_URL}/p/{link.token()}/",
        "expires": link.expires_at,
    }
    # Times in the email read in the referring agency's time zone.
    with timezone.override(agency.zone), translation.override(client_language(referral.client)):
        subject = " ".join(render_to_string(EMAIL_SUBJECT, context).split())
        body = render_to_string(EMAIL_TEXT, context)
        html = render_to_string(EMAIL_HTML, context)
    return notices.provider_link_email(
        referral=referral,
        link_public_id=link.public_id,
        address=link.sent_to,
        subject=subject,
        body=body,
        html_body=html,
    )


def revoke_link(
    *,
    actor: User | None,
    link: ProviderLink,
    referral: Referral,
    request: HttpRequest | None,
    now: datetime.datetime,
) -> None:
    """Revoke `link` of `referral` at `now`, with its event and audit row. Call inside
    the transaction that locked the referral or the link."""
    link.revoked_at = now
    link.revoked_by = actor
    link.save(update_fields=["revoked_at", "revoked_by"])
    if link.notification_id is not None:
        # The provider is not sent a link that no longer works.
        notices.cancel_delivery(
            notification_id=link.notification_id,
            reason=stored_text(gettext_noop("The link was revoked before it was sent.")),
        )
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
def revoke_provider_link(
    *, actor: User, link: ProviderLink, request: HttpRequest | None = None
) -> ProviderLink:
    link = ProviderLink.objects.select_for_update().select_related("referral").get(pk=link.pk)
    require_case_writer(actor, link.referral)
    if link.revoked_at is not None:
        raise LinkUnusable(_("This link was already revoked."))
    revoke_link(actor=actor, link=link, referral=link.referral, request=request, now=timezone.now())
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


def link_audit_path(request: HttpRequest, public_id: uuid.UUID | None = None) -> str:
    """The provider page's path as the audit trail keeps it: the token cut down to the
    link's public id (`public_id`, None for a token that names no link), so the trail
    shows which link was used and how, and never holds a token anyone could use."""
    token = f"{public_id}.{REDACTED}" if public_id else REDACTED
    path = reverse("provider:link", args=[token])
    query = request.META.get("QUERY_STRING", "") if request is not None else ""
    return f"{path}?{query}" if query else path


def record_link_use(*, link: ProviderLink, request: HttpRequest, what: str) -> None:
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
