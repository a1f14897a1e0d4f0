"""Follow-up compliance: pure query functions for the compliance page and the API.

Periods. `start` and `end` are the agency's calendar dates (`datetime.date`), both
included: the period runs from 00:00 local time on `start` to 00:00 local time on the day
after `end` (followups.schedule.local_midnight), so a follow-up due at 23:30 on `end`
is in it. The agency's time zone is Agency.zone (agency_zone).

Scope. `teams`: an iterable of team ids (None: the whole agency); a follow-up belongs to
its case's team. `worker`: a user id (None: everyone); a follow-up belongs to the worker
it is assigned to. Both filter the same rows; nothing of another agency is ever read.

    compliance(*, agency_id, start, end, teams=None, worker=None, now=None)
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

    compliance_ids(*, name, agency_id, start, end, teams=None, worker=None, now=None)
        -> list[int]

The sorted follow-up ids behind one count (`name`, one of COUNT_NAMES) of the same
report, for the drill-down: two queries (the agency, the ids).

Also here: drop_off() and no_contact_workers(), documented on each function.
programme_figures() and weekly_trend() are in metrics/programme.py.
"""

import datetime
import zoneinfo
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import (
    BooleanField,
    Count,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    Subquery,
)
from django.utils import timezone

from accounts.models import Agency, Team, User, zone_of
from cases.cssrs import RISK_ORDER
from cases.models import Case, CaseStatus, Contact
from followups.models import (
    OPEN_STATUSES,
    Attempt,
    AttemptOutcome,
    FollowUp,
    HospitalVisit,
    Method,
    Status,
    VisitKind,
)
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


def agency_zone(agency_id: int) -> zoneinfo.ZoneInfo:
    """The zone of the agency with this id (accounts.models.zone_of)."""
    return zone_of(Agency.objects.filter(pk=agency_id).only("timezone").first())


def period_bounds(start: datetime.date, end: datetime.date, tz) -> tuple:
    """[00:00 local on start, 00:00 local on the day after end), in UTC."""
    return local_midnight(start, tz), local_midnight(end + datetime.timedelta(days=1), tz)


def ratio(numerator: int, denominator: int) -> float | None:
    return None if not denominator else numerator / denominator


def _worker_names(agency_id, worker_ids) -> dict:
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


def buckets_of(row: dict, now) -> list:
    """The counts one follow-up row (values of FollowUp) falls in at `now`: the same
    definitions as bucket_conditions(), for rows already in Python (metrics.programme)."""
    status = row["status"]
    if status == Status.CANCELLED:
        return ["cancelled"]
    names = ["due"]
    done_within = False
    if status == Status.COMPLETED:
        done_within = row["completed_at"] <= row["window_end"]
        names.append("done_within_window" if done_within else "completed_late")
    elif status == Status.MISSED or (status in OPEN_STATUSES and now >= row["window_end"]):
        names.append("missed")
    elif now >= row["due_at"]:
        names.append("overdue")
    else:
        names.append("not_yet_due")
    if row["enrolment_id"] is not None and (status == Status.COMPLETED or "missed" in names):
        names.append("steps_due")
        if done_within and row["completed_at"] >= row["window_start"]:
            names.append("steps_done_within_window")
    return names


def period_followups(*, agency_id, since, until, teams=None, worker=None):
    """The agency's follow-ups with due_at in [since, until), in scope (a QuerySet)."""
    return (
        FollowUp.objects.filter(agency_id=agency_id, due_at__gte=since, due_at__lt=until)
        .filter(scope_q(teams=teams, worker=worker, worker_field="assigned_to"))
        .order_by()
    )


def followup_rows(*, agency_id, since, until, teams=None, worker=None):
    """Plain values of the agency's follow-ups with due_at in [since, until)."""
    return list(
        period_followups(
            agency_id=agency_id, since=since, until=until, teams=teams, worker=worker
        ).values(
            "id",
            "case_id",
            "case__team_id",
            "assigned_to_id",
            "enrolment_id",
            "status",
            "due_at",
            "window_start",
            "window_end",
            "completed_at",
        )
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


def compliance(*, agency_id, start, end, teams=None, worker=None, now=None) -> ComplianceReport:
    now = now or timezone.now()
    since, until = period_bounds(start, end, agency_zone(agency_id))
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
    worker_names = _worker_names(agency_id, by_worker)
    source = ComplianceIds(followups, now)
    team_rows = [
        ComplianceRow(
            key=k, label=team_names.get(k, "No team"), counts=_counts(v, source, ("team", k))
        )
        for k, v in by_team.items()
    ]
    worker_rows = [
        ComplianceRow(
            key=k,
            label=worker_names.get(k, f"User {k}"),
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


def compliance_ids(*, name, agency_id, start, end, teams=None, worker=None, now=None) -> list:
    """The sorted follow-up ids behind the count `name` (one of COUNT_NAMES) of
    compliance() with the same arguments: the drill-down's list. Two queries."""
    if name not in COUNT_NAMES:
        raise ValueError(f"Unknown count {name!r}.")
    now = now or timezone.now()
    since, until = period_bounds(start, end, agency_zone(agency_id))
    followups = period_followups(
        agency_id=agency_id, since=since, until=until, teams=teams, worker=worker
    )
    return list(
        followups.filter(bucket_conditions(now)[name]).order_by("pk").values_list("pk", flat=True)
    )


# --- Drop-off ---------------------------------------------------------------------------

DROP_OFF_DAYS = 7
NO_CONTACT_DAYS = (14, 30)


@dataclass(frozen=True)
class DropOffRow:
    client_id: int
    case_id: int
    assigned_worker_id: int
    team_id: int | None
    risk_level: str
    event_kind: str  # "ed_visit" or "contact"
    event_id: int
    event_at: datetime.datetime
    event_date: datetime.date
    days_left: int


def _completion_times(client_ids, since):
    """client id -> times of the follow-ups that reached the client at or after `since`
    (one query): reached attempts by a QUALIFYING_METHODS method, follow-ups done by a
    contact, and follow-ups marked done by hand whose own method qualifies. A letter or
    a text sent does not take a client off the list, as it does not count for HEDIS."""
    times = defaultdict(list)
    if not client_ids:
        return times
    client_ids = sorted(client_ids)
    reached_attempts = Attempt.objects.filter(
        followup=OuterRef("pk"), outcome=AttemptOutcome.REACHED
    )
    by_hand = Q(method__in=QUALIFYING_METHODS) & ~Exists(reached_attempts)
    completed = (
        FollowUp.objects.filter(
            case__client_id__in=client_ids, status=Status.COMPLETED, completed_at__gte=since
        )
        .filter(Q(completed_contact__isnull=False) | by_hand)
        .order_by()
        .values_list("case__client_id", "completed_at")
    )
    reached = (
        Attempt.objects.filter(
            followup__case__client_id__in=client_ids,
            outcome=AttemptOutcome.REACHED,
            method__in=QUALIFYING_METHODS,
            at__gte=since,
        )
        .order_by()
        .values_list("followup__case__client_id", "at")
    )
    for client_id, at in completed.union(reached, all=True):
        times[client_id].append(at)
    return times


def drop_off(*, agency_id, teams=None, worker=None, now=None) -> list:
    """Clients at risk of dropping off: the latest ED visit or crisis contact on an open
    case dated (agency's date) within the last 7 days, today included, and no completed
    follow-up or reached attempt since. A contact that completed a follow-up is the
    follow-up, not a new crisis, and is not an event here. Ranked by the case's risk
    (highest first, cases.cssrs.RISK_ORDER), then days left in the 7-day window (the
    event's date + 7, the last day on which a follow-up still counts for HEDIS's 7-day
    rate), then the event's time. A follow-up counts as metrics.hedis counts it: a letter
    or a text message sent leaves the client on the list (_completion_times). `teams`
    and `worker` filter on the case (its team, its assigned worker): a client has one
    open case, so every event considered for a client is on the same case.

        drop_off(*, agency_id, teams=None, worker=None, now=None) -> list[DropOffRow]

    DropOffRow: client_id, case_id, assigned_worker_id, team_id, risk_level (str),
    event_kind ("ed_visit" | "contact"), event_id (visit or contact id), event_at,
    event_date, days_left (0-7). Four queries whatever the number of rows.
    """
    now = now or timezone.now()
    tz = agency_zone(agency_id)
    today = now.astimezone(tz).date()
    since = local_midnight(today - datetime.timedelta(days=DROP_OFF_DAYS), tz)
    scope = scope_q(teams=teams, worker=worker, worker_field="case__assigned_worker")
    fields: tuple[str, ...] = ("case_id", "client_id", "case__assigned_worker_id", "case__team_id")
    fields += ("case__risk_level",)
    visits = (
        HospitalVisit.objects.filter(
            agency_id=agency_id,
            kind=VisitKind.ED,
            arrived_at__gte=since,
            arrived_at__lte=now,
            case__status=CaseStatus.OPEN,
        )
        .filter(scope)
        .order_by()
        .values("id", "arrived_at", *fields)
    )
    contacts = (
        Contact.objects.filter(
            agency_id=agency_id,
            received_at__gte=since,
            received_at__lte=now,
            case__status=CaseStatus.OPEN,
        )
        .filter(scope)
        .exclude(
            pk__in=FollowUp.objects.filter(
                agency_id=agency_id, completed_contact__isnull=False
            ).values("completed_contact_id")
        )
        .order_by()
        .values("id", "received_at", *fields)
    )
    latest: dict[int, tuple[str, datetime.datetime, dict[str, Any]]] = {}
    for kind, rows, at_field in (
        ("ed_visit", visits, "arrived_at"),
        ("contact", contacts, "received_at"),
    ):
        for row in rows:
            current = latest.get(row["client_id"])
            if current is None or row[at_field] > current[1]:
                latest[row["client_id"]] = (kind, row[at_field], row)
    completions = _completion_times(set(latest), since)
    result = []
    for client_id, (kind, at, row) in latest.items():
        if any(done >= at for done in completions[client_id]):
            continue
        event_date = at.astimezone(tz).date()
        result.append(
            DropOffRow(
                client_id=client_id,
                case_id=row["case_id"],
                assigned_worker_id=row["case__assigned_worker_id"],
                team_id=row["case__team_id"],
                risk_level=row["case__risk_level"],
                event_kind=kind,
                event_id=row["id"],
                event_at=at,
                event_date=event_date,
                days_left=(event_date + datetime.timedelta(days=DROP_OFF_DAYS) - today).days,
            )
        )
    result.sort(key=lambda r: (-RISK_ORDER.get(r.risk_level, 0), r.days_left, r.event_at))
    return result


# --- Workers whose clients have had no contact ------------------------------------------


@dataclass(frozen=True)
class NoContactRow:
    worker_id: int
    label: str
    open_cases: int
    no_contact_14: int
    no_contact_30: int
    case_ids_14: list
    case_ids_30: list


def no_contact_workers(*, agency_id, teams=None, worker=None, now=None) -> list:
    """Per worker, their open cases (in `teams`, by the case's team) whose last contact is
    14 or more, and 30 or more, days before today (calendar days in the agency's time
    zone, so a change of the clocks in between does not move a case across the line). The last contact is the latest of
    Case.last_contact_at, a completed follow-up and a reached attempt on the case; a case
    with none counts from its opening. The 30-day cases are among the 14-day ones.
    `worker`: only that worker's row.

        no_contact_workers(*, agency_id, teams=None, worker=None, now=None)
            -> list[NoContactRow]

    NoContactRow: worker_id, label (the worker's name), open_cases, no_contact_14,
    no_contact_30 (ints), case_ids_14, case_ids_30 (sorted lists). Only workers with at
    least one case past 14 days, most such cases first. Three queries.
    """
    now = now or timezone.now()
    tz = agency_zone(agency_id)
    today = now.astimezone(tz).date()
    last_done = (
        FollowUp.objects.filter(case_id=OuterRef("pk"), status=Status.COMPLETED)
        .order_by("-completed_at")
        .values("completed_at")[:1]
    )
    last_reached = (
        Attempt.objects.filter(followup__case_id=OuterRef("pk"), outcome=AttemptOutcome.REACHED)
        .order_by("-at")
        .values("at")[:1]
    )
    cases = (
        Case.objects.filter(agency_id=agency_id, status=CaseStatus.OPEN)
        .filter(
            scope_q(teams=teams, worker=worker, team_field="team", worker_field="assigned_worker")
        )
        .annotate(last_done=Subquery(last_done), last_reached=Subquery(last_reached))
        .order_by()
    )
    per_worker: defaultdict[int, dict[Any, Any]] = defaultdict(lambda: {"open": 0, 14: [], 30: []})
    for case in cases.values(
        "id", "assigned_worker_id", "opened_at", "last_contact_at", "last_done", "last_reached"
    ):
        seen = [t for k in ("last_contact_at", "last_done", "last_reached") if (t := case[k])]
        last = max(seen) if seen else case["opened_at"]
        entry = per_worker[case["assigned_worker_id"]]
        entry["open"] += 1
        quiet_days = (today - last.astimezone(tz).date()).days
        for days in NO_CONTACT_DAYS:
            if quiet_days >= days:
                entry[days].append(case["id"])
    flagged = {k: v for k, v in per_worker.items() if v[14]}
    names = _worker_names(agency_id, flagged)
    rows = [
        NoContactRow(
            worker_id=worker_id,
            label=names.get(worker_id, f"User {worker_id}"),
            open_cases=entry["open"],
            no_contact_14=len(entry[14]),
            no_contact_30=len(entry[30]),
            case_ids_14=sorted(entry[14]),
            case_ids_30=sorted(entry[30]),
        )
        for worker_id, entry in flagged.items()
    ]
    return sorted(rows, key=lambda r: (-r.no_contact_14, -r.no_contact_30, r.label.lower()))
