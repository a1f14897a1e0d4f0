"""The supervisor's numbers over the API: thin views over the query functions of
metrics/compliance.py, metrics/hedis.py, metrics/programme.py and metrics/plans.py,
which the compliance page uses too (so the page and the API always agree); and the
response measures of metrics/response.py (/api/v1/dispatch/measures/, wired in
casebook/api_urls.py), which the response page uses, for supervisors, agency admins and
dispatchers. The plans' measures are counts (/api/v1/metrics/plans/); the cases behind
each are listed a page at a time (/api/v1/metrics/plans/<key>/).

Supervisors see the teams they supervise, agency admins their whole agency; everyone
else is refused (403, audited). A `team` or `worker` outside what the user may see is a
400 naming it, like an id that does not exist. Every answer is audited with its filters.
"""

import dataclasses
from typing import Any

from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.serializers import Serializer
from rest_framework.views import APIView

from accounts.models import zone_of
from audit.models import Action
from audit.services import record as audit
from cases.models import Case, Client
from core.api_schema import ERROR_SCHEMA, VALIDATION_ERROR_SCHEMA, AutoSchema
from metrics.api.serializers import (
    ComplianceReportSerializer,
    DropOffRowSerializer,
    HedisRatesSerializer,
    NoContactRowSerializer,
    PeriodQuerySerializer,
    PlanCaseRowSerializer,
    PlanMeasuresSerializer,
    ProgrammeFiguresSerializer,
    ResponseMeasuresSerializer,
    ResponseQuerySerializer,
    ScopeQuerySerializer,
    TrendQuerySerializer,
    TrendWeekSerializer,
)
from metrics.attention import drop_off, no_contact_workers
from metrics.compliance import compliance
from metrics.hedis import hedis_rates
from metrics.plans import KEYS as PLAN_KEYS
from metrics.plans import plan_measures, plan_rows
from metrics.programme import DIVERSION_DEFINITION, programme_figures, weekly_trend
from metrics.response import agency_targets, require_response_access, response_measures
from metrics.scope import MetricsScope, audit_refused, require_metrics_access, resolve_scope

SUPERVISORS_ONLY = gettext_lazy("The metrics are for supervisors and agency admins.")


# The API's documentation is in English (the schema is built once, whoever asks first).
with translation.override("en"):
    _DIVERSION_EN = str(DIVERSION_DEFINITION)


class MetricsSchema(AutoSchema):
    """Documents the 400 every operation answers to bad query parameters, and the 403 to
    a user who is neither a supervisor nor an agency admin."""

    def refusals(self):
        refusals = super().refusals()
        invalid = self._component("ValidationError", VALIDATION_ERROR_SCHEMA)
        refusals.setdefault("400", (invalid, "A query parameter is not valid; the body says why."))
        refusals.setdefault("403", (self._component("Error", ERROR_SCHEMA), SUPERVISORS_ONLY))
        return refusals


class MetricsView(APIView):
    """Common ground: the role check, the scope, the audit row."""

    query_serializer: type[Serializer[Any]] = PeriodQuerySerializer
    # Names the audit row's object type and the refusal's page.
    metric = ""
    schema = MetricsSchema()

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        require_metrics_access(request, f"api:metrics:{self.metric}", SUPERVISORS_ONLY)

    def scope(self, request) -> tuple[MetricsScope, dict]:
        """The scope of the validated query (metrics.scope.resolve_scope), and the query's
        other values (`weeks`). A query that is not valid is a 400, its refused choices
        audited."""
        user = request.user
        today = user.agency.today()
        query = self.query_serializer(
            data=request.query_params, context={"request": request, "today": today}
        )
        if not query.is_valid():
            audit_refused(request, self.refused_choices(request, query), page=self.metric)
            raise ValidationError(query.errors)
        data = dict(query.validated_data)
        scope = resolve_scope(
            user,
            today=today,
            team=data.pop("team", None),
            worker=data.pop("worker", None),
            start=data.pop("start", None),
            end=data.pop("end", None),
        )
        return scope, data

    @staticmethod
    def refused_choices(request, query) -> dict:
        """The team or worker asked for outside the user's scope (an unknown id here):
        name -> the value asked for."""
        refused = {}
        for name in ("team", "worker"):
            codes = query.errors.get(name)
            if codes and any(getattr(e, "code", "") == "does_not_exist" for e in codes):
                refused[name] = request.query_params.get(name)
        return refused

    def audited(self, request, scope, data, extra=None, **detail):
        """`data` as the answer, with the audit row naming the filters (`extra`: the
        query's other values) and `detail`."""
        self.audit(request, scope, extra, **detail)
        return Response(data)

    def audit(self, request, scope, extra=None, **detail):
        """The answer's audit row: the filters (`extra`: the query's other values) and
        `detail`."""
        filters = {**scope.audit_detail(), "today": scope.today.isoformat(), **(extra or {})}
        audit(
            request=request,
            action=Action.LIST,
            object_type=f"metrics_{self.metric}",
            detail={"filters": filters, **detail},
        )


@extend_schema(tags=["metrics"])
class ComplianceView(MetricsView):
    metric = "compliance"

    @extend_schema(
        summary="Follow-up compliance per team and per worker",
        description="For the follow-ups due in the period: due, done within window, "
        "completed late, overdue, missed, not yet due, cancelled; protocol fidelity (steps "
        "done within their window over steps due). Each count comes with the follow-up and "
        "case ids behind it.",
        parameters=[PeriodQuerySerializer],
        responses=ComplianceReportSerializer,
    )
    def get(self, request):
        scope, _rest = self.scope(request)
        report = compliance(**scope.filters(), **scope.period())
        data = ComplianceReportSerializer(report).data
        return self.audited(request, scope, data, case_ids=report.totals.case_ids.get("due", []))


@extend_schema(tags=["metrics"])
class HedisView(MetricsView):
    """Follow-up after an ER visit, like HEDIS FUM (`fum`: mental illness or self-harm,
    ages 6+) or FUA (`fua`: substance use or overdose, ages 13+)."""

    measure = "fum"
    metric = "hedis"

    @extend_schema(
        summary="7- and 30-day follow-up rates after ER visits",
        description="The denominator counts the ER visits of the period (the first per "
        "client in any 31 days; visits followed by an inpatient stay within 30 days left "
        "out). The 31-day rule looks only at the visits inside the period, as HEDIS does "
        "inside the measurement year: a visit just before the period does not remove one "
        "inside it. The numerators: a follow-up with the client within 7 and within 30 "
        "days, the ER day included. A follow-up is a visit or an interaction with the "
        "person (in person or by phone: a crisis contact that met the client, a reached "
        "attempt by phone or visit, a phone or visit follow-up marked done); a letter or a "
        "text message sent (Caring Contacts) is not one. A visit whose window is still "
        "open is pending, not missed.",
        parameters=[PeriodQuerySerializer],
        responses=HedisRatesSerializer,
    )
    def get(self, request):
        scope, _rest = self.scope(request)
        rates = hedis_rates(
            **scope.filters(), **scope.period(), measure=self.measure, today=scope.today
        )
        data = HedisRatesSerializer(rates).data
        return self.audited(
            request, scope, data, measure=self.measure, visit_ids=rates.denominator_visit_ids
        )


@extend_schema(tags=["metrics"])
class DropOffView(MetricsView):
    metric = "drop_off"
    query_serializer = ScopeQuerySerializer

    @extend_schema(
        summary="Clients at risk of dropping off",
        description="Clients whose latest ER visit or crisis contact is within the last "
        "7 days with no follow-up that reached them since (a letter or a text message "
        "sent does not count, as for FUM and FUA), highest risk first, then by the days "
        "left in the 7-day window.",
        parameters=[ScopeQuerySerializer],
        responses=DropOffRowSerializer(many=True),
    )
    def get(self, request):
        scope, _rest = self.scope(request)
        rows = drop_off(**scope.filters())
        names = {
            client.pk: client.display_name
            for client in Client.objects.filter(
                agency_id=scope.agency_id, pk__in=[row.client_id for row in rows]
            ).only("pk", "legal_name", "preferred_name")
        }
        items = []
        for row in rows:
            item = dataclasses.asdict(row)
            item["client"] = {"id": row.client_id, "display_name": names.get(row.client_id, "")}
            items.append(item)
        data = DropOffRowSerializer(items, many=True).data
        return self.audited(
            request,
            scope,
            data,
            case_ids=[row.case_id for row in rows],
            client_ids=sorted({row.client_id for row in rows}),
        )


@extend_schema(tags=["metrics"])
class NoContactView(MetricsView):
    metric = "no_contact"
    query_serializer = ScopeQuerySerializer

    @extend_schema(
        summary="Workers whose clients have had no contact for 14 or 30 days",
        parameters=[ScopeQuerySerializer],
        responses=NoContactRowSerializer(many=True),
    )
    def get(self, request):
        scope, _rest = self.scope(request)
        rows = no_contact_workers(**scope.filters())
        data = NoContactRowSerializer(rows, many=True).data
        return self.audited(
            request, scope, data, case_ids=sorted(i for row in rows for i in row.case_ids_14)
        )


@extend_schema(tags=["metrics"])
class ProgrammeView(MetricsView):
    metric = "programme"

    @extend_schema(
        summary="The figures crisis programmes publish",
        description="Over the crisis contacts received in the period: contacts by source, "
        "median response time, police backup, arrests, dispositions, ER diversions. "
        f"ER diversions: {_DIVERSION_EN[0].lower()}{_DIVERSION_EN[1:]}; a "
        "contact the client declined, or "
        "where the client was not found, did not end in an ED transport or admission, so "
        "it is in both parts. Per team or agency: `worker` is refused.",
        parameters=[PeriodQuerySerializer],
        responses=ProgrammeFiguresSerializer,
    )
    def get(self, request):
        scope, _rest = self.scope(request)
        if scope.worker is not None:
            raise ValidationError(
                {"worker": [_("Programme figures are per team or for the agency.")]}
            )
        figures = programme_figures(
            agency_id=scope.agency_id, teams=scope.teams, zone=scope.zone, **scope.period()
        )
        data = ProgrammeFiguresSerializer(figures).data
        return self.audited(request, scope, data, contacts=figures.contacts)


@extend_schema(tags=["metrics"])
class TrendView(MetricsView):
    metric = "trend"
    query_serializer = TrendQuerySerializer

    @extend_schema(
        summary="Weekly trend of compliance and the 7-day FUM rate",
        description="Monday to Sunday weeks in the agency's time zone, the current week last.",
        parameters=[TrendQuerySerializer],
        responses=TrendWeekSerializer(many=True),
    )
    def get(self, request):
        scope, query = self.scope(request)
        weeks = weekly_trend(**scope.filters(), weeks=query["weeks"], today=scope.today)
        data = TrendWeekSerializer(weeks, many=True).data
        return self.audited(request, scope, data, extra=query)


@extend_schema(tags=["metrics"])
class PlanMeasuresView(MetricsView):
    metric = "plans"

    @extend_schema(
        summary="The safety and crisis plans' measures",
        description="Four measures, each defined in metrics/plans.py. (1) A safety plan "
        "after a high-risk screen: of each client's first high-risk C-SSRS screen of the "
        "period, those followed by a version of their safety plan saved within 24 and "
        "within 72 hours (or during the screening contact); a plan saved before the screen "
        "does not count; a screen whose window is still open and has no plan yet is "
        "pending, not missed. (2) The safety plan gone over on follow-up calls: of the "
        "completed follow-ups due in the period that recorded the answer, how many went "
        "over the plan and how many changed it; completed Safety Planning calls with no "
        "answer are counted apart. (3) Lethal-means steps in the current safety plans of "
        "clients with an open case, and how many are confirmed done (counted now). (4) "
        "Approved crisis response plans with their review current or overdue, and versions "
        "awaiting approval (counted now). Counts only: `/api/v1/metrics/plans/<key>/` "
        "lists the cases behind each.",
        parameters=[PeriodQuerySerializer],
        responses=PlanMeasuresSerializer,
    )
    def get(self, request):
        scope, _rest = self.scope(request)
        measures = plan_measures(**scope.filters(), **scope.period())
        return self.audited(request, scope, PlanMeasuresSerializer(measures).data)


def _plan_row(kind: str, item) -> dict:
    """The answer's row for one row of metrics.plans.plan_rows(): its case, client and
    worker, and the object of its `kind`."""
    case = item if kind == "case" else item.case
    worker = case.assigned_worker
    row: dict[str, Any] = {
        "kind": kind,
        "case_id": case.pk,
        "team_id": case.team_id,
        "client": {"id": case.client_id, "display_name": case.client.display_name},
        "worker": {"id": worker.pk, "name": str(worker)} if worker else None,
        "screen": None,
        "followup": None,
        "safety_plan": None,
        "crisis_plan": None,
    }
    if kind == "screen":
        row["screen"] = {
            "contact_id": item.pk,
            "screened_at": item.received_at,
            "plan_saved_at": item.plan_at,
            "contact_plan_saved_at": item.contact_plan_at,
        }
    elif kind == "followup":
        row["followup"] = {
            name: getattr(item, name)
            for name in ("id", "due_at", "completed_at", "plan_reviewed", "plan_changed")
        }
    elif kind == "case":
        row["safety_plan"] = {
            "plan_saved_at": item.plan_at,
            "steps": item.steps,
            "steps_confirmed": item.confirmed,
        }
    else:
        row["crisis_plan"] = {
            name: getattr(item, name)
            for name in ("id", "number", "status", "submitted_at", "approved_at", "review_due_at")
        }
    return row


@extend_schema(tags=["metrics"])
class PlanCasesView(MetricsView, GenericAPIView):
    """The cases behind one figure of PlanMeasuresView, a page at a time."""

    metric = "plan_cases"
    # For the schema only: the rows are metrics.plans.plan_rows(), of the key's kind.
    queryset = Case.objects.none()

    @extend_schema(
        summary="The cases behind a figure of the plans' measures",
        description="`key` names the figure: `screens` (the first high-risk screens), "
        "`24h-made`, `24h-pending`, `24h-missed`, `72h-made`, `72h-pending`, `72h-missed`; "
        "`reviews-asked`, `reviews-reviewed`, `reviews-not-reviewed`, `reviews-changed`, "
        "`reviews-unanswered`; `means-plans`, `means-steps`, `means-unconfirmed`; "
        "`crisis-approved`, `crisis-current`, `crisis-overdue`, `crisis-awaiting`. Each "
        "row names its case, client and worker, with the dates of its kind.",
        parameters=[
            PeriodQuerySerializer,
            OpenApiParameter("key", OpenApiTypes.STR, OpenApiParameter.PATH, enum=list(PLAN_KEYS)),
        ],
        responses=PlanCaseRowSerializer(many=True),
    )
    def get(self, request, key):
        scope, _rest = self.scope(request)
        found = plan_rows(key, **scope.filters(), **scope.period())
        if found is None:
            raise NotFound(_("No such figure."))
        kind, rows = found
        page = self.paginate_queryset(rows) or []
        items = [_plan_row(kind, item) for item in page]
        self.audit(
            request,
            scope,
            key=key,
            case_ids=[item["case_id"] for item in items],
            client_ids=sorted({item["client"]["id"] for item in items}),
        )
        return self.get_paginated_response(PlanCaseRowSerializer(items, many=True).data)


RESPONSE_REFUSAL = gettext_lazy(
    "The response measures are for supervisors, agency admins and dispatchers."
)


class ResponseSchema(AutoSchema):
    """The 400 to a period that is not valid, the 403 to a role that may not see the
    measures."""

    def refusals(self):
        refusals = super().refusals()
        invalid = self._component("ValidationError", VALIDATION_ERROR_SCHEMA)
        refusals.setdefault("400", (invalid, "The period is not valid; the body says why."))
        refusals.setdefault("403", (self._component("Error", ERROR_SCHEMA), RESPONSE_REFUSAL))
        return refusals


@extend_schema(tags=["dispatch"])
class ResponseMeasuresView(APIView):
    """The response measures of the caller's agency (metrics.response), as the response
    page shows them. Supervisors, agency admins and dispatchers; every answer audited."""

    schema = ResponseSchema()

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        require_response_access(request, "api:dispatch:measures", RESPONSE_REFUSAL)

    @extend_schema(
        summary="The response measures crisis programmes publish",
        description="Over the requests for a mobile team received on the agency's dates "
        "`start` to `end`: response time (received to on scene: median and 90th "
        "percentile, as percentile_cont, overall and by priority, with the share within "
        "the agency's target), requests and median response by weekday and hour on the "
        "agency's clock, time on scene, served and not served by reason (and how long "
        "the requests closed for want of a unit waited), police requested and present, "
        "involuntary holds and transports among the served, 988 and 911 / CAD hand-offs "
        "with their outcomes, requests by source, and the crews' credentials. Each count "
        "has a `key`: the page /metrics/response/requests/<key>/ lists its requests.",
        parameters=[ResponseQuerySerializer],
        responses=ResponseMeasuresSerializer,
    )
    def get(self, request):
        user = request.user
        today = user.agency.today()
        query = ResponseQuerySerializer(data=request.query_params, context={"today": today})
        query.is_valid(raise_exception=True)
        start, end = query.validated_data["start"], query.validated_data["end"]
        measures = response_measures(
            agency_id=user.agency_id,
            start=start,
            end=end,
            zone=zone_of(user.agency),
            targets=agency_targets(user.agency_id),
        )
        filters = {"start": start.isoformat(), "end": end.isoformat(), "today": today.isoformat()}
        audit(
            request=request,
            action=Action.LIST,
            object_type="metrics_response",
            detail={"filters": filters, "requests": measures.requests},
        )
        return Response(ResponseMeasuresSerializer(measures).data)
