"""The sweep: claim the follow-ups whose next check has come, lease each to a fresh token
and send them to the workers in batches once the claim has committed (see followups.engine)."""

import datetime
import logging
import uuid
from collections.abc import Callable, Sequence

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Case, DateTimeField, F, Value, When
from django.db.models.expressions import RawSQL
from django.utils import timezone

from followups.engine.parking import _park
from followups.models import FollowUp

logger = logging.getLogger(__name__)

# How many rows one sweep claims; a full sweep is followed at once by another
# (followups.tasks.sweep), at most MAX_SWEEP_ROUNDS in a row before beat starts again.
SWEEP_LIMIT = 1000
MAX_SWEEP_ROUNDS = 100
# Sends of one row without a successful processing before it is parked.
MAX_DISPATCHES = 5
# The longest a lease grows to as a row is sent again and again.
MAX_LEASE = datetime.timedelta(hours=1)


def lease_seconds() -> int:
    return int(getattr(settings, "FOLLOWUP_LEASE_SECONDS", 300))


def batch_size() -> int:
    """How many claimed rows one processing task takes (settings.FOLLOWUP_BATCH_SIZE)."""
    return max(1, int(getattr(settings, "FOLLOWUP_BATCH_SIZE", 200)))


def lease_for(dispatch_count: int) -> datetime.timedelta:
    """The lease of a row's `dispatch_count`th send: doubling from the base lease."""
    base = datetime.timedelta(seconds=lease_seconds())
    return min(base * 2 ** max(dispatch_count - 1, 0), max(MAX_LEASE, base))


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
