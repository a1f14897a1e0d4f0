"""When a protocol step's follow-up opens, falls due and closes.

The written rule for time zones and daylight-saving changes:

- Day-based steps count calendar days in the agency's time zone. "Day N" is the Nth
  local date after the anchor's local date (day 0 is the anchor's own date). A window
  "days S to E, due by day D" opens at 00:00 local on day S, is due by the end of day D
  and closes at the end of day E ("end of day" is 00:00 local on the next date). So a
  step on day 7 is on the same wall-clock date a week later whether or not the clocks
  changed in between: the window is 23 or 25 real hours long on a day the clocks change.
- Local midnight that does not exist (a zone that springs forward at midnight, such as
  America/Santiago or America/Havana) is the instant the day begins after the gap; a
  local midnight that happens twice (fall back at midnight) is its first occurrence.
- Hour-based steps count elapsed time: "48 hours" is 48 real hours whatever the clocks
  do, so a post-crisis check 48 h after a contact at 14:00 the day before a change is
  due at 13:00 or 15:00 wall-clock time.
- Everything is stored in UTC.
"""

import datetime
import zoneinfo
from dataclasses import dataclass

from followups.models import Unit


@dataclass(frozen=True)
class Window:
    start: datetime.datetime
    due: datetime.datetime
    end: datetime.datetime


def local_midnight(day: datetime.date, tz: zoneinfo.ZoneInfo) -> datetime.datetime:
    """The first instant of `day` in `tz`, in UTC. Where the clocks skip midnight (the
    zone springs forward at 00:00), the offset before the change applies, which is
    exactly the instant the day begins after the gap; an ambiguous midnight takes its
    first occurrence (fold=0)."""
    naive = datetime.datetime.combine(day, datetime.time())
    return naive.replace(tzinfo=tz, fold=0).astimezone(datetime.UTC)


def step_window(
    *,
    anchor_at: datetime.datetime,
    unit: str,
    start: int,
    due: int,
    end: int,
    tz: zoneinfo.ZoneInfo,
    shift: int = 0,
) -> Window:
    """The window of a step counted from `anchor_at`; `shift` adds units to all three
    offsets (a repeating step's later occurrences)."""
    if unit == Unit.HOURS:
        # In UTC: aware arithmetic in a local zone adds wall-clock time, not elapsed time.
        anchor_at = anchor_at.astimezone(datetime.UTC)
        hours = datetime.timedelta(hours=1)
        return Window(
            start=anchor_at + (start + shift) * hours,
            due=anchor_at + (due + shift) * hours,
            end=anchor_at + (end + shift) * hours,
        )
    anchor_day = anchor_at.astimezone(tz).date()

    def day(n):
        return anchor_day + datetime.timedelta(days=n)

    return Window(
        start=local_midnight(day(start + shift), tz),
        due=local_midnight(day(due + shift + 1), tz),
        end=local_midnight(day(end + shift + 1), tz),
    )
