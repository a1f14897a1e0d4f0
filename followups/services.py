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
from cases.models import Case, CaseStatus, Contact, Disposition
from followups import events
from followups.exceptions import FollowUpClosed, FollowUpInvalid, NotPermitted
from followups.models import (
    OPEN_STATUSES,
    AttemptOutcome,
    EndRule,
    Enrolment,
    EnrolmentStatus,
    FollowUp,
    FollowUpEventKind,
    HospitalVisit,
    Method,
    Performer,
    Protocol,
    ProtocolStep,
    Status,
    Trigger,
    VisitKind,
    VisitReason,
)
from followups.protocols import install_standard_protocols
from followups.schedule import step_window

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


def protocols_for(agency_id: int, trigger: str, *, intensive: bool = False):
    """The agency's active protocols for a trigger (installing the standard ones the first
    time an agency needs any). For an ED visit with a high risk the intensive one is
    chosen instead of the plain one; a high risk alone enrols in the intensive one."""
    if not Protocol.objects.filter(agency_id=agency_id).exists():
        install_standard_protocols(agency_id)
    protocols = Protocol.objects.for_agency(agency_id).active()
    if trigger == Trigger.HIGH_RISK:
        return list(protocols.filter(intensive=True, trigger=Trigger.ED_VISIT))
    chosen = list(protocols.filter(trigger=trigger))
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
    title = step.name if occurrence == 1 or step.repeat_times else f"{step.name} {occurrence}"
    if step.repeat_every and step.repeat_times:
        title = f"{step.name} {occurrence} of {step.repeat_times}"
    return FollowUp(
        agency_id=case.agency_id,
        case=case,
        enrolment=enrolment,
        step=step,
        occurrence=occurrence,
        title=f"{protocol.name}: {title}"[:200],
        reason=enrolment.reason,
        method=step.method,
        assigned_to=_performer_for(case, step.performer),
        window_start=window.start,
        due_at=window.due,
        window_end=window.end,
        created_by=actor,
    )


def _save_new(followups: list[FollowUp], *, actor, now) -> list[FollowUp]:
    """Save new follow-ups with their status at `now` and their first sweep time."""
    for fu in followups:
        fu.status = Status.SCHEDULED
        status = fu.status_at(now)
        # Created already past its window (a back-dated anchor): missed from the start,
        # shown as such, never silently dropped.
        fu.status = status
        fu.status_changed_at = now
        fu.next_check_at = now if status in (Status.DUE, Status.OVERDUE) else fu.next_boundary(now)
        if status == Status.MISSED:
            fu.next_check_at = None
    saved = FollowUp.objects.bulk_create(followups)
    for fu in saved:
        events.followup_event(
            followup=fu,
            kind=FollowUpEventKind.CREATED,
            actor=actor,
            to_status=fu.status,
            reason=fu.reason,
        )
    return saved


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
    request=None,
) -> Enrolment | None:
    """Enrol an open case in the current version of `protocol` from `anchor_at`. Returns
    None when the same fact already enrolled it in this version (idempotent)."""
    case = _lock_case(case)
    if case.status != CaseStatus.OPEN:
        return None
    version = protocol.current_version()
    if version is None:
        return None
    sources = {
        "source_contact": source_contact,
        "source_visit": source_visit,
        "source_referral": source_referral,
    }
    given = {k: v for k, v in sources.items() if v is not None}
    if given and Enrolment.objects.filter(version=version, **given).exists():
        return None
    now = timezone.now()
    enrolment = Enrolment.objects.create(
        agency_id=case.agency_id,
        case=case,
        version=version,
        trigger=trigger,
        reason=_clean_reason(reason)[:300],
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
    """After an occurrence of an open-ended repeating step closes, schedule the next one
    while its enrolment is active. Call inside the transaction that closed it."""
    step = followup.step
    enrolment = followup.enrolment
    if step is None or enrolment is None or not step.repeat_every or step.repeat_times:
        return None
    if followup.occurrence >= MAX_OPEN_ENDED_OCCURRENCES:
        return None
    enrolment = Enrolment.objects.select_for_update().get(pk=enrolment.pk)
    if enrolment.status != EnrolmentStatus.ACTIVE:
        return None
    case = Case.objects.select_related("agency", "assigned_worker").get(pk=followup.case_id)
    if case.status != CaseStatus.OPEN:
        return None
    occurrence = followup.occurrence + 1
    if FollowUp.objects.filter(enrolment=enrolment, step=step, occurrence=occurrence).exists():
        return None
    nxt = _followup_for_step(
        enrolment=enrolment,
        step=step,
        occurrence=occurrence,
        case=case,
        tz=agency_tz(case.agency),
        actor=actor,
    )
    return _save_new([nxt], actor=actor, now=timezone.now())[0]


def _cancel_open(followups, *, actor, reason, now):
    """Cancel every open follow-up in the queryset, each with an event. Returns them."""
    cancelled = []
    for fu in followups.filter(status__in=OPEN_STATUSES).select_for_update():
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
    """End an enrolment (client engaged in care, declined further calls, restarted by a
    readmission, ...): its open follow-ups are cancelled with the reason."""
    reason = _clean_reason(reason)
    enrolment = (
        Enrolment.objects.select_for_update()
        .select_related("version__protocol")
        .get(pk=enrolment.pk)
    )
    if actor is not None:
        _require_worker(actor, enrolment.case)
    if enrolment.status != EnrolmentStatus.ACTIVE:
        raise FollowUpClosed("This protocol has already ended for the client.")
    now = timezone.now()
    enrolment.status = EnrolmentStatus.CANCELLED if cancelled else EnrolmentStatus.ENDED
    enrolment.ended_at = now
    enrolment.end_reason = reason
    enrolment.save(update_fields=["status", "ended_at", "end_reason"])
    _cancel_open(enrolment.followups.all(), actor=actor, reason=reason, now=now)
    events.enrolment_ended(enrolment=enrolment, actor=actor, cancelled=cancelled)
    if request is not None:
        audit(
            request=request,
            actor=actor,
            action=Action.UPDATE,
            obj=enrolment,
            agency_id=enrolment.agency_id,
            detail={"ended": reason},
        )
    return enrolment


def _restart_on_readmission(case: Case, *, actor, at) -> None:
    """A readmission restarts the post-discharge protocols: the running ones end."""
    running = Enrolment.objects.filter(
        case=case,
        status=EnrolmentStatus.ACTIVE,
        version__protocol__trigger=Trigger.ED_VISIT,
    )
    for enrolment in running:
        end_enrolment(
            actor=None,
            enrolment=enrolment,
            reason=f"Restarted by a new hospital visit on {at.date().isoformat()}",
        )


# --- Hospital visits ------------------------------------------------------------------------


def reason_from_concerns(concern_codes) -> str:
    """An ED visit's reason from the contact's presenting concerns."""
    codes = set(concern_codes)
    if codes & {"overdose"}:
        return VisitReason.OVERDOSE
    if codes & {"substance_use", "intoxication", "alcohol"}:
        return VisitReason.SUBSTANCE_USE
    if codes & {"self_harm", "suicidal"}:
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
    _restart_on_readmission(case, actor=actor, at=visit.arrived_at)
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
        )
    if visit.kind == VisitKind.INPATIENT and visit.discharged_at:
        _enrol_caring_contacts(visit=visit, case=case, actor=actor)


def _enrol_caring_contacts(*, visit, case, actor):
    for protocol in protocols_for(case.agency_id, Trigger.PSYCHIATRIC_DISCHARGE):
        enrol(
            case=case,
            protocol=protocol,
            trigger=Trigger.PSYCHIATRIC_DISCHARGE,
            anchor_at=visit.discharged_at,
            reason=f"Discharged from hospital on {visit.discharged_at:%d %b %Y}",
            actor=actor,
            source_visit=visit,
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
    nobody has worked on yet are counted again from the discharge."""
    visit = HospitalVisit.objects.select_for_update().get(pk=visit.pk)
    case = _lock_case(visit.case)
    _require_worker(actor, case)
    _validate_visit_times(visit.arrived_at, discharged_at)
    if discharged_at is None:
        raise FollowUpInvalid("Give the discharge date and time.", field="discharged_at")
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
    _reanchor(visit=visit, case=case, actor=actor)
    if visit.kind == VisitKind.INPATIENT:
        _enrol_caring_contacts(visit=visit, case=case, actor=actor)
    return visit


def _reanchor(*, visit, case, actor):
    tz = agency_tz(case.agency)
    now = timezone.now()
    for enrolment in visit.enrolments.filter(status=EnrolmentStatus.ACTIVE):
        enrolment.anchor_at = visit.discharged_at
        enrolment.reason = enrolment.reason.replace(
            "counted from the arrival", "counted from the discharge"
        )
        enrolment.save(update_fields=["anchor_at", "reason"])
        untouched = enrolment.followups.filter(status__in=OPEN_STATUSES, attempts__isnull=True)
        for fu in untouched.select_for_update(of=("self",)).select_related("step"):
            if fu.step is None:
                continue
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
                reason="Counted from the discharge",
                detail={"due_at": window.due.isoformat()},
            )


def _set_window(fu: FollowUp, start, due, end, *, now):
    """Give an open follow-up a new window; its status follows at the next sweep, which
    is made to come at once when the status should change now."""
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
    risk, a post-crisis check when it was resolved on scene. Call inside the contact's
    transaction (cases.services.record_contact does)."""
    case = contact.case
    at = contact.cleared_at or contact.on_scene_at or contact.received_at
    concerns = list(contact.presenting_concerns.values_list("code", flat=True))
    if contact.disposition in (Disposition.EMERGENCY_ROOM, Disposition.HOSPITALISED):
        kind = (
            VisitKind.ED
            if contact.disposition == Disposition.EMERGENCY_ROOM
            else (VisitKind.INPATIENT)
        )
        record_hospital_visit(
            actor=actor,
            case=case,
            kind=kind,
            reason=reason_from_concerns(concerns),
            arrived_at=at,
            admitted=kind == VisitKind.INPATIENT,
            source_contact=contact,
        )
    elif contact.risk_level == RiskLevel.HIGH:
        already = Enrolment.objects.filter(
            case=case, status=EnrolmentStatus.ACTIVE, version__protocol__intensive=True
        ).exists()
        if not already:
            for protocol in protocols_for(contact.agency_id, Trigger.HIGH_RISK):
                enrol(
                    case=case,
                    protocol=protocol,
                    trigger=Trigger.HIGH_RISK,
                    anchor_at=at,
                    reason=f"High suicide risk on the C-SSRS screener, {at:%d %b %Y}",
                    actor=actor,
                    source_contact=contact,
                )
    if contact.disposition == Disposition.RESOLVED_ON_SCENE:
        for protocol in protocols_for(contact.agency_id, Trigger.RESOLVED_ON_SCENE):
            enrol(
                case=case,
                protocol=protocol,
                trigger=Trigger.RESOLVED_ON_SCENE,
                anchor_at=at,
                reason=f"Crisis contact resolved on scene, {at:%d %b %Y %H:%M} UTC",
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
    Safety Planning calls). Returns how many ended."""
    running = Enrolment.objects.filter(
        case=case, status=EnrolmentStatus.ACTIVE, version__end_rule=EndRule.ENGAGED_IN_CARE
    )
    count = 0
    for enrolment in running:
        end_enrolment(actor=None, enrolment=enrolment, reason=reason)
        count += 1
    return count


# --- One follow-up --------------------------------------------------------------------------


def _lock(followup: FollowUp) -> FollowUp:
    return (
        FollowUp.objects.select_for_update(of=("self",))
        .select_related("case__agency", "case__client", "step", "enrolment")
        .get(pk=followup.pk)
    )


def _check_due(due_at, *, field="due_at"):
    if not isinstance(due_at, datetime.datetime) or timezone.is_naive(due_at):
        raise FollowUpInvalid("Give the date and time it is due.", field=field)
    now = timezone.now()
    if due_at > now + MAX_DUE_AHEAD:
        raise FollowUpInvalid("Check the date: that is more than five years ahead.", field=field)
    if due_at < now - datetime.timedelta(days=1):
        raise FollowUpInvalid("A follow-up cannot be due in the past.", field=field)


@transaction.atomic
def create_followup(
    *,
    actor: User,
    case: Case,
    due_at: datetime.datetime,
    reason: str,
    method: str = Method.PHONE,
    title: str = "",
    window_end: datetime.datetime | None = None,
    assigned_to: User | None = None,
    request=None,
) -> FollowUp:
    """A one-off follow-up a worker adds by hand: open now, due at `due_at`, missed after
    `window_end` (by default the end of the due date's day in the agency's time zone)."""
    case = _lock_case(case)
    _require_worker(actor, case)
    if case.status != CaseStatus.OPEN:
        raise FollowUpInvalid("This case is closed.")
    _check_due(due_at)
    reason = _clean_reason(reason)
    if method not in Method.values:
        raise FollowUpInvalid("Choose how to follow up.", field="method")
    tz = agency_tz(case.agency)
    if window_end is None:
        local_day = due_at.astimezone(tz).date() + datetime.timedelta(days=1)
        window_end = max(
            datetime.datetime.combine(local_day, datetime.time(), tzinfo=tz).astimezone(
                datetime.UTC
            ),
            due_at,
        )
    if window_end < due_at:
        raise FollowUpInvalid("The window cannot close before it is due.", field="window_end")
    assignee = assigned_to or case.assigned_worker
    if assignee.agency_id != case.agency_id or not assignee.works_cases:
        raise FollowUpInvalid("Assign it to a worker of this agency.", field="assigned_to")
    now = timezone.now()
    fu = FollowUp(
        agency_id=case.agency_id,
        case=case,
        title=(title or "One-off follow-up").strip()[:200],
        reason=reason,
        method=method,
        assigned_to=assignee,
        window_start=min(now, due_at),
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
    audit(request=request, actor=actor, action=Action.CREATE, obj=fu, client_id=case.client_id)
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
    """Mark a follow-up done, by `contact` when a contact completed it. A missed one can
    still be completed late (it then does not count as done within its window)."""
    fu = _lock(followup)
    _require_worker(actor, fu.case)
    if fu.status in (Status.COMPLETED, Status.CANCELLED):
        if contact is not None and fu.completed_contact_id == contact.pk:
            return fu
        raise FollowUpClosed(f"This follow-up is already {fu.get_status_display().lower()}.")
    if contact is not None and contact.case_id != fu.case_id:
        raise FollowUpInvalid("That contact is on another case.", field="contact")
    now = timezone.now()
    done_at = at or (contact.received_at if contact else now)
    if done_at > now + datetime.timedelta(minutes=5):
        raise FollowUpInvalid("It cannot be done in the future.", field="at")
    _close(
        fu,
        to_status=Status.COMPLETED,
        actor=actor,
        now=now,
        reason=_clean_reason(note, required=False),
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
        detail={"status": "completed"},
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
):
    """Log one try. Reached completes the follow-up; declined on a protocol that runs
    until the client is engaged in care ends that protocol (the client declines further
    calls). Returns the attempt."""
    from followups.models import Attempt

    fu = _lock(followup)
    _require_worker(actor, fu.case)
    if fu.status in (Status.COMPLETED, Status.CANCELLED):
        raise FollowUpClosed(f"This follow-up is already {fu.get_status_display().lower()}.")
    if outcome not in AttemptOutcome.values:
        raise FollowUpInvalid("Choose what happened.", field="outcome")
    method = method or fu.method
    if method not in Method.values:
        raise FollowUpInvalid("Choose how you tried.", field="method")
    now = timezone.now()
    at = at or now
    if timezone.is_naive(at) or at > now + datetime.timedelta(minutes=5):
        raise FollowUpInvalid("An attempt cannot be in the future.", field="at")
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
    )
    if outcome == AttemptOutcome.REACHED:
        complete_followup(actor=actor, followup=fu, contact=contact, at=at, request=None)
    elif (
        outcome == AttemptOutcome.DECLINED
        and fu.enrolment_id
        and fu.enrolment.version.end_rule == EndRule.ENGAGED_IN_CARE
        and fu.enrolment.status == EnrolmentStatus.ACTIVE
    ):
        end_enrolment(
            actor=actor, enrolment=fu.enrolment, reason="The client declined further calls"
        )
    return attempt


@transaction.atomic
def move_followup(
    *, actor: User, followup: FollowUp, due_at: datetime.datetime, reason: str, request=None
) -> FollowUp:
    """Move an open follow-up's due time, keeping its window's length around it; the old
    and new times, the reason, who and when are kept in its history."""
    fu = _lock(followup)
    _require_worker(actor, fu.case)
    if not fu.is_open and fu.status != Status.MISSED:
        raise FollowUpClosed(f"This follow-up is already {fu.get_status_display().lower()}.")
    reason = _clean_reason(reason)
    _check_due(due_at)
    now = timezone.now()
    delta = due_at - fu.due_at
    old = {
        "window_start": fu.window_start.isoformat(),
        "due_at": fu.due_at.isoformat(),
        "window_end": fu.window_end.isoformat(),
    }
    old_status = fu.status
    if fu.status == Status.MISSED:
        fu.status = Status.SCHEDULED
    _set_window(fu, fu.window_start + delta, due_at, fu.window_end + delta, now=now)
    fu.save()
    events.followup_event(
        followup=fu,
        kind=FollowUpEventKind.RESCHEDULED,
        actor=actor,
        at=now,
        reason=reason,
        from_status=old_status,
        to_status=fu.status,
        detail={
            "from": old,
            "to": {
                "window_start": fu.window_start.isoformat(),
                "due_at": fu.due_at.isoformat(),
                "window_end": fu.window_end.isoformat(),
            },
        },
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
        detail={"due_at": due_at.isoformat(), "reason": reason},
    )
    return fu


@transaction.atomic
def cancel_followup(*, actor: User, followup: FollowUp, reason: str, request=None) -> FollowUp:
    fu = _lock(followup)
    _require_worker(actor, fu.case)
    if not fu.is_open:
        raise FollowUpClosed(f"This follow-up is already {fu.get_status_display().lower()}.")
    reason = _clean_reason(reason)
    now = timezone.now()
    _cancel_open(FollowUp.objects.filter(pk=fu.pk), actor=actor, reason=reason, now=now)
    fu.refresh_from_db()
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


def cancel_for_closed_case(*, case: Case, actor: User) -> int:
    """Closing a case cancels its pending follow-ups and ends its enrolments. Call inside
    close_case's transaction. Returns how many follow-ups were cancelled."""
    now = timezone.now()
    reason = "The case was closed"
    Enrolment.objects.filter(case=case, status=EnrolmentStatus.ACTIVE).update(
        status=EnrolmentStatus.ENDED, ended_at=now, end_reason=reason
    )
    return len(
        _cancel_open(FollowUp.objects.filter(case=case), actor=actor, reason=reason, now=now)
    )


def move_to_new_worker(*, case: Case, old_worker_id: int, new_worker: User, actor: User) -> int:
    """Reassigning a case moves its open follow-ups from the old worker to the new one.
    Call inside the reassignment's transaction. Returns how many moved."""
    now = timezone.now()
    moving = list(
        FollowUp.objects.select_for_update()
        .filter(case=case, status__in=OPEN_STATUSES)
        .filter(Q(assigned_to_id=old_worker_id))
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
    return len(moving)
