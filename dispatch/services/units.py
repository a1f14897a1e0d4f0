"""Units: shifts and their members, service, shared positions, and the nearest ones."""

import dataclasses
import datetime
from collections.abc import Sequence
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from dispatch import events, live
from dispatch.exceptions import DispatchInvalid, InvalidTransition, NotOnShift, PositionNotShared
from dispatch.geo import distance_km
from dispatch.models import (
    Credential,
    DispatchSettings,
    Shift,
    ShiftMember,
    TeamRequest,
    Unit,
    UnitEventKind,
    UnitPosition,
    UnitStatus,
)
from dispatch.services.common import (
    UNIT_STATUS_FIELDS,
    clean_text,
    coordinates,
    lock_unit,
    moment,
    move_unit,
    open_shift,
    require_crew,
    require_crew_or_dispatcher,
    require_dispatcher,
    require_open_shift,
)

POSITION_FIELDS = ["last_latitude", "last_longitude", "last_position_at"]


def crew_of(shift: Shift) -> list[dict[str, object]]:
    """The shift's members as a response records them (Assignment.members)."""
    return [
        {"user_id": m.user_id, "name": str(m.user), "credential": m.credential}
        for m in shift.members.select_related("user").order_by("pk")
    ]


def _check_members(unit: Unit, members: Sequence[tuple[User, str]]) -> list[tuple[User, str]]:
    """The members, each an active worker of the unit's agency with a known credential,
    none twice and none on another unit's open shift. Locks their user rows, so that two
    shifts started at once cannot both take the same person."""
    if not members:
        raise DispatchInvalid(_("A shift has at least one member."), field="members")
    ids = [user.pk for user, _ in members]
    if len(set(ids)) != len(ids):
        raise DispatchInvalid(_("Each member is named once."), field="members")
    for user, credential in members:
        if credential not in Credential.values:
            raise DispatchInvalid(
                _("Unknown credential %(credential)s.") % {"credential": repr(credential)},
                field="members",
            )
        if user.agency_id != unit.agency_id or not user.is_active or not user.works_cases:
            raise DispatchInvalid(
                _("%(user)s is not a worker of this agency who can go out on a unit.")
                % {"user": user},
                field="members",
            )
    list(User.objects.select_for_update().filter(pk__in=ids).order_by("pk"))
    busy = (
        ShiftMember.objects.filter(user_id__in=ids, shift__ended_at__isnull=True)
        .select_related("user", "shift__unit")
        .first()
    )
    if busy is not None:
        raise DispatchInvalid(
            _("%(user)s is already on %(unit)s's shift.")
            % {"user": busy.user, "unit": busy.shift.unit},
            field="members",
        )
    return list(members)


@transaction.atomic
def start_shift(
    *,
    unit: Unit,
    members: Sequence[tuple[User, str]],
    actor: User,
    shares_position: bool = False,
) -> Shift:
    """Put the unit on shift, available, with its members (user, Credential) and whether
    it shares its position. A dispatcher starts it, or one of its members."""
    if actor.pk not in {user.pk for user, _ in members}:
        require_dispatcher(actor, unit.agency_id)
    unit = lock_unit(unit)
    if unit.status != UnitStatus.OFF_SHIFT:
        raise InvalidTransition(_("%(unit)s is already on shift.") % {"unit": unit})
    members = _check_members(unit, members)
    now = timezone.now()
    shift = Shift.objects.create(unit=unit, started_at=now, started_by=actor)
    ShiftMember.objects.bulk_create(
        [ShiftMember(shift=shift, user=user, credential=credential) for user, credential in members]
    )
    move_unit(unit, UnitStatus.AVAILABLE, now)
    unit.shares_position = shares_position
    unit.save(update_fields=[*UNIT_STATUS_FIELDS, "shares_position"])
    events.shift_started(shift=shift, actor=actor, members=crew_of(shift))
    if shares_position:
        events.sharing_changed(unit=unit, actor=actor, at=now)
    return shift


def _forget_positions(unit: Unit) -> int:
    """Delete every stored position of the unit and clear its last one (the caller
    saves POSITION_FIELDS). Returns how many rows went."""
    deleted, _ = UnitPosition.objects.filter(unit=unit).delete()
    unit.last_latitude = unit.last_longitude = unit.last_position_at = None
    return deleted


@transaction.atomic
def end_shift(*, unit: Unit, actor: User) -> Shift:
    """Take the unit off shift (from available or out of service: a unit on a request
    is released first). Its positions are deleted: they are stored only while on shift."""
    unit = lock_unit(unit)
    shift = require_open_shift(unit)
    require_crew_or_dispatcher(actor, unit, shift)
    now = timezone.now()
    move_unit(unit, UnitStatus.OFF_SHIFT, now)
    deleted = _forget_positions(unit)
    unit.shares_position = False
    unit.save(update_fields=[*UNIT_STATUS_FIELDS, "shares_position", *POSITION_FIELDS])
    shift.ended_at = now
    shift.ended_by = actor
    shift.save(update_fields=["ended_at", "ended_by"])
    events.shift_ended(shift=shift, actor=actor, at=now, positions_deleted=deleted)
    return shift


@transaction.atomic
def take_out_of_service(*, unit: Unit, actor: User, reason: str) -> Unit:
    """An available unit can take no request for now (a break, a restock, the van)."""
    unit = lock_unit(unit)
    require_crew_or_dispatcher(actor, unit, open_shift(unit))
    reason = clean_text(reason)
    if not reason:
        raise DispatchInvalid(_("Say why the unit is out of service."), field="reason")
    now = timezone.now()
    move_unit(unit, UnitStatus.OUT_OF_SERVICE, now)
    unit.save(update_fields=UNIT_STATUS_FIELDS)
    events.service_changed(
        unit=unit, kind=UnitEventKind.OUT_OF_SERVICE, actor=actor, at=now, reason=reason
    )
    return unit


@transaction.atomic
def return_to_service(*, unit: Unit, actor: User) -> Unit:
    unit = lock_unit(unit)
    require_crew_or_dispatcher(actor, unit, open_shift(unit))
    now = timezone.now()
    if unit.status != UnitStatus.OUT_OF_SERVICE:
        raise InvalidTransition(_("%(unit)s is not out of service.") % {"unit": unit})
    move_unit(unit, UnitStatus.AVAILABLE, now)
    unit.save(update_fields=UNIT_STATUS_FIELDS)
    events.service_changed(unit=unit, kind=UnitEventKind.RETURNED_TO_SERVICE, actor=actor, at=now)
    return unit


@transaction.atomic
def set_position_sharing(*, unit: Unit, actor: User, shares: bool) -> Unit:
    """The team starts or stops sharing its position (its own choice: only a member of
    its shift). Stopping deletes what was stored."""
    unit = lock_unit(unit)
    require_crew(actor, open_shift(unit))
    if unit.shares_position == shares:
        return unit
    unit.shares_position = shares
    deleted = 0 if shares else _forget_positions(unit)
    unit.save(update_fields=["shares_position", *POSITION_FIELDS])
    events.sharing_changed(unit=unit, actor=actor, at=timezone.now(), positions_deleted=deleted)
    return unit


@transaction.atomic
def record_position(
    *,
    unit: Unit,
    actor: User,
    latitude: Decimal | float | str,
    longitude: Decimal | float | str,
    accuracy_m: float | None = None,
    at: datetime.datetime | None = None,
) -> UnitPosition:
    """Store a position the unit's device shared, and make it the unit's last one unless
    a later one arrived first. Refused when the unit is off shift (NotOnShift), does not
    share its position (PositionNotShared), or `actor` is not on its shift."""
    unit = lock_unit(unit)
    shift = open_shift(unit)
    if shift is None:
        raise NotOnShift(
            _("%(unit)s is not on shift: its position is not stored.") % {"unit": unit}
        )
    if not unit.shares_position:
        raise PositionNotShared(_("%(unit)s does not share its position.") % {"unit": unit})
    require_crew(actor, shift)
    lat, lon = coordinates(latitude, longitude)
    if lat is None or lon is None:
        raise DispatchInvalid(_("Give the latitude and longitude."), field="latitude")
    if accuracy_m is not None and not 0 <= accuracy_m < 1e6:
        raise DispatchInvalid(_("The accuracy is a number of metres."), field="accuracy_m")
    at = moment(at, not_before=shift.started_at)
    position = UnitPosition.objects.create(
        unit=unit, at=at, latitude=lat, longitude=lon, accuracy_m=accuracy_m
    )
    if unit.last_position_at is None or at >= unit.last_position_at:
        unit.last_latitude, unit.last_longitude, unit.last_position_at = lat, lon, at
        unit.save(update_fields=POSITION_FIELDS)
        live.announce(unit.agency_id, boards_only=True)
    return position


def purge_positions(*, now: datetime.datetime) -> int:
    """Delete the positions older than their agency's position_retention_hours, and the
    units' last positions as old: one DELETE and one UPDATE an agency with units.
    Returns how many positions were deleted; running it again deletes nothing more."""
    kept_hours = dict(DispatchSettings.objects.values_list("agency_id", "position_retention_hours"))
    default = DispatchSettings._meta.get_field("position_retention_hours").get_default()
    agencies = Unit.objects.order_by().values_list("agency_id", flat=True).distinct()
    deleted = 0
    for agency_id in agencies:
        cutoff = now - datetime.timedelta(hours=kept_hours.get(agency_id, default))
        units = Unit.objects.filter(agency_id=agency_id)
        count, _ = UnitPosition.objects.filter(unit__in=units, at__lt=cutoff).delete()
        units.filter(last_position_at__lt=cutoff).update(
            last_latitude=None, last_longitude=None, last_position_at=None
        )
        deleted += count
    return deleted


@dataclasses.dataclass(frozen=True)
class Suggestion:
    unit: Unit
    distance_km: float | None  # None when the unit's place or the request's is not known
    measured_from: str  # "position" (shared, fresh), "base", or ""


def suggest_units(
    request: TeamRequest, *, now: datetime.datetime | None = None
) -> list[Suggestion]:
    """The agency's available units, nearest to the request first: by the position a unit
    shares when it is fresh (Unit.where), else by its base. Units whose place is not known
    come last; equals go to the unit available longest, then by call sign. Distances are
    great-circle, in Python: an agency has tens of units, not thousands."""
    now = now or timezone.now()
    units = Unit.objects.filter(agency_id=request.agency_id).available().select_related("team")
    found = []
    for unit in units:
        place = unit.where(now) if request.latitude is not None else None
        if place is None or request.latitude is None or request.longitude is None:
            found.append(Suggestion(unit, None, ""))
            continue
        lat, lon, measured_from = place
        km = distance_km(request.latitude, request.longitude, lat, lon)
        found.append(Suggestion(unit, km, measured_from))
    return sorted(
        found,
        key=lambda s: (
            s.distance_km is None,
            s.distance_km or 0.0,
            s.unit.status_changed_at,
            s.unit.call_sign,
        ),
    )
