"""Referral work for the Celery worker."""

from celery import shared_task
from django.utils import timezone

from referrals.models import Referral


@shared_task
def flag_stale_referrals() -> int:
    """Beat, every 5 minutes: set is_stale on the referrals whose stale_at has come, in
    one UPDATE on referral_stale_due_idx, so that the referral list orders and filters by
    an indexed column. The flag lags stale_at by at most one sweep; the writes that move
    stale_at clear it (Referral.refresh_staleness), and a row this UPDATE waits for while
    a transition holds it is read again as the transition left it. Running it again flags
    nothing more. Returns how many were flagged."""
    return Referral.objects.stale(timezone.now()).filter(is_stale=False).update(is_stale=True)
