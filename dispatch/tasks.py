"""Dispatch upkeep for the Celery worker."""

from celery import shared_task
from django.utils import timezone

from dispatch import services


@shared_task
def purge_positions() -> int:
    """Delete the shared positions older than each agency's position_retention_hours
    (DispatchSettings), set-based (services.purge_positions). Idempotent: running it again
    deletes nothing more. Returns how many were deleted. Beat runs it hourly
    (CELERY_BEAT_SCHEDULE): a position outlives the retention by at most an hour."""
    return services.purge_positions(now=timezone.now())
