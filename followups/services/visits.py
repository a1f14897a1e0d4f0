"""Hospital visits (ER visits and inpatient admissions), their discharge, and the
protocols they start, counted from the discharge once it is known."""

import datetime
from collections.abc import Iterable

from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts.models import User
from audit.models import Action
from audit.services import record as audit
from cases.cssrs import RiskLevel
from cases.models import Case, CaseStatus, Contact
from core.i18n import StoredText, label, stored_text
from core.i18n import day as day_arg
from followups import events, texts
from followups.exceptions import FollowUpInvalid
from followups.models import (
    OPEN_STATUSES,
    Enrolment,
    EnrolmentStatus,
    FollowUpEventKind,
    HospitalVisit,
    Trigger,
    VisitKind,
    VisitReason,
)
from followups.schedule import step_window
from followups.services.common import (
    REASON_MAX,
    lock_case,
    require_worker,
    set_window,
    window_detail,
)
from followups.services.enrolment import enrol
from followups.services.protocols import protocols_for

# Running enrolments a new fact of the same kind restarts.
_POST_DISCHARGE = Q(version__protocol__trigger=Trigger.ED_VISIT)
_CARING_CONTACTS = Q(version__protocol__trigger=Trigger.PSYCHIATRIC_DISCHARGE)

# Why a visit enrols (core.i18n.stored_text), by (kind, counted from the discharge);
# `day` as the reader writes dates (core.i18n.day), `reason` is the visit's reason.
VISIT_ENROLS = {
    (VisitKind.ED, False): gettext_noop(
        "ER visit on %(day)s (%(reason)s; counted from the arrival)"
    ),
    (VisitKind.ED, True): gettext_noop(
        "ER visit on %(day)s (%(reason)s; counted from the discharge)"
    ),
    (VisitKind.INPATIENT, False): gettext_noop(
        "Hospital admission on %(day)s (%(reason)s; counted from the arrival)"
    ),
    (VisitKind.INPATIENT, True): gettext_noop(
        "Hospital admission on %(day)s (%(reason)s; counted from the discharge)"
    ),
}
# The same, for a client at high risk (`visit`: the sentence above).
AT_HIGH_RISK = gettext_noop("%(visit)s; high C-SSRS risk")
DISCHARGED = gettext_noop("Discharged from hospital on %(day)s")


def reason_from_concerns(concern_codes: Iterable[str], nature_code: str = "") -> str:
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


def _validate_visit_times(
    arrived_at: datetime.datetime | None, discharged_at: datetime.datetime | None
) -> None:
    now = timezone.now()
    if arrived_at is None or timezone.is_naive(arrived_at):
        raise FollowUpInvalid(_("Give when the client arrived."), field="arrived_at")
    if arrived_at > now + datetime.timedelta(hours=1):
        raise FollowUpInvalid(_("The arrival cannot be in the future."), field="arrived_at")
    if arrived_at.year < 1990:
        raise FollowUpInvalid(_("Check the year of the arrival."), field="arrived_at")
    if discharged_at is not None:
        if timezone.is_naive(discharged_at):
            raise FollowUpInvalid(_("Give the discharge date and time."), field="discharged_at")
        if discharged_at < arrived_at:
            raise FollowUpInvalid(
                _("The discharge cannot be before the arrival."), field="discharged_at"
            )
        if discharged_at > now + datetime.timedelta(days=1):
            raise FollowUpInvalid(
                _("The discharge is more than a day in the future."), field="discharged_at"
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
    request: HttpRequest | None = None,
) -> HospitalVisit:
    """Record an ER visit or inpatient admission on the case and enrol the client in the
    post-discharge protocol (the intensive one at high risk), anchored at the discharge
    when known; the discharge from a psychiatric (not medical) inpatient stay also
    starts Caring Contacts. A new visit while a post-discharge protocol runs restarts
    it."""
    case = lock_case(case)
    if source_contact is None:
        require_worker(actor, case)
    if case.status != CaseStatus.OPEN:
        raise FollowUpInvalid(_("This case is closed: reopen it with a new contact first."))
    _validate_visit_times(arrived_at, discharged_at)
    if kind not in VisitKind.values:
        raise FollowUpInvalid(_("Choose ER visit or inpatient admission."), field="kind")
    if reason not in VisitReason.values:
        raise FollowUpInvalid(_("Choose the reason for the visit."), field="reason")
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


def _enrol_for_visit(*, visit: HospitalVisit, case: Case, actor: User | None) -> None:
    """The post-discharge protocol (the intensive one at high risk) from the visit's
    anchor; a readmission restarts it. A psychiatric inpatient discharge also starts
    Caring Contacts."""
    high = case.risk_level == RiskLevel.HIGH
    reason = _visit_reason(
        visit,
        day=case.agency.day_of(visit.anchor_at),
        from_discharge=visit.discharged_at is not None,
        high=high,
    )
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
    if visit.discharged_at:
        _enrol_caring_contacts(visit=visit, case=case, actor=actor)


def _visit_reason(
    visit: HospitalVisit, *, day: datetime.date, from_discharge: bool, high: bool
) -> StoredText:
    """Why a visit enrols the client: "ER visit on Sat 5 Dec 2026 (mental health crisis;
    counted from the arrival)", and "; high C-SSRS risk" at high risk."""
    kind = VisitKind.ED if visit.kind == VisitKind.ED else VisitKind.INPATIENT
    in_text = events.VISIT_REASON_IN_TEXT.get(visit.reason)
    reason = label(in_text) if in_text else visit.reason
    text = stored_text(VISIT_ENROLS[(kind, from_discharge)], day=day_arg(day), reason=reason)
    return stored_text(AT_HIGH_RISK, visit=text.data) if high else text


def _counted_from_discharge(
    enrolment: Enrolment, visit: HospitalVisit, case: Case
) -> tuple[str, dict | None]:
    """The reason of an enrolment by `visit` once counted from its discharge (text,
    message): the product's sentence counted from the arrival is written again, counted
    from the discharge (its day stays the arrival's). A reason the sentence does not
    match (written by an older release) has its words replaced, and is shown as stored."""
    day = case.agency.day_of(visit.arrived_at)
    for high in (False, True):
        if _visit_reason(visit, day=day, from_discharge=False, high=high).english == (
            enrolment.reason
        ):
            text = _visit_reason(visit, day=day, from_discharge=True, high=high)
            return text.english[:REASON_MAX], text.data
    replaced = enrolment.reason.replace("counted from the arrival", "counted from the discharge")
    if replaced != enrolment.reason:
        return replaced, None
    return enrolment.reason, enrolment.reason_i18n


def _enrol_caring_contacts(*, visit: HospitalVisit, case: Case, actor: User | None) -> None:
    """Caring Contacts follow a psychiatric hospital stay (Motto and Bostrom; the VA/DoD
    guideline): an inpatient discharge for any reason but a medical one."""
    if (
        visit.kind != VisitKind.INPATIENT
        or visit.reason == VisitReason.OTHER
        or visit.discharged_at is None
    ):
        return
    day = case.agency.day_of(visit.discharged_at)
    for protocol in protocols_for(case.agency_id, Trigger.PSYCHIATRIC_DISCHARGE):
        enrol(
            case=case,
            protocol=protocol,
            trigger=Trigger.PSYCHIATRIC_DISCHARGE,
            anchor_at=visit.discharged_at,
            reason=stored_text(DISCHARGED, day=day_arg(day)),
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
    request: HttpRequest | None = None,
) -> HospitalVisit:
    """Record the discharge of a visit: the follow-ups of the protocols it started that
    nobody has worked on yet are counted again from the discharge (the anchor when it is
    known); a psychiatric inpatient discharge starts Caring Contacts."""
    visit = HospitalVisit.objects.select_for_update().get(pk=visit.pk)
    case = lock_case(visit.case)
    require_worker(actor, case)
    if discharged_at is None:
        raise FollowUpInvalid(_("Give the discharge date and time."), field="discharged_at")
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
    if case.status == CaseStatus.OPEN:
        _enrol_caring_contacts(visit=visit, case=case, actor=actor)
    return visit


def _reanchor(
    *, visit: HospitalVisit, case: Case, actor: User | None, request: HttpRequest | None = None
) -> None:
    """Count the visit's active enrolments from its discharge: their open follow-ups
    that nobody has tried yet get the windows of the new anchor (each with a RESCHEDULED
    event keeping the old and new window)."""
    discharged_at = visit.discharged_at
    if discharged_at is None:  # nothing to count from
        return
    tz = case.agency.zone
    now = timezone.now()
    enrolments = visit.enrolments.filter(status=EnrolmentStatus.ACTIVE).select_for_update()
    for enrolment in enrolments:
        if enrolment.anchor_at == discharged_at:
            continue
        enrolment.anchor_at = discharged_at
        enrolment.reason, enrolment.reason_i18n = _counted_from_discharge(enrolment, visit, case)
        enrolment.save(update_fields=["anchor_at", "reason", "reason_i18n"])
        untouched = enrolment.followups.filter(status__in=OPEN_STATUSES).exclude(
            attempts__isnull=False
        )
        moved = []
        for fu in untouched.select_for_update(of=("self",)).select_related("step"):
            if fu.step is None:
                continue
            before = window_detail(fu)
            window = step_window(
                anchor_at=discharged_at,
                unit=fu.step.unit,
                start=fu.step.start,
                due=fu.step.due,
                end=fu.step.end,
                tz=tz,
                shift=(fu.occurrence - 1) * (fu.step.repeat_every or 0),
            )
            set_window(fu, window.start, window.due, window.end, now=now)
            fu.reason, fu.reason_i18n = enrolment.reason, enrolment.reason_i18n
            fu.save()
            events.followup_event(
                followup=fu,
                kind=FollowUpEventKind.RESCHEDULED,
                actor=actor,
                at=now,
                reason=texts.COUNTED_FROM_DISCHARGE,
                detail={"from": before, "to": window_detail(fu)},
            )
            moved.append(fu.pk)
        audit(
            request=request,
            actor=actor,
            action=Action.UPDATE,
            obj=enrolment,
            agency_id=enrolment.agency_id,
            client_id=case.client_id,
            detail={"anchor_at": discharged_at.isoformat(), "rescheduled": moved},
        )
