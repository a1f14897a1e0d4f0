"""Case timeline entries for attachments (CaseEvent kind ATTACHMENT). Call inside the
transaction that made the change, so that the timeline and the change commit together.
An attachment on no case (a client's own) has no timeline: these return None."""

from django.utils import timezone
from django.utils.translation import gettext_noop

from attachments.models import Attachment
from cases.models import CaseEvent, CaseEventKind
from core.i18n import label, stored_text

SUMMARY_MAX = 300


def _summary(text: str) -> str:
    return text if len(text) <= SUMMARY_MAX else text[: SUMMARY_MAX - 1] + "…"


def attachment_added(*, attachment: Attachment) -> CaseEvent | None:
    if attachment.case_id is None:
        return None
    text = stored_text(
        gettext_noop("%(kind)s attached: %(label)s"),
        kind=label(attachment.get_kind_display()),
        label=attachment.label,
    )
    return CaseEvent.objects.create(
        case_id=attachment.case_id,
        actor=attachment.uploaded_by,
        at=attachment.uploaded_at,
        kind=CaseEventKind.ATTACHMENT,
        contact_id=attachment.contact_id,
        summary=_summary(text.english),
        detail={"attachment_id": attachment.pk, "kind": attachment.kind, "i18n": text.data},
    )


def attachment_in_error(*, attachment: Attachment) -> CaseEvent | None:
    if attachment.case_id is None:
        return None
    text = stored_text(
        gettext_noop("Attachment entered in error: %(label)s (%(reason)s)"),
        label=attachment.label,
        reason=attachment.entered_in_error_reason,
    )
    return CaseEvent.objects.create(
        case_id=attachment.case_id,
        actor=attachment.entered_in_error_by,
        at=attachment.entered_in_error_at or timezone.now(),
        kind=CaseEventKind.ATTACHMENT,
        summary=_summary(text.english),
        detail={"attachment_id": attachment.pk, "entered_in_error": True, "i18n": text.data},
    )
