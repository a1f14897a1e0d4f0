"""The supervisor's compliance page and its drill-downs; the response measures page and
the requests behind each of its counts.

The plans' measures (metrics/plans.py) are a section of the compliance page; their
drill-downs are /metrics/drilldown/plans-<key>/ and list their rows a page at a time
from the measure's own query (_plan_drilldown).

Supervisors see the teams they supervise, agency admins their whole agency; everyone
else is refused. Every number on the page links to /metrics/drilldown/<what>/ with the
same filters, which lists the cases behind it (computed by the same query function, so
the list always matches the number).
"""

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop
from django.views.decorators.http import require_GET

from accounts.models import zone_of
from audit.models import Action
from audit.services import record, record_list
from cases.models import Case, Contact, Disposition
from followups.models import FollowUp, HospitalVisit
from metrics.attention import drop_off, no_contact_workers
from metrics.charts import trend_svg
from metrics.compliance import COUNT_NAMES, compliance, compliance_ids
from metrics.forms import MetricsFilterForm, ResponsePeriodForm
from metrics.hedis import MEASURES, hedis_rates
from metrics.plans import KEYS as PLAN_KEYS
from metrics.plans import plan_measures, plan_rows
from metrics.programme import programme_figures, weekly_trend
from metrics.response import (
    agency_targets,
    requests_behind,
    require_response_access,
    response_measures,
    response_period,
)
from metrics.scope import audit_refused, fill_period, require_metrics_access, resolve_scope

HEDIS_NAMES = {
    "fum": gettext_lazy("After an ER visit for mental health or self-harm (FUM, ages 6+)"),
    "fua": gettext_lazy("After an ER visit for substance use or overdose (FUA, ages 13+)"),
}
DRILLDOWN_PAGE_SIZE = 50
DROP_OFF_SHOWN = 50
HEDIS_BUCKETS = {
    "denominator": lambda r: r.denominator_visit_ids,
    "7-hit": lambda r: r.seven_day.numerator_visit_ids,
    "7-pending": lambda r: r.seven_day.pending_visit_ids,
    "7-missed": lambda r: r.seven_day.missed_visit_ids,
    "30-hit": lambda r: r.thirty_day.numerator_visit_ids,
    "30-pending": lambda r: r.thirty_day.pending_visit_ids,
    "30-missed": lambda r: r.thirty_day.missed_visit_ids,
    "excluded-admitted": lambda r: r.excluded_admitted_visit_ids,
    "excluded-repeat": lambda r: r.excluded_repeat_visit_ids,
    "excluded-age": lambda r: r.excluded_age_visit_ids,
}


def _page_scope(request, page):
    """(scope, form) of the page's query (metrics.scope.resolve_scope). A query that is not
    valid shows the default period for everyone, with its refused choices audited."""
    require_metrics_access(request, page, _("This page is for supervisors and agency admins."))
    user = request.user
    today = user.agency.today()
    form = MetricsFilterForm(request.GET or None, user=user, today=today)
    if form.is_bound and form.is_valid():
        chosen = form.cleaned_data
    else:
        audit_refused(request, form.refused_choices(), page="metrics")
        start, end = fill_period(None, None, today)
        chosen = {"start": start, "end": end}
    scope = resolve_scope(
        user,
        today=today,
        team=chosen.get("team"),
        worker=chosen.get("worker"),
        start=chosen["start"],
        end=chosen["end"],
    )
    return scope, form


def _query(scope, **overrides) -> str:
    """The page's query string for `scope`, with `overrides` (a blank one drops it)."""
    params = {
        "start": scope.start.isoformat(),
        "end": scope.end.isoformat(),
        "team": scope.team.pk if scope.team else "",
        "worker": scope.worker_id or "",
    }
    params.update(overrides)
    return urlencode({k: v for k, v in params.items() if v not in ("", None)})


@login_required
@require_GET
def compliance_page(request):
    scope, form = _page_scope(request, "metrics_compliance")
    period = scope.period()
    report = compliance(**scope.filters(), **period)
    rates = {
        measure: hedis_rates(**scope.filters(), **period, measure=measure) for measure in MEASURES
    }
    dropping = drop_off(**scope.filters())
    no_contact = no_contact_workers(**scope.filters())
    # Per team or for the agency: a worker brings no programme figures of their own.
    programme = programme_figures(
        agency_id=scope.agency_id, teams=scope.teams, zone=scope.zone, **period
    )
    trend = weekly_trend(**scope.filters(), today=scope.today)
    plans = plan_measures(**scope.filters(), **period)
    drill = _drilldown_urls()

    drop_rows = _drop_off_rows(scope, dropping[:DROP_OFF_SHOWN])
    record_list(
        request=request,
        object_type="case",
        objects=[d["case"] for d in drop_rows],
        client_ids=[d["case"].client_id for d in drop_rows],
        detail={"page": "metrics_compliance", **scope.audit_detail()},
    )
    return render(
        request,
        "metrics/compliance.html",
        {
            "scope": scope,
            "form": form,
            "report": report,
            "count_names": COUNT_NAMES,
            "totals": _row(_("All"), report.totals, _query(scope)),
            "team_rows": [
                _row(r.label, r.counts, _query(scope, team=r.key or "")) for r in report.teams
            ],
            "worker_rows": [
                _row(r.label, r.counts, _query(scope, worker=r.key)) for r in report.workers
            ],
            "rates": _hedis_rows(rates),
            "drop_rows": drop_rows,
            "drop_total": len(dropping),
            "no_contact": [(row, _query(scope, worker=row.worker_id)) for row in no_contact],
            "programme": programme,
            "programme_pct": {
                "police_backup": pct(programme.police_backup.share),
                "arrests": pct(programme.arrests.share),
                "er_diversions": pct(programme.er_diversions.share),
            },
            "sources": _with_pct(programme.by_source),
            "dispositions": _with_pct(programme.dispositions),
            "diversion_declined": sum(
                b.count for b in programme.dispositions if b.key == Disposition.DECLINED
            ),
            "trend": trend,
            "trend_svg": trend_svg(trend, link=lambda w: _week_link(scope, w)),
            "plans": plans,
            "plan_windows": _plan_windows(plans, drill),
            "plans_pct": {
                "reviews": pct(plans.reviews.share),
                "means": pct(plans.means.share),
                "crisis": pct(plans.crisis.share),
            },
            "qs": _query(scope),
            "drill": drill,
        },
    )


def _plan_windows(plans, drill) -> list[dict]:
    """The 24- and 72-hour windows of a safety plan after a high-risk screen, each with
    its rate and the drill-downs of its made, missed and pending screens."""
    return [
        {
            "w": w,
            "pct": pct(w.rate),
            **{name: drill[f"plans_{w.hours}h_{name}"] for name in ("made", "missed", "pending")},
        }
        for w in (plans.screens.within_24h, plans.screens.within_72h)
    ]


# The drill-downs every row of counts links to: reversed once for the page, not once per
# link (a statewide agency's page has thousands).
DRILLED_COUNTS = [
    "due",
    "done_within_window",
    "completed_late",
    "overdue",
    "missed",
    "not_yet_due",
    "cancelled",
    "steps_done_within_window",
    "steps_due",
]


def _drilldown_urls() -> dict[str, str]:
    urls = {
        name: reverse("metrics:drilldown", args=[f"followups-{name}"]) for name in DRILLED_COUNTS
    }
    for days in (14, 30):
        urls[f"no_contact_{days}"] = reverse("metrics:drilldown", args=[f"no-contact-{days}"])
    for key in PLAN_KEYS:
        urls[f"plans_{key.replace('-', '_')}"] = reverse("metrics:drilldown", args=[f"plans-{key}"])
    return urls


def pct(value) -> str:
    return "—" if value is None else f"{value:.0%}"


def _with_pct(buckets) -> list[tuple]:
    """(bucket, its share as a percentage) pairs, as the page shows them."""
    return [(b, pct(b.share)) for b in buckets]


def _drop_off_rows(scope, shown) -> list[dict]:
    """The drop-off rows `shown`, each with its case (client and worker joined, in one
    query); a row whose case is not the agency's is left out."""
    cases = Case.objects.filter(
        agency_id=scope.agency_id, pk__in=[r.case_id for r in shown]
    ).select_related("client", "assigned_worker")
    by_pk = {c.pk: c for c in cases}
    return [{"row": r, "case": by_pk[r.case_id]} for r in shown if r.case_id in by_pk]


def _hedis_rows(rates) -> list[dict]:
    """One row per measure in `rates`, with its 7- and 30-day windows; each window names
    the drill-downs of its hit, missed and pending visits (e.g. `fum-7-hit`)."""
    return [
        {
            "key": key,
            "name": HEDIS_NAMES[key],
            "rates": r,
            "windows": [
                {
                    "days": w.days,
                    "w": w,
                    "pct": pct(w.rate),
                    **{b: f"{key}-{w.days}-{b}" for b in ("hit", "missed", "pending")},
                }
                for w in (r.seven_day, r.thirty_day)
            ],
        }
        for key, r in rates.items()
    ]


def _row(label, counts, qs) -> dict:
    return {
        "label": label,
        "counts": counts,
        "qs": qs,
        "fidelity": pct(counts.fidelity),
        "within": pct(counts.within_window_rate),
    }


def _week_link(scope, week):
    url = reverse("metrics:drilldown", args=["followups-due"])
    query = _query(scope, start=week.week_start.isoformat(), end=week.week_end.isoformat())
    return f"{url}?{query}"


# --- Drill-down ---------------------------------------------------------------------------


# What each drill-down lists, as its title says.
FOLLOWUP_TITLES = {
    "due": gettext_noop("Follow-ups: due"),
    "done_within_window": gettext_noop("Follow-ups: done within window"),
    "completed_late": gettext_noop("Follow-ups: completed late"),
    "overdue": gettext_noop("Follow-ups: overdue"),
    "missed": gettext_noop("Follow-ups: missed"),
    "not_yet_due": gettext_noop("Follow-ups: not yet due"),
    "cancelled": gettext_noop("Follow-ups: cancelled"),
    "steps_due": gettext_noop("Follow-ups: steps due"),
    "steps_done_within_window": gettext_noop("Follow-ups: steps done within window"),
}
HEDIS_BUCKET_NAMES = {
    "denominator": gettext_noop("denominator"),
    "7-hit": gettext_noop("7 hit"),
    "7-pending": gettext_noop("7 pending"),
    "7-missed": gettext_noop("7 missed"),
    "30-hit": gettext_noop("30 hit"),
    "30-pending": gettext_noop("30 pending"),
    "30-missed": gettext_noop("30 missed"),
    "excluded-admitted": gettext_noop("excluded admitted"),
    "excluded-repeat": gettext_noop("excluded repeat"),
    "excluded-age": gettext_noop("excluded age"),
}
CONTACT_TITLES = {
    "all": gettext_noop("Crisis contacts: all"),
    "police-backup": gettext_noop("Crisis contacts: police backup"),
    "arrests": gettext_noop("Crisis contacts: arrests"),
    "er-diversions": gettext_noop("Crisis contacts: er diversions"),
}


def _drilldown_ids(what, scope):
    """(kind, title, ids) for `what`, or None when it names nothing."""
    period = scope.period()
    group, _sep, rest = what.partition("-")
    if group == "followups" and rest in COUNT_NAMES:
        ids = compliance_ids(name=rest, **scope.filters(), **period)
        return "followup", _(FOLLOWUP_TITLES[rest]), ids
    if group in MEASURES and rest in HEDIS_BUCKETS:
        rates = hedis_rates(**scope.filters(), **period, measure=group)
        return (
            "visit",
            _("%(measure)s ER visits: %(what)s")
            % {"measure": group.upper(), "what": _(HEDIS_BUCKET_NAMES[rest])},
            (HEDIS_BUCKETS[rest](rates)),
        )
    if group == "contacts":
        figures = programme_figures(
            agency_id=scope.agency_id, teams=scope.teams, zone=scope.zone, **period
        )
        fixed = {
            "all": figures.contact_ids,
            "police-backup": figures.police_backup.ids,
            "arrests": figures.arrests.ids,
            "er-diversions": figures.er_diversions.ids,
        }
        if rest in fixed:
            return "contact", _(CONTACT_TITLES[rest]), fixed[rest]
        for prefix, buckets in (
            ("source-", figures.by_source),
            ("disposition-", figures.dispositions),
        ):
            for bucket in buckets:
                if rest == prefix + bucket.key:
                    title = _("Crisis contacts: %(what)s") % {"what": bucket.label}
                    return "contact", title, bucket.ids
        return "contact", _("Crisis contacts"), []
    if what in ("no-contact-14", "no-contact-30"):
        days = int(what.rsplit("-", 1)[1])
        rows = no_contact_workers(**scope.filters())
        ids = sorted(i for r in rows for i in getattr(r, f"case_ids_{days}"))
        title = _("Open cases without contact for %(days)s days or more") % {"days": days}
        return "case", title, ids
    if what == "drop-off":
        rows = drop_off(**scope.filters())
        return "case", _("Clients at risk of dropping off"), [r.case_id for r in rows]
    return None


DRILLDOWN_MODELS = {
    "followup": (FollowUp, ("case__client", "case__assigned_worker", "assigned_to")),
    "visit": (HospitalVisit, ("case__client", "case__assigned_worker")),
    "contact": (Contact, ("case__client", "case__assigned_worker")),
    "case": (Case, ("client", "assigned_worker")),
}


# The audit row's object type of each kind of row of the plans' drill-downs.
PLAN_OBJECT_TYPES = {
    "screen": "contact",
    "followup": "followup",
    "case": "case",
    "crisis": "crisisplan",
}


def _plan_drilldown(request, scope, what):
    """The rows behind the plans' figure `what` ("plans-<key>", metrics.plans.KEYS), a
    page at a time from the figure's own query, each with its case, client and worker."""
    now = timezone.now()
    found = plan_rows(what.removeprefix("plans-"), **scope.filters(), **scope.period(), now=now)
    if found is None:
        raise Http404(_("No such figure."))
    kind, rows = found
    page = Paginator(rows, DRILLDOWN_PAGE_SIZE).get_page(request.GET.get("page"))
    items = list(page.object_list)
    cases = [item if kind == "case" else item.case for item in items]
    record_list(
        request=request,
        object_type=PLAN_OBJECT_TYPES[kind],
        objects=items,
        client_ids=[case.client_id for case in cases],
        detail={"page": "metrics_drilldown", "metric": what, **scope.audit_detail()},
    )
    return render(
        request,
        "metrics/plan_drilldown.html",
        {
            "scope": scope,
            "kind": kind,
            "title": _(PLAN_KEYS[what.removeprefix("plans-")].title),
            "rows": list(zip(items, cases, strict=True)),
            "page": page,
            "total": page.paginator.count,
            "qs": _query(scope),
            "now": now,
        },
    )


@login_required
@require_GET
def drilldown(request, what):
    scope, _rest = _page_scope(request, "metrics_drilldown")
    if what.startswith("plans-"):
        return _plan_drilldown(request, scope, what)
    found = _drilldown_ids(what, scope)
    if found is None:
        raise Http404(_("No such figure."))
    kind, title, ids = found
    page = Paginator(ids, DRILLDOWN_PAGE_SIZE).get_page(request.GET.get("page"))
    model, related = DRILLDOWN_MODELS[kind]
    # The ids come from agency-scoped queries; the agency filter here is a second lock.
    objects = model.objects.filter(agency_id=scope.agency_id, pk__in=list(page.object_list))
    by_pk = {o.pk: o for o in objects.select_related(*related)}
    items = [by_pk[pk] for pk in page.object_list if pk in by_pk]
    record_list(
        request=request,
        object_type=model._meta.model_name,
        objects=items,
        client_ids=[o.client_id if kind == "case" else o.case.client_id for o in items],
        detail={"page": "metrics_drilldown", "metric": what, **scope.audit_detail()},
    )
    return render(
        request,
        "metrics/drilldown.html",
        {
            "scope": scope,
            "kind": kind,
            "title": title,
            "items": items,
            "page": page,
            "total": len(ids),
            "qs": _query(scope),
        },
    )


# --- The response measures ----------------------------------------------------------------

RESPONSE_REFUSAL = gettext_lazy("This page is for supervisors, agency admins and dispatchers.")
REQUESTS_PAGE_SIZE = 50


def _response_scope(request, page) -> tuple[dict, ResponsePeriodForm]:
    """(the arguments of response_measures, the form) for the request's period; a period
    that is not valid shows the default one, with the form's errors."""
    require_response_access(request, page, RESPONSE_REFUSAL)
    user = request.user
    today = user.agency.today()
    form = ResponsePeriodForm(request.GET or None, today=today)
    if form.is_bound and form.is_valid():
        start, end = form.cleaned_data["start"], form.cleaned_data["end"]
    else:
        start, end = response_period(None, None, today)
    scope = {
        "agency_id": user.agency_id,
        "start": start,
        "end": end,
        "zone": zone_of(user.agency),
        "targets": agency_targets(user.agency_id),
    }
    return scope, form


def _minutes(duration) -> float | None:
    return None if duration is None else round(duration.total_seconds() / 60, 1)


def _period_query(scope) -> str:
    return urlencode({"start": scope["start"].isoformat(), "end": scope["end"].isoformat()})


def _audit_period(page, scope, **detail):
    filters = {"start": scope["start"].isoformat(), "end": scope["end"].isoformat()}
    return {"page": page, "filters": filters, **detail}


@login_required
@require_GET
def response_page(request):
    scope, form = _response_scope(request, "metrics_response")
    measures = response_measures(**scope)
    record(
        request=request,
        action=Action.LIST,
        object_type="metrics_response",
        detail=_audit_period("metrics_response", scope, requests=measures.requests),
    )
    return render(
        request,
        "metrics/response.html",
        {
            "m": measures,
            "form": form,
            "qs": _period_query(scope),
            # Every count links to its requests: the URL's stem reversed once, not once
            # per link (the hour × weekday table alone has 168).
            "drill": reverse("metrics:response_requests", args=["all"]).removesuffix("all/"),
        },
    )


@login_required
@require_GET
def response_requests(request, what):
    scope, _rest = _response_scope(request, "metrics_response_requests")
    found = requests_behind(what, **scope)
    if found is None:
        raise Http404(_("No such figure."))
    title, requests = found
    rows = requests.order_by("-received_at", "-pk").only(
        "pk",
        "received_at",
        "priority",
        "reason",
        "source",
        "status",
        "not_served_reason",
        "on_scene_at",
        "client_id",
    )
    page = Paginator(rows, REQUESTS_PAGE_SIZE).get_page(request.GET.get("page"))
    items = list(page.object_list)
    record_list(
        request=request,
        object_type="teamrequest",
        objects=items,
        client_ids=[r.client_id for r in items if r.client_id],
        detail=_audit_period("metrics_response_requests", scope, metric=what),
    )
    return render(
        request,
        "metrics/response_requests.html",
        {
            "title": title,
            "rows": [(r, _minutes(r.response_time)) for r in items],
            "page": page,
            "total": page.paginator.count,
            "start": scope["start"],
            "end": scope["end"],
            "qs": _period_query(scope),
        },
    )
