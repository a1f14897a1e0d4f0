"""Named constructors for a request's timeline (RequestEvent) and a unit's history
(UnitEvent). Call inside the transaction that made the change, so the history and the
change commit together."""

import datetime
from decimal import Decimal
from typing import Any

from accounts.models import User
from dispatch import live
from dispatch.models import (
    STAMP_EVENTS,
    Assignment,
    RequestEvent,
    RequestEventKind,
    Shift,
    TeamRequest,
    Unit,
    UnitEvent,
    UnitEventKind,
)

# --- Request timeline -------------------------------------------------------------------


def _request_event(
    *,
    request: TeamRequest,
    kind: str,
    at: datetime.datetime,
    actor: User | None,
    unit: Unit | None = None,
    latitude: Decimal | None = None,
    longitude: Decimal | None = None,
    detail: dict[str, Any] | None = None,
) -> RequestEvent:
    live.announce(request.agency_id)
    return RequestEvent.objects.create(
        request=request,
        kind=kind,
        at=at,
        actor=actor,
        unit=unit,
        latitude=latitude,
        longitude=longitude,
        detail=detail or {},
    )


def request_received(*, request: TeamRequest, actor: User | None) -> RequestEvent:
    return _request_event(
        request=request,
        kind=RequestEventKind.RECEIVED,
        at=request.received_at,
        actor=actor,
        latitude=request.latitude,
        longitude=request.longitude,
        detail={"source": request.source, "priority": request.priority},
    )


def unit_dispatched(*, assignment: Assignment, actor: User) -> RequestEvent:
    return _request_event(
        request=assignment.request,
        kind=RequestEventKind.DISPATCHED,
        at=assignment.assigned_at,
        actor=actor,
        unit=assignment.unit,
        detail={
            "assignment_id": assignment.pk,
            "acknowledge_by": assignment.acknowledge_by.isoformat(),
            "members": assignment.members,
        },
    )


def unit_acknowledged(
    *, assignment: Assignment, actor: User, at: datetime.datetime, late: bool
) -> RequestEvent:
    return _request_event(
        request=assignment.request,
        kind=RequestEventKind.ACKNOWLEDGED,
        at=at,
        actor=actor,
        unit=assignment.unit,
        detail={"assignment_id": assignment.pk, "late": late},
    )


def stamp_recorded(
    *,
    request: TeamRequest,
    stamp: str,
    unit: Unit,
    actor: User,
    at: datetime.datetime,
    latitude: Decimal | None,
    longitude: Decimal | None,
    detail: dict[str, Any] | None = None,
) -> RequestEvent:
    """One stamp of a step of the timeline (STAMP_EVENTS names its kind)."""
    return _request_event(
        request=request,
        kind=STAMP_EVENTS[stamp],
        at=at,
        actor=actor,
        unit=unit,
        latitude=latitude,
        longitude=longitude,
        detail=detail,
    )


def unit_released(
    *,
    assignment: Assignment,
    actor: User,
    at: datetime.datetime,
    reason: str,
    kind: str = RequestEventKind.RELEASED,
) -> RequestEvent:
    """The unit let go of the request before arriving (REASSIGNED when another is sent in
    its place in the same change)."""
    return _request_event(
        request=assignment.request,
        kind=kind,
        at=at,
        actor=actor,
        unit=assignment.unit,
        detail={"assignment_id": assignment.pk, "reason": reason},
    )


def request_not_served(
    *,
    request: TeamRequest,
    actor: User,
    unit: Unit | None,
    at: datetime.datetime,
    waited_seconds: int | None,
) -> RequestEvent:
    detail: dict[str, Any] = {"reason": request.not_served_reason}
    if waited_seconds is not None:
        detail["waited_seconds"] = waited_seconds
    return _request_event(
        request=request,
        kind=RequestEventKind.NOT_SERVED,
        at=at,
        actor=actor,
        unit=unit,
        detail=detail,
    )


def request_edited(
    *, request: TeamRequest, actor: User, at: datetime.datetime, fields: list[str]
) -> RequestEvent:
    """Which fields changed; never their values (the request may name a client)."""
    return _request_event(
        request=request,
        kind=RequestEventKind.EDITED,
        at=at,
        actor=actor,
        detail={"fields": fields},
    )


# --- Unit history -------------------------------------------------------------------------


def _unit_event(
    *,
    unit: Unit,
    kind: str,
    at: datetime.datetime,
    actor: User | None,
    detail: dict[str, Any] | None = None,
) -> UnitEvent:
    live.announce(unit.agency_id)
    return UnitEvent.objects.create(unit=unit, kind=kind, at=at, actor=actor, detail=detail or {})


def shift_started(*, shift: Shift, actor: User, members: list[dict[str, Any]]) -> UnitEvent:
    return _unit_event(
        unit=shift.unit,
        kind=UnitEventKind.SHIFT_STARTED,
        at=shift.started_at,
        actor=actor,
        detail={"shift_id": shift.pk, "members": members},
    )


def shift_ended(
    *, shift: Shift, actor: User, at: datetime.datetime, positions_deleted: int
) -> UnitEvent:
    return _unit_event(
        unit=shift.unit,
        kind=UnitEventKind.SHIFT_ENDED,
        at=at,
        actor=actor,
        detail={"shift_id": shift.pk, "positions_deleted": positions_deleted},
    )


def service_changed(
    *, unit: Unit, kind: str, actor: User, at: datetime.datetime, reason: str = ""
) -> UnitEvent:
    """Out of service, or returned to service."""
    return _unit_event(unit=unit, kind=kind, at=at, actor=actor, detail={"reason": reason})


def sharing_changed(
    *, unit: Unit, actor: User, at: datetime.datetime, positions_deleted: int = 0
) -> UnitEvent:
    kind = UnitEventKind.SHARING_STARTED if unit.shares_position else UnitEventKind.SHARING_STOPPED
    detail = {} if unit.shares_position else {"positions_deleted": positions_deleted}
    return _unit_event(unit=unit, kind=kind, at=at, actor=actor, detail=detail)


def safety_event(
    *, unit: Unit, kind: str, actor: User | None, at: datetime.datetime, alert_id: int | None = None
) -> UnitEvent:
    """A check-in, a missed one, an SOS (dispatch.services.safety)."""
    return _unit_event(
        unit=unit, kind=kind, at=at, actor=actor, detail={"alert_id": alert_id} if alert_id else {}
    )


def contact_recorded(*, request: TeamRequest, actor: User, at: datetime.datetime) -> RequestEvent:
    return _request_event(
        request=request,
        kind=RequestEventKind.CONTACT_RECORDED,
        at=at,
        actor=actor,
        detail={"contact_id": request.contact_id},
    )
