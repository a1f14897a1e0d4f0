"""The supervisor's numbers over the API: thin views over the query functions of
metrics/compliance.py, metrics/hedis.py and metrics/programme.py, which the compliance
page uses too (so the page and the API always agree).

Supervisors see the teams they supervise, agency admins their whole agency; everyone
else is refused (403, audited). A `team` or `worker` outside what the user may see is a
400 naming it, like an id that does not exist. Every answer is audited with its filters.
"""

import dataclasses
import datetime

from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Role, Team, User
from audit.models import Action
from audit.services import record as audit
from audit.services import refuse
from casebook.api_schema import ERROR_SCHEMA, VALIDATION_ERROR_SCHEMA, AutoSchema
from cases.access import record_denied
from cases.models import Client
from metrics.api.serializers import (
    ComplianceReportSerializer,
    DropOffRowSerializer,
    HedisRatesSerializer,
    NoContactRowSerializer,
    PeriodQuerySerializer,
    ProgrammeFiguresSerializer,
    ScopeQuerySerializer,
    TrendQuerySerializer,
    TrendWeekSerializer,
)
from metrics.compliance import compliance, drop_off, no_contact_workers
from metrics.forms import scope_teams
from metrics.hedis import hedis_rates
from metrics.programme import DIVERSION_DEFINITION, programme_figures, weekly_trend

SUPERVISORS_ONLY = "The metrics are for supervisors and agency admins."


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

    query_serializer = PeriodQuerySerializer
    # Names the audit row's object type and the refusal's page.
    metric = ""
    schema = MetricsSchema()

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        user = request.user
        if user.role not in (Role.SUPERVISOR, Role.AGENCY_ADMIN) or not user.agency_id:
            refuse(request, f"api:metrics:{self.metric}", SUPERVISORS_ONLY)

    def scope(self, request) -> dict:
        """The validated query, with `teams` (ids, or None for the whole agency), `worker`
        (an id or None), `today` (the agency's date) and `agency_id`."""
        user = request.user
        today = user.agency.today()
        query = self.query_serializer(
            data=request.query_params, context={"request": request, "today": today}
        )
        if not query.is_valid():
            self.audit_refused(request, query)
            raise ValidationError(query.errors)
        data = dict(query.validated_data)
        team, worker = data.pop("team", None), data.pop("worker", None)
        if team is not None:
            teams = [team.pk]
        elif user.role == Role.AGENCY_ADMIN:
            teams = None  # the whole agency, cases without a team included
        else:
            teams = list(scope_teams(user).values_list("pk", flat=True))
        return {
            **data,
            "agency_id": user.agency_id,
            "teams": teams,
            "worker": worker.pk if worker else None,
            "today": today,
        }

    def audit_refused(self, request, query):
        """A team or worker outside the user's scope answers as an unknown id; its trace
        goes in the trail (in the agency's that owns it)."""
        for name, model in (("team", Team), ("worker", User)):
            codes = query.errors.get(name)
            if codes and any(getattr(e, "code", "") == "does_not_exist" for e in codes):
                value = request.query_params.get(name)
                record_denied(request, model, value, "outside metrics scope", page=self.metric)

    def audited(self, request, scope, data, **detail):
        filters = {
            key: value.isoformat() if isinstance(value, datetime.date) else value
            for key, value in scope.items()
            if key not in ("agency_id",)
        }
        audit(
            request=request,
            action=Action.LIST,
            object_type=f"metrics_{self.metric}",
            detail={"filters": filters, **detail},
        )
        return Response(data)


def _period(scope):
    return {"start": scope["start"], "end": scope["end"]}


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
        scope = self.scope(request)
        report = compliance(
            agency_id=scope["agency_id"],
            teams=scope["teams"],
            worker=scope["worker"],
            **_period(scope),
        )
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
        scope = self.scope(request)
        rates = hedis_rates(
            agency_id=scope["agency_id"],
            measure=self.measure,
            teams=scope["teams"],
            worker=scope["worker"],
            today=scope["today"],
            **_period(scope),
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
        scope = self.scope(request)
        rows = drop_off(agency_id=scope["agency_id"], teams=scope["teams"])
        if scope["worker"]:
            rows = [row for row in rows if row.assigned_worker_id == scope["worker"]]
        names = {
            client.pk: client.display_name
            for client in Client.objects.filter(
                agency_id=scope["agency_id"], pk__in=[row.client_id for row in rows]
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
        scope = self.scope(request)
        rows = no_contact_workers(agency_id=scope["agency_id"], teams=scope["teams"])
        if scope["worker"]:
            rows = [row for row in rows if row.worker_id == scope["worker"]]
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
        f"ER diversions: {DIVERSION_DEFINITION[0].lower()}{DIVERSION_DEFINITION[1:]}; a "
        "contact the client declined, or "
        "where the client was not found, did not end in an ED transport or admission, so "
        "it is in both parts. Per team or agency: `worker` is refused.",
        parameters=[PeriodQuerySerializer],
        responses=ProgrammeFiguresSerializer,
    )
    def get(self, request):
        scope = self.scope(request)
        if scope["worker"]:
            raise ValidationError({"worker": ["Programme figures are per team or for the agency."]})
        figures = programme_figures(
            agency_id=scope["agency_id"], teams=scope["teams"], **_period(scope)
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
        scope = self.scope(request)
        weeks = weekly_trend(
            agency_id=scope["agency_id"],
            weeks=scope["weeks"],
            teams=scope["teams"],
            worker=scope["worker"],
            today=scope["today"],
        )
        data = TrendWeekSerializer(weeks, many=True).data
        return self.audited(request, scope, data)
