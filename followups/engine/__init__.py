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

Callers import from here (`from followups import engine`); the submodules hold the code by
concern: `sweeping` (claim, lease, send), `processing` (one row under its lease),
`batches` (a batch in one transaction), `prompts` (a batch's notifications) and `parking`
(park and release). A test that patches a function patches it in the submodule that calls
it (`followups.engine.sweeping.lease_for`), not here.
"""

from followups.engine.batches import BATCH_FIELDS, BOUNDARIES, Claim, process_batch
from followups.engine.parking import release
from followups.engine.processing import ERROR_MAX, REASONS, TIMELINE, process, record_error
from followups.engine.prompts import OUTBOUND_PRIORITY
from followups.engine.sweeping import (
    MAX_DISPATCHES,
    MAX_LEASE,
    MAX_SWEEP_ROUNDS,
    SWEEP_LIMIT,
    batch_size,
    lease_for,
    lease_seconds,
    sweep,
)

__all__ = [
    "BATCH_FIELDS",
    "BOUNDARIES",
    "ERROR_MAX",
    "MAX_DISPATCHES",
    "MAX_LEASE",
    "MAX_SWEEP_ROUNDS",
    "OUTBOUND_PRIORITY",
    "REASONS",
    "SWEEP_LIMIT",
    "TIMELINE",
    "Claim",
    "batch_size",
    "lease_for",
    "lease_seconds",
    "process",
    "process_batch",
    "record_error",
    "release",
    "sweep",
]
