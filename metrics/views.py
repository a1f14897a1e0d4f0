"""The supervisor's compliance page and its drill-downs.

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
from django.views.decorators.http import require_GET

from accounts.models import Role, Team, User
from audit.services import record_list, refuse
from cases.access import record_denied
from cases.models import Case, Contact, Disposition
from followups.models import FollowUp, HospitalVisit
from metrics.charts import trend_svg
from metrics.compliance import (
    COUNT_NAMES,
    compliance,
    compliance_ids,
    drop_off,
    no_contact_workers,
)
from metrics.forms import MetricsFilterForm, default_filters, scope_teams
from metrics.hedis import MEASURES, hedis_rates
from metrics.programme import programme_figures, weekly_trend

HEDIS_NAMES = {
    "fum": "After an ER visit for mental health or self-harm (FUM, ages 6+)",
    "fua": "After an ER visit for substance use or overdose (FUA, ages 13+)",
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


def _require_access(request, page):
    user = request.user
    if user.role not in (Role.SUPERVISOR, Role.AGENCY_ADMIN) or not user.agency_id:
        refuse(request, page, "This page is for supervisors and agency admins.")


class Scope:
    """What the request asks to see, within what the user may see."""

    def __init__(self, request):
        user = request.user
        self.agency_id = user.agency_id
        self.today = user.agency.today()
        self.form = MetricsFilterForm(request.GET or None, user=user, today=self.today)
        if self.form.is_bound and self.form.is_valid():
            filters = self.form.filters()
        else:
            filters = default_filters(self.today)
            self.audit_refused(request)
        self.start, self.end = filters["start"], filters["end"]
        self.team, self.worker = filters["team"], filters["worker"]
        if self.team is not None:
            self.teams = [self.team.pk]
        elif user.role == Role.AGENCY_ADMIN:
            self.teams = None  # the whole agency, cases without a team included
        else:
            self.teams = list(scope_teams(user).values_list("pk", flat=True))
        self.worker_id = self.worker.pk if self.worker else None

    def audit_refused(self, request):
        """A team or worker outside the user's scope (another supervisor's, another
        agency's) shows as an unknown choice; its trace goes in the trail."""
        for name, model in (("team", Team), ("worker", User)):
            if self.form.is_bound and self.form.has_error(name, "invalid_choice"):
                value = self.form[name].value()
                record_denied(request, model, value, "outside metrics scope", page="metrics")

    def query(self, **overrides) -> str:
        params = {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "team": self.team.pk if self.team else "",
            "worker": self.worker_id or "",
        }
        params.update(overrides)
        return urlencode({k: v for k, v in params.items() if v not in ("", None)})

    def audit_detail(self) -> dict:
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "teams": self.teams,
            "worker": self.worker_id,
        }


@login_required
@require_GET
def compliance_page(request):
    _require_access(request, "metrics_compliance")
    scope = Scope(request)
    kw = {"agency_id": scope.agency_id, "teams": scope.teams}
    period = {"start": scope.start, "end": scope.end}
    report = compliance(**kw, **period, worker=scope.worker_id)
    rates = {
        measure: hedis_rates(**kw, **period, measure=measure, worker=scope.worker_id)
        for measure in MEASURES
    }
    dropping = drop_off(**kw)
    no_contact = no_contact_workers(**kw)
    if scope.worker_id:
        dropping = [r for r in dropping if r.assigned_worker_id == scope.worker_id]
        no_contact = [r for r in no_contact if r.worker_id == scope.worker_id]
    programme = programme_figures(**kw, **period)
    trend = weekly_trend(**kw, worker=scope.worker_id, today=scope.today)

    shown = dropping[:DROP_OFF_SHOWN]
    cases = Case.objects.filter(
        agency_id=scope.agency_id, pk__in=[r.case_id for r in shown]
    ).select_related("client", "assigned_worker")
    by_pk = {c.pk: c for c in cases}
    drop_rows = [{"row": r, "case": by_pk[r.case_id]} for r in shown if r.case_id in by_pk]
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
            "form": scope.form,
            "report": report,
            "count_names": COUNT_NAMES,
            "totals": _row("All", report.totals, scope.query()),
            "team_rows": [
                _row(r.label, r.counts, scope.query(team=r.key or "")) for r in report.teams
            ],
            "worker_rows": [
                _row(r.label, r.counts, scope.query(worker=r.key)) for r in report.workers
            ],
            "rates": [
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
            ],
            "drop_rows": drop_rows,
            "drop_total": len(dropping),
            "no_contact": [(row, scope.query(worker=row.worker_id)) for row in no_contact],
            "programme": programme,
            "programme_pct": {
                "police_backup": pct(programme.police_backup.share),
                "arrests": pct(programme.arrests.share),
                "er_diversions": pct(programme.er_diversions.share),
            },
            "sources": [(b, pct(b.share)) for b in programme.by_source],
            "dispositions": [(b, pct(b.share)) for b in programme.dispositions],
            "diversion_declined": sum(
                b.count for b in programme.dispositions if b.key == Disposition.DECLINED
            ),
            "trend": trend,
            "trend_svg": trend_svg(trend, link=lambda w: _week_link(scope, w)),
            "qs": scope.query(),
        },
    )


def pct(value) -> str:
    return "—" if value is None else f"{value:.0%}"


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
    return f"{url}?{scope.query(start=week.week_start.isoformat(), end=week.week_end.isoformat())}"


# --- Drill-down ---------------------------------------------------------------------------


def _drilldown_ids(what, scope):
    """(kind, title, ids) for `what`, or None when it names nothing."""
    kw = {"agency_id": scope.agency_id, "teams": scope.teams}
    period = {"start": scope.start, "end": scope.end}
    group, _, rest = what.partition("-")
    if group == "followups" and rest in COUNT_NAMES:
        ids = compliance_ids(name=rest, **kw, **period, worker=scope.worker_id)
        return "followup", f"Follow-ups: {rest.replace('_', ' ')}", ids
    if group in MEASURES and rest in HEDIS_BUCKETS:
        rates = hedis_rates(**kw, **period, measure=group, worker=scope.worker_id)
        return (
            "visit",
            f"{group.upper()} ER visits: {rest.replace('-', ' ')}",
            (HEDIS_BUCKETS[rest](rates)),
        )
    if group == "contacts":
        figures = programme_figures(**kw, **period)
        fixed = {
            "all": figures.contact_ids,
            "police-backup": figures.police_backup.ids,
            "arrests": figures.arrests.ids,
            "er-diversions": figures.er_diversions.ids,
        }
        if rest in fixed:
            return "contact", f"Crisis contacts: {rest.replace('-', ' ')}", fixed[rest]
        for prefix, buckets in (
            ("source-", figures.by_source),
            ("disposition-", figures.dispositions),
        ):
            for bucket in buckets:
                if rest == prefix + bucket.key:
                    return "contact", f"Crisis contacts: {bucket.label}", bucket.ids
        return "contact", "Crisis contacts", []
    if what in ("no-contact-14", "no-contact-30"):
        days = int(what.rsplit("-", 1)[1])
        rows = no_contact_workers(**kw)
        if scope.worker_id:
            rows = [r for r in rows if r.worker_id == scope.worker_id]
        ids = sorted(i for r in rows for i in getattr(r, f"case_ids_{days}"))
        return "case", f"Open cases without contact for {days} days or more", ids
    if what == "drop-off":
        rows = drop_off(**kw)
        if scope.worker_id:
            rows = [r for r in rows if r.assigned_worker_id == scope.worker_id]
        return "case", "Clients at risk of dropping off", [r.case_id for r in rows]
    return None


DRILLDOWN_MODELS = {
    "followup": (FollowUp, ("case__client", "case__assigned_worker", "assigned_to")),
    "visit": (HospitalVisit, ("case__client", "case__assigned_worker")),
    "contact": (Contact, ("case__client", "case__assigned_worker")),
    "case": (Case, ("client", "assigned_worker")),
}


@login_required
@require_GET
def drilldown(request, what):
    _require_access(request, "metrics_drilldown")
    scope = Scope(request)
    found = _drilldown_ids(what, scope)
    if found is None:
        raise Http404("No such figure.")
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
            "qs": scope.query(),
        },
    )
