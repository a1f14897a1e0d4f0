"""What closing or reassigning a case does to its follow-ups and enrolments."""

from django.http import HttpRequest
from django.utils import timezone

from accounts.models import User
from audit.models import Action
from audit.services import record as audit
from cases.models import Case
from followups import events, texts
from followups.models import (
    OPEN_STATUSES,
    Enrolment,
    EnrolmentStatus,
    FollowUp,
    FollowUpEventKind,
)
from followups.services.common import cancel_open


def cancel_for_closed_case(*, case: Case, actor: User, request: HttpRequest | None = None) -> int:
    """Closing a case cancels its pending follow-ups (each with a CANCELLED event and the
    reason) and ends its enrolments. Call inside close_case's transaction. Returns how
    many follow-ups were cancelled."""
    now = timezone.now()
    reason = texts.CASE_CLOSED
    enrolments = list(
        Enrolment.objects.select_for_update(of=("self",)).filter(
            case=case, status=EnrolmentStatus.ACTIVE
        )
    )
    for enrolment in enrolments:
        enrolment.status = EnrolmentStatus.ENDED
        enrolment.ended_at = now
        enrolment.end_reason, enrolment.end_reason_i18n = reason, None
        enrolment.save(update_fields=["status", "ended_at", "end_reason", "end_reason_i18n"])
    cancelled = cancel_open(FollowUp.objects.filter(case=case), actor=actor, reason=reason, now=now)
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
    *,
    case: Case,
    old_worker_id: int,
    new_worker: User,
    actor: User,
    request: HttpRequest | None = None,
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
