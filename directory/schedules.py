"""Whether a service is open at a moment, from its HSDS schedules, and schedules in words.

HSDS 3.0 schedules are iCalendar (RFC 5545) recurrence rules: `freq` (WEEKLY, DAILY,
MONTHLY), `byday` ("MO,TU", or with an ordinal for MONTHLY: "1MO", "-1FR"), `bymonthday`,
`interval` with `dtstart`, `valid_from`/`valid_to`, `until`, and one opening
`opens_at`-`closes_at` per matching day. `timezone` is the UTC offset of those times in
hours; when a schedule has none, the searching user's agency time zone is assumed.

A service with no usable schedule is "hours unknown", never "open": a worker must not send
someone to a door that may be shut.
"""

import datetime

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import zone_of

OPEN = "open"
CLOSED = "closed"
UNKNOWN = "unknown"

DAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]
DAY_NAMES = dict(
    zip(
        DAYS,
        [
            gettext_lazy("Mon"),
            gettext_lazy("Tue"),
            gettext_lazy("Wed"),
            gettext_lazy("Thu"),
            gettext_lazy("Fri"),
            gettext_lazy("Sat"),
            gettext_lazy("Sun"),
        ],
        strict=True,
    )
)
ORDINALS = {
    1: gettext_lazy("1st"),
    2: gettext_lazy("2nd"),
    3: gettext_lazy("3rd"),
    4: gettext_lazy("4th"),
    5: gettext_lazy("5th"),
    -1: gettext_lazy("last"),
    -2: gettext_lazy("2nd last"),
}


def agency_zone(user) -> datetime.tzinfo:
    """The time zone a schedule without an offset is read in: the user's agency's
    (accounts.models.zone_of; the installation's for a user of none)."""
    return zone_of(getattr(user, "agency", None))


def schedule_zone(schedule, default_tz) -> datetime.tzinfo:
    offset = schedule.timezone
    if offset is None or not -14 <= offset <= 14:
        return default_tz
    return datetime.timezone(datetime.timedelta(minutes=round(offset * 60)))


def _byday(schedule) -> list[tuple[int | None, str]]:
    """[(ordinal or None, "MO"), ...] from byday; unknown parts are dropped."""
    parts = []
    for raw in (schedule.byday or "").upper().replace(" ", "").split(","):
        day = raw[-2:]
        if day not in DAYS:
            continue
        number = raw[:-2].lstrip("+")
        try:
            ordinal = int(number) if number else None
        except ValueError:
            continue
        parts.append((ordinal, day))
    return parts


def _monthdays(schedule) -> list[int]:
    days = []
    for raw in (schedule.bymonthday or "").replace(" ", "").split(","):
        try:
            days.append(int(raw))
        except ValueError:
            continue
    return days


def _nth_weekday(date: datetime.date, ordinal: int) -> bool:
    """Whether `date` is the ordinal-th (from the end when negative) such weekday of its
    month."""
    if ordinal > 0:
        return (date.day - 1) // 7 + 1 == ordinal
    next_month = (date.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)
    days_left = (next_month - date).days - 1
    return days_left // 7 + 1 == -ordinal


def runs_on(schedule, date: datetime.date) -> bool:
    """Whether the schedule's recurrence has an opening on `date` (local to the schedule)."""
    if not _within_validity(schedule, date):
        return False
    freq = (schedule.freq or "").upper()
    if freq == "MONTHLY":
        return _runs_monthly_on(schedule, date)
    return _runs_weekly_or_daily_on(schedule, date, freq)


def _within_validity(schedule, date: datetime.date) -> bool:
    """Whether `date` is on or after every start (valid_from, dtstart) and on or before
    every end (valid_to, until) the schedule gives."""
    started = all(date >= start for start in (schedule.valid_from, schedule.dtstart) if start)
    return started and not any(date > end for end in (schedule.valid_to, schedule.until) if end)


def _runs_monthly_on(schedule, date: datetime.date) -> bool:
    byday = _byday(schedule)
    interval = int(schedule.interval or 1)
    monthdays = _monthdays(schedule)
    if monthdays and not _is_monthday(date, monthdays):
        return False
    if byday and not _is_byday(date, byday):
        return False
    if not monthdays and not byday:
        return bool(schedule.dtstart) and date.day == schedule.dtstart.day
    if interval > 1 and schedule.dtstart:
        months = (date.year - schedule.dtstart.year) * 12 + date.month - schedule.dtstart.month
        return months % interval == 0
    return True


def _is_monthday(date: datetime.date, monthdays: list[int]) -> bool:
    """Whether `date` is one of `monthdays` (counted from the month's end when negative)."""
    last = (date.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)
    length = (last - datetime.timedelta(days=1)).day
    return any(d == date.day or length + d + 1 == date.day for d in monthdays)


def _is_byday(date: datetime.date, byday: list[tuple[int | None, str]]) -> bool:
    """Whether `date` is one of byday's weekdays, and the right one of its month where an
    ordinal is given."""
    weekday = DAYS[date.weekday()]
    return any(
        day == weekday and (ordinal is None or _nth_weekday(date, ordinal))
        for ordinal, day in byday
    )


def _runs_weekly_or_daily_on(schedule, date: datetime.date, freq: str) -> bool:
    weekday = DAYS[date.weekday()]
    byday = _byday(schedule)
    interval = int(schedule.interval or 1)
    if byday and weekday not in {day for _, day in byday}:
        return False
    no_day_given = freq == "WEEKLY" and not byday and schedule.dtstart
    if no_day_given and date.weekday() != schedule.dtstart.weekday():
        return False
    if interval > 1 and schedule.dtstart:
        return _in_interval(schedule, date, freq, interval)
    return freq in ("WEEKLY", "DAILY", "")


def _in_interval(schedule, date: datetime.date, freq: str, interval: int) -> bool:
    """Whether `date` falls in every `interval`-th week (WEEKLY) or day from dtstart."""
    if freq == "WEEKLY":
        # Weeks are counted from the Monday of dtstart's week.
        start = schedule.dtstart - datetime.timedelta(days=schedule.dtstart.weekday())
        return ((date - start).days // 7) % interval == 0
    return (date - schedule.dtstart).days % interval == 0


def is_open_at(schedule, moment: datetime.datetime, default_tz) -> bool | None:
    """True/False when the schedule says; None when it gives no opening hours."""
    if schedule.opens_at is None or schedule.closes_at is None:
        return None
    local = moment.astimezone(schedule_zone(schedule, default_tz))
    now = local.time().replace(tzinfo=None)
    opens, closes = schedule.opens_at, schedule.closes_at
    today = local.date()
    if opens < closes:
        return opens <= now < closes and runs_on(schedule, today)
    # Open past midnight (22:00-06:00), or round the clock when opens == closes.
    if now >= opens and runs_on(schedule, today):
        return True
    return now < closes and runs_on(schedule, today - datetime.timedelta(days=1))


def open_status(schedules, moment: datetime.datetime, default_tz) -> str:
    """OPEN, CLOSED or UNKNOWN (no schedule with opening hours) for a group of
    schedules that together describe one service's hours."""
    answers = [is_open_at(s, moment, default_tz) for s in schedules]
    known = [a for a in answers if a is not None]
    if not known:
        return UNKNOWN
    return OPEN if any(known) else CLOSED


def applicable(*groups):
    """The most specific non-empty group of schedules: service-at-location, then service,
    then location (a building's hours when the service gives none)."""
    for group in groups:
        group = [s for s in group if s is not None]
        if group:
            return group
    return []


def _time(value: datetime.time) -> str:
    return value.strftime("%H:%M")


def describe(schedule) -> str:
    """A schedule in words, e.g. "Mon, Tue, Wed 09:00-17:00 (UTC-7)"."""
    if schedule.description and not (schedule.opens_at and schedule.closes_at):
        return schedule.description
    hours = ""
    if schedule.opens_at and schedule.closes_at:
        hours = f" {_time(schedule.opens_at)}–{_time(schedule.closes_at)}"
    text = f"{_days_in_words(schedule)}{hours}{_offset_in_words(schedule.timezone)}"
    if schedule.valid_from or schedule.valid_to:
        text = _("%(hours)s, %(start)s to %(end)s") % {
            "hours": text,
            "start": schedule.valid_from or "…",
            "end": schedule.valid_to or "…",
        }
    if schedule.description:
        text += f". {schedule.description}"
    return text


def _days_in_words(schedule) -> str:
    """The days in words: "Mon, Tue", "Monthly: 1st Mon, day 15", "Every day" or "Weekly"."""
    freq = (schedule.freq or "").upper()
    byday = _byday(schedule)
    if freq == "MONTHLY":
        return _monthly_in_words(schedule, byday)
    if byday:
        return ", ".join(str(DAY_NAMES[d]) for _ordinal, d in byday)
    return _("Every day") if freq in ("DAILY", "") else _("Weekly")


def _nth_day(ordinal: int | None, day: str) -> str:
    """ "1st Mon", "last Fri", "every Mon"."""
    if not ordinal:
        return _("every %(day)s") % {"day": DAY_NAMES[day]}
    nth = ORDINALS.get(ordinal) or _("%(number)sth") % {"number": ordinal}
    return _("%(ordinal)s %(day)s") % {"ordinal": nth, "day": DAY_NAMES[day]}


def _monthly_in_words(schedule, byday: list[tuple[int | None, str]]) -> str:
    parts = [_nth_day(o, d) for o, d in byday]
    parts += [
        _("day %(number)s") % {"number": d} if d > 0 else _("last day")
        for d in _monthdays(schedule)
    ]
    return _("Monthly: %(days)s") % {"days": ", ".join(parts)} if parts else _("Monthly")


def _offset_in_words(offset: float | None) -> str:
    """An offset in hours in words, as " (UTC-7)"; "" for none."""
    if offset is None:
        return ""
    return f" (UTC{'+' if offset >= 0 else '−'}{abs(offset):g})"
