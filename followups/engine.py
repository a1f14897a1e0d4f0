"""The follow-up engine: the database is the source of truth, Celery does the work.

Every follow-up row carries `next_check_at`, the next time its status changes by itself.
Beat runs `sweep()` every minute. It claims the rows whose time has come with
SELECT ... FOR UPDATE SKIP LOCKED, gives each a lease (a fresh token valid until
`lease_until`) and, once that transaction has committed, sends one short task per row:
`followups.tasks.process_followup(id, token)`, which runs `process()`.

Why nothing is lost or done twice:

- A message that never arrives (Redis restarted, a worker killed before it acknowledged
  it) leaves the row leased; when the lease runs out the row needs sweeping again and the
  next sweep sends it again under a new token.
- `process()` locks the row and does nothing unless the message's token is the row's
  current one: a duplicate delivery, a redelivery after the row was processed and a stale
  message from an expired lease all find another token (or none) and do nothing. A
  processing that fails rolls back whole, so the next try starts from the same state.
- Notifications are created through notifications.services, idempotent through their
  dedupe key and given once per follow-up, kind and due time, and sent after commit.
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
from collections.abc import Callable, Sequence

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Case, DateTimeField, F, Value, When
from django.db.models.expressions import RawSQL
from django.utils import timezone

from followups import events
from followups.models import (
    CLOSED_STATUSES,
    OPEN_STATUSES,
    FollowUp,
    FollowUpEventKind,
    Status,
)
from notifications import services as notices

logger = logging.getLogger(__name__)

# How many rows one sweep claims; beat sweeps every minute.
SWEEP_LIMIT = 500
# Sends of one row without a successful processing before it is parked.
MAX_DISPATCHES = 5
# The longest a lease grows to as a row is sent again and again.
MAX_LEASE = datetime.timedelta(hours=1)
ERROR_MAX = 500

# The time-driven order of an open follow-up's statuses.
TIMELINE = (Status.SCHEDULED, Status.DUE, Status.OVERDUE, Status.MISSED)

REASONS: dict[str, str] = {
    Status.SCHEDULED: "Its window was moved to later",
    Status.DUE: "Its window opened",
    Status.OVERDUE: "Its due time passed",
    Status.MISSED: "Its window closed without a completed contact",
}


def lease_seconds() -> int:
    return int(getattr(settings, "FOLLOWUP_LEASE_SECONDS", 300))


def lease_for(dispatch_count: int) -> datetime.timedelta:
    """The lease of a row's `dispatch_count`th send: doubling from the base lease."""
    base = datetime.timedelta(seconds=lease_seconds())
    return min(base * 2 ** max(dispatch_count - 1, 0), max(MAX_LEASE, base))


# --- The sweep ------------------------------------------------------------------------------


def sweep(now: datetime.datetime | None = None, limit: int = SWEEP_LIMIT) -> int:
    """Claim the follow-ups whose next check has come and send each a processing task
    after commit. Returns how many were sent. Safe to run in several processes at once:
    a row locked by another sweep is skipped, a row under a live lease is not claimed."""
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
            transaction.on_commit(lambda: _dispatch(claims))
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


def _dispatch(claims: list[tuple[int, uuid.UUID]]) -> None:
    """Send the claimed rows' tasks. When the broker refuses one, the rest are not tried
    and their claims are undone, so the next sweep (a minute later) sends them instead of
    waiting out the lease, and the failed send does not count towards parking."""
    from followups.tasks import process_followup

    send = process_followup.delay  # looked up once: Celery resolves it on every access
    for i, (pk, token) in enumerate(claims):
        try:
            send(pk, str(token))
        except Exception:
            logger.exception(
                "Could not send follow-up tasks; %d left for the next sweep", len(claims) - i
            )
            for left_pk, left_token in claims[i:]:
                _unclaim(left_pk, left_token)
            return


def _unclaim(pk: int, token: uuid.UUID) -> None:
    FollowUp.objects.filter(pk=pk, lease_token=token).update(
        lease_until=None, lease_token=None, dispatch_count=F("dispatch_count") - 1
    )


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


def _notices(entered: list[str], final: str) -> list:
    """The notification services to call once a processing has left the follow-up in
    `final`, having entered `entered` on the way. While the window is open, the prompt of
    every status up to `final` is owed, whether this processing entered it or not: a row
    created already due, or one whose earlier processing was killed and rolled back, has
    not had its "fell due" prompt yet. The services give each prompt once per follow-up
    and due time, so a prompt already given is not given again. Once the window has
    closed, only the supervisor hears that it was missed: a worker's or a client's prompt
    would come too late to act on."""
    if final == Status.MISSED:
        return [notices.followup_missed] if Status.MISSED in entered else []
    if final not in (Status.DUE, Status.OVERDUE):
        return []
    by_status: dict[str, Callable[..., object]] = {
        Status.DUE: notices.followup_fell_due,
        Status.OVERDUE: notices.followup_overdue,
    }
    return [by_status[s] for s in TIMELINE[1 : TIMELINE.index(final) + 1]]


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


def process(followup_id: int, token, now: datetime.datetime | None = None) -> bool:
    """Apply a claimed follow-up's time-driven status changes at `now`, with their events
    and notifications, and set its next check. Does nothing and returns False unless
    `token` is the row's current lease token (a duplicate or stale message)."""
    now = now or timezone.now()
    with transaction.atomic():
        fu = (
            FollowUp.objects.select_for_update(of=("self",))
            .select_related("case__client", "case__agency", "assigned_to")
            .filter(pk=followup_id)
            .first()
        )
        if fu is None or fu.lease_token is None or str(fu.lease_token) != str(token):
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
