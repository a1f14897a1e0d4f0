"""A request's timeline after it is received: a unit sent and acknowledging, the one tap
that moves the unit and its request along (STEPS), a unit released or replaced, and a
request closed without being served.

Each service locks the request's row before the unit's (never the other way round, so two
of them cannot wait on each other), moves both through their state machines, stamps the
request's columns and writes one RequestEvent per stamp or change in its transaction."""

import datetime
from decimal import Decimal

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts.models import User
from audit.models import Action
from cases.models import Contact
from core.i18n import StoredText, label, stored_text
from dispatch import events
from dispatch.exceptions import (
    DispatchInvalid,
    InvalidTransition,
    NotAllowed,
    UnitNotAvailable,
)
from dispatch.models import (
    STAMP_EVENTS,
    STEPS,
    UNIT_STATUS_FOR,
    Assignment,
    NotServedReason,
    RequestEventKind,
    RequestStatus,
    Step,
    StepRule,
    TeamRequest,
    Unit,
    UnitStatus,
)
from dispatch.services.common import (
    UNIT_STATUS_FIELDS,
    audit_change,
    clean_text,
    coordinates,
    is_crew,
    lock_live_assignment,
    lock_request,
    lock_unit,
    moment,
    move_request,
    move_unit,
    open_shift,
    require_crew,
    require_crew_or_dispatcher,
    require_dispatcher,
    settings_for,
)
from dispatch.services.safety import answer_ack_alert, answer_missed_check_ins, check_in_due
from dispatch.services.units import crew_of

# --- Sending a unit -----------------------------------------------------------------------


def _assign(
    *,
    request: TeamRequest,
    unit: Unit,
    actor: User,
    now: datetime.datetime,
    http_request: HttpRequest | None,
) -> Assignment:
    """Send the locked `unit` to the locked `request`."""
    if unit.agency_id != request.agency_id:
        raise NotAllowed(_("The unit belongs to another agency."))
    if unit.status != UnitStatus.AVAILABLE:
        raise UnitNotAvailable(
            _("%(unit)s is %(status)s: choose an available unit.")
            % {"unit": unit, "status": UnitStatus(unit.status).label.lower()},
            field="unit",
        )
    shift = open_shift(unit)
    if shift is None:  # an available unit is on shift; a row edited by hand may not be
        raise UnitNotAvailable(_("%(unit)s is not on shift.") % {"unit": unit}, field="unit")
    move_request(request, RequestStatus.ASSIGNED)
    timeout = datetime.timedelta(
        seconds=settings_for(request.agency_id).acknowledge_timeout_seconds
    )
    assignment = Assignment.objects.create(
        request=request,
        unit=unit,
        shift=shift,
        assigned_at=now,
        assigned_by=actor,
        acknowledge_by=now + timeout,
        members=crew_of(shift),
    )
    if request.dispatched_at is None:
        request.dispatched_at = now
    request.save(update_fields=["status", "dispatched_at"])
    move_unit(unit, UnitStatus.ASSIGNED, now)
    unit.save(update_fields=UNIT_STATUS_FIELDS)
    events.unit_dispatched(assignment=assignment, actor=actor)
    audit_change(
        request=request,
        actor=actor,
        action=Action.UPDATE,
        http_request=http_request,
        detail={"event": RequestEventKind.DISPATCHED, "unit_id": unit.pk},
    )
    return assignment


@transaction.atomic
def assign_unit(
    *,
    request: TeamRequest,
    unit: Unit,
    actor: User,
    http_request: HttpRequest | None = None,
) -> Assignment:
    """Send an available unit to a waiting request. The unit is to acknowledge within the
    agency's acknowledge_timeout_seconds (Assignment.acknowledge_by); the team's make-up
    is recorded with the assignment."""
    require_dispatcher(actor, request.agency_id)
    request = lock_request(request)
    unit = lock_unit(unit)
    return _assign(
        request=request, unit=unit, actor=actor, now=timezone.now(), http_request=http_request
    )


def _acknowledge(
    *, request: TeamRequest, assignment: Assignment, actor: User, at: datetime.datetime
) -> None:
    assignment.acknowledged_at = at
    assignment.acknowledged_by = actor
    assignment.save(update_fields=["acknowledged_at", "acknowledged_by"])
    if request.acknowledged_at is None:
        request.acknowledged_at = at
        request.save(update_fields=["acknowledged_at"])
    events.unit_acknowledged(
        assignment=assignment, actor=actor, at=at, late=at > assignment.acknowledge_by
    )
    answer_ack_alert(
        assignment=assignment,
        actor=actor,
        at=at,
        resolution=stored_text(gettext_noop("The unit acknowledged.")),
    )


@transaction.atomic
def acknowledge(
    *, assignment: Assignment, actor: User, http_request: HttpRequest | None = None
) -> Assignment:
    """A member of the unit's shift says the team has the request (late or not: the
    event says which)."""
    request = lock_request(assignment.request)
    assignment = (
        Assignment.objects.select_for_update().select_related("unit", "shift").get(pk=assignment.pk)
    )
    require_crew(actor, assignment.shift)
    if not assignment.is_live:
        raise InvalidTransition(_("The unit was released from this request."))
    if assignment.acknowledged_at is not None:
        raise InvalidTransition(_("The unit has already acknowledged this request."))
    now = timezone.now()
    _acknowledge(request=request, assignment=assignment, actor=actor, at=now)
    audit_change(
        request=request,
        actor=actor,
        action=Action.UPDATE,
        http_request=http_request,
        detail={"event": RequestEventKind.ACKNOWLEDGED},
    )
    return assignment


# --- The one tap ---------------------------------------------------------------------------


def _step_of(request: TeamRequest, to: str | None) -> tuple[str, StepRule]:
    """The step to record and its rule (STEPS), refused where it does not apply or its
    stamps are already set."""
    step = to or request.next_step()
    if step is None:
        raise InvalidTransition(
            _("Say whether the team left with the person (transporting) or is back in service."),
            field="to",
        )
    rule = STEPS.get((request.status, step))
    status = RequestStatus(request.status).label.lower()
    if rule is None:
        named = Step(step).label.lower() if step in Step.values else step
        raise InvalidTransition(
            _("A request that is %(status)s cannot be %(step)s.")
            % {"status": status, "step": named},
            field="to",
        )
    if any(getattr(request, stamp) is not None for stamp in rule.stamps):
        raise InvalidTransition(
            _("%(step)s is already recorded.") % {"step": Step(step).label}, field="to"
        )
    return step, rule


def _lock_for_step(unit: Unit) -> tuple[TeamRequest, Unit, Assignment]:
    """The unit's live request, the unit and their assignment, locked in that order."""
    found = Assignment.objects.live().filter(unit=unit).first()
    if found is None:
        raise InvalidTransition(_("%(unit)s is on no request.") % {"unit": unit})
    request = lock_request(found.request)
    unit = lock_unit(unit)
    assignment = lock_live_assignment(request)
    if assignment is None or assignment.unit_id != unit.pk:
        raise InvalidTransition(_("%(unit)s was released from the request.") % {"unit": unit})
    return request, unit, assignment


def _destination_for(step: str, destination: str) -> str:
    """Where the team takes the person: given when, and only when, it leaves with them."""
    destination = clean_text(destination)
    if step == Step.TRANSPORTING and not destination:
        raise DispatchInvalid(_("Say where the team is taking the person."), field="destination")
    if destination and step != Step.TRANSPORTING:
        raise DispatchInvalid(
            _("A destination is given when the team leaves with the person."),
            field="destination",
        )
    return destination


def _outcome_for(step: str, outcome: dict[str, bool | None]) -> dict[str, bool]:
    """Whether the person was held or taken against their will: given when the team
    leaves the scene (with the person, or back in service), and only then."""
    given = {name: value for name, value in outcome.items() if value is not None}
    if given and step not in (Step.TRANSPORTING, Step.BACK_IN_SERVICE):
        raise DispatchInvalid(
            _("An involuntary hold or transport is recorded when the team leaves the scene."),
            field=next(iter(given)),
        )
    return given


def _stamp(
    request: TeamRequest,
    rule: StepRule,
    at: datetime.datetime,
    destination: str,
    outcome: dict[str, bool],
) -> None:
    """Move the locked request as the step's rule says, set its stamps to `at` and its
    outcome."""
    changed = list(rule.stamps) + list(outcome)
    for name, value in outcome.items():
        setattr(request, name, value)
    if rule.to != request.status:
        move_request(request, rule.to)
        changed.append("status")
    for stamp in rule.stamps:
        setattr(request, stamp, at)
    if destination:
        request.destination = destination
        changed.append("destination")
    request.save(update_fields=changed)


@transaction.atomic
def advance(
    *,
    unit: Unit,
    actor: User,
    to: str | None = None,
    at: datetime.datetime | None = None,
    latitude: Decimal | float | str | None = None,
    longitude: Decimal | float | str | None = None,
    destination: str = "",
    involuntary_hold: bool | None = None,
    involuntary_transport: bool | None = None,
    http_request: HttpRequest | None = None,
) -> TeamRequest:
    """One tap: move the unit and its request to the next step of the timeline
    (TeamRequest.next_step), or to the Step `to` where it forks (on scene: TRANSPORTING,
    with its `destination`, or BACK_IN_SERVICE). Stamps the request's columns of the step,
    each only once, at `at` (now by default; never before the previous stamp) and writes
    an event per stamp with where the unit was. Leaving the scene, it records whether the
    person was held or taken against their will (involuntary_hold, involuntary_transport,
    None: not said). By the unit's team, or a dispatcher recording what it radioed. Going en route acknowledges the assignment if nobody did;
    back in service ends the assignment and frees the unit."""
    request, unit, assignment = _lock_for_step(unit)
    require_crew_or_dispatcher(actor, unit, assignment.shift)
    step, rule = _step_of(request, to)
    destination = _destination_for(step, destination)
    outcome = _outcome_for(
        step,
        {"involuntary_hold": involuntary_hold, "involuntary_transport": involuntary_transport},
    )
    at = moment(at, not_before=request.latest_stamp())
    lat, lon = coordinates(latitude, longitude)

    if step == Step.EN_ROUTE and assignment.acknowledged_at is None:
        _acknowledge(request=request, assignment=assignment, actor=actor, at=at)
    _stamp(request, rule, at, destination, outcome)
    move_unit(unit, UNIT_STATUS_FOR[request.status], at)
    # On scene the team checks in at intervals (services.safety); off it, not.
    unit.check_in_due_at = check_in_due(unit, at) if unit.status == UnitStatus.ON_SCENE else None
    unit.save(update_fields=[*UNIT_STATUS_FIELDS, "check_in_due_at"])
    if is_crew(actor, assignment.shift):
        answer_missed_check_ins(
            unit=unit,
            actor=actor,
            at=at,
            resolution=stored_text(
                gettext_noop("The team recorded: %(step)s."), step=label(Step(step).label)
            ),
        )
    if request.status == RequestStatus.COMPLETED:
        _end_assignment(assignment, actor=actor, at=at, reason=BACK_IN_SERVICE)
    for stamp in rule.stamps:
        if stamp in STAMP_EVENTS:  # closed_at is the back in service's own
            events.stamp_recorded(
                request=request,
                stamp=stamp,
                unit=unit,
                actor=actor,
                at=at,
                latitude=lat,
                longitude=lon,
                detail={"destination": destination} if destination else None,
            )
    audit_change(
        request=request,
        actor=actor,
        action=Action.UPDATE,
        http_request=http_request,
        detail={"event": step},
    )
    return request


# --- A unit let go, a request closed unserved ----------------------------------------------


# Why a unit's assignment ended when its team finished (Assignment.release_reason).
BACK_IN_SERVICE = stored_text(gettext_noop("back in service"))

# A reason a request was not served, as it reads inside a sentence ("not served: …").
NOT_SERVED_WORDS: dict[str, str] = {
    NotServedReason.NO_UNIT_AVAILABLE: gettext_noop("no unit available"),
    NotServedReason.CANCELLED_BEFORE_ARRIVAL: gettext_noop("cancelled before arrival"),
    NotServedReason.NO_ONE_FOUND: gettext_noop("no one found"),
    NotServedReason.HANDED_TO_POLICE_EMS: gettext_noop("handed to police or EMS"),
    NotServedReason.DECLINED: gettext_noop("declined by the person"),
}


def _end_assignment(
    assignment: Assignment, *, actor: User, at: datetime.datetime, reason: StoredText | str
) -> None:
    """Release the assignment, with the product's words (a stored text, read in each
    reader's language) or the reason a dispatcher typed (kept as typed)."""
    stored = reason if isinstance(reason, StoredText) else None
    english = stored.english if stored else str(reason)
    assignment.released_at = at
    assignment.released_by = actor
    assignment.release_reason = english[:300]
    assignment.release_reason_i18n = stored.data if stored else None
    assignment.save(
        update_fields=["released_at", "released_by", "release_reason", "release_reason_i18n"]
    )
    answer_ack_alert(
        assignment=assignment,
        actor=actor,
        at=at,
        resolution=stored_text(
            gettext_noop("Released: %(reason)s"), reason=stored.data if stored else english
        ),
    )


def _release(
    *,
    request: TeamRequest,
    assignment: Assignment,
    unit: Unit,
    actor: User,
    reason: str,
    kind: str,
    now: datetime.datetime,
) -> None:
    """The locked unit lets go of the locked request before arriving: the request waits
    again, without the released unit's acknowledgement and en route stamps (its own are in
    the events)."""
    move_request(request, RequestStatus.WAITING)
    request.acknowledged_at = request.en_route_at = None
    request.save(update_fields=["status", "acknowledged_at", "en_route_at"])
    _end_assignment(assignment, actor=actor, at=now, reason=reason)
    move_unit(unit, UnitStatus.AVAILABLE, now)
    unit.save(update_fields=UNIT_STATUS_FIELDS)
    events.unit_released(assignment=assignment, actor=actor, at=now, reason=reason, kind=kind)


def _reason(reason: str) -> str:
    reason = clean_text(reason)
    if not reason:
        raise DispatchInvalid(_("Say why the unit is released."), field="reason")
    return reason


@transaction.atomic
def release_unit(
    *,
    request: TeamRequest,
    actor: User,
    reason: str,
    http_request: HttpRequest | None = None,
) -> TeamRequest:
    """Take the unit off a request it has not reached (diverted to a more urgent one,
    broken down): the request waits for another unit, the unit is available."""
    require_dispatcher(actor, request.agency_id)
    reason = _reason(reason)
    request = lock_request(request)
    assignment = lock_live_assignment(request)
    if assignment is None:
        raise InvalidTransition(_("No unit is on this request."))
    unit = lock_unit(assignment.unit_id)
    _release(
        request=request,
        assignment=assignment,
        unit=unit,
        actor=actor,
        reason=reason,
        kind=RequestEventKind.RELEASED,
        now=timezone.now(),
    )
    audit_change(
        request=request,
        actor=actor,
        action=Action.UPDATE,
        http_request=http_request,
        detail={"event": RequestEventKind.RELEASED, "unit_id": unit.pk},
    )
    return request


@transaction.atomic
def reassign_unit(
    *,
    request: TeamRequest,
    unit: Unit,
    actor: User,
    reason: str,
    http_request: HttpRequest | None = None,
) -> Assignment:
    """Send `unit` in place of the one on the request (which has not arrived): one
    change, so the request never shows as waiting."""
    require_dispatcher(actor, request.agency_id)
    reason = _reason(reason)
    request = lock_request(request)
    current = lock_live_assignment(request)
    if current is None:
        raise InvalidTransition(_("No unit is on this request: assign one."))
    if current.unit_id == unit.pk:
        raise DispatchInvalid(
            _("%(unit)s is already on this request.") % {"unit": unit}, field="unit"
        )
    # Both units' rows, in id order.
    locked = {
        u.pk: u
        for u in Unit.objects.select_for_update()
        .filter(pk__in=[current.unit_id, unit.pk])
        .order_by("pk")
    }
    now = timezone.now()
    _release(
        request=request,
        assignment=current,
        unit=locked[current.unit_id],
        actor=actor,
        reason=reason,
        kind=RequestEventKind.REASSIGNED,
        now=now,
    )
    return _assign(
        request=request, unit=locked[unit.pk], actor=actor, now=now, http_request=http_request
    )


def _check_not_served_reason(reason: str, assignment: Assignment | None) -> None:
    if reason not in NotServedReason.values:
        raise DispatchInvalid(_("Choose why the request was not served."), field="reason")
    if reason == NotServedReason.NO_UNIT_AVAILABLE and assignment is not None:
        raise DispatchInvalid(
            _("A unit is on this request: release it first, or give another reason."),
            field="reason",
        )


@transaction.atomic
def close_not_served(
    *,
    request: TeamRequest,
    reason: str,
    actor: User,
    notes: str = "",
    at: datetime.datetime | None = None,
    http_request: HttpRequest | None = None,
) -> TeamRequest:
    """End a request before a team was on scene, with why (NotServedReason) and when:
    counted, never lost. Frees the unit on it. A request closed for want of a unit keeps
    how long it waited (TeamRequest.waited, and the event's waited_seconds). By a
    dispatcher, or the team on it (no one found, declined)."""
    request = lock_request(request)
    assignment = lock_live_assignment(request)
    unit = None if assignment is None else lock_unit(assignment.unit_id)
    if assignment is None or unit is None:
        require_dispatcher(actor, request.agency_id)
    else:
        require_crew_or_dispatcher(actor, unit, assignment.shift)
    _check_not_served_reason(reason, assignment)
    move_request(request, RequestStatus.NOT_SERVED)
    at = moment(at, not_before=request.latest_stamp())
    request.not_served_reason = reason
    request.not_served_notes = clean_text(notes)
    request.closed_at = at
    request.save(update_fields=["status", "not_served_reason", "not_served_notes", "closed_at"])
    if assignment is not None and unit is not None:
        not_served = stored_text(
            gettext_noop("not served: %(reason)s"), reason=label(NOT_SERVED_WORDS[reason])
        )
        _end_assignment(assignment, actor=actor, at=at, reason=not_served)
        move_unit(unit, UnitStatus.AVAILABLE, at)
        unit.save(update_fields=UNIT_STATUS_FIELDS)
    waited = request.waited
    events.request_not_served(
        request=request,
        actor=actor,
        unit=unit,
        at=at,
        waited_seconds=None if waited is None else int(waited.total_seconds()),
    )
    audit_change(
        request=request,
        actor=actor,
        action=Action.UPDATE,
        http_request=http_request,
        detail={"event": RequestEventKind.NOT_SERVED, "reason": reason},
    )
    return request


# --- The contact --------------------------------------------------------------------------


@transaction.atomic
def link_contact(*, request: TeamRequest, contact: Contact, actor: User) -> TeamRequest:
    """The crisis contact the team recorded for a request it served (its times came from
    the request's stamps): one per request, of the request's agency and client."""
    request = lock_request(request)
    if request.contact_id is not None:
        raise InvalidTransition(_("A contact is already recorded for this request."))
    if request.status != RequestStatus.COMPLETED:
        raise InvalidTransition(_("The contact is recorded once the team is back in service."))
    if contact.agency_id != request.agency_id:
        raise NotAllowed(_("The contact belongs to another agency."))
    request.contact = contact
    changed = ["contact"]
    if request.client_id is None:
        request.client_id = contact.client_id
        changed.append("client")
    request.save(update_fields=changed)
    events.contact_recorded(request=request, actor=actor, at=timezone.now())
    audit_change(
        request=request,
        actor=actor,
        action=Action.UPDATE,
        http_request=None,
        detail={"event": RequestEventKind.CONTACT_RECORDED, "contact_id": contact.pk},
    )
    return request
