"""Dispatch upkeep for the Celery worker."""

from celery import shared_task
from django.utils import timezone

from dispatch import services
from dispatch.services import safety


@shared_task
def purge_positions() -> int:
    """Delete the shared positions older than each agency's position_retention_hours
    (DispatchSettings), set-based (services.purge_positions). Idempotent: running it again
    deletes nothing more. Returns how many were deleted. Beat runs it hourly
    (CELERY_BEAT_SCHEDULE): a position outlives the retention by at most an hour."""
    return services.purge_positions(now=timezone.now())


@shared_task
def sweep_safety() -> dict[str, int]:
    """Raise the dispatch alerts that have come due (an assignment not acknowledged, a
    missed check-in) and escalate those nobody answered (services.safety.sweep_safety).
    Idempotent: each alert is claimed by a conditional update. Beat runs it every 10
    seconds (CELERY_BEAT_SCHEDULE): an alert comes at most that long after its deadline."""
    return safety.sweep_safety(now=timezone.now())
