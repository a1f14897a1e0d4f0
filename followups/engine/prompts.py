"""A batch's prompts: the notifications owed by a batch of follow-ups, made in one INSERT
and handed to one delivery task after commit."""

import datetime
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import SimpleNamespace

from django.db import transaction
from django.utils import timezone, translation

from core.i18n import client_language, user_language
from followups.models import FollowUp, Status
from notifications import client_reminders
from notifications import services as notices
from notifications.models import Channel, DeliveryStatus, Kind, Notification

logger = logging.getLogger(__name__)

# notifications.services.followup_fell_due, client_reminder and followup_overdue for many
# follow-ups at once: the same rows (the same dedupe keys, texts and delivery fields;
# tests/followups/test_engine_batches.py compares them) by the same rule, each prompt once
# per follow-up and due time, looked for under the rows' locks. A dedupe key taken all
# the same fails the INSERT and so the batch, which is then done row by row through
# notifications.services.

# Emails and texts wait behind the follow-up work in Redis (0 goes first, 9 last; the
# filesystem broker keeps one order): in a surge every worker hears first, and the
# clients' reminders follow within the minute.
OUTBOUND_PRIORITY = 9


@dataclass(frozen=True)
class _Prompting:
    """What every prompt of a batch is made with."""

    now: datetime.datetime
    # The dedupe keys of the prompts already given, and each one's stem (kind, follow-up
    # and due time: "due:12:2025-03-01T18:00:00+00:00:").
    given: frozenset[str]
    # notices.followup_path by id: reversed once for the batch, not once a row.
    path: Callable[[int], str]


def _prompt_together(owed: list[tuple[FollowUp, list[str]]]) -> list[Notification]:
    """Create the prompts `owed` ((follow-up, statuses)) that were not given yet, in one
    INSERT, and hand their emails and texts to one delivery task after commit."""
    owed = [(fu, statuses) for fu, statuses in owed if statuses]
    if not owed:
        return []
    batch = _Prompting(now=timezone.now(), given=_given(fu.pk for fu, _ in owed), path=_paths())
    rows: list[Notification] = []
    for fu, statuses in owed:
        if Status.DUE in statuses:
            rows += _fell_due(fu, batch)
        if Status.OVERDUE in statuses:
            rows += _overdue(fu, batch)
    made = Notification.objects.bulk_create(rows)
    outgoing = [
        n.pk for n in made if n.channel != Channel.IN_APP and n.next_attempt_at <= batch.now
    ]
    if outgoing:
        transaction.on_commit(lambda: _hand_off(outgoing), robust=True)
    return made


def _given(pks: Iterable[int]) -> frozenset[str]:
    keys = Notification.objects.filter(
        followup_id__in=list(pks),
        kind__in=[Kind.FOLLOWUP_DUE, Kind.FOLLOWUP_OVERDUE, Kind.CLIENT_REMINDER],
    ).values_list("dedupe_key", flat=True)
    return frozenset(key for full in keys for key in (full, full.rsplit(":", 2)[0] + ":"))


def _paths() -> Callable[[int], str]:
    sentinel = 987654321987654321
    template = notices.followup_path(SimpleNamespace(pk=sentinel))
    return lambda pk: template.replace(str(sentinel), str(pk))


def _fell_due(fu: FollowUp, batch: _Prompting) -> list[Notification]:
    """notices.followup_fell_due: the worker in-app and the client's reminder, unless the
    prompt was given for this due time (to whoever, by whatever channel)."""
    when = notices.due_stamp(fu.due_at)
    if f"due:{fu.pk}:{when}:" in batch.given:
        return []
    with translation.override(user_language(fu.assigned_to)):
        subject, body = notices.fell_due_text(fu)
    worker = _notification(
        fu,
        now=batch.now,
        kind=Kind.FOLLOWUP_DUE,
        channel=Channel.IN_APP,
        dedupe_key=f"due:{fu.pk}:{when}:{Channel.IN_APP}:{fu.assigned_to_id}",
        recipient_id=fu.assigned_to_id,
        client_id=fu.case.client_id,
        subject=subject,
        body=body,
        url=batch.path(fu.pk),
    )
    reminder = _client_reminder(fu, batch)
    return [worker] if reminder is None else [worker, reminder]


def _client_reminder(fu: FollowUp, batch: _Prompting) -> Notification | None:
    """notices.client_reminder: the neutral reminder by the client's channel, if any."""
    client = fu.case.client
    chosen = client_reminders.reminder_address(client)
    if chosen is None:
        return None
    channel, address = chosen
    key = notices.reminder_key(fu, channel, client.pk)
    if key in batch.given:
        return None
    # In the client's language, as everything sent to them.
    with translation.override(client_language(client)):
        subject, body = notices.reminder_content(channel)
    return _notification(
        fu,
        now=batch.now,
        kind=Kind.CLIENT_REMINDER,
        channel=channel,
        dedupe_key=key,
        client_id=client.pk,
        address=address,
        subject=subject,
        body=body,
        not_before=client_reminders.reminder_send_time(batch.now, fu.case.agency),
    )


def _overdue(fu: FollowUp, batch: _Prompting) -> list[Notification]:
    """notices.followup_overdue: the worker in-app, once per due time."""
    when = notices.due_stamp(fu.due_at)
    if f"overdue:{fu.pk}:{when}:" in batch.given:
        return []
    with translation.override(user_language(fu.assigned_to)):
        subject, body = notices.overdue_text(fu)
    return [
        _notification(
            fu,
            now=batch.now,
            kind=Kind.FOLLOWUP_OVERDUE,
            channel=Channel.IN_APP,
            dedupe_key=f"overdue:{fu.pk}:{when}:{Channel.IN_APP}:{fu.assigned_to_id}",
            recipient_id=fu.assigned_to_id,
            client_id=fu.case.client_id,
            subject=subject,
            body=body,
            url=batch.path(fu.pk),
        )
    ]


def _notification(
    fu: FollowUp,
    *,
    now: datetime.datetime,
    kind: str,
    channel: str,
    dedupe_key: str,
    subject: str,
    body: str,
    url: str = "",
    recipient_id: int | None = None,
    client_id: int | None = None,
    address: str = "",
    not_before: datetime.datetime | None = None,
) -> Notification:
    """An unsaved row as notices.get_or_create_notification creates it (none of a batch's
    prompts is an email to a user, whose address it would fill in)."""
    external = channel != Channel.IN_APP
    return Notification(
        agency_id=fu.agency_id,
        kind=kind,
        channel=channel,
        dedupe_key=dedupe_key[:200],
        recipient_id=recipient_id,
        client_id=client_id,
        followup_id=fu.pk,
        address=address[:254],
        subject=subject[:200],
        body=body[:10000],
        url=url[:300],
        status=DeliveryStatus.QUEUED if external else DeliveryStatus.SENT,
        created_at=now,
        next_attempt_at=max(now, not_before) if not_before else now,
        sent_at=None if external else now,
    )


def _hand_off(notification_ids: list[int]) -> None:
    from followups.tasks import deliver_notifications

    try:
        deliver_notifications.apply_async((notification_ids,), priority=OUTBOUND_PRIORITY)
    except Exception as exc:
        # As notifications.services hands one off: the rows stay QUEUED and the
        # notification sweep sends them within a minute of the broker's return.
        logger.warning(
            "%d notifications left for the sweep: not handed to a worker (%s: %s)",
            len(notification_ids),
            type(exc).__name__,
            exc,
        )
