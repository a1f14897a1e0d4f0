"""The suite's own clock (tests/clock.py): a chosen instant reaches the processes the
tests start, and a bad one is refused with its reason."""

import datetime
import os
import subprocess
import sys

import pytest
from time_machine import escape_hatch

from tests import clock

PRINT_NOW = "import datetime; print(datetime.datetime.now(datetime.UTC).isoformat())"


class TestParse:
    def test_an_instant_with_its_offset(self):
        assert clock.parse("2026-12-31T23:30Z") == datetime.datetime(
            2026, 12, 31, 23, 30, tzinfo=datetime.UTC
        )

    @pytest.mark.parametrize("value", ["yesterday", "2026-12-06T03:00", ""])
    def test_anything_else_is_refused_with_a_reason(self, value):
        with pytest.raises(ValueError, match="CASEBOOK_CLOCK="):
            clock.parse(value)


class TestProcessesStarted:
    def test_a_python_process_started_by_the_tests_sees_the_moved_clock(self):
        target = clock.parse(clock.BOUNDARY_INSTANTS["new-year"])
        env = {
            **os.environ,
            # The shift is from the real clock, as tests/clock.py computes it.
            clock.SHIFT_ENV: str(target.timestamp() - escape_hatch.time.time()),
            "PYTHONPATH": str(clock.SITE_DIR),
        }

        result = subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
            [sys.executable, "-c", PRINT_NOW], env=env, capture_output=True, text=True, check=True
        )

        seen = datetime.datetime.fromisoformat(result.stdout.strip())
        assert target <= seen < target + datetime.timedelta(minutes=1)

    def test_without_a_shift_the_real_clock_stays(self):
        env = {k: v for k, v in os.environ.items() if k != clock.SHIFT_ENV}
        before = datetime.datetime.fromtimestamp(escape_hatch.time.time(), datetime.UTC)

        result = subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
            [sys.executable, "-c", PRINT_NOW], env=env, capture_output=True, text=True, check=True
        )

        seen = datetime.datetime.fromisoformat(result.stdout.strip())
        assert (
            before - datetime.timedelta(seconds=5) <= seen < before + datetime.timedelta(minutes=1)
        )
