"""Processing a batch of claimed rows: those that only change status and prompt their worker
and client in one transaction with set-based writes, the rest (and a failed batch's) one by
one through processing.process()."""

import datetime
import logging
from collections import Counter
from collections.abc import Sequence

from django.db import InterfaceError, OperationalError, transaction
from django.db.models import Case, DateTimeField, F, Value, When
from django.utils import timezone

from followups.engine.processing import (
    REASONS,
    _holds,
    _locked,
    _owed,
    _path,
    process,
    record_error,
)
from followups.engine.prompts import _prompt_together
from followups.models import OPEN_STATUSES, FollowUp, FollowUpEvent, FollowUpEventKind, Status

logger = logging.getLogger(__name__)

# The times a follow-up's status changes at, in order (FollowUp.next_boundary).
BOUNDARIES = ("window_start", "due_at", "window_end")

Claim = tuple[int, str]

# What a batch reads: each row's times and status, and what its prompts say (the client's
# name and reminder channel, the agency's zone), not the whole of four models a row. A
# field read that is not here would cost a query a row: the query-count test catches it.
BATCH_FIELDS = (
    *("agency", "case", "title", "assigned_to", "status", "status_changed_at", "lease_token"),
    # The title in its reader's language (FollowUp.display_title).
    *("step", "occurrence"),
    *("window_start", "due_at", "window_end", "next_check_at"),
    *("case__agency", "case__client", "case__agency__timezone"),
    *(f"case__client__{name}" for name in ("legal_name", "preferred_name", "description")),
    *(f"case__client__{name}" for name in ("reminder_channel", "phone", "email")),
    # The languages the prompts are written in (core.i18n).
    *("case__client__preferred_language", "assigned_to__language"),
)


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
