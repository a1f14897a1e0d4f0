"""Helpers the follow-up services share: locking a case, who may change its follow-ups,
reason cleaning, and saving, cancelling and re-windowing follow-ups with their events."""

import datetime
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from accounts.models import User
from cases.models import Case
from core.i18n import StoredText
from followups import events
from followups.exceptions import FollowUpInvalid, NotPermitted
from followups.models import (
    OPEN_STATUSES,
    FollowUp,
    FollowUpEvent,
    FollowUpEventKind,
    Status,
)
from notifications import services as notices

REASON_MAX = 300


def lock_case(case: Case) -> Case:
    return (
        Case.objects.select_for_update(of=("self",))
        .select_related("agency", "assigned_worker", "client")
        .get(pk=case.pk)
    )


def _may_work(actor: User, case: Case) -> bool:
    return Case.objects.contactable_by(actor).filter(pk=case.pk).exists()


def require_worker(actor: User | None, case: Case) -> None:
    if actor is not None and not _may_work(actor, case):
        raise NotPermitted(_("Only workers on this case can change its follow-ups."))


def clean_reason(reason: str, *, field: str = "reason", required: bool = True) -> str:
    text = " ".join((reason or "").replace("\x00", "").split())
    if required and not text:
        raise FollowUpInvalid(_("Give a reason."), field=field)
    if len(text) > REASON_MAX:
        raise FollowUpInvalid(
            _("Keep the reason under %(max)s characters.") % {"max": REASON_MAX}, field=field
        )
    return text


def reason_columns(reason: str | StoredText) -> tuple[str, dict[str, Any] | None]:
    """A reason as its row keeps it: (text, message). A reason the product wrote
    (core.i18n.stored_text) keeps its English and its message, for each reader's language;
    one a person typed is kept as typed, with no message."""
    if isinstance(reason, StoredText):
        return reason.english[:REASON_MAX], reason.data
    return reason[:REASON_MAX], None


def save_new(
    followups: list[FollowUp], *, actor: User | None, now: datetime.datetime
) -> list[FollowUp]:
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
            detail={"reason_i18n": fu.reason_i18n} if fu.reason_i18n else {},
        )
        for fu in saved
    )
    return saved


def cancel_open(
    followups: QuerySet[FollowUp],
    *,
    actor: User | None,
    reason: str | StoredText,
    now: datetime.datetime,
) -> list[FollowUp]:
    """Cancel every open follow-up in the queryset, each with its CANCELLED event; their
    unread notices are resolved with them."""
    text, message = reason_columns(reason)
    cancelled: list[FollowUp] = []
    for fu in followups.filter(status__in=OPEN_STATUSES).select_for_update(of=("self",)):
        old = fu.status
        fu.status = Status.CANCELLED
        fu.cancel_reason = text
        fu.cancel_reason_i18n = message
        fu.status_changed_at = now
        fu.next_check_at = None
        fu.lease_until = None
        fu.lease_token = None
        fu.save(
            update_fields=[
                "status",
                "cancel_reason",
                "cancel_reason_i18n",
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
    if cancelled:
        notices.resolve_followup_notices(followup_ids=[fu.pk for fu in cancelled])
    return cancelled


def window_detail(fu: FollowUp) -> dict[str, str]:
    return {
        "window_start": fu.window_start.isoformat(),
        "due_at": fu.due_at.isoformat(),
        "window_end": fu.window_end.isoformat(),
    }


def set_window(
    fu: FollowUp,
    start: datetime.datetime,
    due: datetime.datetime,
    end: datetime.datetime,
    *,
    now: datetime.datetime,
) -> None:
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
