"""Named constructors for follow-up history (FollowUpEvent) and the case timeline (kinds
FOLLOWUP and HOSPITAL_VISIT). Call inside the transaction that made the change."""

from typing import Any

from django.utils.translation import gettext_noop

from cases.models import CaseEvent, CaseEventKind
from core.i18n import StoredText, label, stored_text
from followups import texts
from followups.models import FollowUpEvent, FollowUpEventKind, VisitKind, VisitReason

SUMMARY_MAX = 300


def _summary(text: str) -> str:
    return text if len(text) <= SUMMARY_MAX else text[: SUMMARY_MAX - 1] + "…"


def followup_event(*, followup, kind, actor=None, at=None, reason="", **fields) -> FollowUpEvent:
    """A follow-up's history event. A `reason` the product wrote as a stored text keeps
    its English as the reason and its message in detail["reason_i18n"]."""
    extra = {"at": at} if at is not None else {}
    if isinstance(reason, StoredText):
        fields["detail"] = {**(fields.get("detail") or {}), "reason_i18n": reason.data}
        reason = reason.english
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


def on_timeline(
    *, case_id, actor, text: StoredText, at=None, kind=CaseEventKind.FOLLOWUP, detail=None
):
    """A case timeline entry: `text` (core.i18n.stored_text) in English as its summary,
    and kept as a message with its arguments (detail["i18n"]) for each reader's language."""
    extra = {"at": at} if at is not None else {}
    return CaseEvent.objects.create(
        case_id=case_id,
        actor=actor,
        kind=kind,
        summary=_summary(text.english),
        detail={**(detail or {}), "i18n": text.data},
        **extra,
    )


def followup_title(followup) -> Any:
    """A follow-up's title as an argument of a timeline entry, shown in the reader's
    language as FollowUp.display_title shows it (followups.texts.title_argument)."""
    return texts.title_argument(
        followup.title, from_step=followup.step_id is not None, occurrence=followup.occurrence
    )


def _reason_argument(text: str, message: Any) -> Any:
    """A stored reason as an argument of a timeline entry: its message when the product
    wrote it as a stored text, translated when shown if it is a fixed text, else as
    stored."""
    return message if message else texts.argument(text)


def enrolled(*, enrolment, actor, count) -> CaseEvent:
    protocol = enrolment.version.protocol
    return on_timeline(
        case_id=enrolment.case_id,
        actor=actor,
        text=stored_text(
            gettext_noop("Enrolled in %(protocol)s (%(count)s follow-ups): %(reason)s"),
            # A shipped protocol's name, read in each reader's language (texts.shipped).
            protocol=label(protocol.name),
            count=count,
            reason=_reason_argument(enrolment.reason, enrolment.reason_i18n),
        ),
        detail={"enrolment_id": enrolment.pk, "version": enrolment.version.number},
    )


def enrolment_ended(*, enrolment, actor, cancelled) -> CaseEvent:
    protocol = enrolment.version.protocol
    message = (
        gettext_noop("%(protocol)s cancelled: %(reason)s")
        if cancelled
        else gettext_noop("%(protocol)s ended: %(reason)s")
    )
    return on_timeline(
        case_id=enrolment.case_id,
        actor=actor,
        text=stored_text(
            message,
            protocol=label(protocol.name),
            reason=_reason_argument(enrolment.end_reason, enrolment.end_reason_i18n),
        ),
        detail={"enrolment_id": enrolment.pk},
    )


# A visit's reason as the timeline writes it, inside a sentence.
VISIT_REASON_IN_TEXT: dict[str, str] = {
    VisitReason.MENTAL_HEALTH: gettext_noop("mental health crisis"),
    VisitReason.SELF_HARM: gettext_noop("intentional self-harm"),
    VisitReason.SUBSTANCE_USE: gettext_noop("substance use"),
    VisitReason.OVERDOSE: gettext_noop("drug overdose"),
    VisitReason.OTHER: gettext_noop("other (medical)"),
}


def hospital_visit_recorded(*, visit, actor) -> CaseEvent:
    reason = VISIT_REASON_IN_TEXT.get(visit.reason)
    return on_timeline(
        case_id=visit.case_id,
        actor=actor,
        kind=CaseEventKind.HOSPITAL_VISIT,
        text=stored_text(
            gettext_noop("%(kind)s recorded (%(reason)s)"),
            kind=label(VisitKind(visit.kind).label),
            reason=label(reason) if reason else visit.reason,
        ),
        detail={"visit_id": visit.pk},
    )


def discharge_recorded(*, visit, actor) -> CaseEvent:
    return on_timeline(
        case_id=visit.case_id,
        actor=actor,
        kind=CaseEventKind.HOSPITAL_VISIT,
        text=stored_text(gettext_noop("Hospital discharge recorded")),
        detail={"visit_id": visit.pk, "discharged_at": visit.discharged_at.isoformat()},
    )
