"""On PYTHONPATH only while the suite runs at a chosen clock time (tests/clock.py): the
Python processes the tests start see the same moved clock."""

import os
import time

shift = os.environ.get("CASEBOOK_CLOCK_SHIFT")
if shift:
    import time_machine

    time_machine.travel(time.time() + float(shift), tick=True).start()
