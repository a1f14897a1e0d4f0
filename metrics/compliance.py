"""Follow-up compliance: pure query functions for the compliance page and the API.

Periods. `start` and `end` are the agency's calendar dates (`datetime.date`), both
included: the period runs from 00:00 local time on `start` to 00:00 local time on the day
after `end` (followups.schedule.local_midnight), so a follow-up due at 23:30 on `end`
is in it. The agency's time zone is Agency.zone (agency_zone). Every function here and
in the other metrics modules takes it as `zone` when the caller has it (the page and the
API do: metrics.scope.MetricsScope.filters()); without it, each reads it: the agency
query counted below.

Scope. `teams`: an iterable of team ids (None: the whole agency); a follow-up belongs to
its case's team. `worker`: a user id (None: everyone); a follow-up belongs to the worker
it is assigned to. Both filter the same rows; nothing of another agency is ever read.

    compliance(*, agency_id, start, end, teams=None, worker=None, now=None, zone=None)
        -> ComplianceReport

ComplianceReport (frozen dataclass):
    start, end: date            the period as given
    now: datetime               the instant "overdue" and "window closed" refer to
    totals: ComplianceCounts
    teams: list[ComplianceRow]  one per case team with follow-ups in the period
                                (key None: cases without a team), ordered by label
    workers: list[ComplianceRow] one per assigned worker, ordered by label

ComplianceRow: key (team id / user id / None), label (str), counts (ComplianceCounts).

ComplianceCounts: for the follow-ups whose due_at is in the period, an int for each of:
    due                 every follow-up not cancelled
    done_within_window  completed with completed_at <= window_end. Done early (before
                        window_start) counts as within window, as the follow-up model
                        states: the client was reached, which is the point.
    completed_late      completed after window_end (a missed one recorded done late)
    overdue             open and past its due time at `now`, its window still open
    missed              status missed, or open with its window closed at `now` (the
                        sweeper has not run yet: counted by time, not by the row's status)
    not_yet_due         open and not yet due at `now`
    cancelled           cancelled (not part of `due`)
  due == done_within_window + completed_late + overdue + missed + not_yet_due.
    steps_due           protocol steps (enrolment set, not cancelled) that are completed
                        or whose window has closed at `now`
    steps_done_within_window  those of steps_due completed inside their window,
                        window_start <= completed_at <= window_end: protocol fidelity
                        is about keeping the protocol's schedule, so a step done
                        before its window opened (SCT contact 3, days 30-60, done on
                        day 5) is done, and done within window above, but is not a
                        step kept within its window
    fidelity            steps_done_within_window / steps_due, None when steps_due is 0
    within_window_rate  done_within_window / (done_within_window + completed_late +
                        missed), None when that is 0: the same ratio for every follow-up,
                        one-offs included
  The ids behind each count: `<name>_ids` (sorted follow-up ids), `ids(name)` and
  `case_ids` (dict name -> sorted case ids). They are read lazily: the first read of any
  of them, on any row of the report, loads them all in one more query.

The conditions are SQL (bucket_conditions(now)), counted in the database per case team
and assigned worker; the totals and the per-team and per-worker rows are summed from that
small grouped result. Queries: four (the agency, the grouped counts, the names of the
teams, the names of the workers) whatever the number of rows, and one more for the ids.

    compliance_ids(*, name, agency_id, start, end, teams=None, worker=None, now=None,
                   zone=None) -> list[int]

The sorted follow-up ids behind one count (`name`, one of COUNT_NAMES) of the same
report, for the drill-down: two queries (the agency, the ids).

drop_off() and no_contact_workers() are in metrics/attention.py, programme_figures() and
weekly_trend() in metrics/programme.py.
"""

import datetime
import zoneinfo
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import BooleanField, Count, ExpressionWrapper, F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Agency, Team, User, zone_of
from followups.models import OPEN_STATUSES, FollowUp, Method, Status
from followups.schedule import local_midnight
from metrics.scope import scope_q

COUNT_NAMES = (
    "due",
    "done_within_window",
    "completed_late",
    "overdue",
    "missed",
    "not_yet_due",
    "cancelled",
    "steps_due",
    "steps_done_within_window",
)


# --- Shared by the metrics modules ------------------------------------------------------

# The ways of following up that count as a visit or an interaction with the person, as
# HEDIS FUM/FUA count them (in person, by telephone; Method has no video or e-visit yet:
# add them here when it does). A letter or a text message sent is not a follow-up visit
# (shared DOMAIN notes), so Caring Contacts messages do not count.
QUALIFYING_METHODS = (Method.PHONE, Method.VISIT)


def agency_zone(agency_id: int, zone: zoneinfo.ZoneInfo | None = None) -> zoneinfo.ZoneInfo:
    """The zone of the agency with this id (accounts.models.zone_of): `zone` when the
    caller has it already (MetricsScope.zone), else read (one query)."""
    if zone is not None:
        return zone
    return zone_of(Agency.objects.filter(pk=agency_id).only("timezone").first())


def period_bounds(start: datetime.date, end: datetime.date, tz) -> tuple:
    """[00:00 local on start, 00:00 local on the day after end), in UTC."""
    return local_midnight(start, tz), local_midnight(end + datetime.timedelta(days=1), tz)


def ratio(numerator: int, denominator: int) -> float | None:
    return None if not denominator else numerator / denominator


def worker_names(agency_id, worker_ids) -> dict:
    """User id -> the name a metric's row shows, for the agency's users among
    `worker_ids` (one query)."""
    return {
        u.pk: str(u)
        for u in User.objects.filter(agency_id=agency_id, pk__in=list(worker_ids)).only(
            "pk", "username", "first_name", "last_name"
        )
    }


# --- Compliance -------------------------------------------------------------------------


class ComplianceIds:
    """The follow-up and case ids behind every count of one report, by group (("totals",
    None), ("team", team id), ("worker", user id)). Loaded by one query the first time
    any is read: the page shows counts only, the API and the tests list ids."""

    def __init__(self, followups, now):
        self._followups = followups
        self._now = now
        self._index = None

    def of(self, group) -> tuple[dict, dict]:
        """(name -> sorted follow-up ids, name -> sorted case ids) of `group`."""
        if self._index is None:
            self._index = self._load()
        return self._index.get(group, ({}, {}))

    def _load(self) -> dict:
        flags = {
            f"is_{name}": ExpressionWrapper(condition, output_field=BooleanField())
            for name, condition in bucket_conditions(self._now).items()
        }
        rows = (
            self._followups.annotate(**flags)
            .order_by("pk")
            .values_list("pk", "case_id", "case__team_id", "assigned_to_id", *flags)
        )
        # (group, key) -> bucket name -> follow-up ids / case ids.
        ids: defaultdict[tuple[str, Any], defaultdict[str, list[int]]] = defaultdict(
            lambda: defaultdict(list)
        )
        cases: defaultdict[tuple[str, Any], defaultdict[str, set[int]]] = defaultdict(
            lambda: defaultdict(set)
        )
        for pk, case_id, team_id, worker_id, *hits in rows:
            groups = (("totals", None), ("team", team_id), ("worker", worker_id))
            for name, hit in zip(COUNT_NAMES, hits, strict=True):
                if hit:
                    for group in groups:
                        ids[group][name].append(pk)
                        cases[group][name].add(case_id)
        return {
            group: (
                {name: ids[group][name] for name in COUNT_NAMES},
                {name: sorted(cases[group][name]) for name in COUNT_NAMES},
            )
            for group in ids
        }


@dataclass(frozen=True)
class ComplianceCounts:
    due: int = 0
    done_within_window: int = 0
    completed_late: int = 0
    overdue: int = 0
    missed: int = 0
    not_yet_due: int = 0
    cancelled: int = 0
    steps_due: int = 0
    steps_done_within_window: int = 0
    fidelity: float | None = None
    within_window_rate: float | None = None
    source: ComplianceIds | None = field(default=None, repr=False, compare=False)
    group: tuple = field(default=("totals", None), repr=False, compare=False)

    def ids(self, name: str) -> list:
        """The follow-up ids behind the count `name` (one of COUNT_NAMES)."""
        if name not in COUNT_NAMES:
            raise ValueError(f"Unknown count {name!r}.")
        if self.source is None:
            return []
        return self.source.of(self.group)[0].get(name, [])

    @property
    def case_ids(self) -> dict:
        """Count name -> the sorted case ids behind it."""
        if self.source is None:
            return {name: [] for name in COUNT_NAMES}
        return self.source.of(self.group)[1] or {name: [] for name in COUNT_NAMES}

    @property
    def due_ids(self) -> list:
        return self.ids("due")

    @property
    def done_within_window_ids(self) -> list:
        return self.ids("done_within_window")

    @property
    def completed_late_ids(self) -> list:
        return self.ids("completed_late")

    @property
    def overdue_ids(self) -> list:
        return self.ids("overdue")

    @property
    def missed_ids(self) -> list:
        return self.ids("missed")

    @property
    def not_yet_due_ids(self) -> list:
        return self.ids("not_yet_due")

    @property
    def cancelled_ids(self) -> list:
        return self.ids("cancelled")

    @property
    def steps_due_ids(self) -> list:
        return self.ids("steps_due")

    @property
    def steps_done_within_window_ids(self) -> list:
        return self.ids("steps_done_within_window")


@dataclass(frozen=True)
class ComplianceRow:
    key: int | None
    label: str
    counts: ComplianceCounts


@dataclass(frozen=True)
class ComplianceReport:
    start: datetime.date
    end: datetime.date
    now: datetime.datetime
    totals: ComplianceCounts
    teams: list
    workers: list


def bucket_conditions(now) -> dict:
    """Count name (COUNT_NAMES, in that order) -> the condition on a FollowUp row for
    that count at `now`: the definitions of the module docstring, in SQL."""
    completed = Q(status=Status.COMPLETED)
    within = Q(completed_at__lte=F("window_end"))
    missed = Q(status=Status.MISSED) | Q(status__in=OPEN_STATUSES, window_end__lte=now)
    still_open = Q(status__in=OPEN_STATUSES, window_end__gt=now)
    step = Q(enrolment__isnull=False)
    return {
        "due": ~Q(status=Status.CANCELLED),
        "done_within_window": completed & within,
        "completed_late": completed & ~within,
        "overdue": still_open & Q(due_at__lte=now),
        "missed": missed,
        "not_yet_due": still_open & Q(due_at__gt=now),
        "cancelled": Q(status=Status.CANCELLED),
        "steps_due": step & (completed | missed),
        "steps_done_within_window": step
        & completed
        & within
        & Q(completed_at__gte=F("window_start")),
    }


def period_followups(*, agency_id, since, until, teams=None, worker=None):
    """The agency's follow-ups with due_at in [since, until), in scope (a QuerySet)."""
    return (
        FollowUp.objects.filter(agency_id=agency_id, due_at__gte=since, due_at__lt=until)
        .filter(scope_q(teams=teams, worker=worker, worker_field="assigned_to"))
        .order_by()
    )


def _counts(counter: Counter, source: ComplianceIds, group: tuple) -> ComplianceCounts:
    counts = {name: counter[name] for name in COUNT_NAMES}
    settled = counts["done_within_window"] + counts["completed_late"] + counts["missed"]
    return ComplianceCounts(
        **counts,
        fidelity=ratio(counts["steps_done_within_window"], counts["steps_due"]),
        within_window_rate=ratio(counts["done_within_window"], settled),
        source=source,
        group=group,
    )


def compliance(
    *, agency_id, start, end, teams=None, worker=None, now=None, zone=None
) -> ComplianceReport:
    now = now or timezone.now()
    since, until = period_bounds(start, end, agency_zone(agency_id, zone))
    followups = period_followups(
        agency_id=agency_id, since=since, until=until, teams=teams, worker=worker
    )
    grouped = followups.values("case__team_id", "assigned_to_id").annotate(
        **{
            name: Count("pk", filter=condition)
            for name, condition in bucket_conditions(now).items()
        }
    )
    totals: Counter[str] = Counter()
    by_team: defaultdict[Any, Counter[str]] = defaultdict(Counter)
    by_worker: defaultdict[int | None, Counter[str]] = defaultdict(Counter)
    for row in grouped:
        counts = {name: row[name] for name in COUNT_NAMES}
        totals.update(counts)
        by_team[row["case__team_id"]].update(counts)
        by_worker[row["assigned_to_id"]].update(counts)
    team_names = dict(
        Team.objects.filter(agency_id=agency_id, pk__in=[k for k in by_team if k]).values_list(
            "pk", "name"
        )
    )
    workers = worker_names(agency_id, by_worker)
    source = ComplianceIds(followups, now)
    team_rows = [
        ComplianceRow(
            key=k,
            label=team_names.get(k, _("No team")),
            counts=_counts(v, source, ("team", k)),
        )
        for k, v in by_team.items()
    ]
    worker_rows = [
        ComplianceRow(
            key=k,
            label=workers.get(k, _("User %(id)s") % {"id": k}),
            counts=_counts(v, source, ("worker", k)),
        )
        for k, v in by_worker.items()
    ]
    return ComplianceReport(
        start=start,
        end=end,
        now=now,
        totals=_counts(totals, source, ("totals", None)),
        teams=sorted(team_rows, key=lambda r: r.label.lower()),
        workers=sorted(worker_rows, key=lambda r: r.label.lower()),
    )


def compliance_ids(
    *, name, agency_id, start, end, teams=None, worker=None, now=None, zone=None
) -> list:
    """The sorted follow-up ids behind the count `name` (one of COUNT_NAMES) of
    compliance() with the same arguments: the drill-down's list. Two queries."""
    if name not in COUNT_NAMES:
        raise ValueError(f"Unknown count {name!r}.")
    now = now or timezone.now()
    since, until = period_bounds(start, end, agency_zone(agency_id, zone))
    followups = period_followups(
        agency_id=agency_id, since=since, until=until, teams=teams, worker=worker
    )
    return list(
        followups.filter(bucket_conditions(now)[name]).order_by("pk").values_list("pk", flat=True)
    )
