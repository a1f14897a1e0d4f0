"""Follow-up after an ER visit, computed like HEDIS FUM (mental illness, intentional
self-harm) and FUA (substance use, drug overdose); see the shared DOMAIN notes.

    hedis_rates(*, agency_id, measure, start, end, teams=None, worker=None, today=None,
                zone=None) -> HedisRates

`measure` is "fum" or "fua" (anything else: ValueError). `start`, `end`: the agency's
dates, both included (metrics.compliance explains periods). `teams` (team ids) and
`worker` (user id) filter on the ED visit's case (its team, its assigned worker).
`today`: the agency's date the pending rule refers to (default: today in the agency's
time zone).

The rules, in order (HEDIS applies the admission exclusion to the visits first, then
keeps "only the first eligible ED visit" of any 31 days among those left):

1. Candidates: HospitalVisit rows of the agency with kind ED, reason in FUM_REASONS
   (fum) or FUA_REASONS (fua), whose ED date (arrived_at as a date in the agency's time
   zone) is in the period. The reason is one value, the principal one: HEDIS FUA also
   takes a visit with *any* diagnosis of drug overdose, so a self-harm visit by overdose
   recorded as self-harm counts in FUM only. A known limitation of the one-value field.
2. Age: the client's age on the ED date is 6 or more (fum) or 13 or more (fua), from the
   date of birth, else from the estimated age (estimated_age plus whole years since
   estimated_age_on). A client with no recorded age is included: a crisis team often
   does not know it, and leaving those visits out would hide the very clients at risk.
3. Admissions: a visit is left out when admitted=True, or when the client has an
   inpatient admission (a visit of kind INPATIENT, or any other visit marked admitted)
   whose date is the ED date or within the 30 days after it. A visit stays in the
   denominator until such an admission is recorded.
4. The 31-day rule, over the visits left by 1-3 ("only the first eligible ED visit"):
   per client in time order, a counted visit opens a 31-day period, its own date and
   the 30 days after; a visit in that period is not counted and opens no period; the
   next visit after it is counted and opens a new period (HEDIS's example: a visit on 1
   January counts, visits from 2 to 31 January do not, a visit on 1 February counts).
   Only the visits of the period take part, as HEDIS applies the rule to the ED visits
   of the measurement year: a visit just before the period does not remove one inside
   it (shared DOMAIN notes). So the same visit may count in March's report and be a
   repeat in the report of February and March together.
5. Scope: the rules above run over all the client's visits of the period in the agency;
   `teams` and `worker` then choose which of the resulting visits are reported (a visit
   on a team's case that repeats one on another team's case is a repeat in every view,
   so the teams' denominators add up to the agency's).
6. Numerator: a qualifying follow-up with the client (any of the client's cases in the
   agency) at or after the visit's arrival, dated (agency's date) no later than the ED
   date + 7 (7-day rate: 8 days in all, the ED day counts, day 7 counts, day 8 does not)
   or + 30 (30-day rate). HEDIS counts a visit or an interaction with the person: in
   person, by telephone or video, an e-visit or a virtual check-in; a letter or a text
   message sent is not one, so Caring Contacts messages do not raise the rates (shared
   DOMAIN notes). What qualifies here:
   - a reached attempt made by a method of QUALIFYING_METHODS (a phone call, a visit);
   - a completed follow-up with no reached attempt and no contact behind it (done by
     hand), when its own method qualifies; one done by a reached attempt or a contact
     counts through that attempt or contact, so a phone follow-up done by text does not
     count;
   - a crisis contact (cases.Contact, its received_at) that met the client: not the
     contact that sent the client to the ER (HospitalVisit.source_contact), not one that
     ended in the ER or hospital (a new crisis, not follow-up care; HEDIS does not count
     an ED visit as follow-up), and not one where the client was not found or declined
     (no service was given, as a declined attempt is no follow-up either).
   HEDIS counts by date because claims carry no time: here the times are known, so a
   contact earlier on the ED date than the arrival (the crisis before the visit) is not
   a follow-up; after the arrival on the ED date it is. Scope filters do not apply to
   the follow-up: the client reached by anyone counts.
7. Pending: a visit with no qualifying follow-up yet whose window has not closed
   (today <= ED date + 7, or + 30) is neither a hit nor a miss.
   rate = numerator / (denominator - pending), None when nothing is eligible.

HedisRates (frozen dataclass):
    measure ("fum"|"fua"), start, end, today (dates)
    denominator: int, denominator_visit_ids: sorted list
    seven_day, thirty_day: HedisWindow
    excluded_admitted_visit_ids, excluded_repeat_visit_ids, excluded_age_visit_ids:
        sorted lists of the candidates in the period and in scope left out by rules 3,
        4 and 2
HedisWindow: days (7|30), numerator, pending, missed (ints), rate (float|None),
    numerator_visit_ids, pending_visit_ids, missed_visit_ids (sorted lists)

Queries: four whatever the number of visits (the agency, the candidate visits of the
period of the clients with one in scope, the admissions of those clients, and one UNION
of their qualifying completed follow-ups, reached attempts and contacts).
"""

import datetime
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db.models import (
    BooleanField,
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    Q,
    Value,
)
from django.db.models.functions import Cast
from django.utils import timezone

from cases.models import Case, Contact, Disposition
from followups.models import (
    FUA_REASONS,
    FUM_REASONS,
    Attempt,
    AttemptOutcome,
    FollowUp,
    HospitalVisit,
    Status,
    VisitKind,
)
from metrics.compliance import QUALIFYING_METHODS, agency_zone, period_bounds, ratio
from metrics.scope import scope_q

MEASURES = {
    "fum": {"reasons": FUM_REASONS, "min_age": 6},
    "fua": {"reasons": FUA_REASONS, "min_age": 13},
}
REPEAT_DAYS = 30  # a counted visit's date and the 30 days after: "any 31-day period"
ADMISSION_DAYS = 30
# A contact that took the client (back) to the ER or hospital is a new crisis; one that
# did not meet the client, or that the client declined, gave no service.
NOT_FOLLOW_UP = (
    Disposition.EMERGENCY_ROOM,
    Disposition.HOSPITALISED,
    Disposition.UNABLE_TO_LOCATE,
    Disposition.DECLINED,
)
WINDOWS = (7, 30)


@dataclass(frozen=True)
class HedisWindow:
    days: int
    numerator: int = 0
    pending: int = 0
    missed: int = 0
    rate: float | None = None
    numerator_visit_ids: list = field(default_factory=list)
    pending_visit_ids: list = field(default_factory=list)
    missed_visit_ids: list = field(default_factory=list)


@dataclass(frozen=True)
class HedisRates:
    measure: str
    start: datetime.date
    end: datetime.date
    today: datetime.date
    denominator: int
    denominator_visit_ids: list
    seven_day: HedisWindow
    thirty_day: HedisWindow
    excluded_admitted_visit_ids: list = field(default_factory=list)
    excluded_repeat_visit_ids: list = field(default_factory=list)
    excluded_age_visit_ids: list = field(default_factory=list)


@dataclass(frozen=True)
class VisitOutcome:
    """One denominator visit: its ED date and, per window, "hit", "pending" or "missed"."""

    visit_id: int
    case_id: int
    client_id: int
    ed_date: datetime.date
    seven_day: str
    thirty_day: str


def age_on(day: datetime.date, row: dict) -> int | None:
    dob = row["client__date_of_birth"]
    if dob:
        return day.year - dob.year - ((day.month, day.day) < (dob.month, dob.day))
    if row["client__estimated_age"] is not None:
        since = row["client__estimated_age_on"] or day
        return row["client__estimated_age"] + (day - since).days // 365
    return None


def evaluate(*, agency_id, measure, start, end, teams=None, worker=None, today=None, zone=None):
    """(outcomes, exclusions, today): the denominator visits of the period with their
    outcome per window, and the ids left out per rule ("admitted", "repeat", "age")."""
    if measure not in MEASURES:
        raise ValueError(f"Unknown measure {measure!r}: use fum or fua.")
    rules = MEASURES[measure]
    tz = agency_zone(agency_id, zone)
    today = today or timezone.now().astimezone(tz).date()
    since, until = period_bounds(start, end, tz)
    scope = scope_q(teams=teams, worker=worker, worker_field="case__assigned_worker")
    ed_visits = HospitalVisit.objects.filter(
        agency_id=agency_id,
        kind=VisitKind.ED,
        reason__in=rules["reasons"],
        arrived_at__gte=since,
        arrived_at__lt=until,
    )
    candidates = _candidates(ed_visits, ed_visits.filter(scope).values("client_id"), scope)
    # The clients the later queries search by. For the whole agency, the period's visits
    # (a subquery on their index): a list of its hundreds of ids would cost more to send.
    # For teams or a worker, the few ids just read: joining the cases again costs more.
    clients = (
        sorted({v["client_id"] for v in candidates}) if scope else ed_visits.values("client_id")
    )
    admissions = _admission_dates(agency_id, candidates, clients, until, tz)
    exclusions = {"admitted": [], "repeat": [], "age": []}
    eligible = []
    last_counted = {}
    for visit in candidates:
        ed_date = visit["arrived_at"].astimezone(tz).date()
        rule = _excluded_by(visit, ed_date, rules["min_age"], admissions, last_counted)
        if rule is not None:
            if visit["reported"]:
                exclusions[rule].append(visit["id"])
            continue
        last_counted[visit["client_id"]] = ed_date
        if visit["reported"]:
            eligible.append((visit, ed_date))

    followed = _followup_times(agency_id, clients if eligible else None, since, until)
    outcomes = [_outcome(visit, ed_date, followed, today, tz) for visit, ed_date in eligible]
    return outcomes, {k: sorted(v) for k, v in exclusions.items()}, today


def _candidates(ed_visits, clients, scope) -> list[Mapping[str, Any]]:
    """Rule 1: the ED visits of the period (`ed_visits`), in time order per client, of
    every client with one in scope (`clients`, a subquery; rule 5: the rules run over all
    of a client's visits; `reported` says whether the visit itself is in `scope`)."""
    reported = ExpressionWrapper(scope, output_field=BooleanField()) if scope else Value(True)
    return list(
        ed_visits.filter(client_id__in=clients)
        .annotate(reported=reported)
        .order_by("client_id", "arrived_at", "pk")
        .values(
            "id",
            "case_id",
            "reported",
            "client_id",
            "arrived_at",
            "admitted",
            "source_contact_id",
            "client__date_of_birth",
            "client__estimated_age",
            "client__estimated_age_on",
        )
    )


def _admission_dates(agency_id, candidates, clients, until, tz) -> defaultdict:
    """client id -> the agency's dates of the inpatient admissions that may exclude one of
    the candidates (rule 3) of `clients` (ids or a subquery), in one query."""
    admissions: defaultdict[int, list[datetime.date]] = defaultdict(list)
    if not candidates:
        return admissions
    first = min(v["arrived_at"] for v in candidates) - datetime.timedelta(days=1)
    for client_id, arrived_at in (
        HospitalVisit.objects.filter(agency_id=agency_id, client_id__in=clients)
        .filter(Q(kind=VisitKind.INPATIENT) | Q(admitted=True))
        .filter(arrived_at__gte=first)
        .filter(arrived_at__lt=until + datetime.timedelta(days=ADMISSION_DAYS + 1))
        .order_by()
        .values_list("client_id", "arrived_at")
    ):
        admissions[client_id].append(arrived_at.astimezone(tz).date())
    return admissions


def _excluded_by(visit, ed_date, min_age, admissions, last_counted) -> str | None:
    """The rule that leaves the visit out of the denominator ("age", "admitted" or
    "repeat", checked in that order), or None when it counts. `last_counted`: client id
    -> the ED date of the client's last counted visit."""
    age = age_on(ed_date, visit)
    if age is not None and age < min_age:
        return "age"
    admitted_after = any(
        0 <= (day - ed_date).days <= ADMISSION_DAYS for day in admissions[visit["client_id"]]
    )
    if visit["admitted"] or admitted_after:
        return "admitted"
    previous = last_counted.get(visit["client_id"])
    if previous is not None and (ed_date - previous).days <= REPEAT_DAYS:
        return "repeat"
    return None


def _outcome(visit, ed_date, followed, today, tz) -> VisitOutcome:
    dates = [
        at.astimezone(tz).date()
        for at, contact_id in followed[visit["client_id"]]
        if at >= visit["arrived_at"]
        and (contact_id is None or contact_id != visit["source_contact_id"])
    ]
    results = {days: _window_result(days, ed_date, dates, today) for days in WINDOWS}
    return VisitOutcome(
        visit_id=visit["id"],
        case_id=visit["case_id"],
        client_id=visit["client_id"],
        ed_date=ed_date,
        seven_day=results[7],
        thirty_day=results[30],
    )


def _window_result(days, ed_date, followup_dates, today) -> str:
    """One window's outcome for a visit: "hit", "pending" or "missed" (rules 6 and 7)."""
    last_day = ed_date + datetime.timedelta(days=days)
    if any(day <= last_day for day in followup_dates):
        return "hit"
    if today <= last_day:
        return "pending"
    return "missed"


def _followup_times(agency_id, clients, since, until):
    """client id -> [(time, contact id or None)] of qualifying follow-ups (rule 6 of the
    module docstring) of `clients` (ids or a subquery; None: no query) from the period's
    start to 31 days after its end, in one query."""
    followed = defaultdict(list)
    if clients is None:
        return followed
    last = until + datetime.timedelta(days=32)
    # The clients' cases, searched once (= ANY(ARRAY(...)) on PostgreSQL,
    # core.lookups), then their follow-ups by the case index.
    cases = Case.objects.filter(agency_id=agency_id, client_id__in=clients)
    reached_attempts = Attempt.objects.filter(
        followup=OuterRef("pk"), outcome=AttemptOutcome.REACHED
    )
    completed = (
        FollowUp.objects.filter(
            agency_id=agency_id,
            case_id__any_of=cases.values("pk"),
            status=Status.COMPLETED,
            completed_at__gte=since,
            completed_at__lt=last,
            method__in=QUALIFYING_METHODS,
            completed_contact__isnull=True,
        )
        .filter(~Exists(reached_attempts))
        .order_by()
        .values_list(F("case__client_id"), F("completed_at"), Cast(Value(None), IntegerField()))
    )
    reached = (
        Attempt.objects.filter(
            followup__agency_id=agency_id,
            followup__case_id__any_of=cases.values("pk"),
            outcome=AttemptOutcome.REACHED,
            method__in=QUALIFYING_METHODS,
            at__gte=since,
            at__lt=last,
        )
        .order_by()
        .values_list(F("followup__case__client_id"), F("at"), Cast(Value(None), IntegerField()))
    )
    contacts = (
        Contact.objects.filter(
            agency_id=agency_id,
            client_id__in=clients,
            received_at__gte=since,
            received_at__lt=last,
        )
        .exclude(disposition__in=NOT_FOLLOW_UP)
        .order_by()
        .values_list(F("client_id"), F("received_at"), F("id"))
    )
    for client_id, at, contact_id in completed.union(reached, contacts, all=True):
        followed[client_id].append((at, contact_id))
    return followed


def _window(days, outcomes, attr) -> HedisWindow:
    ids = defaultdict(list)
    for outcome in outcomes:
        ids[getattr(outcome, attr)].append(outcome.visit_id)
    eligible = len(outcomes) - len(ids["pending"])
    return HedisWindow(
        days=days,
        numerator=len(ids["hit"]),
        pending=len(ids["pending"]),
        missed=len(ids["missed"]),
        rate=ratio(len(ids["hit"]), eligible),
        numerator_visit_ids=sorted(ids["hit"]),
        pending_visit_ids=sorted(ids["pending"]),
        missed_visit_ids=sorted(ids["missed"]),
    )


def summarise(measure, start, end, today, outcomes, exclusions) -> HedisRates:
    return HedisRates(
        measure=measure,
        start=start,
        end=end,
        today=today,
        denominator=len(outcomes),
        denominator_visit_ids=sorted(o.visit_id for o in outcomes),
        seven_day=_window(7, outcomes, "seven_day"),
        thirty_day=_window(30, outcomes, "thirty_day"),
        excluded_admitted_visit_ids=exclusions["admitted"],
        excluded_repeat_visit_ids=exclusions["repeat"],
        excluded_age_visit_ids=exclusions["age"],
    )


def hedis_rates(
    *, agency_id, measure, start, end, teams=None, worker=None, today=None, zone=None
) -> HedisRates:
    outcomes, exclusions, today = evaluate(
        agency_id=agency_id,
        measure=measure,
        start=start,
        end=end,
        teams=teams,
        worker=worker,
        today=today,
        zone=zone,
    )
    return summarise(measure, start, end, today, outcomes, exclusions)
