"""Processing one claimed row under its lease: its time-driven status changes, their events
and prompts, and its next check; or, when that fails, the error kept on the row."""

import datetime
import logging
from collections.abc import Callable, Iterable

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

from core.i18n import stored_text
from followups import events, texts
from followups.models import OPEN_STATUSES, FollowUp, Status
from notifications import services as notices

logger = logging.getLogger(__name__)

ERROR_MAX = 500

# The time-driven order of an open follow-up's statuses.
TIMELINE = (Status.SCHEDULED, Status.DUE, Status.OVERDUE, Status.MISSED)

# Stored in English, shown in the reader's language (followups.texts).
REASONS: dict[str, str] = {
    Status.SCHEDULED: texts.WINDOW_MOVED_LATER,
    Status.DUE: texts.WINDOW_OPENED,
    Status.OVERDUE: texts.DUE_TIME_PASSED,
    Status.MISSED: texts.WINDOW_CLOSED,
}


def _path(current: str, target: str) -> list[str]:
    """The statuses a follow-up enters going from `current` to `target`: each one in
    between when time moved forward, or straight back when its window was moved later."""
    if current == target:
        return []
    i, j = TIMELINE.index(current), TIMELINE.index(target)
    return list(TIMELINE[i + 1 : j + 1]) if j > i else [target]


def _owed(entered: list[str], final: str) -> list[str]:
    """The statuses whose prompts are owed once a processing has left the follow-up in
    `final`, having entered `entered` on the way. While the window is open, the prompt of
    every status up to `final` is owed, whether this processing entered it or not: a row
    created already due, or one whose earlier processing was killed and rolled back, has
    not had its "fell due" prompt yet. Each prompt is given once per follow-up and due
    time, so one already given is not given again. Once the window has closed, only the
    supervisor hears that it was missed: a worker's or a client's prompt would come too
    late to act on."""
    if final == Status.MISSED:
        return [Status.MISSED] if Status.MISSED in entered else []
    if final not in (Status.DUE, Status.OVERDUE):
        return []
    return list(TIMELINE[1 : TIMELINE.index(final) + 1])


def _notices(entered: list[str], final: str) -> list:
    """The notification services that give the prompts _owed()."""
    by_status: dict[str, Callable[..., object]] = {
        Status.DUE: notices.followup_fell_due,
        Status.OVERDUE: notices.followup_overdue,
        Status.MISSED: notices.followup_missed,
    }
    return [by_status[s] for s in _owed(entered, final)]


def _advance(fu: FollowUp, target: str, *, now: datetime.datetime) -> list[str]:
    """Move `fu` (locked, not yet saved) through each status between its own and
    `target`, with a status-change event for each, and return the statuses it entered
    (none when it moves nowhere)."""
    current = fu.status
    entered = _path(current, target) if current in OPEN_STATUSES else []
    for status in entered:
        before = fu.status
        fu.status = status
        events.status_changed(
            followup=fu, actor=None, from_status=before, at=now, reason=REASONS[status]
        )
    if entered:
        fu.status_changed_at = now
    return entered


def _save_processed(fu: FollowUp, *, now: datetime.datetime) -> None:
    """Save `fu`'s status with its next check after `now`, its lease ended, its count of
    sends back to zero and no error kept."""
    fu.next_check_at = fu.next_boundary(now)
    fu.lease_until = None
    fu.lease_token = None
    fu.dispatch_count = 0
    fu.last_error = ""
    fu.save(
        update_fields=[
            "status",
            "status_changed_at",
            "next_check_at",
            "lease_until",
            "lease_token",
            "dispatch_count",
            "last_error",
        ]
    )


def _send_notices(fu: FollowUp, entered: list[str]) -> None:
    """Create the notifications owed for `fu`'s status (_notices), and log the change."""
    sent = _notices(entered, fu.status)
    for notice in sent:
        notice(fu)
    if entered or sent:
        # Ids only: the log is not a place for client data.
        logger.info(
            "Follow-up %s is now %s (assigned to user %s); notices owed: %s",
            fu.pk,
            fu.status,
            fu.assigned_to_id,
            ", ".join(getattr(n, "__name__", repr(n)) for n in sent) or "none",
        )


def _locked(pks: Iterable[int], *, skip_locked: bool = False):
    return (
        FollowUp.objects.select_for_update(of=("self",), skip_locked=skip_locked)
        .select_related("case__client", "case__agency", "assigned_to")
        .filter(pk__in=list(pks))
    )


def _holds(fu: FollowUp, token) -> bool:
    return fu.lease_token is not None and str(fu.lease_token) == str(token)


def process(followup_id: int, token, now: datetime.datetime | None = None) -> bool:
    """Apply a claimed follow-up's time-driven status changes at `now`, with their events
    and notifications, and set its next check. Does nothing and returns False unless
    `token` is the row's current lease token (a duplicate or stale message)."""
    now = now or timezone.now()
    with transaction.atomic():
        fu = _locked([followup_id]).first()
        if fu is None or not _holds(fu, token):
            return False
        current = fu.status
        target = fu.status_at(now)
        entered = _advance(fu, target, now=now)
        _save_processed(fu, now=now)
        if target == Status.MISSED and current != Status.MISSED:
            events.on_timeline(
                case_id=fu.case_id,
                actor=None,
                text=stored_text(
                    gettext_noop("Follow-up missed: %(title)s"), title=events.followup_title(fu)
                ),
                detail={"followup_id": fu.pk},
            )
        _send_notices(fu, entered)
        if fu.status == Status.MISSED and current != Status.MISSED:
            from followups.services import schedule_next_occurrence

            schedule_next_occurrence(fu)
    return True


def record_error(followup_id: int, token, error: BaseException) -> None:
    """Keep why a processing failed on the row, in a transaction of its own (the one that
    failed rolled back). Only while the message still holds the row's lease."""
    text = f"{type(error).__name__}: {error}"[:ERROR_MAX]
    FollowUp.objects.filter(pk=followup_id, lease_token=token).update(last_error=text)
