"""Delivering queued emails and texts, and the daily digest.

Delivery is at most once, under a lease:

1. claim: in a short transaction, lock a QUEUED row whose next attempt has come
   (SELECT ... FOR UPDATE SKIP LOCKED), mark it SENDING with a lease and a token, commit;
2. send, outside any transaction;
3. record the outcome on the row holding that token: SENT; or QUEUED again with
   exponential backoff; or FAILED after MAX_TRIES (or at once when trying again cannot
   help), which alerts the supervisors in-app.

A row still SENDING when its lease has run out belonged to a worker that stopped
mid-send: whether the message went is unknown, so it is marked FAILED ("outcome
unknown") with an alert for a person to check, and never sent again blindly. A
duplicate `deliver` of a row that is not QUEUED does nothing. Retries are not Celery
countdowns: the row's next_attempt_at waits in the database and the sweep (every
minute, settings.CELERY_BEAT_SCHEDULE) picks it up.

Emails to staff are few by design (see notifications/services.py): the daily digest, the
supervisor alerts. The assigned worker hears of each follow-up in the inbox.
"""

import datetime
import logging
import uuid
import zoneinfo

from celery import shared_task
from django.db import transaction
from django.db.models import Count, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from accounts.models import Agency, User
from followups.models import ACTIONABLE_STATUSES, OPEN_STATUSES, Status
from notifications import backends, services
from notifications.models import Channel, DeliveryStatus, Kind, Notification

logger = logging.getLogger(__name__)

LEASE = datetime.timedelta(minutes=5)
MAX_TRIES = 5
# Waits after failed tries 1, 2, 3, 4: 1, 2, 4 and 8 minutes.
BACKOFF = datetime.timedelta(minutes=1)
SWEEP_LIMIT = 200
OUTCOME_UNKNOWN = "outcome unknown: the worker stopped while sending"
# Digests go once a day, at or after this hour in the agency's time zone.
DIGEST_HOUR = 7


@shared_task
def deliver(notification_id: int) -> bool:
    """Send one queued notification if it is still queued and due. Returns whether this
    call sent it."""
    claimed = _claim(timezone.now(), pk=notification_id)
    return claimed is not None and _send_claimed(*claimed)


@shared_task
def sweep(limit: int = SWEEP_LIMIT) -> int:
    """Beat, every minute: fail sends whose worker stopped, then deliver what is due
    (a hand-off lost on its way to the worker, a retry whose backoff has passed, a
    reminder held until morning). Returns how many were sent."""
    fail_lost_sends(timezone.now())
    sent = 0
    for _ in range(limit):
        claimed = _claim(timezone.now())
        if claimed is None:
            break
        sent += _send_claimed(*claimed)
    return sent


def _claim(now, pk=None) -> tuple[Notification, uuid.UUID] | None:
    with transaction.atomic():
        rows = Notification.objects.needing_delivery(now).exclude(channel=Channel.IN_APP)
        if pk is not None:
            rows = rows.filter(pk=pk)
        notification = (
            rows.select_for_update(skip_locked=True).order_by("next_attempt_at", "pk").first()
        )
        if notification is None:
            return None
        token = uuid.uuid4()
        notification.status = DeliveryStatus.SENDING
        notification.lease_until = now + LEASE
        notification.lease_token = token
        notification.tries += 1
        notification.save(update_fields=["status", "lease_until", "lease_token", "tries"])
    return notification, token


def _send_claimed(notification: Notification, token: uuid.UUID) -> bool:
    try:
        _send(notification)
    except Exception as exc:
        logger.warning("notification %s not sent: %s", notification.pk, exc)
        _record_failure(notification.pk, token, exc)
        return False
    # Held by token, not status: a send that finished after its lease ran out (and was
    # marked "outcome unknown") is corrected to what really happened.
    Notification.objects.filter(pk=notification.pk, lease_token=token).update(
        status=DeliveryStatus.SENT,
        sent_at=timezone.now(),
        lease_until=None,
        lease_token=None,
        failed_at=None,
        failure_reason="",
    )
    return True


def _send(notification: Notification):
    if notification.channel == Channel.TEXT:
        backends.send_text(notification.address, notification.body)
    elif notification.channel == Channel.EMAIL:
        backends.send_email(notification.address, notification.subject, notification.body)
    else:
        raise backends.PermanentDeliveryError(f"no way to send {notification.channel!r}")


def _reason(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    if not isinstance(exc, backends.DeliveryError):
        text = f"{type(exc).__name__}: {text}"
    return text[:400]


def _record_failure(pk: int, token: uuid.UUID, exc: Exception):
    now = timezone.now()
    with transaction.atomic():
        notification = (
            Notification.objects.select_for_update()
            .filter(pk=pk, lease_token=token, status=DeliveryStatus.SENDING)
            .first()
        )
        if notification is None:
            return
        reason = _reason(exc)
        notification.lease_until = None
        notification.lease_token = None
        permanent = isinstance(exc, backends.PermanentDeliveryError)
        if permanent or notification.tries >= MAX_TRIES:
            notification.status = DeliveryStatus.FAILED
            notification.failed_at = now
            notification.failure_reason = (
                reason if permanent else f"{reason} (gave up after {notification.tries} tries)"
            )[:500]
        else:
            notification.status = DeliveryStatus.QUEUED
            notification.next_attempt_at = now + BACKOFF * 2 ** (notification.tries - 1)
            notification.failure_reason = f"try {notification.tries} failed: {reason}"[:500]
        notification.save()
        if notification.status == DeliveryStatus.FAILED:
            services.delivery_failed(notification)


def fail_lost_sends(now, limit: int = SWEEP_LIMIT) -> int:
    """Rows left SENDING past their lease become FAILED ("outcome unknown") with an
    alert. The lease token is kept: a send that did finish can still say so."""
    with transaction.atomic():
        lost = list(
            Notification.objects.filter(status=DeliveryStatus.SENDING, lease_until__lt=now)
            .select_for_update(skip_locked=True)
            .order_by("lease_until", "pk")[:limit]
        )
        for notification in lost:
            notification.status = DeliveryStatus.FAILED
            notification.failed_at = now
            notification.lease_until = None
            notification.failure_reason = OUTCOME_UNKNOWN
            notification.save(
                update_fields=["status", "failed_at", "lease_until", "failure_reason"]
            )
            services.delivery_failed(notification)
    return len(lost)


# --- The daily digest ------------------------------------------------------------------------


@shared_task
def send_daily_digests() -> int:
    """Beat, every 15 minutes: see queue_daily_digests."""
    return queue_daily_digests(timezone.now())


def queue_daily_digests(now) -> int:
    """One digest email per active worker or supervisor with due or overdue follow-ups,
    once per local date of their agency, at or after DIGEST_HOUR. Counts only, and a
    link to the Today page: no client names. Returns how many were queued now."""
    queued = 0
    for agency in Agency.objects.order_by("pk"):
        tz = zoneinfo.ZoneInfo(agency.timezone)
        local = now.astimezone(tz)
        if local.hour < DIGEST_HOUR:
            continue
        today = local.date()
        for user in _digest_readers(agency, today, tz):
            with transaction.atomic():
                _, created = _digest(user, agency, today)
            queued += created
    return queued


def _local_midnight(day: datetime.date, tz) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(), tzinfo=tz).astimezone(datetime.UTC)


def _digest_readers(agency, today, tz):
    start = _local_midnight(today, tz)
    end = _local_midnight(today + datetime.timedelta(days=1), tz)
    since = _local_midnight(today - datetime.timedelta(days=1), tz)
    return (
        User.objects.filter(agency=agency, is_active=True, role__in=services.STAFF_ROLES)
        .exclude(email="")
        .annotate(
            due_today=Count(
                "followups",
                filter=Q(
                    followups__status__in=OPEN_STATUSES,
                    followups__due_at__gte=start,
                    followups__due_at__lt=end,
                ),
            ),
            overdue=Count("followups", filter=Q(followups__status=Status.OVERDUE)),
            actionable=Count("followups", filter=Q(followups__status__in=ACTIONABLE_STATUSES)),
            missed=Count(
                "followups",
                filter=Q(followups__status=Status.MISSED, followups__status_changed_at__gte=since),
            ),
        )
        .filter(Q(actionable__gt=0) | Q(due_today__gt=0))
        .order_by("pk")
    )


def _digest(user, agency, today) -> tuple[Notification, bool]:
    path = reverse("followups:today")
    context = {
        "day": today,
        "due_today": user.due_today,
        "overdue": user.overdue,
        "actionable": user.actionable,
        "missed": user.missed,
        "url": services.absolute(path),
    }
    return services.get_or_create_notification(
        agency_id=agency.pk,
        kind=Kind.DAILY_DIGEST,
        channel=Channel.EMAIL,
        dedupe_key=f"digest:{user.pk}:{today.isoformat()}",
        recipient=user,
        subject=f"Your follow-ups for {today:%a %d %b}",
        body=render_to_string("notifications/email/daily_digest.txt", context),
        url=path,
    )
