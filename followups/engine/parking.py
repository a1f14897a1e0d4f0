"""Parked rows: a follow-up sent MAX_DISPATCHES times without being processed is parked by
the sweep, with an event and an alert, and swept again only once someone releases it."""

import logging

from django.db import transaction
from django.utils import timezone

from followups import events, texts
from followups.models import CLOSED_STATUSES, FollowUp, FollowUpEventKind
from notifications import services as notices

logger = logging.getLogger(__name__)


def _park(pk: int, *, now) -> None:
    """Park the row (locked by the caller), with its event and alert, in a savepoint:
    should the alert fail, the row stays as it was for the next sweep and the rest of this
    sweep goes on."""
    try:
        with transaction.atomic():
            _park_row(FollowUp.objects.get(pk=pk), now=now)
    except Exception:
        logger.exception("Could not park follow-up %s", pk)


def _park_row(fu: FollowUp, *, now) -> None:
    error = fu.last_error or f"Sent {fu.dispatch_count} times without being processed"
    fu.parked_at = now
    fu.lease_until = None
    fu.lease_token = None
    fu.save(update_fields=["parked_at", "lease_until", "lease_token"])
    events.followup_event(
        followup=fu,
        kind=FollowUpEventKind.PARKED,
        actor=None,
        at=now,
        reason=error,
        detail={"dispatch_count": fu.dispatch_count},
    )
    logger.error("Follow-up %s parked after %s sends: %s", fu.pk, fu.dispatch_count, error)
    notices.followup_parked(fu, error)


@transaction.atomic
def release(followup: FollowUp, actor, *, reason: str = "") -> FollowUp:
    """Let a parked follow-up be processed again: it is swept at once, with a fresh count
    of sends. Releasing one that is not parked does nothing."""
    fu = FollowUp.objects.select_for_update().get(pk=followup.pk)
    if fu.parked_at is None:
        return fu
    now = timezone.now()
    fu.parked_at = None
    fu.dispatch_count = 0
    fu.lease_until = None
    fu.lease_token = None
    fu.next_check_at = None if fu.status in CLOSED_STATUSES else now
    fu.save(
        update_fields=["parked_at", "dispatch_count", "lease_until", "lease_token", "next_check_at"]
    )
    events.followup_event(
        followup=fu,
        kind=FollowUpEventKind.RELEASED,
        actor=actor,
        at=now,
        reason=reason or texts.RELEASED,
        detail={"last_error": fu.last_error},
    )
    return fu
