"""The plans' measures: a safety plan after a high-risk screen, the plan gone over on
follow-up calls, lethal-means steps, and crisis response plans kept under review. Pure
query functions for the compliance page and the API (metrics.compliance explains the
period, `start` to `end` in the agency's dates, and the scope, `teams` and `worker`).

    plan_measures(*, agency_id, start, end, teams=None, worker=None, now=None, zone=None)
        -> PlanMeasures
    plan_rows(key, *, agency_id, start, end, teams=None, worker=None, now=None, zone=None)
        -> (kind, QuerySet) | None

The definitions (the page states each beside its figure):

1. Safety plan after a high-risk screen (`screens`). Denominator: the contacts received
   in the period whose C-SSRS screen gave high risk (Contact.risk_level), the FIRST such
   screen of each client in the period (earliest received_at, then lowest id), so a
   client counts once: that is when a plan is needed first, and a later screen is
   usually the same crisis. "First" looks at all the client's high-risk screens of the
   period in the agency; `teams` and `worker` then choose by the screen's case (its
   team, its assigned worker), so the teams' figures add up to the agency's.
   Numerator at 24 and at 72 hours: a version of the client's safety plan was saved
   (SafetyPlanVersion.created_at) from the screen's received_at to received_at + 24 h
   (+ 72 h), both included, or was saved during the screening contact itself (its
   `contact`), whenever that contact was recorded. A version saved before the screen
   does not count: the plan must be made or revised after the screen. A screen with no
   such version whose window has not closed at `now` (received_at + 24 h or 72 h > now)
   is pending, neither made nor missed, as HEDIS reports an open window.
   rate = made / (screens - pending), None when nothing is settled.
2. Plan gone over on follow-up calls (`reviews`). The completed follow-ups due in the
   period (the follow-ups the compliance counts count: by due_at, an indexed column, so
   a call is in the period its follow-up was due in) whose plan question was answered
   (plan_reviewed not null): `reviewed` answered yes, `not_reviewed` no, `changed` of
   those asked, the plan changed on the call (plan_changed). share = reviewed / asked.
   `unanswered`: the completed Safety Planning Intervention calls (a step of the
   protocol SAFETY_PLANNING_KEY) with no answer recorded, though reviewing the plan is
   their point: calls completed before the question was asked (older rows), or by a
   path that does not ask it. They are counted apart, not in `asked`; a one-off call
   with no answer is in neither (the question is not asked on every call). `teams` and `worker`: the follow-up's
   case team and its assigned worker.
3. Lethal-means steps (`means`). Counted now, not over the period: the current version
   of the safety plan of each client with an open case in scope (the case's team and
   assigned worker; a plan belongs to the client, and a step on a closed case is no one's
   to confirm). `steps`: its lethal-means steps (SafetyPlanMeans), `confirmed` those with
   confirmed_at set; share = confirmed / steps. `plans`: those plans, `plans_with_steps`
   those with a step, `plans_unconfirmed` those with a step not yet confirmed.
4. Crisis response plans (`crisis`). Counted now: the approved plans whose case (the one
   each was written on, whose team's supervisor approves it) is in scope, whatever the
   case's status (responders see an approved plan whatever becomes of the case):
   `current` those whose review_due_at is after `now`, `overdue` the others; share =
   current / approved. `awaiting_approval`: versions sent for approval (submitted).

plan_rows() gives the rows behind the figure named `key` (KEYS), as the drill-downs
list them: `kind` is "screen" (cases.Contact, annotated `plan_at`: when the first
version saved at or after the screen was saved, and `contact_plan_at`: when one was
saved during the contact), "followup" (followups.FollowUp), "case" (cases.Case, open,
annotated `plan_at`: when the current version was saved, `steps`, `confirmed`) or
"crisis" (plans.CrisisPlan). Each has its case, client and assigned worker joined
(`case`, `case__client`, `case__assigned_worker`; a Case, its own), in a fixed order,
for a Paginator. The lists are read a page at a time (the figures they stand behind
may be thousands).

Queries: plan_measures() runs five (the agency's zone, unless given, and one aggregate
for each figure), whatever the number of rows; each is searched by index (the contacts
by agency and time, a client's contacts, a client's plan versions by plan and time
(safetyplanversion_plan_at_idx) and the versions of a contact, the follow-ups by agency
and due time, the open cases by agency, team or worker, a client's plan, a version's
steps, the approved and the submitted crisis plans by their partial indexes). No index
was missing.
"""

import datetime
from dataclasses import dataclass
from typing import NamedTuple

from django.db.models import Count, Exists, F, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_noop

from cases.cssrs import RiskLevel
from cases.models import Case, CaseStatus, Contact
from followups.models import SAFETY_PLANNING_KEY, Status
from metrics.compliance import agency_zone, period_bounds, period_followups, ratio
from metrics.scope import scope_q
from plans.models import (
    CrisisPlan,
    CrisisPlanStatus,
    SafetyPlan,
    SafetyPlanMeans,
    SafetyPlanVersion,
)

WINDOW_HOURS = (24, 72)


# --- The answer -------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanWindow:
    """A safety plan within `hours` of the screen: made, pending (window open, no plan
    yet), missed; rate = made / (made + missed)."""

    hours: int
    made: int = 0
    pending: int = 0
    missed: int = 0
    rate: float | None = None


@dataclass(frozen=True)
class ScreenFigures:
    screens: int
    within_24h: PlanWindow
    within_72h: PlanWindow


@dataclass(frozen=True)
class ReviewFigures:
    asked: int = 0
    reviewed: int = 0
    not_reviewed: int = 0
    changed: int = 0
    share: float | None = None
    unanswered: int = 0


@dataclass(frozen=True)
class MeansFigures:
    plans: int = 0
    plans_with_steps: int = 0
    plans_unconfirmed: int = 0
    steps: int = 0
    confirmed: int = 0
    share: float | None = None


@dataclass(frozen=True)
class CrisisFigures:
    approved: int = 0
    current: int = 0
    overdue: int = 0
    share: float | None = None
    awaiting_approval: int = 0


@dataclass(frozen=True)
class PlanMeasures:
    start: datetime.date
    end: datetime.date
    now: datetime.datetime
    screens: ScreenFigures
    reviews: ReviewFigures
    means: MeansFigures
    crisis: CrisisFigures


# --- 1. A safety plan after a high-risk screen ------------------------------------------


def first_high_risk_screens(*, agency_id, since, until, teams=None, worker=None) -> QuerySet:
    """The contacts received in [since, until) that are their client's first high-risk
    C-SSRS screen in that time (definition 1), on cases in scope, annotated `plan_at`
    (when the first version of the client's safety plan saved at or after the screen
    was saved, or None) and `contact_plan_at` (when a version was saved during this
    contact, or None). Each is a scalar subquery searched by the client's plan
    (safetyplanversion_plan_at_idx): never a hashed scan of every version."""
    high = Contact.objects.filter(risk_level=RiskLevel.HIGH, received_at__gte=since)
    # The client's earlier high-risk screens of the period, searched on their contacts
    # (contact_client_received_idx); two anti-joins, not an OR inside one.
    earlier = high.filter(client_id=OuterRef("client_id"))
    versions = SafetyPlanVersion.objects.filter(plan__client_id=OuterRef("client_id"))
    after = versions.filter(created_at__gte=OuterRef("received_at")).order_by("created_at")
    during = versions.filter(contact_id=OuterRef("pk")).order_by("created_at")
    return (
        high.filter(agency_id=agency_id, received_at__lt=until)
        .filter(
            ~Exists(earlier.filter(received_at__lt=OuterRef("received_at"))),
            ~Exists(earlier.filter(received_at=OuterRef("received_at"), pk__lt=OuterRef("pk"))),
        )
        .filter(scope_q(teams=teams, worker=worker, worker_field="case__assigned_worker"))
        .annotate(
            plan_at=Subquery(after.values("created_at")[:1]),
            contact_plan_at=Subquery(during.values("created_at")[:1]),
        )
        .order_by()
    )


def window_conditions(hours: int, now: datetime.datetime) -> dict[str, Q]:
    """ "made", "pending", "missed" -> the condition on a first_high_risk_screens() row for
    a plan within `hours` of the screen at `now` (definition 1). Written out for the
    rows with no plan: a negated comparison with a null `plan_at` would be null."""
    window_end = F("received_at") + datetime.timedelta(hours=hours)
    made = Q(contact_plan_at__isnull=False) | Q(plan_at__lte=window_end)
    not_made = Q(contact_plan_at__isnull=True) & (
        Q(plan_at__isnull=True) | Q(plan_at__gt=window_end)
    )
    closed_before = now - datetime.timedelta(hours=hours)
    return {
        "made": made,
        "pending": not_made & Q(received_at__gt=closed_before),
        "missed": not_made & Q(received_at__lte=closed_before),
    }


def _screen_figures(screens: QuerySet, now) -> ScreenFigures:
    # DISTINCT keeps PostgreSQL from merging the screens' query into the count's, which
    # would run the plan_at and contact_plan_at subqueries once per condition that names
    # them rather than once per screen.
    rows = screens.values("pk", "received_at", "plan_at", "contact_plan_at").distinct()
    counts = rows.aggregate(
        screens=Count("pk"),
        **{
            f"{name}_{hours}": Count("pk", filter=condition)
            for hours in WINDOW_HOURS
            for name, condition in window_conditions(hours, now).items()
        },
    )
    windows = {
        hours: PlanWindow(
            hours=hours,
            made=counts[f"made_{hours}"],
            pending=counts[f"pending_{hours}"],
            missed=counts[f"missed_{hours}"],
            rate=ratio(
                counts[f"made_{hours}"], counts[f"made_{hours}"] + counts[f"missed_{hours}"]
            ),
        )
        for hours in WINDOW_HOURS
    }
    return ScreenFigures(screens=counts["screens"], within_24h=windows[24], within_72h=windows[72])


# --- 2. The plan gone over on follow-up calls -------------------------------------------


def review_conditions() -> dict[str, Q]:
    """Figure name -> the condition on a follow-up of the period (definition 2)."""
    done = Q(status=Status.COMPLETED)
    asked = done & Q(plan_reviewed__isnull=False)
    return {
        "asked": asked,
        "reviewed": done & Q(plan_reviewed=True),
        "not_reviewed": done & Q(plan_reviewed=False),
        "changed": asked & Q(plan_changed=True),
        # By the follow-up's protocol step: a join of the small protocol tables.
        "unanswered": done
        & Q(plan_reviewed__isnull=True, step__version__protocol__key=SAFETY_PLANNING_KEY),
    }


def _review_figures(followups: QuerySet) -> ReviewFigures:
    counts = followups.aggregate(
        **{name: Count("pk", filter=condition) for name, condition in review_conditions().items()}
    )
    return ReviewFigures(**counts, share=ratio(counts["reviewed"], counts["asked"]))


# --- 3. Lethal-means steps --------------------------------------------------------------


def open_cases(*, agency_id, teams=None, worker=None) -> QuerySet:
    """The agency's open cases in scope (their team, their assigned worker)."""
    return Case.objects.filter(agency_id=agency_id, status=CaseStatus.OPEN).filter(
        scope_q(teams=teams, worker=worker, team_field="team", worker_field="assigned_worker")
    )


def _means_figures(cases: QuerySet) -> MeansFigures:
    means = Q(current__means__isnull=False)
    unconfirmed = means & Q(current__means__confirmed_at__isnull=True)
    counts = SafetyPlan.objects.filter(
        current__isnull=False, client_id__in=cases.order_by().values("client_id")
    ).aggregate(
        plans=Count("pk", distinct=True),
        plans_with_steps=Count("pk", distinct=True, filter=means),
        plans_unconfirmed=Count("pk", distinct=True, filter=unconfirmed),
        steps=Count("current__means"),
        confirmed=Count("current__means", filter=Q(current__means__confirmed_at__isnull=False)),
    )
    return MeansFigures(**counts, share=ratio(counts["confirmed"], counts["steps"]))


def _current_means(**conditions) -> QuerySet:
    """The lethal-means steps of the current version of the safety plan of the row's
    client (OuterRef "client_id")."""
    return SafetyPlanMeans.objects.filter(
        version__plan__client_id=OuterRef("client_id"),
        version__plan__current_id=F("version_id"),
        **conditions,
    )


def _count(queryset: QuerySet, per: str) -> Coalesce:
    """COUNT(*) of a correlated `queryset`, grouped by `per` (the correlated column), as
    a scalar subquery: 0 when it is empty."""
    counted = queryset.order_by().values(per).annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted[:1], output_field=IntegerField()), 0)


def means_cases(cases: QuerySet) -> QuerySet:
    """`cases` whose client has a current safety plan, annotated `plan_at` (when the
    current version was saved), `steps` and `confirmed` (its lethal-means steps)."""
    plans = SafetyPlan.objects.filter(client_id=OuterRef("client_id"), current__isnull=False)
    per = "version__plan__client_id"
    return cases.filter(Exists(plans)).annotate(
        plan_at=Subquery(plans.values("current__created_at")[:1]),
        steps=_count(_current_means(), per),
        confirmed=_count(_current_means(confirmed_at__isnull=False), per),
    )


# --- 4. Crisis response plans -----------------------------------------------------------


def crisis_conditions(now) -> dict[str, Q]:
    """Figure name -> the condition on a crisis plan (definition 4)."""
    approved = Q(status=CrisisPlanStatus.APPROVED)
    return {
        "approved": approved,
        "current": approved & Q(review_due_at__gt=now),
        "overdue": approved & Q(review_due_at__lte=now),
        "awaiting_approval": Q(status=CrisisPlanStatus.SUBMITTED),
    }


def crisis_plans(*, agency_id, teams=None, worker=None) -> QuerySet:
    """The approved and submitted crisis plans of the agency on cases in scope (the
    partial indexes crisisplan_review_idx and crisisplan_submitted_idx)."""
    return (
        CrisisPlan.objects.filter(
            agency_id=agency_id,
            status__in=[CrisisPlanStatus.APPROVED, CrisisPlanStatus.SUBMITTED],
        )
        .filter(scope_q(teams=teams, worker=worker, worker_field="case__assigned_worker"))
        .order_by()
    )


def _crisis_figures(plans: QuerySet, now) -> CrisisFigures:
    counts = plans.aggregate(
        **{
            name: Count("pk", filter=condition)
            for name, condition in crisis_conditions(now).items()
        }
    )
    return CrisisFigures(**counts, share=ratio(counts["current"], counts["approved"]))


# --- The measures, and the rows behind each ---------------------------------------------


def plan_measures(
    *, agency_id, start, end, teams=None, worker=None, now=None, zone=None
) -> PlanMeasures:
    now = now or timezone.now()
    since, until = period_bounds(start, end, agency_zone(agency_id, zone))
    scope = {"agency_id": agency_id, "teams": teams, "worker": worker}
    screens = first_high_risk_screens(since=since, until=until, **scope)
    followups = period_followups(since=since, until=until, **scope)
    return PlanMeasures(
        start=start,
        end=end,
        now=now,
        screens=_screen_figures(screens, now),
        reviews=_review_figures(followups),
        means=_means_figures(open_cases(**scope)),
        crisis=_crisis_figures(crisis_plans(**scope), now),
    )


class Figure(NamedTuple):
    """What a drill-down lists: its title (translated where shown), the kind of its rows
    (plan_rows), the figure's condition (`name`) and, for a screen, the window's hours."""

    title: str
    kind: str
    name: str = ""
    hours: int = 0


KEYS = {
    "screens": Figure(gettext_noop("First high-risk screens of the period"), "screen"),
    "24h-made": Figure(
        gettext_noop("High-risk screens: a safety plan within 24 hours"), "screen", "made", 24
    ),
    "24h-pending": Figure(
        gettext_noop("High-risk screens: 24 hours not yet passed"), "screen", "pending", 24
    ),
    "24h-missed": Figure(
        gettext_noop("High-risk screens: no safety plan within 24 hours"), "screen", "missed", 24
    ),
    "72h-made": Figure(
        gettext_noop("High-risk screens: a safety plan within 72 hours"), "screen", "made", 72
    ),
    "72h-pending": Figure(
        gettext_noop("High-risk screens: 72 hours not yet passed"), "screen", "pending", 72
    ),
    "72h-missed": Figure(
        gettext_noop("High-risk screens: no safety plan within 72 hours"), "screen", "missed", 72
    ),
    "reviews-asked": Figure(
        gettext_noop("Follow-ups that asked about the safety plan"), "followup", "asked"
    ),
    "reviews-reviewed": Figure(
        gettext_noop("Follow-ups: safety plan gone over"), "followup", "reviewed"
    ),
    "reviews-not-reviewed": Figure(
        gettext_noop("Follow-ups: safety plan not gone over"), "followup", "not_reviewed"
    ),
    "reviews-changed": Figure(
        gettext_noop("Follow-ups: safety plan changed"), "followup", "changed"
    ),
    "reviews-unanswered": Figure(
        gettext_noop("Safety Planning calls with no plan review recorded"), "followup", "unanswered"
    ),
    "means-plans": Figure(gettext_noop("Open cases with a safety plan"), "case"),
    "means-steps": Figure(gettext_noop("Safety plans with lethal-means steps"), "case", "steps"),
    "means-unconfirmed": Figure(
        gettext_noop("Safety plans with a lethal-means step not yet confirmed"),
        "case",
        "unconfirmed",
    ),
    "crisis-approved": Figure(gettext_noop("Approved crisis response plans"), "crisis", "approved"),
    "crisis-current": Figure(
        gettext_noop("Crisis response plans: review current"), "crisis", "current"
    ),
    "crisis-overdue": Figure(
        gettext_noop("Crisis response plans: review overdue"), "crisis", "overdue"
    ),
    "crisis-awaiting": Figure(
        gettext_noop("Crisis response plans awaiting approval"), "crisis", "awaiting_approval"
    ),
}
CASE_JOINS = ("case__client", "case__assigned_worker")


def plan_rows(
    key, *, agency_id, start, end, teams=None, worker=None, now=None, zone=None
) -> tuple[str, QuerySet] | None:
    """(kind, the rows behind the figure `key` of plan_measures() with the same
    arguments, in a fixed order), or None when `key` names no figure (KEYS)."""
    if key not in KEYS:
        return None
    figure = KEYS[key]
    kind = figure.kind
    now = now or timezone.now()
    scope = {"agency_id": agency_id, "teams": teams, "worker": worker}
    since, until = period_bounds(start, end, agency_zone(agency_id, zone))
    if kind == "screen":
        screens = first_high_risk_screens(since=since, until=until, **scope)
        if figure.hours:
            screens = screens.filter(window_conditions(figure.hours, now)[figure.name])
        return kind, screens.select_related(*CASE_JOINS).order_by("received_at", "pk")
    if kind == "followup":
        followups = period_followups(since=since, until=until, **scope)
        followups = followups.filter(review_conditions()[figure.name])
        return kind, followups.select_related(*CASE_JOINS, "assigned_to").order_by("due_at", "pk")
    if kind == "case":
        cases = means_cases(open_cases(**scope))
        if figure.name == "steps":
            cases = cases.filter(Exists(_current_means()))
        elif figure.name == "unconfirmed":
            cases = cases.filter(Exists(_current_means(confirmed_at__isnull=True)))
        return kind, cases.select_related("client", "assigned_worker").order_by("pk")
    plans = crisis_plans(**scope).filter(crisis_conditions(now)[figure.name])
    return kind, plans.select_related(*CASE_JOINS).order_by("review_due_at", "submitted_at", "pk")
