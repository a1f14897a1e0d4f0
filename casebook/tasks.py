from celery import shared_task
from django.core.cache import cache
from django.utils import timezone

HEARTBEAT_KEY = "casebook:worker-heartbeat"


@shared_task
def heartbeat():
    """Beat runs this every minute; /healthz reports how long ago a worker last ran it."""
    cache.set(HEARTBEAT_KEY, timezone.now().isoformat(), timeout=60 * 60 * 24)
