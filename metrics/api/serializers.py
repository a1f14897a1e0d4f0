"""Query parameters and answers of the metrics API.

The answers are the dataclasses of metrics/compliance.py, metrics/hedis.py,
metrics/programme.py and metrics/plans.py (their module docstrings define every number);
the serializers here read their attributes and document them. Every number comes with
the ids behind it, for the drill-down; the plans' measures, counts only, name their
cases a page at a time (/api/v1/metrics/plans/<key>/, PlanCaseRowSerializer).
"""

from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from accounts.models import Team, User
from cases.cssrs import RiskLevel
from core.api import UTCDateTimeField
from core.i18n import StrOrPromise
from dispatch.models import Priority
from metrics.programme import DIVERSION_DEFINITION, MAX_WEEKS
from metrics.response import DEFAULT_DAYS as RESPONSE_DAYS
from metrics.response import period_problem, response_period
from metrics.scope import (
    DEFAULT_DAYS,
    fill_period,
    in_calendar,
    period_error,
    scope_teams,
    scope_workers,
)
from plans.models import CrisisPlanStatus


def _ids(help_text=""):
    return serializers.ListField(child=serializers.IntegerField(), help_text=help_text)


class ScopeQuerySerializer(serializers.Serializer):
    """The team or worker whose numbers to show, within what the user may see: a
    supervisor, the teams they supervise; an agency admin, the whole agency. A team or
    worker outside that answers as an unknown id. `today` in the context: the agency's
    date."""

    team = serializers.PrimaryKeyRelatedField(
        queryset=Team.objects.none(),
        required=False,
        help_text=_("A team you may see; by default all of them"),
    )
    worker = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.none(),
        required=False,
        help_text=_("A worker of those teams; by default everyone"),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.agency_id:
            self.fields["team"].queryset = scope_teams(user)
            self.fields["worker"].queryset = scope_workers(user)


YEAR_MESSAGES = {
    "start": _("Check the year of the period's first day."),
    "end": _("Check the year of the period's last day."),
}


def _year_error(start, end, today) -> tuple[str, StrOrPromise] | None:
    """(field, message) for the first of `start` and `end` (None: not given) outside the
    calendar a period may cover, else None."""
    for field, day in (("start", start), ("end", end)):
        if day is not None and not in_calendar(day, today):
            return field, YEAR_MESSAGES[field]
    return None


class PeriodQuerySerializer(ScopeQuerySerializer):
    start = serializers.DateField(
        required=False,
        help_text=format_lazy(
            _("First day (agency's date); by default {days} days before `end`"),
            days=DEFAULT_DAYS - 1,
        ),
    )
    end = serializers.DateField(
        required=False, help_text=_("Last day, included (agency's date); by default today")
    )

    def validate(self, data):
        today = self.context["today"]
        # The years first: a date near either end of the calendar would overflow the
        # arithmetic of fill_period (a default end 29 days after 9999-12-31).
        error = _year_error(data.get("start"), data.get("end"), today)
        if error is None:
            start, end = fill_period(data.get("start"), data.get("end"), today)
            # A day filled in from the other may leave the calendar too.
            error = period_error(start, end) or _year_error(start, end, today)
        if error:
            field, message = error
            raise serializers.ValidationError({field: message})
        return {**data, "start": start, "end": end}


class TrendQuerySerializer(ScopeQuerySerializer):
    weeks = serializers.IntegerField(
        min_value=1, max_value=MAX_WEEKS, required=False, default=12, help_text=_("How many weeks")
    )


# --- Compliance --------------------------------------------------------------------------


class ComplianceCountsSerializer(serializers.Serializer):
    due = serializers.IntegerField(help_text=_("Due in the period, not cancelled"))
    done_within_window = serializers.IntegerField()
    completed_late = serializers.IntegerField()
    overdue = serializers.IntegerField()
    missed = serializers.IntegerField()
    not_yet_due = serializers.IntegerField()
    cancelled = serializers.IntegerField(help_text=_("Not part of `due`"))
    steps_due = serializers.IntegerField(help_text=_("Protocol steps completed or past window"))
    steps_done_within_window = serializers.IntegerField()
    fidelity = serializers.FloatField(
        allow_null=True, help_text=_("steps_done_within_window / steps_due")
    )
    within_window_rate = serializers.FloatField(
        allow_null=True,
        help_text=_("done_within_window / (done_within_window + completed_late + missed)"),
    )
    due_ids = _ids(_("Follow-up ids"))
    done_within_window_ids = _ids()
    completed_late_ids = _ids()
    overdue_ids = _ids()
    missed_ids = _ids()
    not_yet_due_ids = _ids()
    cancelled_ids = _ids()
    steps_due_ids = _ids()
    steps_done_within_window_ids = _ids()
    case_ids = serializers.DictField(
        child=serializers.ListField(child=serializers.IntegerField()),
        help_text=_("Count name -> the case ids behind it"),
    )


class ComplianceRowSerializer(serializers.Serializer):
    key = serializers.IntegerField(
        allow_null=True, help_text=_("The team's or worker's id; null: cases without a team")
    )
    label = serializers.CharField()  # type: ignore[assignment]  # a declared field, not Field.label
    counts = ComplianceCountsSerializer()


class ComplianceReportSerializer(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField()
    now = UTCDateTimeField(help_text=_("The instant overdue and missed refer to"))
    totals = ComplianceCountsSerializer()
    teams = ComplianceRowSerializer(many=True)
    workers = ComplianceRowSerializer(many=True)


# --- HEDIS FUM and FUA -------------------------------------------------------------------


class HedisWindowSerializer(serializers.Serializer):
    days = serializers.IntegerField()
    numerator = serializers.IntegerField()
    pending = serializers.IntegerField(help_text=_("Window still open, no follow-up yet"))
    missed = serializers.IntegerField()
    rate = serializers.FloatField(
        allow_null=True, help_text=_("numerator / (denominator - pending)")
    )
    numerator_visit_ids = _ids()
    pending_visit_ids = _ids()
    missed_visit_ids = _ids()


class HedisRatesSerializer(serializers.Serializer):
    measure = serializers.ChoiceField(choices=["fum", "fua"])
    start = serializers.DateField()
    end = serializers.DateField()
    today = serializers.DateField()
    denominator = serializers.IntegerField(help_text=_("ER visits counted"))
    denominator_visit_ids = _ids()
    seven_day = HedisWindowSerializer()
    thirty_day = HedisWindowSerializer()
    excluded_admitted_visit_ids = _ids(_("Left out: an inpatient stay on the day or within 30"))
    excluded_repeat_visit_ids = _ids(
        _(
            "Left out: within 31 days of a counted visit of the period (visits before the "
            "period do not take part, as HEDIS keeps to the measurement year)"
        )
    )
    excluded_age_visit_ids = _ids(_("Left out: under the measure's age"))


# --- Drop-off and no contact -------------------------------------------------------------


class DropOffClientSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    display_name = serializers.CharField()


class DropOffRowSerializer(serializers.Serializer):
    client = DropOffClientSerializer()
    case_id = serializers.IntegerField()
    assigned_worker_id = serializers.IntegerField()
    team_id = serializers.IntegerField(allow_null=True)
    risk_level = serializers.ChoiceField(choices=RiskLevel.choices)
    event_kind = serializers.ChoiceField(choices=["ed_visit", "contact"])
    event_id = serializers.IntegerField(help_text=_("The ER visit's or the contact's id"))
    event_at = UTCDateTimeField()
    event_date = serializers.DateField()
    days_left = serializers.IntegerField(help_text=_("Days left in the 7-day window"))


class NoContactRowSerializer(serializers.Serializer):
    worker_id = serializers.IntegerField()
    label = serializers.CharField()  # type: ignore[assignment]  # a declared field, not Field.label
    open_cases = serializers.IntegerField()
    no_contact_14 = serializers.IntegerField()
    no_contact_30 = serializers.IntegerField()
    case_ids_14 = _ids()
    case_ids_30 = _ids()


# --- Programme figures and trend ---------------------------------------------------------


class FigureSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    share = serializers.FloatField(allow_null=True, help_text=_("Of all contacts"))
    ids = _ids(_("Contact ids"))


class BucketSerializer(FigureSerializer):
    key = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]  # a declared field, not Field.label


class ProgrammeFiguresSerializer(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField()
    contacts = serializers.IntegerField()
    contact_ids = _ids()
    by_source = BucketSerializer(many=True)
    dispositions = BucketSerializer(many=True)
    median_response_minutes = serializers.FloatField(
        allow_null=True, help_text=_("On scene minus received")
    )
    timed_responses = serializers.IntegerField(help_text=_("Contacts with both times"))
    police_backup = FigureSerializer()
    arrests = FigureSerializer()
    er_diversions = FigureSerializer(
        help_text=format_lazy(
            "{}. {}",
            DIVERSION_DEFINITION,
            _("A declined contact, or one where the client was not found, is in both parts."),
        )
    )
    er_diversion_definition = serializers.CharField(help_text=_("What er_diversions counts"))


class TrendWeekSerializer(serializers.Serializer):
    week_start = serializers.DateField()
    week_end = serializers.DateField()
    due = serializers.IntegerField()
    done_within_window = serializers.IntegerField()
    fum_denominator = serializers.IntegerField()
    fum_numerator = serializers.IntegerField()
    fum_pending = serializers.IntegerField()
    fum_rate = serializers.FloatField(allow_null=True)


# --- Response measures (metrics/response.py) ---------------------------------------------


class ResponseQuerySerializer(serializers.Serializer):
    """The period of the response measures; `today` in the context: the agency's date."""

    start = serializers.DateField(
        required=False,
        help_text=format_lazy(
            _("First day (agency's date); by default {days} days before `end`"),
            days=RESPONSE_DAYS - 1,
        ),
    )
    end = serializers.DateField(
        required=False, help_text=_("Last day, included (agency's date); by default today")
    )

    def validate(self, data):
        today = self.context["today"]
        problem = period_problem(data.get("start"), data.get("end"), today)
        if problem:
            field, message = problem
            raise serializers.ValidationError({field: message})
        start, end = response_period(data.get("start"), data.get("end"), today)
        return {**data, "start": start, "end": end}


class SpreadSerializer(serializers.Serializer):
    median = serializers.FloatField(allow_null=True, help_text=_("Minutes, to 0.1"))
    p90 = serializers.FloatField(allow_null=True, help_text=_("90th percentile, minutes, to 0.1"))
    of = serializers.IntegerField(help_text=_("How many requests had both times"))


class ResponseFigureSerializer(serializers.Serializer):
    key = serializers.CharField(
        help_text=_("Names the count: /metrics/response/requests/<key>/ lists its requests")
    )
    label = serializers.CharField()  # type: ignore[assignment]  # a declared field, not Field.label
    count = serializers.IntegerField()
    share = serializers.FloatField(allow_null=True, help_text=_("Of the group the figure is in"))


class PriorityRowSerializer(serializers.Serializer):
    priority = serializers.ChoiceField(choices=Priority.choices)
    label = serializers.CharField()  # type: ignore[assignment]  # a declared field, not Field.label
    requests = ResponseFigureSerializer(help_text=_("Share: of all requests"))
    response = SpreadSerializer(help_text=_("Received to on scene"))
    target_minutes = serializers.IntegerField(help_text=_("The agency's target for the priority"))
    within_target = ResponseFigureSerializer(
        help_text=_("Reached within the target; share: of the priority's requests reached")
    )


class OutcomesSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    served = ResponseFigureSerializer(help_text=_("A team reached the person (on scene)"))
    not_served = ResponseFigureSerializer(help_text=_("Closed without a team on scene"))
    open = ResponseFigureSerializer(help_text=_("Neither yet: waiting, or a unit on its way"))
    reasons = ResponseFigureSerializer(many=True, help_text=_("Not served, by reason"))


class HeatCellSerializer(serializers.Serializer):
    key = serializers.CharField()
    day = serializers.IntegerField(help_text=_("ISO weekday on the agency's clock, 1 = Monday"))
    hour = serializers.IntegerField(help_text=_("0 to 23 on the agency's clock"))
    count = serializers.IntegerField()
    median_minutes = serializers.FloatField(allow_null=True, help_text=_("Median response time"))


class HeatRowSerializer(serializers.Serializer):
    day = serializers.IntegerField()
    label = serializers.CharField()  # type: ignore[assignment]  # a declared field, not Field.label
    cells = HeatCellSerializer(many=True)


class ResponseMeasuresSerializer(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField()
    zone = serializers.CharField(help_text=_("The agency's time zone: days, hours, weekdays"))
    requests = serializers.IntegerField(help_text=_("Received in the period"))
    response = SpreadSerializer(help_text=_("Received to on scene, every priority"))
    within_target = ResponseFigureSerializer(
        help_text=_("Reached within their priority's target; share: of all reached")
    )
    by_priority = PriorityRowSerializer(many=True)
    on_scene = SpreadSerializer(help_text=_("On scene to left scene"))
    outcomes = OutcomesSerializer()
    no_unit_wait = SpreadSerializer(
        help_text=_("Received to closed, of the requests not served for want of a unit")
    )
    police_requested = ResponseFigureSerializer(help_text=_("Among the served; share of them"))
    police_present = ResponseFigureSerializer(help_text=_("Among the served; share of them"))
    involuntary_hold = ResponseFigureSerializer(help_text=_("Among the served; share of them"))
    involuntary_transport = ResponseFigureSerializer(help_text=_("Among the served; share of them"))
    lifeline = ResponseFigureSerializer(help_text=_("988 hand-offs; share of all requests"))
    lifeline_details = ResponseFigureSerializer(
        many=True,
        help_text=_(
            "Warm transfers, line open until arrival, voluntary and involuntary "
            "active rescues; shares of the 988 hand-offs"
        ),
    )
    lifeline_outcomes = OutcomesSerializer()
    cad = ResponseFigureSerializer(help_text=_("911 / CAD hand-offs; share of all requests"))
    cad_outcomes = OutcomesSerializer()
    by_source = ResponseFigureSerializer(many=True)
    crews = ResponseFigureSerializer(
        many=True,
        help_text=_(
            "Served requests by the distinct credentials of the crew that reached "
            "them; shares of the served"
        ),
    )
    heat = HeatRowSerializer(many=True, help_text=_("Monday to Sunday, each with 24 hours"))
    heat_max = serializers.IntegerField(help_text=_("The busiest cell's count"))


# --- The plans' measures (metrics/plans.py) ----------------------------------------------


class PlanWindowSerializer(serializers.Serializer):
    hours = serializers.IntegerField()
    made = serializers.IntegerField(
        help_text=_(
            "A version of the client's safety plan saved from the screen to this many hours "
            "after it, or during the screening contact"
        )
    )
    pending = serializers.IntegerField(help_text=_("No plan yet, and the window still open"))
    missed = serializers.IntegerField(help_text=_("No plan, and the window closed"))
    rate = serializers.FloatField(allow_null=True, help_text=_("made / (made + missed)"))


class ScreenFiguresSerializer(serializers.Serializer):
    screens = serializers.IntegerField(
        help_text=_("Each client's first high-risk C-SSRS screen of the period")
    )
    within_24h = PlanWindowSerializer()
    within_72h = PlanWindowSerializer()


class ReviewFiguresSerializer(serializers.Serializer):
    asked = serializers.IntegerField(
        help_text=_(
            "Completed follow-ups due in the period that recorded whether the plan was gone over"
        )
    )
    reviewed = serializers.IntegerField(help_text=_("Of those, the plan gone over"))
    not_reviewed = serializers.IntegerField(help_text=_("Of those, the plan not gone over"))
    changed = serializers.IntegerField(help_text=_("Of those, the plan changed on the call"))
    share = serializers.FloatField(allow_null=True, help_text=_("reviewed / asked"))
    unanswered = serializers.IntegerField(
        help_text=_("Completed Safety Planning calls with no answer recorded (not part of `asked`)")
    )


class MeansFiguresSerializer(serializers.Serializer):
    plans = serializers.IntegerField(
        help_text=_("Current safety plans of clients with an open case, counted now")
    )
    plans_with_steps = serializers.IntegerField()
    plans_unconfirmed = serializers.IntegerField(
        help_text=_("Plans with a lethal-means step not yet confirmed")
    )
    steps = serializers.IntegerField(help_text=_("Lethal-means steps agreed"))
    confirmed = serializers.IntegerField(help_text=_("Steps confirmed done"))
    share = serializers.FloatField(allow_null=True, help_text=_("confirmed / steps"))


class CrisisFiguresSerializer(serializers.Serializer):
    approved = serializers.IntegerField(help_text=_("Approved crisis response plans, counted now"))
    current = serializers.IntegerField(help_text=_("Review date still ahead"))
    overdue = serializers.IntegerField(help_text=_("Review date passed"))
    share = serializers.FloatField(allow_null=True, help_text=_("current / approved"))
    awaiting_approval = serializers.IntegerField(help_text=_("Versions sent for approval"))


class PlanMeasuresSerializer(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField()
    now = UTCDateTimeField(help_text=_("The instant pending, current and overdue refer to"))
    screens = ScreenFiguresSerializer(help_text=_("A safety plan after a high-risk screen"))
    reviews = ReviewFiguresSerializer(help_text=_("The safety plan gone over on follow-up calls"))
    means = MeansFiguresSerializer(help_text=_("Lethal-means steps of the current safety plans"))
    crisis = CrisisFiguresSerializer(help_text=_("Crisis response plans and their reviews"))


class PlanClientSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    display_name = serializers.CharField()


class PlanWorkerSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class PlanScreenRowSerializer(serializers.Serializer):
    contact_id = serializers.IntegerField()
    screened_at = UTCDateTimeField()
    plan_saved_at = UTCDateTimeField(
        allow_null=True, help_text=_("The first version saved at or after the screen")
    )
    contact_plan_saved_at = UTCDateTimeField(
        allow_null=True, help_text=_("When a version was saved during the screening contact")
    )


class PlanFollowUpRowSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    due_at = UTCDateTimeField()
    completed_at = UTCDateTimeField(allow_null=True)
    plan_reviewed = serializers.BooleanField(allow_null=True)
    plan_changed = serializers.BooleanField(allow_null=True)


class PlanMeansRowSerializer(serializers.Serializer):
    plan_saved_at = UTCDateTimeField(help_text=_("When the current version was saved"))
    steps = serializers.IntegerField()
    steps_confirmed = serializers.IntegerField()


class PlanCrisisRowSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.IntegerField()
    status = serializers.ChoiceField(choices=CrisisPlanStatus.choices)
    submitted_at = UTCDateTimeField(allow_null=True)
    approved_at = UTCDateTimeField(allow_null=True)
    review_due_at = UTCDateTimeField(allow_null=True)


class PlanCaseRowSerializer(serializers.Serializer):
    """One case behind a figure of the plans' measures; the object of its `kind` is set,
    the others are null."""

    kind = serializers.ChoiceField(choices=["screen", "followup", "case", "crisis"])
    case_id = serializers.IntegerField()
    team_id = serializers.IntegerField(allow_null=True)
    client = PlanClientSerializer()
    worker = PlanWorkerSerializer(allow_null=True, help_text=_("The case's assigned worker"))
    screen = PlanScreenRowSerializer(allow_null=True)
    followup = PlanFollowUpRowSerializer(allow_null=True)
    safety_plan = PlanMeansRowSerializer(allow_null=True)
    crisis_plan = PlanCrisisRowSerializer(allow_null=True)
