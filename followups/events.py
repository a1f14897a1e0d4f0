"""Named constructors for follow-up history (FollowUpEvent) and the case timeline (kinds
FOLLOWUP and HOSPITAL_VISIT). Call inside the transaction that made the change."""

from cases.models import CaseEvent, CaseEventKind
from followups.models import FollowUpEvent, FollowUpEventKind

SUMMARY_MAX = 300


def _summary(text: str) -> str:
    return text if len(text) <= SUMMARY_MAX else text[: SUMMARY_MAX - 1] + "…"


def followup_event(*, followup, kind, actor=None, at=None, reason="", **fields) -> FollowUpEvent:
    extra = {"at": at} if at is not None else {}
    return FollowUpEvent.objects.create(
        followup=followup, kind=kind, actor=actor, reason=reason[:500], **extra, **fields
    )


def status_changed(*, followup, actor, from_status, at=None, reason="") -> FollowUpEvent:
    return followup_event(
        followup=followup,
        kind=FollowUpEventKind.STATUS,
        actor=actor,
        at=at,
        reason=reason,
        from_status=from_status,
        to_status=followup.status,
    )


def on_timeline(*, case_id, actor, summary, at=None, kind=CaseEventKind.FOLLOWUP, detail=None):
    extra = {"at": at} if at is not None else {}
    return CaseEvent.objects.create(
        case_id=case_id,
        actor=actor,
        kind=kind,
        summary=_summary(summary),
        detail=detail or {},
        **extra,
    )


def enrolled(*, enrolment, actor, count) -> CaseEvent:
    protocol = enrolment.version.protocol
    return on_timeline(
        case_id=enrolment.case_id,
        actor=actor,
        summary=f"Enrolled in {protocol.name} ({count} follow-ups): {enrolment.reason}",
        detail={"enrolment_id": enrolment.pk, "version": enrolment.version.number},
    )


def enrolment_ended(*, enrolment, actor, cancelled) -> CaseEvent:
    protocol = enrolment.version.protocol
    verb = "cancelled" if cancelled else "ended"
    return on_timeline(
        case_id=enrolment.case_id,
        actor=actor,
        summary=f"{protocol.name} {verb}: {enrolment.end_reason}",
        detail={"enrolment_id": enrolment.pk},
    )


def hospital_visit_recorded(*, visit, actor) -> CaseEvent:
    return on_timeline(
        case_id=visit.case_id,
        actor=actor,
        kind=CaseEventKind.HOSPITAL_VISIT,
        summary=f"{visit.get_kind_display()} recorded ({visit.get_reason_display().lower()})",
        detail={"visit_id": visit.pk},
    )


def discharge_recorded(*, visit, actor) -> CaseEvent:
    return on_timeline(
        case_id=visit.case_id,
        actor=actor,
        kind=CaseEventKind.HOSPITAL_VISIT,
        summary="Hospital discharge recorded",
        detail={"visit_id": visit.pk, "discharged_at": visit.discharged_at.isoformat()},
    )
