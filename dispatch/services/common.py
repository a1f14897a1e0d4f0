"""What the dispatch workflows share: the agency's settings, who may do what, the locks
(always a request's row before a unit's), the two state machines, times and coordinates.

Call the lock and move helpers inside the caller's transaction."""

import datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Agency, User
from audit.services import record as audit
from core.text import without_nul
from dispatch.exceptions import DispatchInvalid, InvalidTransition, NotAllowed, NotOnShift
from dispatch.geo import as_degrees
from dispatch.models import (
    Assignment,
    DispatchSettings,
    RequestStatus,
    Shift,
    ShiftMember,
    TeamRequest,
    Unit,
    UnitStatus,
)

# A time from a device whose clock runs a little ahead is read as now; one further ahead
# is refused.
CLOCK_SKEW = datetime.timedelta(minutes=2)


def settings_for(agency: Agency | int) -> DispatchSettings:
    """The agency's dispatch settings, made with their defaults on first use."""
    agency_id = agency if isinstance(agency, int) else agency.pk
    found, _ = DispatchSettings.objects.get_or_create(agency_id=agency_id)
    return found


def clean_text(value: object) -> str:
    """Typed text without NUL characters or surrounding blanks ("" for None)."""
    return without_nul(str(value or "")).strip()


# --- Who may do what ------------------------------------------------------------------


def require_dispatcher(actor: User, agency_id: int) -> None:
    """Refuse (NotAllowed) unless `actor` dispatches for the agency (User.can_dispatch)."""
    if not (actor.is_authenticated and actor.is_active and actor.can_dispatch):
        raise NotAllowed(_("Only a dispatcher or a supervisor sends units and records requests."))
    if actor.agency_id != agency_id:
        raise NotAllowed(_("This belongs to another agency."))


def is_crew(actor: User, shift: Shift | None) -> bool:
    """Whether `actor` is a member of `shift`, and it is still open."""
    if shift is None or shift.ended_at is not None:
        return False
    return ShiftMember.objects.filter(shift=shift, user_id=actor.pk).exists()


def require_crew(actor: User, shift: Shift | None) -> None:
    if not is_crew(actor, shift):
        raise NotAllowed(_("Only a member of the unit's shift does this."))


def require_crew_or_dispatcher(actor: User, unit: Unit, shift: Shift | None) -> None:
    """The unit's own team, or a dispatcher of its agency recording what the team radioed."""
    if actor.is_authenticated and actor.can_dispatch and actor.agency_id == unit.agency_id:
        return
    if not is_crew(actor, shift):
        raise NotAllowed(_("Only the unit's team or a dispatcher does this."))


# --- Locks ------------------------------------------------------------------------------


def lock_request(request: TeamRequest) -> TeamRequest:
    """The request's row, locked and read afresh. Lock it before any unit's row."""
    return TeamRequest.objects.select_for_update().get(pk=request.pk)


def lock_unit(unit: Unit | int) -> Unit:
    """The unit's row, locked and read afresh."""
    return Unit.objects.select_for_update().get(pk=unit if isinstance(unit, int) else unit.pk)


def lock_live_assignment(request: TeamRequest) -> Assignment | None:
    """The request's live assignment, locked (None when no unit is on it)."""
    return Assignment.objects.select_for_update().live().filter(request=request).first()


def open_shift(unit: Unit) -> Shift | None:
    return Shift.objects.open().filter(unit=unit).first()


def require_open_shift(unit: Unit) -> Shift:
    shift = open_shift(unit)
    if shift is None:
        raise NotOnShift(_("%(unit)s is not on shift.") % {"unit": unit})
    return shift


# --- The state machines ---------------------------------------------------------------------


def move_request(request: TeamRequest, to: str) -> None:
    """Set the request's status to `to` if ALLOWED_TRANSITIONS allows it (the caller
    saves), else InvalidTransition."""
    if not request.can_transition_to(to):
        raise InvalidTransition(
            _("A request that is %(status)s cannot become %(to)s.")
            % {
                "status": RequestStatus(request.status).label.lower(),
                "to": RequestStatus(to).label.lower(),
            }
        )
    request.status = to


def move_unit(unit: Unit, to: str, at: datetime.datetime) -> None:
    """Set the unit's status to `to` if UNIT_TRANSITIONS allows it (the caller saves),
    else InvalidTransition."""
    if unit.status == to:
        return
    if not unit.can_move_to(to):
        raise InvalidTransition(
            _("%(unit)s is %(status)s: it cannot be %(to)s.")
            % {
                "unit": unit,
                "status": UnitStatus(unit.status).label.lower(),
                "to": UnitStatus(to).label.lower(),
            }
        )
    unit.status = to
    unit.status_changed_at = at


UNIT_STATUS_FIELDS = ["status", "status_changed_at"]


# --- Times and places -----------------------------------------------------------------------


def moment(
    at: datetime.datetime | None,
    *,
    not_before: datetime.datetime | None = None,
    field: str = "at",
) -> datetime.datetime:
    """The time of a change: now, or `at` given (a stamp radioed in and recorded late).
    Refused when naive, ahead of now by more than CLOCK_SKEW, or before `not_before` (the
    previous stamp of the timeline)."""
    now = timezone.now()
    if at is None:
        at = now
    elif timezone.is_naive(at):
        raise DispatchInvalid(_("Give the time with its time zone."), field=field)
    elif at > now + CLOCK_SKEW:
        raise DispatchInvalid(_("The time cannot be in the future."), field=field)
    at = min(at, now)
    if not_before is not None and at < not_before:
        raise DispatchInvalid(
            _("The time cannot be before the previous time on the request's timeline."),
            field=field,
        )
    return at


Degrees = Decimal | float | str | None


def coordinates(latitude: Degrees, longitude: Degrees) -> tuple[Decimal | None, Decimal | None]:
    """(latitude, longitude) as stored, both or neither; ValidationError on the field."""
    try:
        lat = as_degrees(latitude, 90)
    except ValueError as exc:
        raise ValidationError({"latitude": str(exc)}) from None
    try:
        lon = as_degrees(longitude, 180)
    except ValueError as exc:
        raise ValidationError({"longitude": str(exc)}) from None
    if (lat is None) != (lon is None):
        missing = "latitude" if lat is None else "longitude"
        raise ValidationError({missing: _("Give both latitude and longitude, or neither.")})
    return lat, lon


# --- The audit trail --------------------------------------------------------------------


def audit_change(
    *,
    request: TeamRequest,
    actor: User | None,
    action: str,
    http_request: HttpRequest | None,
    detail: dict[str, Any],
    client_id: int | None = None,
) -> None:
    """A dispatch record that names a client is client data: its every change is in the
    audit trail (under the client it names, or `client_id` when given). `actor` is None
    for a change a CAD made with its key (the API's own audit row names the key)."""
    client_id = client_id or request.client_id
    if client_id is None:
        return
    audit(
        request=http_request,
        actor=actor,
        action=action,
        obj=request,
        client_id=client_id,
        detail=detail,
    )
