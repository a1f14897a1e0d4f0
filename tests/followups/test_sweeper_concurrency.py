"""Two sweepers at once on PostgreSQL claim nothing twice (SELECT ... FOR UPDATE SKIP
LOCKED under a lease). Each sweeper runs in a thread with its own database connection;
the batches they send are collected instead of queued."""

import threading
from unittest import mock

import pytest
from django.db import connection, transaction
from django.utils import timezone

from followups import engine, tasks
from followups.models import FollowUp
from tests.followups.conftest import hours

# Migrations seed reference data (call natures) that a flush would lose for later tests.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

ROWS = 60
WAIT = 30


@pytest.fixture
def due_rows(quiet_case, enrol_hourly):
    """ROWS follow-ups of Alice's case, all due now (their first sweep is now)."""
    fus = enrol_hourly(quiet_case, anchor_at=timezone.now() - hours(1), steps=[(0, 2, 4)] * ROWS)
    assert len(fus) == ROWS
    assert FollowUp.objects.needing_sweep(timezone.now()).count() == ROWS
    return [fu.pk for fu in fus]


@pytest.fixture
def sent():
    """Every follow-up the sweepers send, in the batches' order: (sweeper name, follow-up
    id, token)."""
    collected = []

    def delay(batch):
        collected.extend((threading.current_thread().name, pk, token) for pk, token in batch)

    with mock.patch.object(tasks.process_followups, "delay", side_effect=delay):
        yield collected


def in_threads(*targets):
    """Run each target in a thread of its own, each thread with its own connection, and
    re-raise the first failure."""
    errors = []

    def run(target):
        try:
            target()
        except BaseException as exc:  # reported in the test's thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=run, args=(t,), name=t.__name__, daemon=True) for t in targets
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)
        assert not thread.is_alive(), f"{thread.name} did not finish"
    if errors:
        raise errors[0]


def claimed_by(sent, name):
    return [pk for who, pk, _ in sent if who == name]


class TestTwoSweepers:
    def test_two_sweepers_racing_in_small_batches_claim_every_row_once(self, due_rows, sent):
        start = threading.Barrier(2, timeout=WAIT)
        slow_lease = engine.lease_for

        def lease_for(count):
            # A little work per row inside the claim keeps the two transactions overlapping.
            threading.Event().wait(0.002)
            return slow_lease(count)

        def sweeper():
            start.wait()
            while engine.sweep(limit=3):
                pass

        def first():
            sweeper()

        def second():
            sweeper()

        with mock.patch("followups.engine.sweeping.lease_for", side_effect=lease_for):
            in_threads(first, second)

        one, two = set(claimed_by(sent, "first")), set(claimed_by(sent, "second"))
        assert one and two, "both sweepers should have claimed some rows"
        assert one & two == set()
        assert one | two == set(due_rows)
        assert len(sent) == ROWS  # nothing sent twice, even by the same sweeper
        assert len({token for _, _, token in sent}) == ROWS
        assert set(FollowUp.objects.values_list("dispatch_count", flat=True)) == {1}
        assert engine.sweep() == 0

    def test_a_sweeper_skips_the_rows_another_holds_locked_without_waiting(self, due_rows, sent):
        holding = threading.Event()
        done = threading.Event()
        held_to_the_end = []

        def holder():
            with transaction.atomic():
                assert engine.sweep(limit=20) == 20
                holding.set()
                # Keep the claim's transaction open (and its rows locked) until the other
                # sweeper has finished.
                held_to_the_end.append(done.wait(WAIT))

        def skipper():
            assert holding.wait(WAIT)
            assert engine.sweep() == ROWS - 20
            done.set()

        in_threads(holder, skipper)

        assert held_to_the_end == [True], "the second sweeper waited for the first one's locks"
        # The holder's tasks were sent when its transaction committed, after the other's.
        assert [who for who, _, _ in sent] == ["skipper"] * (ROWS - 20) + ["holder"] * 20
        assert claimed_by(sent, "holder") == sorted(due_rows)[:20]
        assert set(claimed_by(sent, "skipper")) == set(sorted(due_rows)[20:])
        assert engine.sweep() == 0
