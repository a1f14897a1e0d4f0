"""Enrolment in a protocol: its follow-ups, the next occurrence of a repeating step, a
readmission that restarts it, and its end."""

import datetime
import zoneinfo
from typing import Any

from django.db import models, transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts.models import Role, User
from audit.models import Action
from audit.services import record as audit
from cases.models import Case, CaseStatus, Contact
from core.i18n import StoredText, stored_text
from followups import events, texts
from followups.exceptions import FollowUpClosed
from followups.models import (
    OPEN_STATUSES,
    Enrolment,
    EnrolmentStatus,
    FollowUp,
    HospitalVisit,
    Performer,
    Protocol,
    ProtocolStep,
)
from followups.schedule import step_window
from followups.services.common import (
    cancel_open,
    clean_reason,
    lock_case,
    reason_columns,
    require_worker,
    save_new,
)

# The end reason of the enrolments a new fact restarts (a readmission): the new one's.
RESTARTED = gettext_noop("Restarted: %(reason)s")

# Open-ended repeating steps (weekly calls "until engaged in care") stop after this many
# occurrences at the most; a worker can enrol the client again.
MAX_OPEN_ENDED_OCCURRENCES = 26


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


def _occurrences(step: ProtocolStep) -> range:
    if step.repeat_every is None:
        return range(1, 2)
    if step.repeat_times is None:
        # Open-ended: the first now, each next one when the one before closes.
        return range(1, 2)
    return range(1, step.repeat_times + 1)


def _followup_for_step(
    *,
    enrolment: Enrolment,
    step: ProtocolStep,
    occurrence: int,
    case: Case,
    tz: zoneinfo.ZoneInfo,
    actor: User | None,
) -> FollowUp:
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
        title=(
            texts.STEP_TITLE % {"protocol": protocol.name, "step": _step_title(step, occurrence)}
        )[:200],
        reason=enrolment.reason,
        reason_i18n=enrolment.reason_i18n,
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
        return texts.occurrence_title(step.name, occurrence, step.repeat_times)
    return texts.NUMBERED % {"step": step.name, "n": occurrence}


def end_locked_enrolment(
    enrolment: Enrolment,
    *,
    actor: User | None,
    reason: str | StoredText,
    cancelled: bool = False,
    now: datetime.datetime | None = None,
    request: HttpRequest | None = None,
) -> Enrolment:
    """End an active enrolment (locked by the caller): its open follow-ups are cancelled
    with the reason, on the timeline and in the audit trail. A reason the product wrote
    is a stored text (core.i18n), shown in each reader's language."""
    now = now or timezone.now()
    enrolment.status = EnrolmentStatus.CANCELLED if cancelled else EnrolmentStatus.ENDED
    enrolment.ended_at = now
    enrolment.end_reason, enrolment.end_reason_i18n = reason_columns(reason)
    enrolment.save(update_fields=["status", "ended_at", "end_reason", "end_reason_i18n"])
    gone = cancel_open(enrolment.followups.all(), actor=actor, reason=reason, now=now)
    events.enrolment_ended(enrolment=enrolment, actor=actor, cancelled=cancelled)
    audit(
        request=request,
        actor=actor,
        action=Action.UPDATE,
        obj=enrolment,
        agency_id=enrolment.agency_id,
        client_id=enrolment.case.client_id,
        detail={"ended": enrolment.end_reason, "cancelled_followups": [fu.pk for fu in gone]},
    )
    return enrolment


def _restart(
    *,
    case: Case,
    running: Q,
    anchor_at: datetime.datetime,
    actor: User | None,
    reason: StoredText,
    sources: dict[str, Any],
) -> bool:
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
        end_locked_enrolment(enrolment, actor=actor, reason=reason, now=now)
    return True


@transaction.atomic
def enrol(
    *,
    case: Case,
    protocol: Protocol,
    trigger: str,
    anchor_at: datetime.datetime,
    reason: str | StoredText,
    actor: User | None = None,
    source_contact: Contact | None = None,
    source_visit: HospitalVisit | None = None,
    source_referral: models.Model | None = None,  # a referrals.Referral
    restarts: Q | None = None,
    request: HttpRequest | None = None,
) -> Enrolment | None:
    """Enrol an open case in the current version of `protocol` from `anchor_at`.

    Returns None when the same fact (contact, visit or referral) already enrolled it in
    this protocol, in any version (idempotent), or when the case is closed. `restarts`
    selects the case's running enrolments that this one replaces (a readmission restarts
    the post-discharge protocol); when one of them counts from a later anchor nothing
    changes and None is returned. A `reason` the product wrote is a stored text
    (core.i18n.stored_text), kept in English and shown in each reader's language; one a
    person typed is kept as typed."""
    case = lock_case(case)
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
    if not isinstance(reason, StoredText):
        reason = clean_reason(reason)
    text, message = reason_columns(reason)
    if restarts is not None and not _restart(
        case=case,
        running=restarts,
        anchor_at=anchor_at,
        actor=actor,
        reason=stored_text(RESTARTED, reason=message or text),
        sources=given,
    ):
        return None
    now = timezone.now()
    enrolment = Enrolment.objects.create(
        agency_id=case.agency_id,
        case=case,
        version=version,
        trigger=trigger,
        reason=text,
        reason_i18n=message,
        anchor_at=anchor_at,
        created_by=actor,
        created_at=now,
        **given,
    )
    tz = case.agency.zone
    followups = [
        _followup_for_step(
            enrolment=enrolment, step=step, occurrence=n, case=case, tz=tz, actor=actor
        )
        for step in version.steps.order_by("position")
        for n in _occurrences(step)
    ]
    saved = save_new(followups, actor=actor, now=now)
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


def schedule_next_occurrence(followup: FollowUp, *, actor: User | None = None) -> FollowUp | None:
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
    if open_ended and step is not None and case.status == CaseStatus.OPEN:
        later = FollowUp.objects.filter(
            enrolment=enrolment, step=step, occurrence__gt=followup.occurrence
        )
        if not later.exists():
            nxt = _next_occurrence(enrolment, step, followup.occurrence, actor=actor)
    if nxt is None and not enrolment.followups.filter(status__in=OPEN_STATUSES).exists():
        end_locked_enrolment(enrolment, actor=actor, reason=texts.STEPS_DONE)
    return nxt


def _next_occurrence(
    enrolment: Enrolment, step: ProtocolStep, after: int, *, actor: User | None
) -> FollowUp | None:
    case = enrolment.case
    tz = case.agency.zone
    now = timezone.now()
    for occurrence in range(after + 1, MAX_OPEN_ENDED_OCCURRENCES + 1):
        nxt = _followup_for_step(
            enrolment=enrolment, step=step, occurrence=occurrence, case=case, tz=tz, actor=actor
        )
        if nxt.window_end > now:
            return save_new([nxt], actor=actor, now=now)[0]
    return None


@transaction.atomic
def end_enrolment(
    *,
    actor: User | None,
    enrolment: Enrolment,
    reason: str | StoredText,
    cancelled: bool = False,
    request: HttpRequest | None = None,
) -> Enrolment:
    """End an enrolment by hand (client engaged in care, declined further calls, ...) or
    by what showed it is over (its referral ended): its open follow-ups are cancelled
    with the reason, typed, or written by the product as a stored text. `actor` must
    work the case."""
    if not isinstance(reason, StoredText):
        reason = clean_reason(reason)
    enrolment = (
        Enrolment.objects.select_for_update(of=("self",))
        .select_related("version__protocol", "case")
        .get(pk=enrolment.pk)
    )
    if actor is not None:
        require_worker(actor, enrolment.case)
    if enrolment.status != EnrolmentStatus.ACTIVE:
        raise FollowUpClosed(_("This protocol has already ended for the client."))
    return end_locked_enrolment(
        enrolment, actor=actor, reason=reason, cancelled=cancelled, request=request
    )
