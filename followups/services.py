"""Follow-up workflows: enrolment from what is recorded, one-off follow-ups, attempts,
completion, moving a due date, cancelling, and what closing or reassigning a case does.

Every write that creates follow-ups runs in the transaction of the event that causes it
(a contact, a hospital visit, a sent referral), so a follow-up exists exactly when its
cause does. Time-driven status changes belong to the engine (followups/engine.py).
"""

import datetime
import zoneinfo

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import Role, User
from audit.models import Action
from audit.services import record as audit
from cases.cssrs import RiskLevel
from cases.models import CallNature, Case, CaseStatus, Contact, Disposition
from followups import events
from followups.exceptions import FollowUpClosed, FollowUpInvalid, NotPermitted
from followups.models import (
    OPEN_STATUSES,
    Attempt,
    AttemptOutcome,
    EndRule,
    Enrolment,
    EnrolmentStatus,
    FollowUp,
    FollowUpEvent,
    FollowUpEventKind,
    HospitalVisit,
    Method,
    Performer,
    Protocol,
    ProtocolStep,
    ProtocolVersion,
    Status,
    Trigger,
    Unit,
    VisitKind,
    VisitReason,
)
from followups.protocols import install_standard_protocols
from followups.schedule import local_midnight, step_window

# Open-ended repeating steps (weekly calls "until engaged in care") stop after this many
# occurrences at the most; a worker can enrol the client again.
MAX_OPEN_ENDED_OCCURRENCES = 26
# How far a due date may be moved or set, from now.
MAX_DUE_AHEAD = datetime.timedelta(days=366 * 5)
REASON_MAX = 300


def agency_tz(agency) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(agency.timezone)


def _performer_for(case: Case, performer: str) -> User:
    if performer == Performer.SUPERVISOR and case.team_id:
        supervisor = (
            User.objects.filter(role=Role.SUPERVISOR, supervised_teams=case.team_id, is_active=True)
            .order_by("pk")
            .first()
        )
        if supervisor is not None:
            return supervisor
    return case.assigned_worker


def _lock_case(case: Case) -> Case:
    return (
        Case.objects.select_for_update(of=("self",))
        .select_related("agency", "assigned_worker", "client")
        .get(pk=case.pk)
    )


def _may_work(actor: User, case: Case) -> bool:
    return Case.objects.contactable_by(actor).filter(pk=case.pk).exists()


def _require_worker(actor: User, case: Case):
    if actor is not None and not _may_work(actor, case):
        raise NotPermitted("Only workers on this case can change its follow-ups.")


def _clean_reason(reason: str, *, field="reason", required=True) -> str:
    text = " ".join((reason or "").replace("\x00", "").split())
    if required and not text:
        raise FollowUpInvalid("Give a reason.", field=field)
    if len(text) > REASON_MAX:
        raise FollowUpInvalid(f"Keep the reason under {REASON_MAX} characters.", field=field)
    return text


# --- Protocol choice and enrolment ----------------------------------------------------------


def protocols_for(agency_id: int, trigger: str, *, intensive: bool = False) -> list[Protocol]:
    """The agency's active protocols for a trigger, in one query once the agency has any
    (the standard ones are installed the first time an agency has none at all). For an
    ED visit at high risk the intensive one is chosen instead of the plain one (the plain
    one when the agency has no active intensive one); a high risk alone enrols in the
    intensive one only."""
    wanted = Trigger.ED_VISIT if trigger == Trigger.HIGH_RISK else trigger
    chosen = list(Protocol.objects.for_agency(agency_id).active().filter(trigger=wanted))
    if not chosen and not Protocol.objects.filter(agency_id=agency_id).exists():
        install_standard_protocols(agency_id)
        chosen = list(Protocol.objects.for_agency(agency_id).active().filter(trigger=wanted))
    if trigger == Trigger.HIGH_RISK:
        return [p for p in chosen if p.intensive]
    if trigger == Trigger.ED_VISIT:
        intensive_ones = [p for p in chosen if p.intensive]
        plain = [p for p in chosen if not p.intensive]
        return intensive_ones if (intensive and intensive_ones) else plain
    return chosen


def _occurrences(step: ProtocolStep) -> range:
    if step.repeat_every is None:
        return range(1, 2)
    if step.repeat_times is None:
        # Open-ended: the first now, each next one when the one before closes.
        return range(1, 2)
    return range(1, step.repeat_times + 1)


def _followup_for_step(*, enrolment, step, occurrence, case, tz, actor) -> FollowUp:
    shift = (occurrence - 1) * (step.repeat_every or 0)
    window = step_window(
        anchor_at=enrolment.anchor_at,
        unit=step.unit,
        start=step.start,
        due=step.due,
        end=step.end,
        tz=tz,
        shift=shift,
    )
    protocol = enrolment.version.protocol
    return FollowUp(
        agency_id=case.agency_id,
        case=case,
        enrolment=enrolment,
        step=step,
        occurrence=occurrence,
        title=f"{protocol.name}: {_step_title(step, occurrence)}"[:200],
        reason=enrolment.reason,
        method=step.method,
        assigned_to=_performer_for(case, step.performer),
        window_start=window.start,
        due_at=window.due,
        window_end=window.end,
        created_by=actor,
    )


def _step_title(step: ProtocolStep, occurrence: int) -> str:
    """ "Contact 1 (days 1-3)", "Monthly message 2 of 4", "Weekly call 3"."""
    if not step.repeat_every:
        return step.name
    if step.repeat_times:
        return f"{step.name} {occurrence} of {step.repeat_times}"
    return f"{step.name} {occurrence}"


def _save_new(followups: list[FollowUp], *, actor, now) -> list[FollowUp]:
    """Save new follow-ups with their status at `now` and their first sweep time, each
    with its CREATED event. One already open (a back-dated anchor) is swept at once; one
    already past its window is missed from the start, shown as such, never dropped."""
    for fu in followups:
        fu.status = Status.SCHEDULED
        fu.status = fu.status_at(now)
        fu.status_changed_at = now
        if fu.status in (Status.DUE, Status.OVERDUE):
            fu.next_check_at = now
        else:
            fu.next_check_at = fu.next_boundary(now)
    saved = FollowUp.objects.bulk_create(followups)
    FollowUpEvent.objects.bulk_create(
        FollowUpEvent(
            followup=fu,
            at=now,
            actor=actor,
            kind=FollowUpEventKind.CREATED,
            to_status=fu.status,
            reason=fu.reason[:500],
        )
        for fu in saved
    )
    return saved


def _end(enrolment: Enrolment, *, actor, reason: str, cancelled=False, now=None, request=None):
    """End an active enrolment (locked by the caller): its open follow-ups are cancelled
    with the reason, on the timeline and in the audit trail."""
    now = now or timezone.now()
    enrolment.status = EnrolmentStatus.CANCELLED if cancelled else EnrolmentStatus.ENDED
    enrolment.ended_at = now
    enrolment.end_reason = reason[:300]
    enrolment.save(update_fields=["status", "ended_at", "end_reason"])
    gone = _cancel_open(enrolment.followups.all(), actor=actor, reason=reason, now=now)
    events.enrolment_ended(enrolment=enrolment, actor=actor, cancelled=cancelled)
    audit(
        request=request,
        actor=actor,
        action=Action.UPDATE,
        obj=enrolment,
        agency_id=enrolment.agency_id,
        client_id=enrolment.case.client_id,
        detail={"ended": reason, "cancelled_followups": [fu.pk for fu in gone]},
    )
    return enrolment


def _restart(*, case: Case, running: Q, anchor_at, actor, reason: str, sources: dict) -> bool:
    """A new fact restarts a protocol: the case's active enrolments matching `running`
    (other than those of the same fact) that count from an earlier anchor end. Returns
    False when one counts from a later anchor (a back-dated fact does not restart a newer
    enrolment)."""
    active = (
        Enrolment.objects.select_for_update(of=("self",))
        .select_related("version__protocol", "case")
        .filter(running, case=case, status=EnrolmentStatus.ACTIVE)
    )
    for name, value in sources.items():
        active = active.exclude(**{name: value})
    now = timezone.now()
    enrolments = list(active)
    if any(e.anchor_at > anchor_at for e in enrolments):
        return False
    for enrolment in enrolments:
        _end(enrolment, actor=actor, reason=reason, now=now)
    return True


@transaction.atomic
def enrol(
    *,
    case: Case,
    protocol: Protocol,
    trigger: str,
    anchor_at: datetime.datetime,
    reason: str,
    actor: User | None = None,
    source_contact: Contact | None = None,
    source_visit: HospitalVisit | None = None,
    source_referral=None,
    restarts: Q | None = None,
    request=None,
) -> Enrolment | None:
    """Enrol an open case in the current version of `protocol` from `anchor_at`.

    Returns None when the same fact (contact, visit or referral) already enrolled it in
    this protocol, in any version (idempotent), or when the case is closed. `restarts`
    selects the case's running enrolments that this one replaces (a readmission restarts
    the post-discharge protocol); when one of them counts from a later anchor nothing
    changes and None is returned."""
    case = _lock_case(case)
    if case.status != CaseStatus.OPEN:
        return None
    sources = {
        "source_contact": source_contact,
        "source_visit": source_visit,
        "source_referral": source_referral,
    }
    given = {k: v for k, v in sources.items() if v is not None}
    if given and Enrolment.objects.filter(version__protocol=protocol, **given).exists():
        return None
    version = protocol.current_version()
    if version is None:
        return None
    reason = _clean_reason(reason)
    if restarts is not None and not _restart(
        case=case,
        running=restarts,
        anchor_at=anchor_at,
        actor=actor,
        reason=f"Restarted: {reason}"[:300],
        sources=given,
    ):
        return None
    now = timezone.now()
    enrolment = Enrolment.objects.create(
        agency_id=case.agency_id,
        case=case,
        version=version,
        trigger=trigger,
        reason=reason,
        anchor_at=anchor_at,
        created_by=actor,
        created_at=now,
        **given,
    )
    tz = agency_tz(case.agency)
    followups = [
        _followup_for_step(
            enrolment=enrolment, step=step, occurrence=n, case=case, tz=tz, actor=actor
        )
        for step in version.steps.order_by("position")
        for n in _occurrences(step)
    ]
    saved = _save_new(followups, actor=actor, now=now)
    events.enrolled(enrolment=enrolment, actor=actor, count=len(saved))
    audit(
        request=request,
        actor=actor,
        action=Action.CREATE,
        obj=enrolment,
        agency_id=case.agency_id,
        client_id=case.client_id,
        detail={"protocol": protocol.key, "version": version.number, "followups": len(saved)},
    )
    return enrolment


def schedule_next_occurrence(followup: FollowUp, *, actor=None) -> FollowUp | None:
    """After a protocol follow-up closes (done, missed or cancelled on its own): the next
    occurrence of an open-ended repeating step (the weekly calls) while the enrolment and
    the case are active, the first one whose window has not closed yet, so a pause (the
    engine down for weeks) does not leave a trail of rows nobody could have acted on;
    and when nothing is left open, the enrolment ends (every step done, missed or
    cancelled). Idempotent. Call inside the transaction that closed the follow-up (the
    engine does when one is missed)."""
    if followup.enrolment_id is None:
        return None
    enrolment = (
        Enrolment.objects.select_for_update(of=("self",))
        .select_related("version__protocol", "case__agency", "case__assigned_worker")
        .get(pk=followup.enrolment_id)
    )
    if enrolment.status != EnrolmentStatus.ACTIVE:
        return None
    nxt = None
    step = followup.step
    case = enrolment.case
    open_ended = step is not None and step.repeat_every and not step.repeat_times
    if open_ended and case.status == CaseStatus.OPEN:
        later = FollowUp.objects.filter(
            enrolment=enrolment, step=step, occurrence__gt=followup.occurrence
        )
        if not later.exists():
            nxt = _next_occurrence(enrolment, step, followup.occurrence, actor=actor)
    if nxt is None and not enrolment.followups.filter(status__in=OPEN_STATUSES).exists():
        _end(enrolment, actor=actor, reason="Every step is done, missed or cancelled")
    return nxt


def _next_occurrence(enrolment, step, after: int, *, actor) -> FollowUp | None:
    case = enrolment.case
    tz = agency_tz(case.agency)
    now = timezone.now()
    for occurrence in range(after + 1, MAX_OPEN_ENDED_OCCURRENCES + 1):
        nxt = _followup_for_step(
            enrolment=enrolment, step=step, occurrence=occurrence, case=case, tz=tz, actor=actor
        )
        if nxt.window_end > now:
            return _save_new([nxt], actor=actor, now=now)[0]
    return None


def _cancel_open(followups, *, actor, reason, now) -> list[FollowUp]:
    """Cancel every open follow-up in the queryset, each with its CANCELLED event."""
    cancelled = []
    for fu in followups.filter(status__in=OPEN_STATUSES).select_for_update(of=("self",)):
        old = fu.status
        fu.status = Status.CANCELLED
        fu.cancel_reason = reason[:300]
        fu.status_changed_at = now
        fu.next_check_at = None
        fu.lease_until = None
        fu.lease_token = None
        fu.save(
            update_fields=[
                "status",
                "cancel_reason",
                "status_changed_at",
                "next_check_at",
                "lease_until",
                "lease_token",
            ]
        )
        events.followup_event(
            followup=fu,
            kind=FollowUpEventKind.CANCELLED,
            actor=actor,
            at=now,
            from_status=old,
            to_status=fu.status,
            reason=reason,
        )
        cancelled.append(fu)
    return cancelled


@transaction.atomic
def end_enrolment(
    *, actor: User | None, enrolment: Enrolment, reason: str, cancelled=False, request=None
) -> Enrolment:
    """End an enrolment by hand (client engaged in care, declined further calls, ...):
    its open follow-ups are cancelled with the reason. `actor` must work the case."""
    reason = _clean_reason(reason)
    enrolment = (
        Enrolment.objects.select_for_update(of=("self",))
        .select_related("version__protocol", "case")
        .get(pk=enrolment.pk)
    )
    if actor is not None:
        _require_worker(actor, enrolment.case)
    if enrolment.status != EnrolmentStatus.ACTIVE:
        raise FollowUpClosed("This protocol has already ended for the client.")
    return _end(enrolment, actor=actor, reason=reason, cancelled=cancelled, request=request)


# Running enrolments a new fact of the same kind restarts.
_POST_DISCHARGE = Q(version__protocol__trigger=Trigger.ED_VISIT)
_CARING_CONTACTS = Q(version__protocol__trigger=Trigger.PSYCHIATRIC_DISCHARGE)


# --- Hospital visits ------------------------------------------------------------------------


def reason_from_concerns(concern_codes, nature_code: str = "") -> str:
    """An ED visit's principal reason from the contact's presenting concerns (codes of
    cases.Concern) and call nature: substance use (or an intoxication call) before
    suicide risk, else a mental health crisis."""
    codes = set(concern_codes)
    if "overdose" in codes:
        return VisitReason.OVERDOSE
    if "substance-use" in codes or nature_code == "intoxication":
        return VisitReason.SUBSTANCE_USE
    if "suicide-risk" in codes:
        return VisitReason.SELF_HARM
    return VisitReason.MENTAL_HEALTH


def _validate_visit_times(arrived_at, discharged_at):
    now = timezone.now()
    if arrived_at is None or timezone.is_naive(arrived_at):
        raise FollowUpInvalid("Give when the client arrived.", field="arrived_at")
    if arrived_at > now + datetime.timedelta(hours=1):
        raise FollowUpInvalid("The arrival cannot be in the future.", field="arrived_at")
    if arrived_at.year < 1990:
        raise FollowUpInvalid("Check the year of the arrival.", field="arrived_at")
    if discharged_at is not None:
        if timezone.is_naive(discharged_at):
            raise FollowUpInvalid("Give the discharge date and time.", field="discharged_at")
        if discharged_at < arrived_at:
            raise FollowUpInvalid(
                "The discharge cannot be before the arrival.", field="discharged_at"
            )
        if discharged_at > now + datetime.timedelta(days=1):
            raise FollowUpInvalid(
                "The discharge is more than a day in the future.", field="discharged_at"
            )


@transaction.atomic
def record_hospital_visit(
    *,
    actor: User,
    case: Case,
    kind: str,
    reason: str,
    arrived_at: datetime.datetime,
    discharged_at: datetime.datetime | None = None,
    admitted: bool = False,
    facility: str = "",
    source_contact: Contact | None = None,
    request=None,
) -> HospitalVisit:
    """Record an ER visit or inpatient admission on the case and enrol the client in the
    post-discharge protocol (the intensive one at high risk), anchored at the discharge
    when known; an inpatient discharge also starts Caring Contacts. A new visit while a
    post-discharge protocol runs restarts it."""
    case = _lock_case(case)
    if source_contact is None:
        _require_worker(actor, case)
    if case.status != CaseStatus.OPEN:
        raise FollowUpInvalid("This case is closed: reopen it with a new contact first.")
    _validate_visit_times(arrived_at, discharged_at)
    if kind not in VisitKind.values:
        raise FollowUpInvalid("Choose ER visit or inpatient admission.", field="kind")
    if reason not in VisitReason.values:
        raise FollowUpInvalid("Choose the reason for the visit.", field="reason")
    visit = HospitalVisit.objects.create(
        agency_id=case.agency_id,
        case=case,
        client_id=case.client_id,
        kind=kind,
        reason=reason,
        arrived_at=arrived_at,
        discharged_at=discharged_at,
        admitted=admitted or kind == VisitKind.INPATIENT,
        facility=(facility or "")[:200],
        source_contact=source_contact,
        recorded_by=actor,
    )
    events.hospital_visit_recorded(visit=visit, actor=actor)
    audit(request=request, actor=actor, action=Action.CREATE, obj=visit, client_id=case.client_id)
    _enrol_for_visit(visit=visit, case=case, actor=actor)
    return visit


def _enrol_for_visit(*, visit: HospitalVisit, case: Case, actor):
    """The post-discharge protocol (the intensive one at high risk) from the visit's
    anchor; a readmission restarts it. An inpatient discharge also starts Caring
    Contacts."""
    high = case.risk_level == RiskLevel.HIGH
    where = "ER visit" if visit.kind == VisitKind.ED else "Hospital admission"
    anchor_word = "discharge" if visit.discharged_at else "arrival"
    reason = (
        f"{where} on {visit.anchor_at.astimezone(agency_tz(case.agency)):%d %b %Y}"
        f" ({visit.get_reason_display().lower()}; counted from the {anchor_word})"
    )
    if high:
        reason += "; high C-SSRS risk"
    for protocol in protocols_for(case.agency_id, Trigger.ED_VISIT, intensive=high):
        enrol(
            case=case,
            protocol=protocol,
            trigger=Trigger.ED_VISIT,
            anchor_at=visit.anchor_at,
            reason=reason,
            actor=actor,
            source_visit=visit,
            restarts=_POST_DISCHARGE,
        )
    if visit.kind == VisitKind.INPATIENT and visit.discharged_at:
        _enrol_caring_contacts(visit=visit, case=case, actor=actor)


def _enrol_caring_contacts(*, visit, case, actor):
    day = visit.discharged_at.astimezone(agency_tz(case.agency))
    for protocol in protocols_for(case.agency_id, Trigger.PSYCHIATRIC_DISCHARGE):
        enrol(
            case=case,
            protocol=protocol,
            trigger=Trigger.PSYCHIATRIC_DISCHARGE,
            anchor_at=visit.discharged_at,
            reason=f"Discharged from hospital on {day:%d %b %Y}",
            actor=actor,
            source_visit=visit,
            restarts=_CARING_CONTACTS,
        )


@transaction.atomic
def record_discharge(
    *,
    actor: User,
    visit: HospitalVisit,
    discharged_at: datetime.datetime,
    admitted: bool | None = None,
    request=None,
) -> HospitalVisit:
    """Record the discharge of a visit: the follow-ups of the protocols it started that
    nobody has worked on yet are counted again from the discharge (the anchor when it is
    known); an inpatient discharge starts Caring Contacts."""
    visit = HospitalVisit.objects.select_for_update().get(pk=visit.pk)
    case = _lock_case(visit.case)
    _require_worker(actor, case)
    if discharged_at is None:
        raise FollowUpInvalid("Give the discharge date and time.", field="discharged_at")
    _validate_visit_times(visit.arrived_at, discharged_at)
    visit.discharged_at = discharged_at
    if admitted is not None:
        visit.admitted = admitted or visit.kind == VisitKind.INPATIENT
    visit.save(update_fields=["discharged_at", "admitted"])
    events.discharge_recorded(visit=visit, actor=actor)
    audit(
        request=request,
        actor=actor,
        action=Action.UPDATE,
        obj=visit,
        client_id=case.client_id,
        detail={"discharged_at": discharged_at.isoformat()},
    )
    _reanchor(visit=visit, case=case, actor=actor, request=request)
    if visit.kind == VisitKind.INPATIENT and case.status == CaseStatus.OPEN:
        _enrol_caring_contacts(visit=visit, case=case, actor=actor)
    return visit


def _window_detail(fu: FollowUp) -> dict:
    return {
        "window_start": fu.window_start.isoformat(),
        "due_at": fu.due_at.isoformat(),
        "window_end": fu.window_end.isoformat(),
    }


def _reanchor(*, visit, case, actor, request=None):
    """Count the visit's active enrolments from its discharge: their open follow-ups
    that nobody has tried yet get the windows of the new anchor (each with a RESCHEDULED
    event keeping the old and new window)."""
    tz = agency_tz(case.agency)
    now = timezone.now()
    enrolments = visit.enrolments.filter(status=EnrolmentStatus.ACTIVE).select_for_update()
    for enrolment in enrolments:
        if enrolment.anchor_at == visit.discharged_at:
            continue
        enrolment.anchor_at = visit.discharged_at
        enrolment.reason = enrolment.reason.replace(
            "counted from the arrival", "counted from the discharge"
        )
        enrolment.save(update_fields=["anchor_at", "reason"])
        untouched = enrolment.followups.filter(status__in=OPEN_STATUSES).exclude(
            attempts__isnull=False
        )
        moved = []
        for fu in untouched.select_for_update(of=("self",)).select_related("step"):
            if fu.step is None:
                continue
            before = _window_detail(fu)
            window = step_window(
                anchor_at=visit.discharged_at,
                unit=fu.step.unit,
                start=fu.step.start,
                due=fu.step.due,
                end=fu.step.end,
                tz=tz,
                shift=(fu.occurrence - 1) * (fu.step.repeat_every or 0),
            )
            _set_window(fu, window.start, window.due, window.end, now=now)
            fu.reason = enrolment.reason
            fu.save()
            events.followup_event(
                followup=fu,
                kind=FollowUpEventKind.RESCHEDULED,
                actor=actor,
                at=now,
                reason="Counted from the discharge",
                detail={"from": before, "to": _window_detail(fu)},
            )
            moved.append(fu.pk)
        audit(
            request=request,
            actor=actor,
            action=Action.UPDATE,
            obj=enrolment,
            agency_id=enrolment.agency_id,
            client_id=case.client_id,
            detail={"anchor_at": visit.discharged_at.isoformat(), "rescheduled": moved},
        )


def _set_window(fu: FollowUp, start, due, end, *, now):
    """Give an open follow-up a new window. Its status follows at the next sweep, made to
    come at once when the status should change now (the engine applies the change and
    its notifications)."""
    fu.window_start, fu.due_at, fu.window_end = start, due, end
    if fu.status_at(now) != fu.status:
        fu.next_check_at = now
    else:
        fu.next_check_at = fu.next_boundary(now)
    fu.lease_until = None
    fu.lease_token = None


# --- Enrolment from contacts and referrals --------------------------------------------------


def enrol_from_contact(*, contact: Contact, actor: User) -> None:
    """What a recorded contact starts: a hospital visit (and its protocol) when the
    client was taken to the ER or hospitalised, the intensive protocol at a high C-SSRS
    risk, a post-crisis check when it was resolved on scene. Idempotent for the same contact. Call inside the contact's transaction
    (cases.services.record_contact does)."""
    case = contact.case
    at = contact.cleared_at or contact.on_scene_at or contact.received_at
    if contact.disposition in (Disposition.EMERGENCY_ROOM, Disposition.HOSPITALISED):
        if HospitalVisit.objects.filter(source_contact=contact).exists():
            return
        kind = (
            VisitKind.ED
            if contact.disposition == Disposition.EMERGENCY_ROOM
            else VisitKind.INPATIENT
        )
        concerns = contact.presenting_concerns.values_list("code", flat=True)
        nature = CallNature.objects.filter(pk=contact.call_nature_id).values_list("code", flat=True)
        record_hospital_visit(
            actor=actor,
            case=case,
            kind=kind,
            reason=reason_from_concerns(concerns, nature.first() or ""),
            arrived_at=at,
            admitted=kind == VisitKind.INPATIENT,
            source_contact=contact,
        )
    elif contact.risk_level == RiskLevel.HIGH:
        already = Enrolment.objects.filter(
            case=case, status=EnrolmentStatus.ACTIVE, version__protocol__intensive=True
        ).exists()
        if not already:
            day = at.astimezone(agency_tz(case.agency))
            for protocol in protocols_for(contact.agency_id, Trigger.HIGH_RISK):
                enrol(
                    case=case,
                    protocol=protocol,
                    trigger=Trigger.HIGH_RISK,
                    anchor_at=at,
                    reason=f"High suicide risk on the C-SSRS screener, {day:%d %b %Y}",
                    actor=actor,
                    source_contact=contact,
                )
    if contact.disposition == Disposition.RESOLVED_ON_SCENE:
        _enrol_post_crisis(contact=contact, case=case, at=at, actor=actor)


def _enrol_post_crisis(*, contact, case, at, actor):
    """A check 48 hours after a contact resolved on scene, unless one is still pending
    for the case: the contact that does a pending check (recorded from the Today list,
    often resolved on scene) must complete it, not cancel it or start another."""
    day = at.astimezone(agency_tz(case.agency))
    for protocol in protocols_for(contact.agency_id, Trigger.RESOLVED_ON_SCENE):
        pending = FollowUp.objects.filter(
            case=case,
            status__in=OPEN_STATUSES,
            enrolment__status=EnrolmentStatus.ACTIVE,
            enrolment__version__protocol=protocol,
        )
        if pending.exists():
            continue
        enrol(
            case=case,
            protocol=protocol,
            trigger=Trigger.RESOLVED_ON_SCENE,
            anchor_at=at,
            reason=f"Crisis contact resolved on scene, {day:%d %b %Y %H:%M}",
            actor=actor,
            source_contact=contact,
        )


def enrol_from_referral(*, referral, actor: User) -> None:
    """A sent referral gets a referral check. Call inside send_referral's transaction."""
    for protocol in protocols_for(referral.agency_id, Trigger.REFERRAL_SENT):
        enrol(
            case=referral.case,
            protocol=protocol,
            trigger=Trigger.REFERRAL_SENT,
            anchor_at=referral.sent_at,
            reason=f"Referral sent to {referral.provider_name}"[:300],
            actor=actor,
            source_referral=referral,
        )


def end_engaged_in_care(*, case: Case, actor: User | None, reason: str) -> int:
    """End the case's protocols that run until the client is engaged in care (the weekly
    Safety Planning calls). Returns how many ended. Call inside the transaction of what
    showed it (a mental health referral completed)."""
    reason = _clean_reason(reason)
    running = (
        Enrolment.objects.select_for_update(of=("self",))
        .select_related("version__protocol", "case")
        .filter(case=case, status=EnrolmentStatus.ACTIVE, version__end_rule=EndRule.ENGAGED_IN_CARE)
    )
    now = timezone.now()
    ended = list(running)
    for enrolment in ended:
        _end(enrolment, actor=actor, reason=reason, now=now)
    return len(ended)


# --- One follow-up --------------------------------------------------------------------------


def _lock(followup: FollowUp) -> FollowUp:
    return (
        FollowUp.objects.select_for_update(of=("self",))
        .select_related("case__agency", "case__client", "step", "enrolment__version")
        .get(pk=followup.pk)
    )


def _is_time(value) -> bool:
    return isinstance(value, datetime.datetime) and not timezone.is_naive(value)


def _check_due(due_at, *, field="due_at"):
    if not _is_time(due_at):
        raise FollowUpInvalid("Give the date and time it is due.", field=field)
    now = timezone.now()
    if due_at > now + MAX_DUE_AHEAD:
        raise FollowUpInvalid("Check the date: that is more than five years ahead.", field=field)
    if due_at < now - datetime.timedelta(days=1):
        raise FollowUpInvalid("A follow-up cannot be due in the past.", field=field)


def _end_of_local_day(at: datetime.datetime, tz: zoneinfo.ZoneInfo) -> datetime.datetime:
    """The midnight that ends `at`'s date in `tz` (the written DST rule, schedule.py)."""
    return local_midnight(at.astimezone(tz).date() + datetime.timedelta(days=1), tz)


def _start_of_local_day(at: datetime.datetime, tz: zoneinfo.ZoneInfo) -> datetime.datetime:
    return local_midnight(at.astimezone(tz).date(), tz)


@transaction.atomic
def create_followup(
    *,
    actor: User,
    case: Case,
    due_at: datetime.datetime,
    reason: str,
    method: str = Method.PHONE,
    title: str = "",
    window_start: datetime.datetime | None = None,
    window_end: datetime.datetime | None = None,
    assigned_to: User | None = None,
    request=None,
) -> FollowUp:
    """A one-off follow-up a worker adds by hand, due at `due_at`. By default its window
    is the due date (agency time zone): it opens at the start of that day and is missed
    at its end. Its window must not have closed already."""
    case = _lock_case(case)
    _require_worker(actor, case)
    if case.status != CaseStatus.OPEN:
        raise FollowUpInvalid("This case is closed.")
    _check_due(due_at)
    reason = _clean_reason(reason)
    if method not in Method.values:
        raise FollowUpInvalid("Choose how to follow up.", field="method")
    tz = agency_tz(case.agency)
    if window_start is None:
        window_start = min(_start_of_local_day(due_at, tz), due_at)
    elif not _is_time(window_start) or window_start > due_at:
        raise FollowUpInvalid(
            "The window must open at or before the due time.", field="window_start"
        )
    if window_end is None:
        window_end = max(_end_of_local_day(due_at, tz), due_at)
    elif not _is_time(window_end) or window_end < due_at:
        raise FollowUpInvalid("The window cannot close before it is due.", field="window_end")
    now = timezone.now()
    if window_end <= now:
        raise FollowUpInvalid(
            "That day is already over: choose a due time from now on.", field="due_at"
        )
    assignee = assigned_to or case.assigned_worker
    if assignee.agency_id != case.agency_id or not assignee.works_cases:
        raise FollowUpInvalid("Assign it to a worker of this agency.", field="assigned_to")
    fu = FollowUp(
        agency_id=case.agency_id,
        case=case,
        title=" ".join((title or "").replace("\x00", "").split())[:200] or "One-off follow-up",
        reason=reason,
        method=method,
        assigned_to=assignee,
        window_start=window_start,
        due_at=due_at,
        window_end=window_end,
        created_by=actor,
    )
    fu = _save_new([fu], actor=actor, now=now)[0]
    events.on_timeline(
        case_id=case.pk,
        actor=actor,
        summary=f"Follow-up added: {fu.title} ({reason})",
        detail={"followup_id": fu.pk},
    )
    audit(
        request=request,
        actor=actor,
        action=Action.CREATE,
        obj=fu,
        client_id=case.client_id,
        detail={"due_at": due_at.isoformat(), "assigned_to": assignee.pk},
    )
    return fu


def _close(fu: FollowUp, *, to_status, actor, now, reason="", **fields):
    old = fu.status
    fu.status = to_status
    fu.status_changed_at = now
    fu.next_check_at = None
    fu.lease_until = None
    fu.lease_token = None
    for name, value in fields.items():
        setattr(fu, name, value)
    fu.save()
    events.status_changed(followup=fu, actor=actor, from_status=old, at=now, reason=reason)
    schedule_next_occurrence(fu, actor=actor)
    return fu


def _earliest_work(fu: FollowUp) -> datetime.datetime:
    """Work on a follow-up cannot predate its cause: the anchor of its protocol, or the
    day it was added by hand."""
    if fu.enrolment_id:
        return fu.enrolment.anchor_at
    return min(fu.created_at, fu.window_start) - datetime.timedelta(days=1)


def _check_contact(fu: FollowUp, contact: Contact | None):
    if contact is None:
        return
    if contact.case_id != fu.case_id:
        raise FollowUpInvalid("That contact is on another case.", field="contact")
    if fu.enrolment_id and fu.enrolment.source_contact_id == contact.pk:
        raise FollowUpInvalid(
            "That is the contact this follow-up comes from: record the follow-up contact.",
            field="contact",
        )


@transaction.atomic
def complete_followup(
    *,
    actor: User,
    followup: FollowUp,
    contact: Contact | None = None,
    at: datetime.datetime | None = None,
    note: str = "",
    request=None,
) -> FollowUp:
    """Mark a follow-up done, by `contact` when a contact completed it (done at the
    contact's time). A missed one can still be completed late: it then does not count as
    done within its window. Completing it again by the same contact changes nothing."""
    fu = _lock(followup)
    _require_worker(actor, fu.case)
    if fu.status in (Status.COMPLETED, Status.CANCELLED):
        if contact is not None and fu.completed_contact_id == contact.pk:
            return fu
        raise FollowUpClosed(f"This follow-up is already {fu.get_status_display().lower()}.")
    _check_contact(fu, contact)
    if at is not None and not _is_time(at):
        raise FollowUpInvalid("Give the date and time it was done.", field="at")
    now = timezone.now()
    done_at = at or (contact.received_at if contact else now)
    field = "at" if at is not None or contact is None else "contact"
    if done_at > now + datetime.timedelta(minutes=5):
        raise FollowUpInvalid("It cannot be done in the future.", field=field)
    if done_at < _earliest_work(fu):
        raise FollowUpInvalid("That is before the reason for this follow-up.", field=field)
    _close(
        fu,
        to_status=Status.COMPLETED,
        actor=actor,
        now=now,
        reason=_clean_reason(note, field="note", required=False),
        completed_at=done_at,
        completed_by=actor,
        completed_contact=contact,
    )
    events.on_timeline(
        case_id=fu.case_id,
        actor=actor,
        summary=f"Follow-up done: {fu.title}",
        detail={"followup_id": fu.pk, "contact_id": contact.pk if contact else None},
    )
    audit(
        request=request,
        actor=actor,
        action=Action.UPDATE,
        obj=fu,
        client_id=fu.case.client_id,
        detail={
            "status": "completed",
            "completed_at": done_at.isoformat(),
            "contact_id": contact.pk if contact else None,
        },
    )
    return fu


@transaction.atomic
def log_attempt(
    *,
    actor: User,
    followup: FollowUp,
    outcome: str,
    method: str | None = None,
    note: str = "",
    at: datetime.datetime | None = None,
    contact: Contact | None = None,
    request=None,
) -> Attempt:
    """Log one try (on an open or missed follow-up). Reached completes the follow-up;
    declined on a protocol that runs until the client is engaged in care ends that
    protocol (the client declines further calls). Returns the attempt."""
    fu = _lock(followup)
    _require_worker(actor, fu.case)
    if fu.status in (Status.COMPLETED, Status.CANCELLED):
        raise FollowUpClosed(f"This follow-up is already {fu.get_status_display().lower()}.")
    if outcome not in AttemptOutcome.values:
        raise FollowUpInvalid("Choose what happened.", field="outcome")
    method = method or fu.method
    if method not in Method.values:
        raise FollowUpInvalid("Choose how you tried.", field="method")
    _check_contact(fu, contact)
    now = timezone.now()
    at = now if at is None else at
    if not _is_time(at) or at > now + datetime.timedelta(minutes=5):
        raise FollowUpInvalid("An attempt cannot be in the future.", field="at")
    if at < _earliest_work(fu):
        raise FollowUpInvalid("That is before the reason for this follow-up.", field="at")
    note = (note or "").replace("\x00", "")[:2000]
    attempt = Attempt.objects.create(
        followup=fu, at=at, method=method, outcome=outcome, note=note, by=actor, contact=contact
    )
    events.followup_event(
        followup=fu,
        kind=FollowUpEventKind.ATTEMPT,
        actor=actor,
        at=now,
        detail={"attempt_id": attempt.pk, "outcome": outcome, "method": method},
    )
    audit(
        request=request,
        actor=actor,
        action=Action.CREATE,
        obj=attempt,
        agency_id=fu.agency_id,
        client_id=fu.case.client_id,
        detail={"followup_id": fu.pk, "outcome": outcome},
    )
    if outcome == AttemptOutcome.REACHED:
        complete_followup(actor=actor, followup=fu, contact=contact, at=at, request=request)
    elif (
        outcome == AttemptOutcome.DECLINED
        and fu.enrolment_id
        and fu.enrolment.version.end_rule == EndRule.ENGAGED_IN_CARE
        and fu.enrolment.status == EnrolmentStatus.ACTIVE
    ):
        end_enrolment(
            actor=actor,
            enrolment=fu.enrolment,
            reason="The client declined further calls",
            request=request,
        )
    return attempt


@transaction.atomic
def move_followup(
    *, actor: User, followup: FollowUp, due_at: datetime.datetime, reason: str, request=None
) -> FollowUp:
    """Move an open follow-up's due time, keeping its window's length around it; the old
    and new window, the reason, who and when are kept in its history. A missed one
    cannot be moved (its window closed: that stays on the record); it can still be
    recorded as done late, or a one-off follow-up added."""
    fu = _lock(followup)
    _require_worker(actor, fu.case)
    if not fu.is_open:
        raise FollowUpClosed(f"This follow-up is already {fu.get_status_display().lower()}.")
    reason = _clean_reason(reason)
    _check_due(due_at)
    now = timezone.now()
    delta = due_at - fu.due_at
    if fu.window_end + delta <= now:
        raise FollowUpInvalid(
            "Its window would already be closed: choose a later time.", field="due_at"
        )
    before = _window_detail(fu)
    _set_window(fu, fu.window_start + delta, due_at, fu.window_end + delta, now=now)
    fu.save()
    events.followup_event(
        followup=fu,
        kind=FollowUpEventKind.RESCHEDULED,
        actor=actor,
        at=now,
        reason=reason,
        from_status=fu.status,
        to_status=fu.status,
        detail={"from": before, "to": _window_detail(fu)},
    )
    events.on_timeline(
        case_id=fu.case_id,
        actor=actor,
        summary=f"Follow-up moved: {fu.title} ({reason})",
        detail={"followup_id": fu.pk},
    )
    audit(
        request=request,
        actor=actor,
        action=Action.UPDATE,
        obj=fu,
        client_id=fu.case.client_id,
        detail={"due_at": due_at.isoformat(), "from": before["due_at"], "reason": reason},
    )
    return fu


@transaction.atomic
def cancel_followup(*, actor: User, followup: FollowUp, reason: str, request=None) -> FollowUp:
    """Cancel one open follow-up with a reason. A cancelled weekly call does not stop the
    calls: the next one is scheduled while the protocol runs."""
    fu = _lock(followup)
    _require_worker(actor, fu.case)
    if not fu.is_open:
        raise FollowUpClosed(f"This follow-up is already {fu.get_status_display().lower()}.")
    reason = _clean_reason(reason)
    now = timezone.now()
    _cancel_open(FollowUp.objects.filter(pk=fu.pk), actor=actor, reason=reason, now=now)
    fu.refresh_from_db()
    schedule_next_occurrence(fu, actor=actor)
    events.on_timeline(
        case_id=fu.case_id,
        actor=actor,
        summary=f"Follow-up cancelled: {fu.title} ({reason})",
        detail={"followup_id": fu.pk},
    )
    audit(
        request=request,
        actor=actor,
        action=Action.UPDATE,
        obj=fu,
        client_id=fu.case.client_id,
        detail={"status": "cancelled", "reason": reason},
    )
    return fu


# --- What case changes do -------------------------------------------------------------------


def cancel_for_closed_case(*, case: Case, actor: User, request=None) -> int:
    """Closing a case cancels its pending follow-ups (each with a CANCELLED event and the
    reason) and ends its enrolments. Call inside close_case's transaction. Returns how
    many follow-ups were cancelled."""
    now = timezone.now()
    reason = "The case was closed"
    enrolments = list(
        Enrolment.objects.select_for_update(of=("self",)).filter(
            case=case, status=EnrolmentStatus.ACTIVE
        )
    )
    for enrolment in enrolments:
        enrolment.status = EnrolmentStatus.ENDED
        enrolment.ended_at = now
        enrolment.end_reason = reason
        enrolment.save(update_fields=["status", "ended_at", "end_reason"])
    cancelled = _cancel_open(
        FollowUp.objects.filter(case=case), actor=actor, reason=reason, now=now
    )
    if enrolments or cancelled:
        audit(
            request=request,
            actor=actor,
            action=Action.UPDATE,
            object_type="followup",
            agency_id=case.agency_id,
            client_id=case.client_id,
            detail={
                "case_id": case.pk,
                "reason": reason,
                "cancelled_followups": [fu.pk for fu in cancelled],
                "ended_enrolments": [e.pk for e in enrolments],
            },
        )
    return len(cancelled)


def move_to_new_worker(
    *, case: Case, old_worker_id: int, new_worker: User, actor: User, request=None
) -> int:
    """Reassigning a case moves its open follow-ups from the old worker to the new one
    (those of the team's supervisor stay). Call inside the reassignment's transaction.
    Returns how many moved."""
    now = timezone.now()
    moving = list(
        FollowUp.objects.select_for_update().filter(
            case=case, status__in=OPEN_STATUSES, assigned_to_id=old_worker_id
        )
    )
    for fu in moving:
        fu.assigned_to = new_worker
        fu.save(update_fields=["assigned_to"])
        events.followup_event(
            followup=fu,
            kind=FollowUpEventKind.REASSIGNED,
            actor=actor,
            at=now,
            detail={"from": old_worker_id, "to": new_worker.pk},
        )
    if moving:
        # UPDATE, not REASSIGN: the reassignment's own audit row is the case's.
        audit(
            request=request,
            actor=actor,
            action=Action.UPDATE,
            object_type="followup",
            agency_id=case.agency_id,
            client_id=case.client_id,
            detail={
                "case_id": case.pk,
                "followups": [fu.pk for fu in moving],
                "from_worker": old_worker_id,
                "to_worker": new_worker.pk,
            },
        )
    return len(moving)


# --- Protocols ------------------------------------------------------------------------------

STEP_FIELDS = (
    "name",
    "unit",
    "start",
    "due",
    "end",
    "method",
    "performer",
    "repeat_every",
    "repeat_times",
)
MAX_STEPS = 40
MAX_OFFSET = {Unit.DAYS: 366 * 5, Unit.HOURS: 24 * 366}


def _require_agency_admin(actor: User, protocol: Protocol):
    if actor.role != Role.AGENCY_ADMIN or actor.agency_id != protocol.agency_id:
        raise NotPermitted("Only the agency's administrators change its protocols.")


def _clean_step(n: int, raw: dict) -> dict:
    """One step's values, checked; `n` is its 1-based position for the messages."""
    step = {name: raw.get(name) for name in STEP_FIELDS}
    where = f"Step {n}"
    step["name"] = " ".join(str(step["name"] or "").replace("\x00", "").split())[:120]
    if not step["name"]:
        raise FollowUpInvalid(f"{where}: give it a name.", field="steps")
    if step["unit"] not in Unit.values:
        raise FollowUpInvalid(f"{where}: choose days or hours.", field="steps")
    if step["method"] not in Method.values:
        raise FollowUpInvalid(f"{where}: choose how the contact is made.", field="steps")
    if step["performer"] not in Performer.values:
        raise FollowUpInvalid(f"{where}: choose who does it.", field="steps")
    for name in ("start", "due", "end"):
        value = step[name]
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise FollowUpInvalid(f"{where}: {name} must be a whole number from 0.", field="steps")
        if value > MAX_OFFSET[step["unit"]]:
            raise FollowUpInvalid(f"{where}: {name} is too far from the anchor.", field="steps")
    if not step["start"] <= step["due"] <= step["end"]:
        raise FollowUpInvalid(
            f"{where}: the window must open, fall due and close in that order "
            "(start <= due <= end).",
            field="steps",
        )
    every, times = step["repeat_every"], step["repeat_times"]
    if every in (None, 0, ""):
        if times not in (None, 0, ""):
            raise FollowUpInvalid(f"{where}: say how often it repeats.", field="steps")
        step["repeat_every"] = step["repeat_times"] = None
        return step
    if not isinstance(every, int) or every < 1:
        raise FollowUpInvalid(f"{where}: it repeats every 1 or more units.", field="steps")
    if every <= step["end"] - step["start"]:
        raise FollowUpInvalid(
            f"{where}: it repeats before its window closes; repeat less often or "
            "narrow the window.",
            field="steps",
        )
    if times in (None, ""):
        step["repeat_times"] = None
    elif not isinstance(times, int) or not 2 <= times <= 100:
        raise FollowUpInvalid(
            f"{where}: it repeats 2 to 100 times in all, or leave it blank.", field="steps"
        )
    return step


@transaction.atomic
def save_protocol_version(
    *,
    actor: User,
    protocol: Protocol,
    description: str,
    end_rule: str,
    steps: list[dict],
    change_note: str,
    request=None,
) -> ProtocolVersion:
    """Save a new version of an agency's protocol (number + 1). Enrolments already made
    keep the version they follow; the new one applies to new enrolments only."""
    _require_agency_admin(actor, protocol)
    protocol = Protocol.objects.select_for_update().get(pk=protocol.pk)
    description = (description or "").replace("\x00", "").strip()
    if not description:
        raise FollowUpInvalid("Describe the protocol and its evidence.", field="description")
    if len(description) > 4000:
        raise FollowUpInvalid("Keep the description under 4000 characters.", field="description")
    if end_rule not in EndRule.values:
        raise FollowUpInvalid("Choose when the protocol ends.", field="end_rule")
    change_note = _clean_reason(change_note, field="change_note")
    if not steps:
        raise FollowUpInvalid("A protocol needs at least one step.", field="steps")
    if len(steps) > MAX_STEPS:
        raise FollowUpInvalid(f"Keep it to {MAX_STEPS} steps.", field="steps")
    cleaned = [_clean_step(n, raw) for n, raw in enumerate(steps, start=1)]
    last = protocol.versions.order_by("-number").values_list("number", flat=True).first() or 0
    version = ProtocolVersion.objects.create(
        protocol=protocol,
        number=last + 1,
        description=description,
        end_rule=end_rule,
        created_by=actor,
        change_note=change_note,
    )
    ProtocolStep.objects.bulk_create(
        ProtocolStep(version=version, position=n, **step) for n, step in enumerate(cleaned, start=1)
    )
    audit(
        request=request,
        actor=actor,
        action=Action.UPDATE,
        obj=protocol,
        agency_id=protocol.agency_id,
        detail={"version": version.number, "change_note": change_note, "steps": len(cleaned)},
    )
    return version


@transaction.atomic
def set_protocol_active(*, actor: User, protocol: Protocol, active: bool, request=None) -> Protocol:
    """Switch a protocol on or off for new enrolments; running enrolments carry on."""
    _require_agency_admin(actor, protocol)
    protocol = Protocol.objects.select_for_update().get(pk=protocol.pk)
    if protocol.is_active != active:
        protocol.is_active = active
        protocol.save(update_fields=["is_active"])
        audit(
            request=request,
            actor=actor,
            action=Action.UPDATE,
            obj=protocol,
            agency_id=protocol.agency_id,
            detail={"is_active": active},
        )
    return protocol
