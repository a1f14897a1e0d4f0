"""Follow-up work for the Celery worker: thin, idempotent, taking ids (followups/engine/),
and the daily digest (followups/digest.py)."""

import logging
from functools import partial

from celery import shared_task
from django.db import InterfaceError, OperationalError
from django.utils import timezone

from followups import digest, engine
from notifications import tasks as notification_tasks

logger = logging.getLogger(__name__)


@shared_task
def sweep(rounds: int = 0) -> int:
    """Beat runs this every few seconds: claim the follow-ups whose time has come and send
    them to process_followups in batches. A sweep that comes back full sends the next one
    at once (engine.sweep's `then`), so a backlog drains at the workers' pace without
    waiting for beat; at most engine.MAX_SWEEP_ROUNDS in a row, so that sweeps that keep
    coming back full without the rows getting done (an error) stop until beat's next.
    Returns how many were claimed."""
    again = partial(sweep.delay, rounds + 1) if rounds < engine.MAX_SWEEP_ROUNDS else None
    return engine.sweep(limit=engine.SWEEP_LIMIT, then=again)


@shared_task(
    acks_late=True,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=True,
    retry_backoff_max=60,
    max_retries=3,
)
def process_followups(claims: list[tuple[int, str]]) -> int:
    """Process a batch of claimed follow-ups, [(id, token), ...]: each under its own lease,
    a duplicate or stale one skipped, a failing one kept with its error and sent again
    when its lease runs out (engine.process_batch). A database that went away is retried
    with backoff: the rows already done are skipped. Returns how many were processed."""
    return engine.process_batch([(int(pk), str(token)) for pk, token in claims])


@shared_task(
    bind=True,
    acks_late=True,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=True,
    retry_backoff_max=60,
    max_retries=3,
)
def process_followup(self, followup_id: int, token: str) -> bool:
    """Process one claimed follow-up (what sweeps sent before batches, and may still be
    queued). A duplicate or stale delivery does nothing. A database that went away is
    retried with backoff; any other failure is kept on the row and raised, and the row is
    sent again when its lease runs out (parked after engine.MAX_DISPATCHES sends)."""
    try:
        return engine.process(followup_id, token)
    except (OperationalError, InterfaceError):
        raise
    except Exception as exc:
        try:
            engine.record_error(followup_id, token, exc)
        except Exception:
            logger.exception("Could not record the error of follow-up %s", followup_id)
        raise


@shared_task
def deliver_notifications(notification_ids: list[int]) -> int:
    """Send the emails and texts that one batch of follow-ups queued: one task per batch,
    not one per message. Each goes through notifications.tasks.deliver (claimed under its
    own lease, sent at most once); one this task never reaches (its worker killed) is
    found by the notification sweep. Returns how many were sent."""
    return sum(bool(notification_tasks.deliver(pk)) for pk in notification_ids)


@shared_task
def send_daily_digests() -> int:
    """Beat, every 15 minutes: see followups.digest.queue_daily_digests."""
    return digest.queue_daily_digests(timezone.now())
