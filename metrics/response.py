"""The response measures crisis programmes publish, from the dispatch stamps (shared
DOMAIN notes, "Crisis response"): how soon a team got there and how long it stayed, who
was not served and why, police and involuntary holds, the 988 and 911 hand-offs, where
the requests came from, when they came (hour × weekday) and who went.

    response_measures(*, agency_id, start, end, zone, targets) -> ResponseMeasures

Over the agency's requests (dispatch.TeamRequest) received on the agency's dates `start`
to `end`, both included (metrics.compliance.period_bounds), read by
teamrequest_received_idx. `targets`: priority -> target minutes (agency_targets).
- Response time: on_scene_at − received_at, over the requests a team reached. Median and
  90th percentile as PostgreSQL's percentile_cont(0.5 / 0.9): linear interpolation
  between the two nearest ranks (10, 20, 30, 40 minutes: median 25, p90 37). Minutes,
  to 0.1.
- Within target: a response time of at most the agency's target for the request's
  priority (DispatchSettings.target_minutes), over the requests of that priority a team
  reached.
- Time on scene: left_scene_at − on_scene_at.
- Served: a team reached the person (on_scene_at set). Not served: closed with a
  NotServedReason (status not_served). Open: neither yet (waiting, or a unit on its way).
  "No unit available" wait: closed_at − received_at of the requests closed for it.
- Police requested or present, involuntary hold or transport: counted among the served
  requests, their shares of the served.
- 988 hand-offs: source lifeline_988; 911 / CAD hand-offs: source cad_911.
- Crew: the distinct credentials of the crew of the assignment that served the request
  (the one on it when the team came on scene: SERVING), as Assignment.members recorded
  them when it was sent.
- Hour × weekday: of received_at on the agency's clock (ISO weekday, 1 = Monday).

Every count has a key ("served", "not-served-declined", "988-warm", "within-emergent",
"cell-1-03", "crew-licensed_clinician-peer_specialist", ...); requests_behind(key, ...)
is the query behind it, with the very condition the count used (the drill-down).

Queries, whatever the number of requests: on PostgreSQL three, the counts and
percentiles (one aggregate with FILTER clauses), the hour × weekday cells (GROUP BY on the
agency's clock, each with its median), the crews (the serving assignments joined to the
period's requests, GROUP BY their credentials, in SQL). SQLite has no percentile_cont: one more query reads the stamps of
the timed requests, and percentile() computes the same numbers in Python.
"""

import datetime
import math
import zoneinfo
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db import connections
from django.db.models import (
    Aggregate,
    Count,
    F,
    FloatField,
    Func,
    Q,
    QuerySet,
    TextField,
)
from django.db.models.functions import Extract, ExtractHour, ExtractIsoWeekDay
from django.utils.dates import WEEKDAYS_ABBR
from django.utils.functional import lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from accounts.models import Role
from audit.services import refuse
from core.i18n import StrOrPromise
from dispatch.models import (
    ActiveRescue,
    Assignment,
    Credential,
    DispatchSettings,
    NotServedReason,
    Priority,
    RequestSource,
    RequestStatus,
    TeamRequest,
)
from metrics.compliance import period_bounds, ratio
from metrics.scope import in_calendar, period_error

# Dispatchers read the measures of their agency too: the board's people plan its shifts.
RESPONSE_ROLES = (Role.SUPERVISOR, Role.AGENCY_ADMIN, Role.DISPATCHER)
DEFAULT_DAYS = 28
FRACTIONS = (0.5, 0.9)
# "Mon" to "Sun" (ISO weekday - 1), in the reader's language (Django's own names).
DAYS = tuple(WEEKDAYS_ABBR[i] for i in range(7))
HEAT_LEVELS = 5

SERVED = Q(on_scene_at__isnull=False)
NOT_SERVED = Q(status=RequestStatus.NOT_SERVED)
OPEN = Q(on_scene_at__isnull=True) & ~Q(status=RequestStatus.NOT_SERVED)
LIFELINE = Q(source=RequestSource.LIFELINE_988)
CAD = Q(source=RequestSource.CAD_911)
NO_UNIT = NotServedReason.NO_UNIT_AVAILABLE


def can_see_measures(user) -> bool:
    return bool(user.is_authenticated and user.agency_id and user.role in RESPONSE_ROLES)


def require_response_access(request, page: str, message: StrOrPromise) -> None:
    """403 (its trace in the trail, under `page`) unless the user is a supervisor, an
    agency admin or a dispatcher of an agency: they all see every request of it
    (TeamRequest.objects.visible_to)."""
    if not can_see_measures(request.user):
        refuse(request, page, message)


def response_period(start, end, today) -> tuple[datetime.date, datetime.date]:
    """start..end with a missing end DEFAULT_DAYS on from start (today when both are
    missing) and a missing start DEFAULT_DAYS before end; both days included."""
    if end is None:
        end = today if start is None else start + datetime.timedelta(days=DEFAULT_DAYS - 1)
    if start is None:
        start = end - datetime.timedelta(days=DEFAULT_DAYS - 1)
    return start, end


def period_problem(start, end, today) -> tuple[str, str] | None:
    """(field, message) when start..end (either may be None: the default) is not a period
    the page may show (metrics.scope's rules), else None."""
    for name, day in (("start", start), ("end", end)):
        if day is not None and not in_calendar(day, today):
            return name, _("Check the year of this date.")
    start, end = response_period(start, end, today)
    if not (in_calendar(start, today) and in_calendar(end, today)):
        return "start", _("Check the years of the period.")
    return period_error(start, end)


def agency_targets(agency_id: int) -> dict[str, int]:
    """Priority -> the agency's target response minutes. Read, never made: the defaults
    of an agency that has not saved its settings are the model's (settings_for would
    write them, and this is a read)."""
    found = DispatchSettings.objects.filter(agency_id=agency_id).first()
    settings = found or DispatchSettings(agency_id=agency_id)
    return {priority: settings.target_minutes(priority) for priority in Priority.values}


# --- The counts and their conditions -------------------------------------------------------


def _compose(message: str, args: dict[str, Any]) -> str:
    return _(message) % {name: str(value) for name, value in args.items()}


# A label of the tables below, built once at import and read in each reader's language:
# `message` (marked with gettext_noop) with its arguments (lazy labels), translated when
# shown.
_label = lazy(_compose, str)

# The outcome labels of each group of requests: served, not served, open, not served for
# a reason.
OUTCOME_LABELS = {
    "": (
        gettext_noop("Requests served"),
        gettext_noop("Requests not served"),
        gettext_noop("Requests open (no team on scene yet)"),
        gettext_noop("Requests not served: %(reason)s"),
    ),
    "988-": (
        gettext_noop("988 hand-offs served"),
        gettext_noop("988 hand-offs not served"),
        gettext_noop("988 hand-offs open (no team on scene yet)"),
        gettext_noop("988 hand-offs not served: %(reason)s"),
    ),
    "cad-": (
        gettext_noop("911 / CAD hand-offs served"),
        gettext_noop("911 / CAD hand-offs not served"),
        gettext_noop("911 / CAD hand-offs open (no team on scene yet)"),
        gettext_noop("911 / CAD hand-offs not served: %(reason)s"),
    ),
}

# The reasons as the labels name them, inside a sentence.
_lower = lazy(lambda text: str(text).lower(), str)


def _outcomes(prefix: str, base: Q) -> dict[str, tuple[str, Q]]:
    served, not_served, still_open, for_reason = OUTCOME_LABELS[prefix]
    figures = {
        f"{prefix}served": (_label(served, {}), base & SERVED),
        f"{prefix}not-served": (_label(not_served, {}), base & NOT_SERVED),
        f"{prefix}open": (_label(still_open, {}), base & OPEN),
    }
    for reason, reason_label in NotServedReason.choices:
        figures[f"{prefix}not-served-{reason}"] = (
            _label(for_reason, {"reason": _lower(reason_label)}),
            base & Q(not_served_reason=reason),
        )
    return figures


# The details of the 988 hand-offs, as the page lists them under that heading.
LIFELINE_DETAILS = {
    "988-warm": gettext_lazy("warm transfer"),
    "988-line-open": gettext_lazy("line open until arrival"),
    "988-rescue-voluntary": gettext_lazy("voluntary active rescue"),
    "988-rescue-involuntary": gettext_lazy("involuntary active rescue"),
}
_HAND_OFFS_DETAIL = gettext_noop("988 hand-offs, %(detail)s")

# Key -> (what the drill-down calls it, the condition counted).
FIGURES: dict[str, tuple[StrOrPromise, Q]] = {
    "all": (gettext_lazy("All requests"), Q()),
    **{
        f"priority-{p}": (
            _label(gettext_noop("%(priority)s requests"), {"priority": label}),
            Q(priority=p),
        )
        for p, label in Priority.choices
    },
    **{
        f"timed-{p}": (
            _label(gettext_noop("%(priority)s requests a team reached"), {"priority": label}),
            Q(priority=p) & SERVED,
        )
        for p, label in Priority.choices
    },
    **_outcomes("", Q()),
    "police-requested": (
        gettext_lazy("Served, police requested"),
        SERVED & Q(police_requested=True),
    ),
    "police-present": (gettext_lazy("Served, police present"), SERVED & Q(police_present=True)),
    "hold": (gettext_lazy("Served, involuntary hold"), SERVED & Q(involuntary_hold=True)),
    "transport": (
        gettext_lazy("Served, involuntary transport"),
        SERVED & Q(involuntary_transport=True),
    ),
    **{
        f"source-{s}": (_label(gettext_noop("From: %(source)s"), {"source": label}), Q(source=s))
        for s, label in RequestSource.choices
    },
    "988": (gettext_lazy("988 hand-offs"), LIFELINE),
    "988-warm": (
        _label(_HAND_OFFS_DETAIL, {"detail": LIFELINE_DETAILS["988-warm"]}),
        LIFELINE & Q(warm_transfer=True),
    ),
    "988-line-open": (
        _label(_HAND_OFFS_DETAIL, {"detail": LIFELINE_DETAILS["988-line-open"]}),
        LIFELINE & Q(line_open_until_arrival=True),
    ),
    "988-rescue-voluntary": (
        _label(_HAND_OFFS_DETAIL, {"detail": LIFELINE_DETAILS["988-rescue-voluntary"]}),
        LIFELINE & Q(active_rescue=ActiveRescue.VOLUNTARY),
    ),
    "988-rescue-involuntary": (
        _label(_HAND_OFFS_DETAIL, {"detail": LIFELINE_DETAILS["988-rescue-involuntary"]}),
        LIFELINE & Q(active_rescue=ActiveRescue.INVOLUNTARY),
    ),
    **_outcomes("988-", LIFELINE),
    "cad": (gettext_lazy("911 / CAD hand-offs"), CAD),
    **_outcomes("cad-", CAD),
}

# Key -> the short label a table of the page shows under its group's heading: a source's
# own name, a 988 detail, a reason for not serving.
SHORT_LABELS: dict[str, Any] = {
    **{f"source-{s}": label for s, label in RequestSource.choices},
    **LIFELINE_DETAILS,
    **{
        f"{prefix}not-served-{reason}": label
        for prefix in OUTCOME_LABELS
        for reason, label in NotServedReason.choices
    },
}

# Name -> (later stamp, earlier stamp, which requests): the durations whose median and
# 90th percentile are measured.
SPREADS: dict[str, tuple[str, str, Q]] = {
    "response": ("on_scene_at", "received_at", Q()),
    **{f"response-{p}": ("on_scene_at", "received_at", Q(priority=p)) for p in Priority.values},
    "on_scene": ("left_scene_at", "on_scene_at", Q()),
    "no_unit_wait": ("closed_at", "received_at", Q(not_served_reason=NO_UNIT)),
}


def within_target(priority: str, minutes: int) -> Q:
    """Requests of `priority` a team reached within `minutes` of the call."""
    limit = F("received_at") + datetime.timedelta(minutes=minutes)
    return Q(priority=priority, on_scene_at__lte=limit)


def seconds_between(later: str, earlier: str) -> Extract:
    """later − earlier in seconds (PostgreSQL: extract(epoch FROM interval))."""
    return Extract(F(later) - F(earlier), "epoch", output_field=FloatField())


class PercentileCont(Aggregate):
    """PostgreSQL's percentile_cont(fraction) of the non-null values: linear interpolation
    between the two nearest ranks (percentile() in Python). Take it of seconds: of
    intervals, PostgreSQL rounds to the microsecond."""

    function = "PERCENTILE_CONT"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression: Any, fraction: float, **extra: Any) -> None:
        super().__init__(expression, fraction=float(fraction), **extra)


def percentile(values: list[float], fraction: float) -> float | None:
    """percentile_cont(fraction) in Python, with PostgreSQL's arithmetic
    (percentile_cont_final_common, float8_lerp): the same float for the same values."""
    if not values:
        return None
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    first, second = math.floor(position), math.ceil(position)
    low = ordered[first]
    if second == first:
        return low
    return low + (ordered[second] - low) * (position - first)


class Credentials(Func):
    """The distinct credentials of a crew (an Assignment.members JSON list), sorted and
    joined by "-" ("licensed_clinician-peer_specialist"); NULL for a crew of nobody."""

    output_field = TextField()

    def as_postgresql(self, compiler, connection, **extra_context):
        template = (
            "(SELECT string_agg(DISTINCT m ->> 'credential', '-' ORDER BY m ->> 'credential')"
            " FROM jsonb_array_elements(%(expressions)s) AS m)"
        )
        return self.as_sql(compiler, connection, template=template, **extra_context)

    def as_sqlite(self, compiler, connection, **extra_context):
        template = (
            "(SELECT group_concat(c, '-') FROM (SELECT DISTINCT json_extract(m.value,"
            " '$.credential') AS c FROM json_each(%(expressions)s) AS m ORDER BY c))"
        )
        return self.as_sql(compiler, connection, template=template, **extra_context)


# The assignment that served a request: the one on it when the team came on scene (a
# unit released before arriving let go before then; the serving one is released when the
# team is back in service, after). At most one a request.
SERVING = Q(request__on_scene_at__isnull=False, assigned_at__lte=F("request__on_scene_at")) & (
    Q(released_at__isnull=True) | Q(released_at__gte=F("request__on_scene_at"))
)


def serving_assignments(*, agency_id: int, start, end, zone) -> QuerySet[Assignment]:
    """The assignments that served the period's requests: the requests by
    teamrequest_received_idx, their assignments by their request index."""
    since, until = period_bounds(start, end, zone)
    return (
        Assignment.objects.filter(
            request__agency_id=agency_id,
            request__received_at__gte=since,
            request__received_at__lt=until,
        )
        .filter(SERVING)
        .annotate(crew=Credentials(F("members")))
        .order_by()
    )


def crew_label(key: str | None) -> str:
    if not key:
        return _("No crew recorded")
    labels = dict(Credential.choices)
    return " + ".join(str(labels.get(part, part)) for part in key.split("-"))


def period_requests(*, agency_id: int, start, end, zone) -> QuerySet[TeamRequest]:
    """The agency's requests received on its dates start..end (teamrequest_received_idx)."""
    since, until = period_bounds(start, end, zone)
    return TeamRequest.objects.filter(
        agency_id=agency_id, received_at__gte=since, received_at__lt=until
    ).order_by()


def _local_cells(requests, zone):
    """`requests` with `day` and `hour` of their receipt on the agency's clock."""
    return requests.annotate(
        day=ExtractIsoWeekDay("received_at", tzinfo=zone),
        hour=ExtractHour("received_at", tzinfo=zone),
    )


def _cell_of(rest: str) -> tuple[int, int] | None:
    day, _sep, hour = rest.partition("-")
    if not (day.isdigit() and hour.isdigit()):
        return None
    if 1 <= int(day) <= 7 and 0 <= int(hour) <= 23:
        return int(day), int(hour)
    return None


def _crew_behind(requests, assignments, rest: str) -> QuerySet[TeamRequest] | None:
    if rest == "none":
        crews = assignments.filter(crew__isnull=True)
    elif all(part in Credential.values for part in rest.split("-")):
        crews = assignments.filter(crew=rest)
    else:
        return None
    return requests.filter(pk__in=crews.values("request_id"))


def requests_behind(
    key: str, *, agency_id: int, start, end, zone, targets: dict[str, int]
) -> tuple[StrOrPromise, QuerySet[TeamRequest]] | None:
    """(title, the requests) behind the count named `key`, by the condition the count
    used; None when `key` names no count."""
    requests = period_requests(agency_id=agency_id, start=start, end=end, zone=zone)
    if key in FIGURES:
        label, condition = FIGURES[key]
        return label, requests.filter(condition)
    group, _sep, rest = key.partition("-")
    if group == "within" and rest in targets:
        label = _("%(priority)s requests reached within %(minutes)s min") % {
            "priority": Priority(rest).label,
            "minutes": targets[rest],
        }
        return label, requests.filter(within_target(rest, targets[rest]))
    if group == "cell" and (cell := _cell_of(rest)) is not None:
        day, hour = cell
        title = _("Received on %(day)s %(hour)s:00–%(hour)s:59") % {
            "day": DAYS[day - 1],
            "hour": f"{hour:02d}",
        }
        return title, _local_cells(requests, zone).filter(day=day, hour=hour)
    assignments = serving_assignments(agency_id=agency_id, start=start, end=end, zone=zone)
    if group == "crew" and (crews := _crew_behind(requests, assignments, rest)) is not None:
        crew = crew_label(None if rest == "none" else rest)
        return _("Served by a crew of %(crew)s") % {"crew": crew}, crews
    return None


# --- The answer ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Spread:
    """Median and 90th percentile in minutes (to 0.1) over `of` requests."""

    median: float | None
    p90: float | None
    of: int


@dataclass(frozen=True)
class Figure:
    key: str
    label: StrOrPromise
    count: int
    share: float | None  # of what the figure's group says
    # What a table of the page shows under its group's heading (SHORT_LABELS), else label.
    short: Any = field(default="", compare=False)

    @property
    def percent(self) -> str:
        return "—" if self.share is None else f"{self.share:.0%}"


@dataclass(frozen=True)
class PriorityRow:
    priority: str
    label: str
    requests: Figure
    response: Spread
    target_minutes: int
    within_target: Figure  # share: of the requests of the priority a team reached


@dataclass(frozen=True)
class Outcomes:
    total: int
    served: Figure
    not_served: Figure
    open: Figure
    reasons: list[Figure]  # every NotServedReason, in its order; shares of `total`


@dataclass(frozen=True)
class HeatCell:
    key: str
    day: int
    hour: int
    count: int
    median_minutes: float | None
    level: int  # 0 (none) to HEAT_LEVELS (the busiest cell)


@dataclass(frozen=True)
class HeatRow:
    day: int
    label: str
    cells: list[HeatCell]


@dataclass(frozen=True)
class ResponseMeasures:
    start: datetime.date
    end: datetime.date
    zone: str
    requests: int
    response: Spread
    within_target: Figure  # every priority at its own target; share of those reached
    by_priority: list[PriorityRow]
    on_scene: Spread
    outcomes: Outcomes
    no_unit_wait: Spread
    police_requested: Figure  # shares of the served
    police_present: Figure
    involuntary_hold: Figure
    involuntary_transport: Figure
    lifeline: Figure
    lifeline_details: list[Figure]  # warm, line open, rescues; shares of the 988 hand-offs
    lifeline_outcomes: Outcomes
    cad: Figure
    cad_outcomes: Outcomes
    by_source: list[Figure]  # every source, in RequestSource's order; shares of all
    crews: list[Figure]  # the most frequent first; shares of the served
    heat: list[HeatRow]
    heat_max: int


def _aggregates(targets: dict[str, int], in_sql: bool) -> dict[str, Aggregate]:
    aggregates: dict[str, Aggregate] = {
        name: Count("pk", filter=condition) for name, (_, condition) in FIGURES.items()
    }
    for priority, minutes in targets.items():
        aggregates[f"within-{priority}"] = Count("pk", filter=within_target(priority, minutes))
    for name, (later, earlier, condition) in SPREADS.items():
        timed = condition & Q(**{f"{later}__isnull": False, f"{earlier}__isnull": False})
        aggregates[f"{name}:of"] = Count("pk", filter=timed)
        if in_sql:
            value = seconds_between(later, earlier)
            for fraction in FRACTIONS:
                aggregates[f"{name}:{fraction}"] = PercentileCont(value, fraction, filter=condition)
    return aggregates


def _minutes(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 60, 1)


def _python_values(requests: QuerySet[TeamRequest], zone) -> dict[Any, list[float]]:
    """SPREADS name (and ("cell", day, hour)) -> the seconds, for percentile() where the
    database has no percentile_cont: one pass over the stamps of the timed requests."""
    values: defaultdict[Any, list[float]] = defaultdict(list)
    rows = requests.filter(SERVED | Q(not_served_reason=NO_UNIT)).values_list(
        "priority", "received_at", "on_scene_at", "left_scene_at", "closed_at", "not_served_reason"
    )
    for priority, received, on_scene, left, closed, reason in rows.iterator(chunk_size=5000):
        if on_scene is not None:
            response = (on_scene - received).total_seconds()
            local = received.astimezone(zone)
            for name in (
                "response",
                f"response-{priority}",
                ("cell", local.isoweekday(), local.hour),
            ):
                values[name].append(response)
            if left is not None:
                values["on_scene"].append((left - on_scene).total_seconds())
        if reason == NO_UNIT and closed is not None:
            values["no_unit_wait"].append((closed - received).total_seconds())
    return values


def _spreads(counted: dict, values: dict | None) -> dict[str, Spread]:
    spreads = {}
    for name in SPREADS:
        if values is None:
            median, p90 = (counted[f"{name}:{fraction}"] for fraction in FRACTIONS)
        else:
            median, p90 = (percentile(values.get(name, []), fraction) for fraction in FRACTIONS)
        spreads[name] = Spread(_minutes(median), _minutes(p90), counted[f"{name}:of"])
    return spreads


def _heat(requests, zone, in_sql: bool, values: dict | None) -> tuple[list[HeatRow], int]:
    """Every weekday × hour cell (zeros too): its count and median response time."""
    cells = _local_cells(requests, zone).values("day", "hour")
    extra = {"median": PercentileCont(seconds_between("on_scene_at", "received_at"), 0.5)}
    found = {
        (row["day"], row["hour"]): (row["n"], row.get("median"))
        for row in cells.annotate(n=Count("pk"), **(extra if in_sql else {}))
    }
    if values is not None:
        found = {
            cell: (n, percentile(values.get(("cell", *cell), []), 0.5))
            for cell, (n, _) in found.items()
        }
    busiest = max((n for n, _ in found.values()), default=0)
    rows = []
    for day in range(1, 8):
        row = []
        for hour in range(24):
            n, median = found.get((day, hour), (0, None))
            level = math.ceil(HEAT_LEVELS * n / busiest) if n else 0
            row.append(HeatCell(f"cell-{day}-{hour:02d}", day, hour, n, _minutes(median), level))
        rows.append(HeatRow(day, DAYS[day - 1], row))
    return rows, busiest


def _crews(assignments, served: int) -> list[Figure]:
    grouped = assignments.values("crew").annotate(n=Count("pk")).values_list("crew", "n")
    figures = [
        Figure(f"crew-{crew or 'none'}", crew_label(crew), n, ratio(n, served))
        for crew, n in grouped
    ]
    return sorted(figures, key=lambda f: (-f.count, f.label))


def _figure(counted: dict, key: str, of: int) -> Figure:
    label = FIGURES[key][0]
    return Figure(
        key, label, counted[key], ratio(counted[key], of), short=SHORT_LABELS.get(key, label)
    )


def _outcome(counted: dict, prefix: str, total: int) -> Outcomes:
    return Outcomes(
        total=total,
        served=_figure(counted, f"{prefix}served", total),
        not_served=_figure(counted, f"{prefix}not-served", total),
        open=_figure(counted, f"{prefix}open", total),
        reasons=[
            _figure(counted, f"{prefix}not-served-{reason}", total)
            for reason in NotServedReason.values
        ],
    )


def _by_priority(counted: dict, spreads: dict, targets: dict[str, int]) -> list[PriorityRow]:
    rows = []
    for priority, label in Priority.choices:
        within = counted[f"within-{priority}"]
        rows.append(
            PriorityRow(
                priority=priority,
                label=str(label),
                requests=_figure(counted, f"priority-{priority}", counted["all"]),
                response=spreads[f"response-{priority}"],
                target_minutes=targets[priority],
                within_target=Figure(
                    f"within-{priority}",
                    _("Within %(minutes)s min") % {"minutes": targets[priority]},
                    within,
                    ratio(within, counted[f"timed-{priority}"]),
                ),
            )
        )
    return rows


def response_measures(
    *, agency_id: int, start, end, zone: zoneinfo.ZoneInfo, targets: dict[str, int]
) -> ResponseMeasures:
    requests = period_requests(agency_id=agency_id, start=start, end=end, zone=zone)
    in_sql = connections[requests.db].vendor == "postgresql"
    counted = requests.aggregate(**_aggregates(targets, in_sql))
    values = None if in_sql else _python_values(requests, zone)
    spreads = _spreads(counted, values)
    heat, busiest = _heat(requests, zone, in_sql, values)
    total, served = counted["all"], counted["served"]
    within = sum(counted[f"within-{p}"] for p in targets)
    lifeline, cad = counted["988"], counted["cad"]
    return ResponseMeasures(
        start=start,
        end=end,
        zone=str(zone),
        requests=total,
        response=spreads["response"],
        within_target=Figure("", _("Within target"), within, ratio(within, served)),
        by_priority=_by_priority(counted, spreads, targets),
        on_scene=spreads["on_scene"],
        outcomes=_outcome(counted, "", total),
        no_unit_wait=spreads["no_unit_wait"],
        police_requested=_figure(counted, "police-requested", served),
        police_present=_figure(counted, "police-present", served),
        involuntary_hold=_figure(counted, "hold", served),
        involuntary_transport=_figure(counted, "transport", served),
        lifeline=_figure(counted, "988", total),
        lifeline_details=[
            _figure(counted, key, lifeline)
            for key in (
                "988-warm",
                "988-line-open",
                "988-rescue-voluntary",
                "988-rescue-involuntary",
            )
        ],
        lifeline_outcomes=_outcome(counted, "988-", lifeline),
        cad=_figure(counted, "cad", total),
        cad_outcomes=_outcome(counted, "cad-", cad),
        by_source=[_figure(counted, f"source-{s}", total) for s in RequestSource.values],
        crews=_crews(
            serving_assignments(agency_id=agency_id, start=start, end=end, zone=zone), served
        ),
        heat=heat,
        heat_max=busiest,
    )
