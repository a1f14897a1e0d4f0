"""The one way views and API endpoints fetch a request for a mobile team or a unit (as
cases.access: 404 and a DENIED audit row when invisible, 403 when read-only).

A request that names a client is client data: reading it writes a VIEW row under that
client. One that names nobody holds no client record and its read is not audited (its
changes are in its own timeline, RequestEvent)."""

from typing import cast

from django.contrib.auth.models import AnonymousUser
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts.models import User
from audit.access import get_for_user
from audit.models import Action
from audit.services import record as audit
from dispatch.models import TeamRequest, Unit


def get_request_for_user(
    request: HttpRequest, pk: object, *, write: bool = False, audit_read: bool = True
) -> TeamRequest:
    """A request of the user's agency they may see (TeamRequest.objects.visible_to);
    `write`: one they may change as a dispatcher (writable_by)."""
    user = request.user
    found = get_for_user(
        request,
        TeamRequest,
        TeamRequest.objects.visible_to(user).select_related("client", "created_by"),
        TeamRequest.objects.writable_by(user),
        pk,
        write,
        audit_read=False,
    )
    if audit_read and found.client_id is not None:
        audit(request=request, action=Action.VIEW, obj=found)
    return found


def units_writable_by(user: User | AnonymousUser) -> QuerySet[Unit]:
    """Units the user may send and manage: their agency's, for a dispatcher."""
    if not user.is_authenticated or not user.can_dispatch:
        return Unit.objects.none()
    return Unit.objects.filter(agency_id=cast(int, user.agency_id))  # can_dispatch: has one


def get_unit_for_user(request: HttpRequest, pk: object, *, write: bool = False) -> Unit:
    """A unit of the user's agency (Unit.objects.visible_to); `write`: one they may send
    and manage. A unit holds no client data: its reads are not audited, its refusals are."""
    user = request.user
    return get_for_user(
        request,
        Unit,
        Unit.objects.visible_to(user).select_related("team"),
        units_writable_by(user),
        pk,
        write,
        audit_read=False,
    )
