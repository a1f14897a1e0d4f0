"""Who needs attention now: clients at risk of dropping off after a crisis, and workers
whose open cases have had no contact. Both are counted today, not over a period; `teams`
and `worker` filter on the case (its team, its assigned worker), as metrics.scope says.

    drop_off(*, agency_id, teams=None, worker=None, now=None, zone=None)
        -> list[DropOffRow]
    no_contact_workers(*, agency_id, teams=None, worker=None, now=None, zone=None)
        -> list[NoContactRow]

Each is documented on its function. Both are set-based: the database picks the rows
(anti-joins, GROUP BY), Python only shapes the rows it returns.
"""

import datetime
from collections import defaultdict
from dataclasses import dataclass

from django.db.models import (
    BooleanField,
    Count,
    DateTimeField,
    Exists,
    ExpressionWrapper,
    F,
    FilteredRelation,
    Max,
    OuterRef,
    Q,
    Subquery,
)
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone
from django.utils.translation import gettext as _

from cases.cssrs import RISK_ORDER
from cases.models import Case, CaseStatus, Contact
from followups.models import (
    Attempt,
    AttemptOutcome,
    FollowUp,
    HospitalVisit,
    Status,
    VisitKind,
)
from followups.schedule import local_midnight
from metrics.compliance import QUALIFYING_METHODS, agency_zone, worker_names
from metrics.scope import scope_q

DROP_OFF_DAYS = 7
NO_CONTACT_DAYS = (14, 30)
# The case fields a drop-off row carries, read through the event's case.
CASE_FIELDS = ("case_id", "client_id", "case__assigned_worker_id", "case__team_id")


def _none_of(*querysets) -> list:
    """Filters keeping the rows for which none of `querysets` (correlated on OuterRef)
    has a row: NOT EXISTS, which PostgreSQL runs as an anti-join, searched by index."""
    return [~Exists(queryset) for queryset in querysets]


# --- Drop-off ---------------------------------------------------------------------------


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


def _follow_ups_since(client, at) -> tuple:
    """The follow-ups that reached `client` at or after `at` (both OuterRef), as
    metrics.hedis counts them: a reached attempt by a QUALIFYING_METHODS method, a
    follow-up done by a contact, and a follow-up marked done by hand whose own method
    qualifies. A letter or a text sent does not count. Three querysets, each one index
    search (the client's cases, their follow-ups, their attempts)."""
    reached = Attempt.objects.filter(outcome=AttemptOutcome.REACHED)
    done = FollowUp.objects.filter(
        case__client_id=client, status=Status.COMPLETED, completed_at__gte=at
    )
    return (
        reached.filter(followup__case__client_id=client, method__in=QUALIFYING_METHODS, at__gte=at),
        done.filter(completed_contact__isnull=False),
        done.filter(method__in=QUALIFYING_METHODS).filter(
            *_none_of(reached.filter(followup=OuterRef("pk")))
        ),
    )


def _not_a_follow_up() -> list:
    """Filters on contacts: leave out the ones that completed a follow-up (the follow-up
    itself, not a new crisis)."""
    return _none_of(FollowUp.objects.filter(completed_contact=OuterRef("pk")))


def _events(*, agency_id, since, now, scope) -> tuple:
    """(ED visits, crisis contacts) on open cases in scope between `since` and `now`: the
    events a follow-up answers."""
    visits = HospitalVisit.objects.filter(
        agency_id=agency_id,
        kind=VisitKind.ED,
        arrived_at__gte=since,
        arrived_at__lte=now,
        case__status=CaseStatus.OPEN,
    ).filter(scope)
    contacts = (
        Contact.objects.filter(
            agency_id=agency_id,
            received_at__gte=since,
            received_at__lte=now,
            case__status=CaseStatus.OPEN,
        )
        .filter(scope)
        .filter(*_not_a_follow_up())
    )
    return visits, contacts


def _latest_unanswered(visits, contacts, *, now) -> tuple:
    """The events of `visits` and `contacts` that are their client's latest and that no
    follow-up has answered yet, as two value querysets. A client has one open case, so
    their events are the events of that case: a later one is searched on the case (its
    index). Latest: no later event; at the same instant a visit comes before a contact,
    and of two visits (or contacts) the first recorded (lowest id) is the one."""
    case, pk = OuterRef("case_id"), OuterRef("pk")
    arrived, received = OuterRef("arrived_at"), OuterRef("received_at")
    case_visits = HospitalVisit.objects.filter(case_id=case, kind=VisitKind.ED, arrived_at__lte=now)
    case_contacts = Contact.objects.filter(case_id=case, received_at__lte=now).filter(
        *_not_a_follow_up()
    )
    latest_visits = visits.filter(
        *_none_of(
            case_visits.filter(Q(arrived_at__gt=arrived) | Q(arrived_at=arrived, pk__lt=pk)),
            case_contacts.filter(received_at__gt=arrived),
            *_follow_ups_since(OuterRef("client_id"), arrived),
        )
    )
    latest_contacts = contacts.filter(
        *_none_of(
            case_visits.filter(arrived_at__gte=received),
            case_contacts.filter(Q(received_at__gt=received) | Q(received_at=received, pk__lt=pk)),
            *_follow_ups_since(OuterRef("client_id"), received),
        )
    )
    fields = ("id", *CASE_FIELDS, "case__risk_level")
    return (
        latest_visits.order_by().values_list(*fields, "arrived_at"),
        latest_contacts.order_by().values_list(*fields, "received_at"),
    )


def drop_off(*, agency_id, teams=None, worker=None, now=None, zone=None) -> list:
    """Clients at risk of dropping off: the latest ED visit or crisis contact on an open
    case dated (agency's date) within the last 7 days, today included, and no completed
    follow-up or reached attempt since. A contact that completed a follow-up is the
    follow-up, not a new crisis, and is not an event here. Ranked by the case's risk
    (highest first, cases.cssrs.RISK_ORDER), then days left in the 7-day window (the
    event's date + 7, the last day on which a follow-up still counts for HEDIS's 7-day
    rate), then the event's time. A follow-up counts as metrics.hedis counts it: a letter
    or a text message sent leaves the client on the list (_follow_ups_since). `teams`
    and `worker` filter on the case (its team, its assigned worker): a client has one
    open case, so every event considered for a client is on the same case.

    DropOffRow: client_id, case_id, assigned_worker_id, team_id, risk_level (str),
    event_kind ("ed_visit" | "contact"), event_id (visit or contact id), event_at,
    event_date, days_left (0-7). Three queries whatever the number of rows (the agency,
    the visits and the contacts left on the list: each chosen in the database).
    """
    now = now or timezone.now()
    tz = agency_zone(agency_id, zone)
    today = now.astimezone(tz).date()
    since = local_midnight(today - datetime.timedelta(days=DROP_OFF_DAYS), tz)
    scope = scope_q(teams=teams, worker=worker, worker_field="case__assigned_worker")
    visits, contacts = _latest_unanswered(
        *_events(agency_id=agency_id, since=since, now=now, scope=scope), now=now
    )
    result = []
    for kind, rows in (("ed_visit", visits), ("contact", contacts)):
        for event_id, case_id, client_id, worker_id, team_id, risk_level, at in rows:
            event_date = at.astimezone(tz).date()
            result.append(
                DropOffRow(
                    client_id=client_id,
                    case_id=case_id,
                    assigned_worker_id=worker_id,
                    team_id=team_id,
                    risk_level=risk_level,
                    event_kind=kind,
                    event_id=event_id,
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


def _last_contacts(cases):
    """`cases` (a Case QuerySet) grouped per case, with `last_contact`: the latest of
    Case.last_contact_at, the case's completed follow-ups (completed_at) and its reached
    attempts (at); the case's opened_at when it has none. One GROUP BY over LEFT JOINs
    of the follow-ups and their attempts: values of pk and assigned_worker_id."""
    # Always true of the joined rows (they are these cases' follow-ups), the condition
    # lets PostgreSQL search the follow-up index for the cases' ids (= ANY(ARRAY(...)),
    # core.lookups) rather than hash the whole follow-up table.
    of_these_cases = Q(followups__case_id__any_of=Subquery(cases.values("pk")))
    seen = (
        F("last_contact_at"),
        Max("followup__completed_at", filter=Q(followup__status=Status.COMPLETED)),
        Max(
            "followup__attempts__at",
            filter=Q(followup__attempts__outcome=AttemptOutcome.REACHED),
        ),
    )
    # GREATEST skips nulls on PostgreSQL, not on SQLite: each argument is made non-null
    # when any time is known, by falling back on the others in turn.
    latest = Greatest(*(Coalesce(*seen[i:], *seen[:i]) for i in range(len(seen))))
    return (
        cases.annotate(followup=FilteredRelation("followups", condition=of_these_cases))
        .values("pk", "assigned_worker_id")
        .annotate(last_contact=Coalesce(latest, F("opened_at"), output_field=DateTimeField()))
    )


def no_contact_workers(*, agency_id, teams=None, worker=None, now=None, zone=None) -> list:
    """Per worker, their open cases (in `teams`, by the case's team) whose last contact is
    14 or more, and 30 or more, days before today (calendar days in the agency's time
    zone, so a change of the clocks in between does not move a case across the line).
    The last contact is the latest of Case.last_contact_at, a completed follow-up and a
    reached attempt on the case; a case with none counts from its opening
    (_last_contacts). The 30-day cases are among the 14-day ones. `worker`: only that
    worker's row.

    NoContactRow: worker_id, label (the worker's name), open_cases, no_contact_14,
    no_contact_30 (ints), case_ids_14, case_ids_30 (sorted lists). Only workers with at
    least one case past 14 days, most such cases first. Four queries: the agency, the
    cases past 14 days (chosen in the database), the open cases per worker (counted in
    the database), the workers' names.
    """
    now = now or timezone.now()
    tz = agency_zone(agency_id, zone)
    today = now.astimezone(tz).date()
    # A last contact on the agency's date today - N or before: before the next midnight.
    before = {
        days: local_midnight(today - datetime.timedelta(days=days - 1), tz)
        for days in NO_CONTACT_DAYS
    }
    cases = Case.objects.filter(agency_id=agency_id, status=CaseStatus.OPEN).filter(
        scope_q(teams=teams, worker=worker, team_field="team", worker_field="assigned_worker")
    )
    past_30 = ExpressionWrapper(Q(last_contact__lt=before[30]), output_field=BooleanField())
    quiet = (
        _last_contacts(cases.order_by())
        .filter(last_contact__lt=before[14])
        .annotate(past_30=past_30)
        .order_by("pk")
        .values_list("pk", "assigned_worker_id", "past_30")
    )
    case_ids: defaultdict[int, dict[int, list[int]]] = defaultdict(lambda: {14: [], 30: []})
    for case_id, worker_id, is_past_30 in quiet:
        case_ids[worker_id][14].append(case_id)
        if is_past_30:
            case_ids[worker_id][30].append(case_id)
    if not case_ids:
        return []
    open_cases = dict(
        cases.filter(assigned_worker_id__in=list(case_ids))
        .order_by()
        .values("assigned_worker_id")
        .annotate(n=Count("pk"))
        .values_list("assigned_worker_id", "n")
    )
    names = worker_names(agency_id, case_ids)
    rows = [
        NoContactRow(
            worker_id=worker_id,
            label=names.get(worker_id, _("User %(id)s") % {"id": worker_id}),
            open_cases=open_cases[worker_id],
            no_contact_14=len(ids[14]),
            no_contact_30=len(ids[30]),
            case_ids_14=ids[14],
            case_ids_30=ids[30],
        )
        for worker_id, ids in case_ids.items()
    ]
    return sorted(rows, key=lambda r: (-r.no_contact_14, -r.no_contact_30, r.label.lower()))
