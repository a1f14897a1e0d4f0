"""The referral report: which referrals it counts, and what it says about them.

`referral_rows(user, filters)` is the one selection behind the page, the API and every
export, so an export's rows are exactly the referrals the report counts.
`referral_summary(rows)` computes the numbers in SQL: counts, the category × outcome table
and, on PostgreSQL, the three medians (percentile_cont); SQLite's medians come from one
pass over four columns of the same rows in Python.
"""

import datetime
import re
import statistics
import zoneinfo
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connections
from django.db.models import (
    Aggregate,
    Count,
    DateTimeField,
    F,
    FloatField,
    Func,
    IntegerField,
    Q,
    Value,
)
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Role, zone_of
from core.db import lag_tolerant_db
from core.i18n import StrOrPromise
from directory.models import NeedCategory
from referrals.models import Outcome, Referral, Status

# The statuses a report counts and can be filtered by: drafts were never sent, and a
# record entered in error never existed.
REPORTED_STATUSES = [
    (value, label)
    for value, label in Status.choices
    if value not in (Status.DRAFT, Status.ENTERED_IN_ERROR)
]
NO_OUTCOME = ""
# Shown in the reader's language; the exports write it in English (export_sql).
NO_OUTCOME_LABEL = gettext_lazy("No outcome yet")

# The JSON-shaped filters every entry point hands to referral_rows (ids and ISO dates).
FILTER_KEYS = (
    "sent_from",
    "sent_to",
    "team",
    "worker",
    "need_category",
    "organization",
    "service",
    "status",
    "outcome",
)

# The days a period can start or end on. No referral was sent outside them, and a day near
# the ends of the calendar cannot be moved into UTC (9999-12-31 ends in the year 10000).
FIRST_DAY = datetime.date(1900, 1, 1)
LAST_DAY = datetime.date(2999, 12, 31)


def validate_period_day(day: datetime.date) -> None:
    if not FIRST_DAY <= day <= LAST_DAY:
        raise ValidationError(
            _("Give a date from %(first)s to %(last)s.")
            % {"first": FIRST_DAY.isoformat(), "last": LAST_DAY.isoformat()},
            code="out_of_range",
        )


def can_run_report(user) -> bool:
    """Agency admins and supervisors of an agency run the referral report."""
    return (
        user.is_authenticated
        and bool(user.agency_id)
        and user.role in (Role.AGENCY_ADMIN, Role.SUPERVISOR)
    )


def agency_zone(agency) -> zoneinfo.ZoneInfo:
    """The zone the report reads dates in: the agency's (accounts.models.zone_of)."""
    return zone_of(agency)


def start_of(day: datetime.date, tz) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time.min, tzinfo=tz)


def referral_rows(user, filters: dict):
    """The sent referrals the user may see (agency admin: the agency's; supervisor: their
    teams' and their own scope, as Case.visible_to), without drafts and records entered
    in error, narrowed by `filters` (FILTER_KEYS, already validated: ids and ISO dates;
    the period is the sending date in the agency's time zone).

    Read from the replica when one is configured (core.db.lag_tolerant_db), as is all
    that is computed from them (the summary, an export's COPY): they are counted and
    listed, never used to decide a write. Who may run the report is decided on default
    (the user's own row); the teams a supervisor's scope covers are read with the rows,
    so a change of teams reaches the report once the replica has it."""
    rows = (
        Referral.objects.visible_to(user)
        .filter(sent_at__isnull=False)
        .exclude(status__in=[Status.DRAFT, Status.ENTERED_IN_ERROR])
        .using(lag_tolerant_db())
    )
    if not user.agency_id:
        return rows.none()
    # Redundant with visible_to, but it lets PostgreSQL use referral_agency_sent_idx
    # instead of scanning every agency's referrals (bench/referrals.py).
    rows = rows.filter(agency_id=user.agency_id)
    tz = agency_zone(user.agency)
    if filters.get("sent_from"):
        rows = rows.filter(sent_at__gte=start_of(_date(filters["sent_from"]), tz))
    if filters.get("sent_to"):
        end = _date(filters["sent_to"]) + datetime.timedelta(days=1)
        rows = rows.filter(sent_at__lt=start_of(end, tz))
    simple = {
        "team": "case__team_id",
        "worker": "created_by_id",
        "need_category": "need_category",
        "organization": "service__organization_id",
        "service": "service_id",
        "status": "status",
        "outcome": "outcome",
    }
    for key, lookup in simple.items():
        if filters.get(key) not in (None, ""):
            rows = rows.filter(**{lookup: filters[key]})
    return rows


def _date(value) -> datetime.date:
    return value if isinstance(value, datetime.date) else datetime.date.fromisoformat(value)


def durations(sent_at, accepted_at, service_date, closed_at, tz):
    """(days to acceptance, days to first service, days to closure) of one referral, None
    where the event has not happened. Acceptance and closure in fractional days; first
    service in whole days from the sending date in the agency's time zone."""
    if sent_at is None:
        return None, None, None
    to_accept = (accepted_at - sent_at).total_seconds() / 86400 if accepted_at else None
    to_service = (service_date - sent_at.astimezone(tz).date()).days if service_date else None
    to_close = (closed_at - sent_at).total_seconds() / 86400 if closed_at else None
    return to_accept, to_service, to_close


# --- The durations in SQL, as `durations` computes them (the report's medians, the exports)


_ARGUMENT = re.compile(r"\{(\d)\}")


class Sql(Func):
    """An SQL expression whose `template` names its arguments {0}, {1}, ...: each compiled
    by the ORM (columns of the joins it needs, values as parameters), and may be named
    more than once."""

    template = "{0}"

    def as_sql(self, compiler, connection, function=None, template=None, **extra_context):
        compiled = [compiler.compile(arg) for arg in self.get_source_expressions()]
        params: list[Any] = []

        def argument(match: re.Match) -> str:
            sql, arg_params = compiled[int(match.group(1))]
            params.extend(arg_params)
            return f"({sql})"

        template = template or self.extra.get("template", self.template)
        return _ARGUMENT.sub(argument, template), params


class AtZone(Sql):
    """A timestamptz as the wall clock of zone {1} shows it (timestamp without zone)."""

    template = "{0} AT TIME ZONE {1}"
    output_field = DateTimeField()


class Days(Sql):
    """(later - earlier).total_seconds() / 86400 as `durations` computes it: the seconds
    are exact in numeric, then the same two IEEE double operations as Python."""

    template = "(extract(epoch FROM {0}) - extract(epoch FROM {1}))::float8 / 86400"
    output_field = FloatField()


def local_time(field: str, zone: str) -> AtZone:
    return AtZone(F(field), Value(zone))


def days_to_service(zone: str) -> Func:
    """`durations`' whole days from the sending date in the agency's zone."""
    return Sql(
        F("service_date"),
        local_time("sent_at", zone),
        template="{0} - {1}::date",
        output_field=IntegerField(),
    )


@dataclass
class Rate:
    count: int
    of: int

    @property
    def percent(self) -> float | None:
        return round(self.count * 100 / self.of, 1) if self.of else None


@dataclass
class Median:
    days: float | None
    of: int  # how many referrals the median is over


@dataclass
class CategoryRow:
    category: str
    label: StrOrPromise
    total: int
    # (outcome value, label, count) in OUTCOME_COLUMNS order, zeros included.
    cells: list = field(default_factory=list)


@dataclass
class Summary:
    total_sent: int
    by_status: list  # (value, label, Rate)
    by_outcome: list  # (value, label, Rate), NO_OUTCOME last
    connected: Rate
    loops_closed: Rate
    accepted: Rate
    days_to_acceptance: Median
    days_to_first_service: Median
    days_to_closure: Median
    by_category: list  # CategoryRow, largest first
    max_category_total: int

    def as_dict(self) -> dict:
        def rate(r):
            return {"count": r.count, "of": r.of, "percent": r.percent}

        def median(m):
            return {"days": m.days, "of": m.of}

        return {
            "total_sent": self.total_sent,
            "by_status": [{"status": v, "label": lbl, **rate(r)} for v, lbl, r in self.by_status],
            "by_outcome": [
                {"outcome": v, "label": lbl, **rate(r)} for v, lbl, r in self.by_outcome
            ],
            "connected": rate(self.connected),
            "connection_rate": self.connected.percent,
            "loops_closed": rate(self.loops_closed),
            "accepted": rate(self.accepted),
            "median_days_to_acceptance": median(self.days_to_acceptance),
            "median_days_to_first_service": median(self.days_to_first_service),
            "median_days_to_closure": median(self.days_to_closure),
            "by_category": [
                {
                    "need_category": row.category,
                    "label": row.label,
                    "total": row.total,
                    "outcomes": {value: count for value, _, count in row.cells},
                }
                for row in self.by_category
            ],
        }


OUTCOME_COLUMNS = [*Outcome.choices, (NO_OUTCOME, NO_OUTCOME_LABEL)]
CONNECTED_Q = Q(status=Status.COMPLETED, service_date__isnull=False)


def referral_summary(rows, tz=None) -> Summary:
    """The report's numbers for `rows` (a referral_rows queryset): two queries on
    PostgreSQL (the totals with the medians, by percentile_cont; the counts per status,
    category and outcome), whatever the number of rows; on SQLite the medians take a third,
    a pass over four columns in Python. `tz` (the agency's zone) dates the sending day for
    days to first service; UTC when not given."""
    tz = tz or datetime.UTC
    rows = rows.order_by()
    in_sql = connections[rows.db].vendor == "postgresql"
    totals = rows.aggregate(
        total=Count("pk"),
        connected=Count("pk", filter=CONNECTED_Q),
        closed=Count("pk", filter=Q(closed_at__isnull=False)),
        accepted=Count("pk", filter=Q(accepted_at__isnull=False)),
        **(_median_aggregates(tz) if in_sql else {}),
    )
    total = totals["total"]
    groups = rows.values_list("status", "need_category", "outcome").annotate(n=Count("pk"))

    status_counts: dict[str, int] = {}
    outcome_counts: dict[str, int] = {}
    per_category: dict[str, dict[str, int]] = {}
    for status, category, outcome, n in groups:
        status_counts[status] = status_counts.get(status, 0) + n
        outcome_counts[outcome] = outcome_counts.get(outcome, 0) + n
        cells = per_category.setdefault(category, {})
        cells[outcome] = cells.get(outcome, 0) + n

    if in_sql:
        medians = [
            Median(_rounded(totals[f"{name}_median"]), totals[f"{name}_of"])
            for name in ("accept", "service", "close")
        ]
    else:
        medians = _medians_in_python(rows, tz)

    labels = dict(NeedCategory.choices)
    by_category = [
        CategoryRow(
            category=category,
            label=labels.get(category, category),
            total=sum(cells.values()),
            cells=[(value, label, cells.get(value, 0)) for value, label in OUTCOME_COLUMNS],
        )
        for category, cells in per_category.items()
    ]
    by_category.sort(key=lambda row: (-row.total, row.label))
    return Summary(
        total_sent=total,
        by_status=[
            (value, label, Rate(status_counts.get(value, 0), total))
            for value, label in REPORTED_STATUSES
        ],
        by_outcome=[
            (value, label, Rate(outcome_counts.get(value, 0), total))
            for value, label in OUTCOME_COLUMNS
        ],
        connected=Rate(totals["connected"], total),
        loops_closed=Rate(totals["closed"], total),
        accepted=Rate(totals["accepted"], total),
        days_to_acceptance=medians[0],
        days_to_first_service=medians[1],
        days_to_closure=medians[2],
        by_category=by_category,
        max_category_total=max((row.total for row in by_category), default=0),
    )


class PercentileCont(Aggregate):
    """The median of the non-null values (PostgreSQL's percentile_cont(0.5)): the middle
    value, or the mean of the two middle ones, as statistics.median."""

    template = "percentile_cont(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()


def _median_aggregates(tz) -> dict:
    """The three medians and how many referrals each is over, as the aggregates of one
    query: the durations of `durations`, NULL where the event has not happened."""
    days: dict[str, Func] = {
        "accept": Days(F("accepted_at"), F("sent_at")),
        "service": days_to_service(str(tz)),
        "close": Days(F("closed_at"), F("sent_at")),
    }
    aggregates: dict[str, Aggregate] = {}
    for name, expression in days.items():
        aggregates[f"{name}_median"] = PercentileCont(expression)
        aggregates[f"{name}_of"] = Count(expression)
    return aggregates


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _medians_in_python(rows, tz) -> list[Median]:
    """The three medians from one pass over four columns of `rows` (SQLite has no
    percentile_cont): three lists of floats, about 25 MB per million referrals."""
    lists: tuple[list, list, list] = ([], [], [])
    columns = rows.values_list("sent_at", "accepted_at", "service_date", "closed_at")
    for sent_at, accepted_at, service_date, closed_at in columns.iterator(chunk_size=5000):
        for values, days in zip(
            lists, durations(sent_at, accepted_at, service_date, closed_at, tz), strict=True
        ):
            if days is not None:
                values.append(days)
    return [
        Median(round(statistics.median(values), 1) if values else None, len(values))
        for values in lists
    ]
