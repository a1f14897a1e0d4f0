"""The figures crisis programmes publish (CAHOOTS, STAR, 988; see the shared DOMAIN notes
"Crisis contact record"), and the weekly trend of follow-up compliance.

    programme_figures(*, agency_id, start, end, teams=None, zone=None) -> ProgrammeFigures

Over the agency's crisis contacts (cases.Contact) received on the agency's dates `start`
to `end`, both included (metrics.compliance explains periods), on cases of `teams` (team
ids; None: the whole agency). ProgrammeFigures (frozen dataclass):
    start, end (dates); contacts (int) and contact_ids (sorted list)
    by_source, dispositions: list[Bucket] in the order of ContactSource / Disposition,
        only those with contacts
    median_response_minutes: float | None: median of on_scene_at - received_at in
        minutes over the contacts with both times; timed_responses: how many had them
    police_backup, arrests, er_diversions: Figure; er_diversion_definition: str
    ER diversions, as crisis programmes publish them (shared DOMAIN notes): the contacts
    not ending in an ED transport or admission (disposition not in NOT_DIVERTED), over
    all the period's contacts (DIVERSION_DEFINITION, shown wherever the figure is).
    Every contact is in the denominator, so every contact that did not end in the ER or
    hospital is in the numerator: one the client declined, one where the client was not
    found, one ending in police custody, at a shelter or in detox all count as diverted
    (the dispositions table shows how many of each).
Bucket: key, label, count, share (of all contacts; None when there are none), ids.
Figure: count, share, ids. The counts and the median are one aggregate query (the median
is PostgreSQL's percentile_cont; elsewhere the middle one or two times are read by
ORDER BY with LIMIT, one more query); with the agency's, two queries. The ids (`ids`,
`contact_ids`) are read lazily: the first read of any of them loads them all in one more
query (the page shows counts, the API and the drill-down list ids).

    weekly_trend(*, agency_id, weeks=12, teams=None, worker=None, today=None, zone=None)
        -> list[TrendWeek]

The last `weeks` weeks (1 to 104), Monday to Sunday in the agency's time zone, the
current week last. TrendWeek (frozen dataclass): week_start, week_end (dates, both
included), due, done_within_window (follow-ups due that week, as compliance() counts
them at now: counted in the database, grouped by the agency-zone week of due_at),
fum_denominator, fum_numerator, fum_pending (ED visits of that week, the 7-day FUM rate
as hedis_rates() computes it, the 31-day rule applied across the whole range), fum_rate
(float | None). At most five queries whatever the number of weeks or rows: the agency,
the weekly counts, and hedis.evaluate's three.
"""

import datetime
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db import connections
from django.db.models import (
    Aggregate,
    Count,
    DateField,
    DurationField,
    ExpressionWrapper,
    F,
    FloatField,
    Q,
)
from django.db.models.functions import Extract, TruncWeek
from django.utils import timezone
from django.utils.translation import gettext_lazy

from cases.models import Contact, ContactSource, Disposition
from core.i18n import StrOrPromise
from metrics.compliance import (
    agency_zone,
    bucket_conditions,
    period_bounds,
    period_followups,
    ratio,
)
from metrics.hedis import evaluate
from metrics.scope import scope_q

NOT_DIVERTED = (Disposition.EMERGENCY_ROOM, Disposition.HOSPITALISED)
DIVERSION_DEFINITION = gettext_lazy(
    "Contacts not ending in an ED transport or admission, over all contacts"
)
MAX_WEEKS = 104
# on_scene_at - received_at: null unless both are known.
RESPONSE_TIME = ExpressionWrapper(F("on_scene_at") - F("received_at"), output_field=DurationField())
FIGURES = {
    "police_backup": Q(police_backup_requested=True),
    "arrests": Q(arrest=True),
    "er_diversions": ~Q(disposition__in=NOT_DIVERTED),
}
BUCKETS = {"source": ContactSource, "disposition": Disposition}


class Median(Aggregate):
    """PostgreSQL's percentile_cont(0.5): the middle value, or halfway between the two
    middle ones, as statistics.median; nulls are left out. Take it of numbers (seconds):
    of intervals, PostgreSQL rounds the halfway point to the microsecond."""

    function = "PERCENTILE_CONT"
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"


class ContactIds:
    """The contact ids behind every figure of one ProgrammeFigures, by key ("all", a key
    of FIGURES, ("source", value), ("disposition", value)). Loaded by one query the first
    time any is read."""

    def __init__(self, contacts):
        self._contacts = contacts
        self._index: dict[Any, list[int]] | None = None

    def of(self, key) -> list:
        if self._index is None:
            self._index = self._load()
        return self._index.get(key, [])

    def _load(self) -> dict:
        index = defaultdict(list)
        rows = self._contacts.order_by("pk").values_list(
            "pk", "source", "disposition", "police_backup_requested", "arrest"
        )
        for pk, source, disposition, backup, arrest in rows:
            hits = {
                "police_backup": backup,
                "arrests": arrest,
                "er_diversions": disposition not in NOT_DIVERTED,
            }
            keys = ["all", ("source", source), ("disposition", disposition)]
            for key in keys + [name for name, hit in hits.items() if hit]:
                index[key].append(pk)
        return index


@dataclass(frozen=True)
class Figure:
    count: int
    share: float | None
    source: ContactIds | None = field(default=None, repr=False, compare=False)
    key: Any = field(default=None, repr=False, compare=False)

    @property
    def ids(self) -> list:
        """The sorted contact ids behind the count."""
        return [] if self.source is None else self.source.of(self.key)


@dataclass(frozen=True)
class Bucket:
    key: str
    label: str
    count: int
    share: float | None
    source: ContactIds | None = field(default=None, repr=False, compare=False)
    group: str = field(default="", repr=False, compare=False)

    @property
    def ids(self) -> list:
        """The sorted contact ids behind the count."""
        return [] if self.source is None else self.source.of((self.group, self.key))


@dataclass(frozen=True)
class ProgrammeFigures:
    start: datetime.date
    end: datetime.date
    contacts: int
    by_source: list
    dispositions: list
    median_response_minutes: float | None
    timed_responses: int
    police_backup: Figure
    arrests: Figure
    er_diversions: Figure
    er_diversion_definition: StrOrPromise = DIVERSION_DEFINITION
    source: ContactIds | None = field(default=None, repr=False, compare=False)

    @property
    def contact_ids(self) -> list:
        """The sorted ids of the period's contacts."""
        return [] if self.source is None else self.source.of("all")


def _median_minutes(contacts, counted) -> float | None:
    """The median response time in minutes: from `counted` (the figures' aggregate) on
    PostgreSQL, else from the one or two middle times read in order (one query)."""
    timed = counted["timed"]
    if not timed:
        return None
    if "median" in counted:
        return counted["median"] / 60
    middle = (
        contacts.annotate(response=RESPONSE_TIME)
        .filter(response__isnull=False)
        .order_by("response")
        .values_list("response", flat=True)[(timed - 1) // 2 : timed // 2 + 1]
    )
    return statistics.median(time.total_seconds() / 60 for time in middle)


def programme_figures(*, agency_id, start, end, teams=None, zone=None) -> ProgrammeFigures:
    since, until = period_bounds(start, end, agency_zone(agency_id, zone))
    contacts = (
        Contact.objects.filter(agency_id=agency_id, received_at__gte=since, received_at__lt=until)
        .filter(scope_q(teams=teams))
        .order_by()
    )
    aggregates: dict[str, Aggregate] = {
        "all": Count("pk"),
        "timed": Count(RESPONSE_TIME),
        **{name: Count("pk", filter=condition) for name, condition in FIGURES.items()},
        **{
            f"{group}:{value}": Count("pk", filter=Q(**{group: value}))
            for group, choices in BUCKETS.items()
            for value in choices.values
        },
    }
    if connections[contacts.db].vendor == "postgresql":
        seconds = Extract(RESPONSE_TIME, "epoch", output_field=FloatField())
        aggregates["median"] = Median(seconds, output_field=FloatField())
    counted = contacts.aggregate(**aggregates)
    total = counted["all"]
    ids = ContactIds(contacts)

    def buckets(group) -> list:
        return [
            Bucket(value, str(label), n, ratio(n, total), source=ids, group=group)
            for value, label in BUCKETS[group].choices
            if (n := counted[f"{group}:{value}"])
        ]

    figures = {
        name: Figure(counted[name], ratio(counted[name], total), source=ids, key=name)
        for name in FIGURES
    }
    return ProgrammeFigures(
        start=start,
        end=end,
        contacts=total,
        by_source=buckets("source"),
        dispositions=buckets("disposition"),
        median_response_minutes=_median_minutes(contacts, counted),
        timed_responses=counted["timed"],
        police_backup=figures["police_backup"],
        arrests=figures["arrests"],
        er_diversions=figures["er_diversions"],
        source=ids,
    )


@dataclass(frozen=True)
class TrendWeek:
    week_start: datetime.date
    week_end: datetime.date
    due: int
    done_within_window: int
    fum_denominator: int
    fum_numerator: int
    fum_pending: int
    fum_rate: float | None


def _due_by_week(*, agency_id, since, until, teams, worker, tz, now) -> dict:
    """Monday (the agency's date) -> (due, done_within_window) of the follow-ups due that
    week, as compliance() counts them at `now`: one GROUP BY on the agency-zone week of
    due_at (PostgreSQL: date_trunc('week', due_at AT TIME ZONE zone))."""
    conditions = bucket_conditions(now)
    rows = (
        period_followups(agency_id=agency_id, since=since, until=until, teams=teams, worker=worker)
        .annotate(week=TruncWeek("due_at", tzinfo=tz, output_field=DateField()))
        .values("week")
        .annotate(
            due=Count("pk", filter=conditions["due"]),
            done=Count("pk", filter=conditions["done_within_window"]),
        )
        .values_list("week", "due", "done")
    )
    return {week: (due, done) for week, due, done in rows}


def weekly_trend(*, agency_id, weeks=12, teams=None, worker=None, today=None, zone=None) -> list:
    weeks = max(1, min(int(weeks), MAX_WEEKS))
    tz = agency_zone(agency_id, zone)
    now = timezone.now()
    today = today or now.astimezone(tz).date()
    first = today - datetime.timedelta(days=today.weekday() + 7 * (weeks - 1))
    last = first + datetime.timedelta(days=7 * weeks - 1)
    since, until = period_bounds(first, last, tz)
    due = _due_by_week(
        agency_id=agency_id, since=since, until=until, teams=teams, worker=worker, tz=tz, now=now
    )
    outcomes, _, _ = evaluate(
        agency_id=agency_id,
        measure="fum",
        start=first,
        end=last,
        teams=teams,
        worker=worker,
        today=today,
        zone=tz,
    )
    fum: defaultdict[int, dict[str, int]] = defaultdict(
        lambda: {"hit": 0, "pending": 0, "missed": 0}
    )
    for outcome in outcomes:
        fum[(outcome.ed_date - first).days // 7][outcome.seven_day] += 1

    result = []
    for week in range(weeks):
        monday = first + datetime.timedelta(days=7 * week)
        counts = fum[week]
        denominator = sum(counts.values())
        result.append(
            TrendWeek(
                week_start=monday,
                week_end=monday + datetime.timedelta(days=6),
                due=due.get(monday, (0, 0))[0],
                done_within_window=due.get(monday, (0, 0))[1],
                fum_denominator=denominator,
                fum_numerator=counts["hit"],
                fum_pending=counts["pending"],
                fum_rate=ratio(counts["hit"], denominator - counts["pending"]),
            )
        )
    return result
