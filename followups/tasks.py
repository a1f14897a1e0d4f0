"""Follow-up work for the Celery worker: thin, idempotent, taking ids (followups/engine.py),
and the daily digest (followups/digest.py)."""

import logging

from celery import shared_task
from django.db import InterfaceError, OperationalError
from django.utils import timezone

from followups import digest, engine

logger = logging.getLogger(__name__)


@shared_task
def sweep() -> int:
    """Beat runs this every minute: claim the follow-ups whose time has come and send each
    a process_followup task. Returns how many were sent."""
    return engine.sweep()


@shared_task(
    bind=True,
    acks_late=True,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=True,
    retry_backoff_max=60,
    max_retries=3,
)
def process_followup(self, followup_id: int, token: str) -> bool:
    """Process one claimed follow-up. A duplicate or stale delivery does nothing. A
    database that went away is retried with backoff; any other failure is kept on the row
    and raised, and the row is sent again when its lease runs out (parked after
    engine.MAX_DISPATCHES sends)."""
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
def send_daily_digests() -> int:
    """Beat, every 15 minutes: see followups.digest.queue_daily_digests."""
    return digest.queue_daily_digests(timezone.now())
