"""The one way views and API endpoints fetch a client, a case or a contact (built on
audit.access.get_for_user).

Invisible records answer 404 exactly as if they did not exist (another agency's data
must not even be confirmed to exist); a visible record the user may not change answers
403. Every refusal and every read is written to the audit trail.
"""

from django.http import HttpRequest

from audit.access import get_for_user
from cases.models import Case, Client, Contact


def get_case_for_user(
    request: HttpRequest, pk: object, *, write: bool = False, audit_read: bool = True
) -> Case:
    user = request.user
    return get_for_user(
        request,
        Case,
        Case.objects.visible_to(user).select_related("client", "assigned_worker", "team"),
        Case.objects.writable_by(user),
        pk,
        write,
        audit_read,
    )


def get_client_for_user(
    request: HttpRequest, pk: object, *, write: bool = False, audit_read: bool = True
) -> Client:
    user = request.user
    return get_for_user(
        request,
        Client,
        Client.objects.visible_to(user),
        Client.objects.writable_by(user),
        pk,
        write,
        audit_read,
    )


def get_contact_for_user(
    request: HttpRequest, pk: object, *, write: bool = False, audit_read: bool = True
) -> Contact:
    user = request.user
    return get_for_user(
        request,
        Contact,
        Contact.objects.visible_to(user).select_related(
            "case", "client", "recorded_by", "call_nature"
        ),
        Contact.objects.filter(case__in=Case.objects.writable_by(user)),
        pk,
        write,
        audit_read,
    )
