"""The follow-up engine: the database is the source of truth, Celery does the work.

Every follow-up row carries `next_check_at`, the next time its status changes by itself.
Beat runs `sweep()` every few seconds. It claims the rows whose time has come with
SELECT ... FOR UPDATE SKIP LOCKED, gives each a lease (a fresh token valid until
`lease_until`) and, once that transaction has committed, sends them in batches of
(id, token): `followups.tasks.process_followups(batch)`, which runs `process_batch()`. A
sweep that comes back full sends the next one at once (followups.tasks.sweep), whose
batches queue behind its own: a surge drains at the workers' pace without waiting for
beat, and without more than about two sweeps' worth queued at a time.

Why nothing is lost or done twice:

- A message that never arrives (Redis restarted, a worker killed before it acknowledged
  it) leaves its rows leased; when the lease runs out they need sweeping again and the
  next sweep sends them again under new tokens.
- Each row is processed under its own lease: `process_batch()` and `process()` lock the
  row and do nothing to it unless the message's token is the row's current one: a
  duplicate delivery, a redelivery after the row was processed and a stale message from
  an expired lease all find another token (or none) and do nothing. A processing that
  fails rolls back whole, so the next try starts from the same state.
- Notifications are given once per follow-up, kind and due time (notifications.services:
  found by their dedupe key, looked for under the follow-up's row lock), and sent after
  commit. A batch creates its rows in bulk by the same keys and the same rule
  (`_prompt_together`), under the same locks; a key already taken fails the batch, which
  is then processed row by row through notifications.services.
  The prompts owed are worked out from the status the row ends in, not only from the
  statuses this processing entered: a retry that comes after a killed first try still
  gives the "fell due" prompt it skipped past.
- A row sent MAX_DISPATCHES times without being processed is parked (never swept again
  until someone releases it), with an event and an alert to supervisors and admins.
  Leases grow with each send (LEASE, 2 x LEASE, 4 x LEASE, ... at most MAX_LEASE), so a
  backlog while every worker is down is sent again a few times, not every few minutes.

On SQLite (the embedded default, one worker) FOR UPDATE is a no-op; the database lock of
the IMMEDIATE transaction serialises sweeps there.
"""

import datetime
import logging
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from types import SimpleNamespace

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import Case, DateTimeField, F, Value, When
from django.db.models.expressions import RawSQL
from django.utils import timezone

from followups import events
from followups.models import (
    CLOSED_STATUSES,
    OPEN_STATUSES,
    FollowUp,
    FollowUpEvent,
    FollowUpEventKind,
    Status,
)
from notifications import client_reminders
from notifications import services as notices
from notifications.models import Channel, DeliveryStatus, Kind, Notification

logger = logging.getLogger(__name__)

# How many rows one sweep claims; a full sweep is followed at once by another
# (followups.tasks.sweep), at most MAX_SWEEP_ROUNDS in a row before beat starts again.
SWEEP_LIMIT = 1000
MAX_SWEEP_ROUNDS = 100
# Sends of one row without a successful processing before it is parked.
MAX_DISPATCHES = 5
# The longest a lease grows to as a row is sent again and again.
MAX_LEASE = datetime.timedelta(hours=1)
ERROR_MAX = 500

# The times a follow-up's status changes at, in order (FollowUp.next_boundary).
BOUNDARIES = ("window_start", "due_at", "window_end")
# The time-driven order of an open follow-up's statuses.
TIMELINE = (Status.SCHEDULED, Status.DUE, Status.OVERDUE, Status.MISSED)

REASONS: dict[str, str] = {
    Status.SCHEDULED: "Its window was moved to later",
    Status.DUE: "Its window opened",
    Status.OVERDUE: "Its due time passed",
    Status.MISSED: "Its window closed without a completed contact",
}

Claim = tuple[int, str]


def lease_seconds() -> int:
    return int(getattr(settings, "FOLLOWUP_LEASE_SECONDS", 300))


def batch_size() -> int:
    """How many claimed rows one processing task takes (settings.FOLLOWUP_BATCH_SIZE)."""
    return max(1, int(getattr(settings, "FOLLOWUP_BATCH_SIZE", 200)))


def lease_for(dispatch_count: int) -> datetime.timedelta:
    """The lease of a row's `dispatch_count`th send: doubling from the base lease."""
    base = datetime.timedelta(seconds=lease_seconds())
    return min(base * 2 ** max(dispatch_count - 1, 0), max(MAX_LEASE, base))


# --- The sweep ------------------------------------------------------------------------------


def sweep(
    now: datetime.datetime | None = None,
    limit: int = SWEEP_LIMIT,
    *,
    then: Callable[[], object] | None = None,
) -> int:
    """Claim the follow-ups whose next check has come and send them to the workers in
    batches after commit. Returns how many were claimed. Safe to run in several processes
    at once: a row locked by another sweep is skipped, a row under a live lease is not
    claimed.

    `then` is called after commit when the sweep came back full (`limit` rows: there may
    be more), just before its batches are sent: followups.tasks.sweep sends the next sweep
    there, which claims the next rows while these batches are worked through and sends its
    own behind them, so the queue holds about two sweeps' worth of work at a time."""
    now = now or timezone.now()
    claims: list[tuple[int, uuid.UUID]] = []
    with transaction.atomic():
        rows = list(
            FollowUp.objects.needing_sweep(now)
            .order_by("next_check_at", "pk")
            .select_for_update(skip_locked=True)
            .values_list("pk", "dispatch_count")[:limit]
        )
        leases = {}
        for pk, dispatch_count in rows:
            if dispatch_count >= MAX_DISPATCHES:
                _park(pk, now=now)
                continue
            leases[dispatch_count] = now + lease_for(dispatch_count + 1)
            claims.append((pk, uuid.uuid4()))
        if claims:
            _lease(claims, leases)
        full = then if len(rows) >= limit else None
        if claims or full:
            transaction.on_commit(lambda: _dispatch(claims, first=full))
    return len(claims)


def _lease(claims: list[tuple[int, uuid.UUID]], leases: dict) -> None:
    """Lease the claimed rows, locked by the caller, in one UPDATE: one more send, each row
    its own token, a lease by its count of sends so far (`leases`: count -> lease_until;
    SET reads the row as it was, so that count is the old one)."""
    FollowUp.objects.filter(pk__in=[pk for pk, _ in claims]).update(
        dispatch_count=F("dispatch_count") + 1,
        lease_token=_by_pk(claims, FollowUp._meta.get_field("lease_token")),
        lease_until=Case(
            *(When(dispatch_count=n, then=Value(until)) for n, until in leases.items()),
            output_field=DateTimeField(),
        ),
    )


def _by_pk(values: Sequence[tuple[int, object]], field) -> RawSQL:
    """CASE id WHEN pk THEN value ... END for `field`: the same as Case(When(pk=...)) but
    built in constant time per row, where 500 When objects cost more than the UPDATE."""
    qn = connection.ops.quote_name
    # The stubs allow a model without a primary key column; FollowUp has one.
    column = f"{qn(FollowUp._meta.db_table)}.{qn(FollowUp._meta.pk.column)}"  # type: ignore[arg-type]
    params = []
    for pk, value in values:
        params += [pk, field.get_db_prep_value(value, connection)]
    whens = " ".join(["WHEN %s THEN %s"] * len(values))
    # Only quoted names and placeholders go into the SQL; the values are parameters.
    return RawSQL(f"CASE {column} {whens} END", params, output_field=field)  # noqa: S611  # nosec B611


def _dispatch(
    claims: list[tuple[int, uuid.UUID]], *, first: Callable[[], object] | None = None
) -> None:
    """Call `first` (sending the next sweep), then send the claimed rows' tasks,
    batch_size() rows each. When the broker refuses one, the rest are not tried and their
    claims are undone, so the next sweep sends them instead of waiting out the lease, and
    the failed send does not count towards parking."""
    from followups.tasks import process_followups

    if first is not None:
        try:
            first()
        except Exception:
            logger.exception("Could not send the next sweep; beat sends one soon")
    size = batch_size()
    for i in range(0, len(claims), size):
        try:
            process_followups.delay([(pk, str(token)) for pk, token in claims[i : i + size]])
        except Exception:
            logger.exception(
                "Could not send follow-up tasks; %d left for the next sweep", len(claims) - i
            )
            _unclaim(claims[i:])
            return


def _unclaim(claims: list[tuple[int, uuid.UUID]]) -> None:
    """Undo claims still held by their tokens, in one UPDATE (tokens are unique: a row
    holds one of them only if it is its own)."""
    FollowUp.objects.filter(
        pk__in=[pk for pk, _ in claims], lease_token__in=[token for _, token in claims]
    ).update(lease_until=None, lease_token=None, dispatch_count=F("dispatch_count") - 1)


def _park(pk: int, *, now) -> None:
    """Park the row (locked by the caller), with its event and alert, in a savepoint:
    should the alert fail, the row stays as it was for the next sweep and the rest of this
    sweep goes on."""
    try:
        with transaction.atomic():
            _park_row(FollowUp.objects.get(pk=pk), now=now)
    except Exception:
        logger.exception("Could not park follow-up %s", pk)


def _park_row(fu: FollowUp, *, now) -> None:
    error = fu.last_error or f"Sent {fu.dispatch_count} times without being processed"
    fu.parked_at = now
    fu.lease_until = None
    fu.lease_token = None
    fu.save(update_fields=["parked_at", "lease_until", "lease_token"])
    events.followup_event(
        followup=fu,
        kind=FollowUpEventKind.PARKED,
        actor=None,
        at=now,
        reason=error,
        detail={"dispatch_count": fu.dispatch_count},
    )
    logger.error("Follow-up %s parked after %s sends: %s", fu.pk, fu.dispatch_count, error)
    notices.followup_parked(fu, error)


# --- Processing one row ---------------------------------------------------------------------


def _path(current: str, target: str) -> list[str]:
    """The statuses a follow-up enters going from `current` to `target`: each one in
    between when time moved forward, or straight back when its window was moved later."""
    if current == target:
        return []
    i, j = TIMELINE.index(current), TIMELINE.index(target)
    return list(TIMELINE[i + 1 : j + 1]) if j > i else [target]


def _owed(entered: list[str], final: str) -> list[str]:
    """The statuses whose prompts are owed once a processing has left the follow-up in
    `final`, having entered `entered` on the way. While the window is open, the prompt of
    every status up to `final` is owed, whether this processing entered it or not: a row
    created already due, or one whose earlier processing was killed and rolled back, has
    not had its "fell due" prompt yet. Each prompt is given once per follow-up and due
    time, so one already given is not given again. Once the window has closed, only the
    supervisor hears that it was missed: a worker's or a client's prompt would come too
    late to act on."""
    if final == Status.MISSED:
        return [Status.MISSED] if Status.MISSED in entered else []
    if final not in (Status.DUE, Status.OVERDUE):
        return []
    return list(TIMELINE[1 : TIMELINE.index(final) + 1])


def _notices(entered: list[str], final: str) -> list:
    """The notification services that give the prompts _owed()."""
    by_status: dict[str, Callable[..., object]] = {
        Status.DUE: notices.followup_fell_due,
        Status.OVERDUE: notices.followup_overdue,
        Status.MISSED: notices.followup_missed,
    }
    return [by_status[s] for s in _owed(entered, final)]


def _advance(fu: FollowUp, target: str, *, now: datetime.datetime) -> list[str]:
    """Move `fu` (locked, not yet saved) through each status between its own and
    `target`, with a status-change event for each, and return the statuses it entered
    (none when it moves nowhere)."""
    current = fu.status
    entered = _path(current, target) if current in OPEN_STATUSES else []
    for status in entered:
        before = fu.status
        fu.status = status
        events.status_changed(
            followup=fu, actor=None, from_status=before, at=now, reason=REASONS[status]
        )
    if entered:
        fu.status_changed_at = now
    return entered


def _save_processed(fu: FollowUp, *, now: datetime.datetime) -> None:
    """Save `fu`'s status with its next check after `now`, its lease ended, its count of
    sends back to zero and no error kept."""
    fu.next_check_at = fu.next_boundary(now)
    fu.lease_until = None
    fu.lease_token = None
    fu.dispatch_count = 0
    fu.last_error = ""
    fu.save(
        update_fields=[
            "status",
            "status_changed_at",
            "next_check_at",
            "lease_until",
            "lease_token",
            "dispatch_count",
            "last_error",
        ]
    )


def _send_notices(fu: FollowUp, entered: list[str]) -> None:
    """Create the notifications owed for `fu`'s status (_notices), and log the change."""
    sent = _notices(entered, fu.status)
    for notice in sent:
        notice(fu)
    if entered or sent:
        # Ids only: the log is not a place for client data.
        logger.info(
            "Follow-up %s is now %s (assigned to user %s); notices owed: %s",
            fu.pk,
            fu.status,
            fu.assigned_to_id,
            ", ".join(getattr(n, "__name__", repr(n)) for n in sent) or "none",
        )


def _locked(pks: Iterable[int], *, skip_locked: bool = False):
    return (
        FollowUp.objects.select_for_update(of=("self",), skip_locked=skip_locked)
        .select_related("case__client", "case__agency", "assigned_to")
        .filter(pk__in=list(pks))
    )


# What a batch reads: each row's times and status, and what its prompts say (the client's
# name and reminder channel, the agency's zone), not the whole of four models a row. A
# field read that is not here would cost a query a row: the query-count test catches it.
BATCH_FIELDS = (
    *("agency", "case", "title", "assigned_to", "status", "status_changed_at", "lease_token"),
    *("window_start", "due_at", "window_end", "next_check_at"),
    *("case__agency", "case__client", "case__agency__timezone"),
    *(f"case__client__{name}" for name in ("legal_name", "preferred_name", "description")),
    *(f"case__client__{name}" for name in ("reminder_channel", "phone", "email")),
)


def _holds(fu: FollowUp, token) -> bool:
    return fu.lease_token is not None and str(fu.lease_token) == str(token)


def process(followup_id: int, token, now: datetime.datetime | None = None) -> bool:
    """Apply a claimed follow-up's time-driven status changes at `now`, with their events
    and notifications, and set its next check. Does nothing and returns False unless
    `token` is the row's current lease token (a duplicate or stale message)."""
    now = now or timezone.now()
    with transaction.atomic():
        fu = _locked([followup_id]).first()
        if fu is None or not _holds(fu, token):
            return False
        current = fu.status
        target = fu.status_at(now)
        entered = _advance(fu, target, now=now)
        _save_processed(fu, now=now)
        if target == Status.MISSED and current != Status.MISSED:
            events.on_timeline(
                case_id=fu.case_id,
                actor=None,
                summary=f"Follow-up missed: {fu.title}",
                detail={"followup_id": fu.pk},
            )
        _send_notices(fu, entered)
        if fu.status == Status.MISSED and current != Status.MISSED:
            from followups.services import schedule_next_occurrence

            schedule_next_occurrence(fu)
    return True


def record_error(followup_id: int, token, error: BaseException) -> None:
    """Keep why a processing failed on the row, in a transaction of its own (the one that
    failed rolled back). Only while the message still holds the row's lease."""
    text = f"{type(error).__name__}: {error}"[:ERROR_MAX]
    FollowUp.objects.filter(pk=followup_id, lease_token=token).update(last_error=text)


# --- Processing a batch ---------------------------------------------------------------------


def process_batch(claims: Sequence[Claim], now: datetime.datetime | None = None) -> int:
    """Process a batch of claimed follow-ups, (id, token) each, every row under its own
    lease: one whose token is no longer the one sent is skipped (someone else has it).
    Returns how many were processed.

    The batch goes in one transaction with set-based writes (_process_together). A row
    that needs more than that (one being missed: the supervisors' alerts, the case
    timeline, the next occurrence) or that another transaction holds locked is then
    processed on its own by process(). Should the batch's transaction fail, each of its
    rows is processed on its own, so that one bad row fails alone: its error is kept on it
    and it is sent again when its lease runs out, like any failed processing. A database
    that went away raises: the task retries the batch, whose done rows are skipped."""
    try:
        done, alone = _process_together(claims, now=now or timezone.now())
    except (OperationalError, InterfaceError):
        raise
    except Exception:
        logger.exception("A batch of %d follow-ups failed; processing them one by one", len(claims))
        done, alone = 0, list(claims)
    return done + sum(_process_alone(pk, token, now=now) for pk, token in alone)


def _process_alone(followup_id: int, token: str, *, now: datetime.datetime | None) -> bool:
    try:
        return process(followup_id, token, now=now)
    except (OperationalError, InterfaceError):
        raise
    except Exception as exc:
        logger.exception("Follow-up %s not processed", followup_id)
        try:
            record_error(followup_id, token, exc)
        except Exception:
            logger.exception("Could not record the error of follow-up %s", followup_id)
        return False


def _process_together(claims: Sequence[Claim], *, now: datetime.datetime) -> tuple[int, list]:
    """Process in one transaction the batch's rows that only change status and prompt
    their worker and client; returns (how many, the claims left for process())."""
    tokens = {int(pk): str(token) for pk, token in claims}
    with transaction.atomic():
        # Locked in id order, as every batch locks them; rows another transaction holds
        # are skipped here rather than waited for with the rest of the batch locked.
        rows = list(_locked(tokens, skip_locked=True).only(*BATCH_FIELDS).order_by("pk"))
        found = {fu.pk for fu in rows}
        alone = [(pk, token) for pk, token in tokens.items() if pk not in found]
        together = []
        for fu in rows:
            if not _holds(fu, tokens[fu.pk]):
                continue
            if fu.status in OPEN_STATUSES and fu.status_at(now) == Status.MISSED:
                alone.append((fu.pk, tokens[fu.pk]))
            else:
                together.append(fu)
        if together:
            _apply_together(together, now=now)
    return len(together), alone


def _apply_together(fus: list[FollowUp], *, now: datetime.datetime) -> None:
    """process() for rows (locked, each held by its token) that are not being missed, in
    a fixed number of queries: their status-change events in one INSERT, the rows in one
    UPDATE, their prompts in one SELECT and one INSERT."""
    moves: list[FollowUpEvent] = []
    owed: list[tuple[FollowUp, list[str]]] = []
    for fu in fus:
        entered = _path(fu.status, fu.status_at(now)) if fu.status in OPEN_STATUSES else []
        for status in entered:
            # As events.status_changed writes it.
            moves.append(
                FollowUpEvent(
                    followup_id=fu.pk,
                    kind=FollowUpEventKind.STATUS,
                    actor=None,
                    at=now,
                    reason=REASONS[status][:500],
                    from_status=fu.status,
                    to_status=status,
                )
            )
            fu.status = status
        if entered:
            fu.status_changed_at = now
        fu.next_check_at = fu.next_boundary(now)
        owed.append((fu, _owed(entered, fu.status)))
    FollowUpEvent.objects.bulk_create(moves)
    _save_together(fus, now=now, moved={event.followup_id for event in moves})
    made = _prompt_together(owed)
    logger.info(
        "Processed %d follow-ups together: %d status changes, %d notices (%s)",
        len(fus),
        len(moves),
        len(made),
        ", ".join(f"{k} {n}" for k, n in sorted(Counter(note.kind for note in made).items()))
        or "none",
    )


def _save_together(fus: list[FollowUp], *, now: datetime.datetime, moved: set[int]) -> None:
    """_save_processed for many rows in one UPDATE. Its CASEs test each row against a few
    lists of ids (which PostgreSQL hashes), not against every other row: the status by
    value, the time of the change for the rows that moved, and the next check by the
    column it is (next_boundary gives one of the row's own times, or none)."""
    by_status: dict[str, list[int]] = {}
    by_column: dict[str, list[int]] = {}
    for fu in fus:
        by_status.setdefault(fu.status, []).append(fu.pk)
        if fu.next_check_at is not None:
            column = next(c for c in BOUNDARIES if getattr(fu, c) == fu.next_check_at)
            by_column.setdefault(column, []).append(fu.pk)
    fields = {
        "status": Case(*(When(pk__in=pks, then=Value(s)) for s, pks in by_status.items())),
        "next_check_at": Case(
            *(When(pk__in=pks, then=F(column)) for column, pks in by_column.items()),
            default=None,
            output_field=DateTimeField(),
        ),
    }
    if moved:
        fields["status_changed_at"] = Case(
            When(pk__in=moved, then=Value(now)), default=F("status_changed_at")
        )
    FollowUp.objects.filter(pk__in=[fu.pk for fu in fus]).update(
        **fields, lease_until=None, lease_token=None, dispatch_count=0, last_error=""
    )


# --- A batch's prompts ----------------------------------------------------------------------
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


# --- Parked rows ----------------------------------------------------------------------------


@transaction.atomic
def release(followup: FollowUp, actor, *, reason: str = "") -> FollowUp:
    """Let a parked follow-up be processed again: it is swept at once, with a fresh count
    of sends. Releasing one that is not parked does nothing."""
    fu = FollowUp.objects.select_for_update().get(pk=followup.pk)
    if fu.parked_at is None:
        return fu
    now = timezone.now()
    fu.parked_at = None
    fu.dispatch_count = 0
    fu.lease_until = None
    fu.lease_token = None
    fu.next_check_at = None if fu.status in CLOSED_STATUSES else now
    fu.save(
        update_fields=["parked_at", "dispatch_count", "lease_until", "lease_token", "next_check_at"]
    )
    events.followup_event(
        followup=fu,
        kind=FollowUpEventKind.RELEASED,
        actor=actor,
        at=now,
        reason=reason or "Released for processing",
        detail={"last_error": fu.last_error},
    )
    return fu
