"""Taking a request for a mobile team: typed by a dispatcher, or posted by a 911 CAD
system (the same incident recorded once), and corrected afterwards."""

from collections.abc import Mapping
from typing import Any, cast

from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from audit.models import Action
from cases.models import Client
from dispatch import events
from dispatch.exceptions import DispatchInvalid, NotAllowed
from dispatch.models import CadKey, RequestSource, TeamRequest
from dispatch.services.common import (
    audit_change,
    clean_text,
    coordinates,
    lock_request,
    moment,
    require_dispatcher,
)

# What a request is recorded with (record_request's `data`).
REQUEST_FIELDS = frozenset(
    {
        "received_at",
        "source",
        "callback_number",
        "location_text",
        "latitude",
        "longitude",
        "reason",
        "reason_notes",
        "weapons",
        "violence_history",
        "animals",
        "access_notes",
        "hazard_notes",
        "priority",
        "centre_name",
        "centre_call_id",
        "warm_transfer",
        "line_open_until_arrival",
        "active_rescue",
        "cad_incident_number",
        "police_requested",
        "police_present",
    }
)
# What may be corrected afterwards: not when and how the request came in, which the
# measures and the CAD incident's uniqueness rest on.
# The outcome (involuntary hold or transport) is recorded afterwards, by the team or the
# dispatcher.
EDITABLE_FIELDS = (REQUEST_FIELDS - {"received_at", "source", "cad_incident_number"}) | {
    "involuntary_hold",
    "involuntary_transport",
}
TEXT_FIELDS = frozenset(
    {
        "callback_number",
        "location_text",
        "reason_notes",
        "access_notes",
        "hazard_notes",
        "centre_name",
        "centre_call_id",
        "cad_incident_number",
    }
)
NOT_CHECKED = ["agency", "client", "created_by", "contact"]


def _set_fields(request: TeamRequest, data: Mapping[str, Any], allowed: frozenset[str]) -> None:
    unknown = set(data) - allowed - {"client"}
    if unknown:
        raise TypeError(f"Not a field that can be set here: {', '.join(sorted(unknown))}")
    for name in (allowed & set(data)) - {"latitude", "longitude"}:
        value = data[name]
        setattr(request, name, clean_text(value) if name in TEXT_FIELDS else value)
    if "latitude" in data or "longitude" in data:
        request.latitude, request.longitude = coordinates(
            data.get("latitude", request.latitude), data.get("longitude", request.longitude)
        )


def _client_of_agency(client: Client | None, agency_id: int) -> Client | None:
    """The client a request names: one of the agency's, the survivor of a merged record."""
    if client is None:
        return None
    if client.agency_id != agency_id:
        raise NotAllowed(_("The client belongs to another agency."))
    if client.merged_into_id:
        return Client.objects.get(pk=client.merged_into_id)
    return client


def _record(
    *,
    actor: User | None,
    agency_id: int,
    data: Mapping[str, Any],
    http_request: HttpRequest | None,
    cad_key: CadKey | None = None,
) -> TeamRequest:
    request = TeamRequest(agency_id=agency_id, created_by=actor, cad_key=cad_key)
    _set_fields(request, data, REQUEST_FIELDS)
    request.client = _client_of_agency(data.get("client"), agency_id)
    if "received_at" in data:
        request.received_at = moment(data["received_at"], field="received_at")
    request.full_clean(exclude=NOT_CHECKED)
    request.save()
    events.request_received(request=request, actor=actor)
    audit_change(
        request=request,
        actor=actor,
        action=Action.CREATE,
        http_request=http_request,
        detail={"event": "received"},
    )
    return request


@transaction.atomic
def record_request(
    *, actor: User, data: Mapping[str, Any], http_request: HttpRequest | None = None
) -> TeamRequest:
    """A new request of the actor's agency, waiting for a unit. `data`: REQUEST_FIELDS,
    and `client` (a cases.Client of the agency) when the person is known. Only a
    dispatcher or supervisor records one (NotAllowed); the model's rules give a
    ValidationError naming the field."""
    require_dispatcher(actor, actor.agency_id or 0)
    agency_id = cast(int, actor.agency_id)  # a dispatcher has one (User.can_dispatch)
    return _record(actor=actor, agency_id=agency_id, data=data, http_request=http_request)


@transaction.atomic
def record_cad_incident(
    *,
    cad_key: CadKey,
    incident_number: str,
    data: Mapping[str, Any],
    http_request: HttpRequest | None = None,
) -> tuple[TeamRequest, bool]:
    """A request handed off by 911, as the agency's CAD posted it with `cad_key` (its
    agency is the key's; the request is recorded by the key), otherwise as
    record_request. The same incident number posted again, even at the same moment,
    returns the request first recorded for it, unchanged: (request, created)."""
    number = clean_text(incident_number)
    if not number:
        raise DispatchInvalid(_("Give the CAD incident number."), field="cad_incident_number")
    if not cad_key.is_active:
        raise NotAllowed(_("The CAD key was revoked."))
    agency_id = cad_key.agency_id
    same = TeamRequest.objects.filter(agency_id=agency_id, cad_incident_number=number)
    existing = same.first()
    if existing is not None:
        return existing, False
    fields = {"source": RequestSource.CAD_911, **data, "cad_incident_number": number}
    try:
        with transaction.atomic():
            recorded = _record(
                actor=None,
                agency_id=agency_id,
                data=fields,
                http_request=http_request,
                cad_key=cad_key,
            )
            return recorded, True
    except IntegrityError:
        # Another post of the incident committed first (teamrequest_cad_unique).
        existing = same.first()
        if existing is None:
            raise
        return existing, False


@transaction.atomic
def edit_request(
    *,
    request: TeamRequest,
    actor: User,
    data: Mapping[str, Any],
    http_request: HttpRequest | None = None,
) -> TeamRequest:
    """Correct or complete what a request was recorded with (EDITABLE_FIELDS, and
    `client`), at any time: the hazards, the callback number, whether police came. The
    timeline records which fields changed, never their values."""
    require_dispatcher(actor, request.agency_id)
    request = lock_request(request)
    before = {name: getattr(request, name) for name in [*EDITABLE_FIELDS, "client_id"]}
    _set_fields(request, data, EDITABLE_FIELDS)
    if "client" in data:
        request.client = _client_of_agency(data["client"], request.agency_id)
    request.full_clean(exclude=NOT_CHECKED)
    fields = sorted(
        "client" if name == "client_id" else name
        for name, value in before.items()
        if getattr(request, name) != value
    )
    if not fields:
        return request
    request.save(update_fields=fields)
    event = events.request_edited(request=request, actor=actor, at=timezone.now(), fields=fields)
    for client_id in {before["client_id"], request.client_id} - {None}:
        audit_change(
            request=request,
            actor=actor,
            action=Action.UPDATE,
            http_request=http_request,
            detail={"event": event.kind, "fields": fields},
            client_id=client_id,
        )
    return request
