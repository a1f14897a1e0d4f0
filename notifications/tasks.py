"""Delivering queued emails and texts.

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

Emails to staff are few by design (see notifications/services.py): the daily digest
(followups/digest.py), the supervisor alerts. The assigned worker hears of each
follow-up in the inbox.
"""

import datetime
import logging
import uuid
from typing import Any

from celery import shared_task
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

from core.i18n import StoredText, stored_text
from notifications import backends, services
from notifications.models import Channel, DeliveryStatus, Notification

logger = logging.getLogger(__name__)

LEASE = datetime.timedelta(minutes=5)
MAX_TRIES = 5
# Waits after failed tries 1, 2, 3, 4: 1, 2, 4 and 8 minutes.
BACKOFF = datetime.timedelta(minutes=1)
SWEEP_LIMIT = 200
OUTCOME_UNKNOWN = gettext_noop("outcome unknown: the worker stopped while sending")


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
        failure_reason_i18n=None,
    )
    return True


def _send(notification: Notification):
    if notification.channel == Channel.TEXT:
        backends.send_text(notification.address, notification.body)
    elif notification.channel == Channel.EMAIL:
        backends.send_email(
            notification.address, notification.subject, notification.body, notification.html_body
        )
    else:
        raise backends.PermanentDeliveryError.because(
            gettext_noop("no way to send %(channel)s"), channel=repr(notification.channel)
        )


def _reason(exc: Exception) -> StoredText | str:
    """Why a try failed: the product's words when a backend said it with
    DeliveryError.because, else the error's own."""
    if isinstance(exc, backends.DeliveryError) and exc.text is not None:
        return exc.text
    text = str(exc) or type(exc).__name__
    if not isinstance(exc, backends.DeliveryError):
        text = f"{type(exc).__name__}: {text}"
    return text[:400]


def _argument(reason: StoredText | str) -> Any:
    """A reason inside another stored text: its data when the product wrote it, else its
    words, shown as they are."""
    return reason.data if isinstance(reason, StoredText) else reason


def _set_reason(notification: Notification, reason: StoredText | str) -> None:
    """failure_reason in English, and its message (failure_reason_i18n) when the product
    wrote it."""
    if isinstance(reason, StoredText):
        notification.failure_reason = reason.english[:500]
        notification.failure_reason_i18n = reason.data
    else:
        notification.failure_reason = reason[:500]
        notification.failure_reason_i18n = None


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
            if not permanent:
                reason = stored_text(
                    gettext_noop("%(reason)s (gave up after %(tries)s tries)"),
                    reason=_argument(reason),
                    tries=notification.tries,
                )
        else:
            notification.status = DeliveryStatus.QUEUED
            notification.next_attempt_at = now + BACKOFF * 2 ** (notification.tries - 1)
            reason = stored_text(
                gettext_noop("try %(number)s failed: %(reason)s"),
                number=notification.tries,
                reason=_argument(reason),
            )
        _set_reason(notification, reason)
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
            _set_reason(notification, stored_text(OUTCOME_UNKNOWN))
            notification.save(
                update_fields=[
                    "status",
                    "failed_at",
                    "lease_until",
                    "failure_reason",
                    "failure_reason_i18n",
                ]
            )
            services.delivery_failed(notification)
    return len(lost)
