from datetime import date, datetime, time

from django.utils import timezone
from django.utils.formats import date_format


def day_label(day: date) -> str:
    """A date as every page shows it, in the active language: "Sat 5 Dec 2026",
    "sáb 5 dic 2026" (casebook/formats)."""
    return date_format(day, "DATE_FORMAT")


def start_of_day(day: date) -> datetime:
    """Midnight at the start of `day` in the active time zone (the agency's), as an
    aware datetime: a day filter that an index on the datetime column can serve."""
    return datetime.combine(day, time.min, tzinfo=timezone.get_current_timezone())
