"""The referral report page, its direct CSV, and the user's own export jobs."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpResponseBadRequest, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from audit.models import Action
from audit.services import record as audit
from audit.services import refuse
from reports import export_sql, exports, services
from reports.access import get_export_for_user
from reports.forms import ExportRequestForm, ReferralFilterForm, label_filters
from reports.models import ExportJob
from reports.report import (
    OUTCOME_COLUMNS,
    agency_zone,
    can_run_report,
    referral_rows,
    referral_summary,
)

EXPORTS_PAGE_SIZE = 25
# Up to this many rows the page offers the CSV straight away; beyond, the job (with its
# progress and retry-safe file) is the way.
DIRECT_CSV_MAX_ROWS = 5000
REPORT_ONLY = gettext_lazy("The referral report is for agency admins and supervisors.")


def _require_report_role(request, page):
    if not can_run_report(request.user):
        refuse(request, page, REPORT_ONLY)


@login_required
@require_GET
def referral_report(request):
    _require_report_role(request, "referral_report")
    user = request.user
    form = ReferralFilterForm(request.GET or None, user=user)
    summary = filters = None
    if not form.is_bound or form.is_valid():
        filters = form.filters() if form.is_bound else {}
        summary = referral_summary(referral_rows(user, filters), tz=agency_zone(user.agency))
        audit(
            request=request,
            action=Action.LIST,
            object_type="referral_report",
            detail={"filters": filters, "total_sent": summary.total_sent},
        )
    context = {
        "form": form,
        "summary": summary,
        "filters": filters,
        "chart": _chart(summary) if summary else [],
        "legend": _legend(),
        "medians": _medians(summary) if summary else [],
        "export_choices": _export_choices(user),
        "can_export_identified": services.can_export(user, deidentified=False),
        "direct_csv": summary is not None and summary.total_sent <= DIRECT_CSV_MAX_ROWS,
        "query": request.GET.urlencode(),
        "csv_urls": _csv_urls(request.GET.urlencode()),
    }
    return render(request, "reports/referral_report.html", context)


def _csv_urls(query):
    """The direct CSV's links, with the report's filters: de-identified and with names."""
    start = (
        f"{reverse('reports:referral_csv')}?{query}&"
        if query
        else f"{reverse('reports:referral_csv')}?"
    )
    return {
        "deidentified": f"{start}deidentified=1",
        "identified": f"{start}deidentified=0",
    }


def _medians(summary):
    return [
        (_("To acceptance"), summary.days_to_acceptance),
        (_("To first service"), summary.days_to_first_service),
        (_("To closure"), summary.days_to_closure),
    ]


def _export_choices(user):
    choices = [
        {"format": "csv", "deidentified": True, "label": _("CSV, de-identified")},
        {"format": "xlsx", "deidentified": True, "label": _("XLSX, de-identified")},
    ]
    if services.can_export(user, deidentified=False):
        choices += [
            {"format": "csv", "deidentified": False, "label": _("CSV with names")},
            {"format": "xlsx", "deidentified": False, "label": _("XLSX with names")},
        ]
    return choices


def _segment_key(outcome):
    return outcome or "none"


def _legend():
    return [{"key": _segment_key(value), "label": label} for value, label in OUTCOME_COLUMNS]


def _chart(summary):
    """Category bars for the stacked chart: each segment's width in percent of the
    largest category, so bars compare across categories."""
    largest = summary.max_category_total or 1
    return [
        {
            "label": row.label,
            "total": row.total,
            "width": row.total * 100 / largest,
            "segments": [
                {
                    "key": _segment_key(value),
                    "label": label,
                    "count": count,
                    "width": count * 100 / row.total if row.total else 0,
                }
                for value, label, count in row.cells
                if count
            ],
            "cells": row.cells,
        }
        for row in summary.by_category
    ]


@login_required
@require_GET
def referral_csv(request):
    """The report's rows as a CSV streamed straight to the browser (constant memory)."""
    user = request.user
    deidentified = request.GET.get("deidentified", "1") != "0"
    services.require_export_permission(
        request=request, actor=user, deidentified=deidentified, page="referral_csv"
    )
    query = request.GET.copy()
    query.pop("deidentified", None)
    form = ReferralFilterForm(query, user=user)
    if not form.is_valid():
        errors = "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in form.errors.items())
        return HttpResponseBadRequest(
            _("Bad filters: %(errors)s") % {"errors": errors}, content_type="text/plain"
        )
    filters = form.filters()
    audit(
        request=request,
        action=Action.EXPORT,
        object_type="referral_csv",
        detail={
            "kind": "referrals",
            "filters": filters,
            "format": "csv",
            "deidentified": deidentified,
            "streamed": True,
        },
    )
    return csv_response(user, filters, deidentified)


def csv_response(user, filters, deidentified):
    response = StreamingHttpResponse(
        export_sql.csv_stream(
            referral_rows(user, filters), agency=user.agency, deidentified=deidentified
        ),
        content_type=exports.CSV_CONTENT_TYPE,
    )
    name = download_name(user.agency, deidentified)
    response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    response["Cache-Control"] = "no-store"
    return response


def download_name(agency, deidentified):
    """The file's name, dated by the agency's calendar (not the server's or UTC's)."""
    kind = "deidentified" if deidentified else "identified"
    return f"referrals-{kind}-{agency.today():%Y%m%d}"


@login_required
@require_POST
def export_request(request):
    _require_report_role(request, "referral_export")
    choice = ExportRequestForm(request.POST)
    form = ReferralFilterForm(request.POST, user=request.user)
    if not choice.is_valid() or not form.is_valid():
        messages.error(request, _("The export could not be queued: check the filters."))
        return redirect("reports:referral_report")
    services.request_export(
        actor=request.user,
        format=choice.cleaned_data["format"],
        deidentified=choice.cleaned_data["deidentified"],
        filters=form.filters(),
        request=request,
    )
    messages.success(request, _("Your export is being prepared. It will be ready here."))
    return redirect("reports:exports")


@login_required
@require_GET
def exports_list(request):
    _require_report_role(request, "exports")
    jobs = ExportJob.objects.filter(requested_by=request.user).order_by("-created_at", "-pk")
    page = Paginator(jobs, EXPORTS_PAGE_SIZE).get_page(request.GET.get("page"))
    label_filters(page.object_list)
    return render(request, "reports/exportjob_list.html", {"page": page, "jobs": page.object_list})


@login_required
@require_GET
def export_status(request, pk):
    """One job's row, for htmx polling while it is queued or running."""
    job = get_export_for_user(request, pk)
    label_filters([job])
    return render(request, "reports/_exportjob_row.html", {"job": job})


@login_required
@require_GET
def export_download(request, pk):
    return download_response(request, get_export_for_user(request, pk))


def download_response(request, job):
    """The job's file for its requester, audited; 404 when there is none (any more)."""
    if not services.can_export(request.user, deidentified=job.deidentified):
        services.require_export_permission(
            request=request, actor=request.user, deidentified=job.deidentified, page="exports"
        )
    path = services.export_file(job)
    if path is None:
        raise Http404(_("This export has no file: it failed, is not ready, or was deleted."))
    audit(
        request=request,
        action=Action.EXPORT,
        obj=job,
        detail={"downloaded": True, "format": job.format, "deidentified": job.deidentified},
    )
    content_type = exports.XLSX_CONTENT_TYPE if job.format == "xlsx" else exports.CSV_CONTENT_TYPE
    response = FileResponse(
        open(path, "rb"),  # noqa: SIM115 - FileResponse closes it
        as_attachment=True,
        filename=path.name,
        content_type=content_type,
    )
    response["Cache-Control"] = "no-store"
    return response
