"""The team's safety and the dispatcher's attention: the alerts (dispatch.models.Alert).

- A unit that has not acknowledged its assignment by Assignment.acknowledge_by: the
  dispatchers are told (in the app).
- A team on scene checks in every DispatchSettings.check_in_minutes (Unit.check_in_due_at,
  set when it arrives and at each check-in); a missed check-in, and an SOS at once, tell
  the dispatchers and the unit's supervisors in the app and by email (with the delivery
  recorded, notifications.Notification); one nobody resolves within
  check_in_escalate_minutes is escalated to every supervisor and admin of the agency.

sweep_safety finds what is due; Celery beat runs it every few seconds
(dispatch.tasks.sweep_safety), each claim made by a conditional update so that two
sweeps never raise the same alert twice."""

import datetime
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts.models import Role, User
from core.i18n import StoredText, stored_text, user_language
from dispatch import events, live
from dispatch.exceptions import InvalidTransition, NotAllowed, NotOnShift
from dispatch.models import (
    Alert,
    AlertKind,
    Assignment,
    DispatchSettings,
    Unit,
    UnitEventKind,
    UnitStatus,
)
from dispatch.services.common import (
    clean_text,
    coordinates,
    lock_unit,
    open_shift,
    require_crew,
    settings_for,
)
from notifications.models import Channel, Kind
from notifications.services import notify, supervisors_of_team

# Translated for each recipient when the notice is composed (_tell).
SUBJECTS = {
    AlertKind.ACK_OVERDUE: gettext_noop("%(unit)s has not acknowledged its assignment"),
    AlertKind.CHECK_IN_MISSED: gettext_noop("%(unit)s missed its check-in"),
    AlertKind.SOS: gettext_noop("SOS from %(unit)s"),
}


def check_in_due(unit: Unit, at: datetime.datetime) -> datetime.datetime:
    return at + datetime.timedelta(minutes=settings_for(unit.agency_id).check_in_minutes)


# --- Who is told ----------------------------------------------------------------------------


def _dispatchers(agency_id: int) -> list[User]:
    return list(
        User.objects.filter(agency_id=agency_id, role=Role.DISPATCHER, is_active=True).order_by(
            "pk"
        )
    )


def _everyone_in_charge(agency_id: int) -> list[User]:
    return list(
        User.objects.filter(
            agency_id=agency_id,
            role__in=[Role.DISPATCHER, Role.SUPERVISOR, Role.AGENCY_ADMIN],
            is_active=True,
        ).order_by("pk")
    )


def _recipients(alert: Alert, *, escalated: bool) -> list[User]:
    if escalated:
        return _everyone_in_charge(alert.agency_id)
    people = {user.pk: user for user in _dispatchers(alert.agency_id)}
    if alert.kind != AlertKind.ACK_OVERDUE:
        team_id = alert.unit.team_id
        for user in supervisors_of_team(agency_id=alert.agency_id, team_id=team_id):
            people.setdefault(user.pk, user)
    return list(people.values())


def _body(alert: Alert) -> str:
    """What the notice says: the unit, the time and where it was last seen; never who
    the team went to see (no client data leaves in an email). In the active language."""
    agency = alert.unit.agency
    at = agency.local(alert.raised_at)
    lines = [
        _("%(kind)s: %(unit)s at %(time)s.")
        % {
            "kind": alert.get_kind_display(),
            "unit": alert.unit.call_sign,
            "time": f"{at:%H:%M:%S %Z}",
        }
    ]
    if alert.latitude is not None:
        seen = agency.local(alert.position_at or alert.raised_at)
        lines.append(
            _("Last known position %(latitude)s, %(longitude)s (at %(time)s).")
            % {"latitude": alert.latitude, "longitude": alert.longitude, "time": f"{seen:%H:%M:%S}"}
        )
    lines.append(_("Open the dispatch board to answer it."))
    return "\n".join(lines)


def _tell(alert: Alert, *, escalated: bool = False) -> None:
    """The in-app notice, and for a team's safety the email too, to each who must know,
    each in their own language (core.i18n.user_language)."""
    channels = [Channel.IN_APP]
    if alert.kind != AlertKind.ACK_OVERDUE:
        channels.append(Channel.EMAIL)
    stage = "escalated" if escalated else "raised"
    for person in _recipients(alert, escalated=escalated):
        with translation.override(user_language(person)):
            subject = _(SUBJECTS[AlertKind(alert.kind)]) % {"unit": alert.unit.call_sign}
            if escalated:
                subject = _("Unanswered: %(subject)s") % {"subject": subject}
            body = _body(alert)
        for channel in channels:
            if channel == Channel.EMAIL and not person.email:
                continue
            notify(
                agency_id=alert.agency_id,
                kind=Kind.DISPATCH_ALERT,
                channel=channel,
                recipient=person,
                dedupe_key=f"dispatch-alert:{alert.pk}:{stage}:{person.pk}:{channel}",
                subject=subject,
                body=body,
                url=reverse("dispatch:board"),
            )


# --- Raising ----------------------------------------------------------------------------


def _raise(
    *,
    kind: str,
    unit: Unit,
    at: datetime.datetime,
    assignment: Assignment | None,
    raised_by: User | None = None,
    latitude: Decimal | None = None,
    longitude: Decimal | None = None,
) -> Alert:
    """An alert with the unit's last known place (the one given, else the shared
    position, else its base), told to who must know."""
    position_at: datetime.datetime | None = at
    if latitude is None:
        latitude, longitude, position_at = unit.last_latitude, unit.last_longitude, None
        if latitude is not None:
            position_at = unit.last_position_at
        elif unit.base_latitude is not None:
            latitude, longitude = unit.base_latitude, unit.base_longitude
    alert = Alert.objects.create(
        agency_id=unit.agency_id,
        kind=kind,
        unit=unit,
        assignment=assignment,
        request_id=assignment.request_id if assignment else None,
        raised_at=at,
        raised_by=raised_by,
        latitude=latitude,
        longitude=longitude,
        position_at=position_at if latitude is not None else None,
    )
    if kind != AlertKind.ACK_OVERDUE:
        unit_kind = UnitEventKind.SOS if kind == AlertKind.SOS else UnitEventKind.CHECK_IN_MISSED
        events.safety_event(unit=unit, kind=unit_kind, actor=raised_by, at=at, alert_id=alert.pk)
    live.announce(unit.agency_id)
    _tell(alert)
    return alert


@transaction.atomic
def raise_sos(
    *,
    unit: Unit,
    actor: User,
    latitude: Decimal | float | str | None = None,
    longitude: Decimal | float | str | None = None,
) -> Alert:
    """A member of the unit's shift presses SOS: the dispatchers and supervisors are told
    at once, with the position the phone gave (else the unit's last known one)."""
    unit = lock_unit(unit)
    shift = open_shift(unit)
    if shift is None:
        raise NotOnShift(_("%(unit)s is not on shift.") % {"unit": unit})
    require_crew(actor, shift)
    lat, lon = coordinates(latitude, longitude)
    assignment = Assignment.objects.live().filter(unit=unit).first()
    return _raise(
        kind=AlertKind.SOS,
        unit=unit,
        at=timezone.now(),
        assignment=assignment,
        raised_by=actor,
        latitude=lat,
        longitude=lon,
    )


@transaction.atomic
def check_in(*, unit: Unit, actor: User) -> Unit:
    """The team on scene says it is safe: the next check-in is due an interval from now,
    and a missed one is answered."""
    unit = lock_unit(unit)
    require_crew(actor, open_shift(unit))
    if unit.status != UnitStatus.ON_SCENE:
        raise InvalidTransition(
            _("%(unit)s is not on scene: there is no check-in to answer.") % {"unit": unit}
        )
    now = timezone.now()
    unit.check_in_due_at = check_in_due(unit, now)
    unit.save(update_fields=["check_in_due_at"])
    answer_missed_check_ins(
        unit=unit, actor=actor, at=now, resolution=stored_text(gettext_noop("The team checked in."))
    )
    events.safety_event(unit=unit, kind=UnitEventKind.CHECKED_IN, actor=actor, at=now)
    return unit


def _resolved(at: datetime.datetime, actor: User | None, resolution: StoredText) -> dict:
    return {
        "resolved_at": at,
        "resolved_by": actor,
        "resolution": resolution.english[:300],
        "resolution_i18n": resolution.data,
    }


def answer_missed_check_ins(
    *, unit: Unit, actor: User | None, at: datetime.datetime, resolution: StoredText
) -> int:
    """Resolve the unit's open missed check-ins: the team was heard from (`resolution`,
    the product's words: core.i18n.stored_text). Call inside the transaction of what it
    did."""
    return Alert.objects.filter(
        unit=unit, kind=AlertKind.CHECK_IN_MISSED, resolved_at__isnull=True
    ).update(**_resolved(at, actor, resolution))


def answer_ack_alert(
    *, assignment: Assignment, actor: User | None, at: datetime.datetime, resolution: StoredText
) -> int:
    """Resolve the assignment's acknowledgement alert: it was acknowledged or released
    (`resolution`, as answer_missed_check_ins)."""
    return Alert.objects.filter(
        assignment=assignment, kind=AlertKind.ACK_OVERDUE, resolved_at__isnull=True
    ).update(**_resolved(at, actor, resolution))


@transaction.atomic
def resolve_alert(*, alert: Alert, actor: User, resolution: str) -> Alert:
    """A dispatcher or supervisor of the agency says the alert is handled, and how."""
    if not (actor.is_active and actor.can_dispatch and actor.agency_id == alert.agency_id):
        raise NotAllowed(_("Only a dispatcher or a supervisor of the agency resolves an alert."))
    alert = Alert.objects.select_for_update().get(pk=alert.pk)
    if alert.resolved_at is not None:
        raise InvalidTransition(_("The alert is already resolved."))
    resolution = clean_text(resolution)[:300]
    if not resolution:
        raise InvalidTransition(_("Say how it was handled."), field="resolution")
    alert.resolved_at = timezone.now()
    alert.resolved_by = actor
    alert.resolution = resolution
    alert.save(update_fields=["resolved_at", "resolved_by", "resolution"])
    live.announce(alert.agency_id)
    return alert


# --- The sweep ---------------------------------------------------------------------------


def _unacknowledged(now: datetime.datetime) -> int:
    raised = 0
    due = Assignment.objects.awaiting_acknowledgement(now).exclude(
        alerts__kind=AlertKind.ACK_OVERDUE
    )
    for assignment in due.select_related("unit__agency"):
        try:
            with transaction.atomic():
                _raise(
                    kind=AlertKind.ACK_OVERDUE,
                    unit=assignment.unit,
                    at=now,
                    assignment=assignment,
                )
        except IntegrityError:  # another sweep raised it first (alert_ack_once_per_assignment)
            continue
        raised += 1
    return raised


def _missed_check_ins(now: datetime.datetime) -> int:
    raised = 0
    due = Unit.objects.filter(check_in_due_at__lte=now).select_related("agency")
    for unit in due:
        with transaction.atomic():
            # The claim: only the sweep that clears the deadline raises the alert.
            if not Unit.objects.filter(pk=unit.pk, check_in_due_at=unit.check_in_due_at).update(
                check_in_due_at=None
            ):
                continue
            assignment = Assignment.objects.live().filter(unit=unit).first()
            _raise(kind=AlertKind.CHECK_IN_MISSED, unit=unit, at=now, assignment=assignment)
        raised += 1
    return raised


def _escalations(now: datetime.datetime) -> int:
    waits = {
        agency_id: datetime.timedelta(minutes=minutes)
        for agency_id, minutes in DispatchSettings.objects.values_list(
            "agency_id", "check_in_escalate_minutes"
        )
    }
    default = datetime.timedelta(
        minutes=DispatchSettings._meta.get_field("check_in_escalate_minutes").get_default()
    )
    shortest = min([default, *waits.values()])
    escalated = 0
    for alert in Alert.objects.to_escalate(now, shortest).select_related("unit__agency"):
        if alert.raised_at > now - waits.get(alert.agency_id, default):
            continue
        with transaction.atomic():
            if not Alert.objects.filter(pk=alert.pk, escalated_at__isnull=True).update(
                escalated_at=now
            ):
                continue
            alert.escalated_at = now
            _tell(alert, escalated=True)
            live.announce(alert.agency_id)
        escalated += 1
    return escalated


def sweep_safety(*, now: datetime.datetime) -> dict[str, int]:
    """Raise the alerts that have come due and escalate those nobody answered. Each
    claim is its own transaction; running it again raises nothing twice."""
    return {
        "unacknowledged": _unacknowledged(now),
        "missed_check_ins": _missed_check_ins(now),
        "escalated": _escalations(now),
    }
