from datetime import date, datetime, time

from django.utils import timezone


def day_label(day: date) -> str:
    """A date as every page shows it: "Sat 5 Dec 2026" (casebook/formats/en)."""
    return f"{day:%a} {day.day} {day:%b %Y}"


def start_of_day(day: date) -> datetime:
    """Midnight at the start of `day` in the active time zone (the agency's), as an
    aware datetime: a day filter that an index on the datetime column can serve."""
    return datetime.combine(day, time.min, tzinfo=timezone.get_current_timezone())
