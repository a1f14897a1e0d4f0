"""The referral report and export jobs over the API, with the page's rules: agency admins
and supervisors only; names and contact details only with referrals.export_identified;
a job is seen and downloaded only by the person who asked for it."""

import tempfile
from pathlib import Path

from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.models import Action
from audit.services import record as audit
from audit.services import refuse
from core.api import PARSER_CLASSES
from core.api_schema import ERROR_SCHEMA, AutoSchema
from reports import export_sql, exports, services
from reports.access import get_export_for_user
from reports.api.serializers import (
    ExportJobSerializer,
    ExportRequestSerializer,
    ReportQuerySerializer,
    ReportSummarySerializer,
)
from reports.models import ExportJob
from reports.report import agency_zone, can_run_report, referral_rows, referral_summary
from reports.views import REPORT_ONLY, csv_response, download_name, download_response

CSV = "text/csv"


class JSONOnlyNegotiation:
    """`?format=` here picks the report's format (json, csv, xlsx), not a DRF renderer:
    errors and summaries are always JSON; files are plain Django responses."""

    def perform_content_negotiation(self, request, force=False):
        renderer = JSONRenderer()
        return renderer, renderer.media_type


class ReportRoleSchema(AutoSchema):
    """Documents the 403 every operation answers to a user who may not run the report."""

    def refusals(self):
        refusals = super().refusals()
        refusals.setdefault("403", (self._component("Error", ERROR_SCHEMA), REPORT_ONLY))
        return refusals


def _require_report_role(request, page):
    if not can_run_report(request.user):
        refuse(request, page, REPORT_ONLY)


class ReferralReportView(JSONOnlyNegotiation, APIView):
    @extend_schema(
        tags=["reports"],
        summary="The referral report",
        description=(
            "Referrals sent (drafts and records entered in error left out) that you may "
            "see, filtered; every count comes with its denominator. `format=csv` streams "
            "the rows, `format=xlsx` returns a workbook; `deidentified=false` adds names, "
            "birth dates and phone numbers and needs the referrals.export_identified "
            "permission. For large results, ask for an export job instead."
        ),
        parameters=[ReportQuerySerializer],
        responses={
            (200, "application/json"): ReportSummarySerializer,
            (200, CSV): OpenApiTypes.STR,
            (200, exports.XLSX_CONTENT_TYPE): OpenApiTypes.BINARY,
            400: OpenApiResponse(description="Bad filters, per field"),
            403: OpenApiResponse(description="Not an agency admin or supervisor"),
        },
    )
    def get(self, request):
        _require_report_role(request, "api:reports")
        query = ReportQuerySerializer(data=request.query_params, context={"request": request})
        query.is_valid(raise_exception=True)
        user = request.user
        filters = query.filters()
        fmt = query.validated_data["format"]
        if fmt == "json":
            summary = referral_summary(referral_rows(user, filters), tz=agency_zone(user.agency))
            audit(
                request=request,
                action=Action.LIST,
                object_type="referral_report",
                detail={"filters": filters, "total_sent": summary.total_sent},
            )
            return Response(summary.as_dict())
        deidentified = query.validated_data["deidentified"]
        services.require_export_permission(
            request=request, actor=user, deidentified=deidentified, page="api:reports"
        )
        audit(
            request=request,
            action=Action.EXPORT,
            object_type="referral_report",
            detail={
                "kind": "referrals",
                "filters": filters,
                "format": fmt,
                "deidentified": deidentified,
                "streamed": fmt == "csv",
            },
        )
        if fmt == "csv":
            return csv_response(user, filters, deidentified)
        return _xlsx_response(user, filters, deidentified)


def _xlsx_response(user, filters, deidentified):
    rows = referral_rows(user, filters)
    with tempfile.TemporaryDirectory(prefix="casebook-report-") as folder:
        path = Path(folder) / "report.xlsx"
        export_sql.write_xlsx(path, rows, agency=user.agency, deidentified=deidentified)
        # Open before the folder goes: the open handle keeps the data readable.
        handle = open(path, "rb")  # noqa: SIM115 - FileResponse closes it
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=f"{download_name(user.agency, deidentified)}.xlsx",
        content_type=exports.XLSX_CONTENT_TYPE,
    )
    response["Cache-Control"] = "no-store"
    return response


@extend_schema(tags=["reports"])
class ExportJobViewSet(
    JSONOnlyNegotiation,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Your own export jobs. Anyone else's id answers 404 (audited as denied)."""

    serializer_class = ExportJobSerializer
    parser_classes = PARSER_CLASSES
    lookup_value_regex = "[^/]+"
    schema = ReportRoleSchema()

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        _require_report_role(request, "api:exports")

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ExportJob.objects.none()
        return ExportJob.objects.filter(requested_by=self.request.user).order_by(
            "-created_at", "-pk"
        )

    def get_object(self):
        return get_export_for_user(self.request, self.kwargs[self.lookup_field])

    @extend_schema(summary="Your export jobs, newest first")
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(summary="One export job, with its progress")
    def retrieve(self, request, *args, **kwargs):
        return super().retrieve(request, *args, **kwargs)

    @extend_schema(
        summary="Ask for an export",
        description=(
            "Queues a CSV or XLSX of the report's rows under `filters` (the report's query "
            "parameters). Poll the job for its progress; download it when done."
        ),
        request=ExportRequestSerializer,
        responses={201: ExportJobSerializer},
    )
    def create(self, request):
        data = ExportRequestSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        job = services.request_export(
            actor=request.user,
            format=data.validated_data["format"],
            deidentified=data.validated_data["deidentified"],
            filters=data.validated_data["filters"],
            request=request,
        )
        job.refresh_from_db()
        return Response(ExportJobSerializer(job).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Download a finished export",
        responses={
            (200, CSV): OpenApiTypes.BINARY,
            (200, exports.XLSX_CONTENT_TYPE): OpenApiTypes.BINARY,
            404: OpenApiResponse(description="Not yours, not ready, failed or deleted"),
        },
    )
    @action(detail=True, methods=["get"], url_path="download", url_name="download")
    def download(self, request, pk=None):
        return download_response(request, self.get_object())
