"""When a live referral counts as stale (STALE_AFTER), as one filter for the caseload."""

import datetime

from django.db.models import Q
from django.template.defaultfilters import pluralize
from django.utils import timezone

from referrals.models import STALE_AFTER, STALE_AFTER_DEFAULT, Status


def business_days_before(now: datetime.datetime, days: int) -> datetime.datetime:
    """The moment `days` business days (Monday to Friday) before `now`. Public holidays
    are not known here and count as business days. Weekdays are those of the active
    time zone (the agency's, on its pages)."""
    at = timezone.localtime(now)
    remaining = days
    while remaining > 0:
        at -= datetime.timedelta(days=1)
        if at.weekday() < 5:
            remaining -= 1
    return at


def stale_q(now: datetime.datetime) -> Q:
    unaccepted = Q()
    unconnected = Q()
    for category, (accept_days, connect_days) in STALE_AFTER.items():
        unaccepted |= Q(
            need_category=category, last_activity_at__lt=business_days_before(now, accept_days)
        )
        unconnected |= Q(
            need_category=category,
            last_activity_at__lt=now - datetime.timedelta(days=connect_days),
        )
    accept_days, connect_days = STALE_AFTER_DEFAULT
    others = ~Q(need_category__in=list(STALE_AFTER))
    unaccepted |= others & Q(last_activity_at__lt=business_days_before(now, accept_days))
    unconnected |= others & Q(last_activity_at__lt=now - datetime.timedelta(days=connect_days))
    live_not_seen = Q(
        status__in=[Status.ACCEPTED, Status.IN_PROGRESS, Status.ON_HOLD],
        service_date__isnull=True,
    )
    return (Q(status=Status.REQUESTED) & unaccepted) | (live_not_seen & unconnected)


def stale_reason(referral, now: datetime.datetime) -> str:
    """Why a referral is stale, for the flag's text; empty when it is not."""
    accept_days, connect_days = STALE_AFTER.get(referral.need_category, STALE_AFTER_DEFAULT)
    if referral.status == Status.REQUESTED:
        if referral.last_activity_at < business_days_before(now, accept_days):
            return f"Not accepted after {accept_days} business day{pluralize(accept_days)}"
    elif referral.status in (Status.ACCEPTED, Status.IN_PROGRESS, Status.ON_HOLD):
        stale_since = now - datetime.timedelta(days=connect_days)
        if referral.service_date is None and referral.last_activity_at < stale_since:
            return f"Client not seen and no update for {connect_days} day{pluralize(connect_days)}"
    return ""
