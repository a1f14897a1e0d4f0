"""Data made once for a whole test class, for data that takes seconds to make (the demo
seed). A class-scoped fixture makes it inside a transaction that stays open while the
class's tests run, each in a savepoint of its own (pytest-django's `db`), and that is
rolled back after the last one: every test sees the data as made, never another test's
changes.

The fixture makes the data at the clock a test would have (the suite's evening, or an
instant of its own), and each test then runs on that clock as it ticks on, as it would
had it made the data itself."""

from contextlib import contextmanager

import time_machine
from django.db import transaction

from tests import clock


def suite_instant(config):
    """Where a test's clock starts (tests/conftest.py): the agencies' evening, or None
    when the session's clock was chosen (CASEBOOK_CLOCK) and runs on."""
    return None if config.casebook_clock else clock.agency_evening()


@contextmanager
def class_transaction(django_db_blocker, instant):
    """The clock moved to `instant` and ticking (None leaves it), and a transaction open
    until the block ends, then rolled back. Yields the moved clock (a time_machine
    traveller) or None."""
    traveller = time_machine.travel(instant, tick=True) if instant else None
    moved = traveller.start() if traveller else None
    try:
        with django_db_blocker.unblock(), transaction.atomic():
            yield moved
            transaction.set_rollback(True)
    finally:
        if traveller:
            traveller.stop()


@contextmanager
def on_clock(moved):
    """Inside a test: the clock where the class's data left it, ticking on (over the
    evening the suite sets afresh for each test). `moved` None leaves the clock."""
    if moved is None:
        yield
        return
    with time_machine.travel(moved.time_ns() / 1e9, tick=True):
        yield
