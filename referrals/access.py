"""The one way views and API endpoints fetch a referral or a consent (as cases.access:
404 and a DENIED audit row when invisible, 403 when read-only, a VIEW row otherwise)."""

from django.contrib.auth.models import AnonymousUser
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts.models import User
from audit.access import get_for_user
from cases.models import Client
from referrals.models import Consent, Referral


def get_referral_for_user(
    request: HttpRequest, pk: object, *, write: bool = False, audit_read: bool = True
) -> Referral:
    """A referral of a case the user may see; `write`: one the user may act on as the
    referring agency (Referral.objects.writable_by)."""
    user = request.user
    return get_for_user(
        request,
        Referral,
        Referral.objects.visible_to(user).select_related(
            "case",
            "client",
            "service",
            "service__organization",
            "location",
            "consent",
            "created_by",
        ),
        Referral.objects.writable_by(user),
        pk,
        write,
        audit_read,
    )


def get_consent_for_user(
    request: HttpRequest, pk: object, *, write: bool = False, audit_read: bool = True
) -> Consent:
    """A consent of a client the user may see; `write`: of a client the user may change."""
    user = request.user
    return get_for_user(
        request,
        Consent,
        Consent.objects.filter(client__in=Client.objects.visible_to(user)).select_related(
            "client", "case", "recipient_organization", "obtained_by", "revoked_by"
        ),
        Consent.objects.filter(client__in=Client.objects.writable_by(user)),
        pk,
        write,
        audit_read,
    )


def consents_visible_to(user: User | AnonymousUser) -> QuerySet[Consent]:
    """Consents of the clients the user may see."""
    return Consent.objects.filter(client__in=Client.objects.visible_to(user))
