"""The whole suite at a chosen clock time: `CASEBOOK_CLOCK=2026-12-31T23:30Z make test`.

The test process, and every Python process it starts (Celery workers, manage.py), see
the clock moved to that instant when the session starts and ticking on from there. The
database server keeps its own clock, so code compares times in Python, not with SQL
`now()`."""

import datetime
import os
import time
from pathlib import Path

CLOCK_ENV = "CASEBOOK_CLOCK"
# Seconds to add to the real clock: what the processes the tests start inherit.
SHIFT_ENV = "CASEBOOK_CLOCK_SHIFT"
SITE_DIR = Path(__file__).parent / "clock_site"

# Instants where the date in UTC and in the demo agencies' zones (Los Angeles, Denver)
# differ, or a clock changes: the demo seed and walkthrough run at each.
BOUNDARY_INSTANTS = {
    "us-evening": "2026-12-06T03:00:00Z",  # Sat 5 Dec 19:00 in Los Angeles
    "new-year": "2026-12-31T23:30:00Z",  # still 31 Dec at 15:30 in Los Angeles
    "us-spring-forward": "2027-03-14T09:30:00Z",  # 01:30 PST, 02:00 skipped at 10:00 UTC
    "us-fall-back": "2026-11-01T09:30:00Z",  # 01:30 PST, the second 01:30 of the night
    "europe-dst": "2027-03-28T00:30:00Z",  # 30 min before Europe springs forward
}


def agency_evening() -> datetime.datetime:
    """03:30 UTC of today's date in UTC: the evening before in the US."""
    today = datetime.datetime.now(datetime.UTC).date()
    return datetime.datetime.combine(today, datetime.time(3, 30), tzinfo=datetime.UTC)


def parse(value: str) -> datetime.datetime:
    """An ISO 8601 instant with its offset ("Z" or "+02:00"); ValueError with a one-line
    reason if not."""
    try:
        moment = datetime.datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"{CLOCK_ENV}={value!r} is not an ISO 8601 instant") from None
    if moment.tzinfo is None:
        raise ValueError(f"{CLOCK_ENV}={value!r} needs an offset, e.g. 2026-12-06T03:00Z")
    return moment


def start_from_environment() -> datetime.datetime | None:
    """Move this process's clock as CASEBOOK_CLOCK asks (or as the shift inherited from the
    process that started this one says), and tell the processes it starts. Returns the
    instant the clock now shows, or None when the real clock stays."""
    shift = os.environ.get(SHIFT_ENV)
    if shift is None and os.environ.get(CLOCK_ENV):
        shift = str(parse(os.environ[CLOCK_ENV]).timestamp() - time.time())
        os.environ[SHIFT_ENV] = shift
        paths = [str(SITE_DIR), *filter(None, [os.environ.get("PYTHONPATH")])]
        os.environ["PYTHONPATH"] = os.pathsep.join(paths)
    if shift is None:
        return None
    import time_machine

    # From the real clock: a pytest-xdist worker inherits the shift and tests/clock_site
    # with it, whose sitecustomize has moved the clock once already.
    hatch = time_machine.escape_hatch
    now = hatch.time.time() if hatch.is_travelling() else time.time()
    destination = now + float(shift)
    time_machine.travel(destination, tick=True).start()
    return datetime.datetime.fromtimestamp(destination, datetime.UTC)
