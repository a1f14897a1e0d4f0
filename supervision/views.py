"""Pages for supervisors (their teams, reassignment, emergency-access review) and the
agency-wide case list shared with agency admins."""

import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import models
from django.db.models import BooleanField, Count, ExpressionWrapper, F, Q, When
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from accounts.models import Role
from audit.models import Action
from audit.services import record as audit
from audit.services import record_list, refuse
from cases import services
from cases.access import get_case_for_user
from cases.cssrs import RISK_ORDER, RiskLevel
from cases.models import Case, CaseStatus, EmergencyAccess
from core.exceptions import DomainError
from core.pagination import DeferredJoinPaginator
from plans.models import CrisisPlan, CrisisPlanStatus
from supervision.forms import (
    CaseListFilterForm,
    EmergencyAccessReviewForm,
    ReassignCaseForm,
    ReassignCaseloadForm,
    TeamFilterForm,
    movable_cases,
    team_members,
)

CASE_LIST_PAGE_SIZE = 25
# The team page's crisis response plans: reviews due within this many agency days are
# listed before they fall due; each list shows at most CRISIS_PLAN_ROWS, oldest first.
CRISIS_PLAN_REVIEW_SOON_DAYS = 14
CRISIS_PLAN_ROWS = 50
EMERGENCY_ACCESS_PAGE_SIZE = 50

# Highest risk first, then the longest without contact (never contacted first).
RISK_RANK = models.Case(
    *[When(risk_level=level, then=rank) for level, rank in RISK_ORDER.items()],
    default=0,
    output_field=models.IntegerField(),
)


def _require_supervisor(request, page):
    if request.user.role != Role.SUPERVISOR or not request.user.agency_id:
        refuse(request, page, _("This page is for supervisors."))


def _filters_of(request):
    """The filters asked for, as the audit row keeps them (values cut to a sane length)."""
    return {k[:40]: v[:200] for k, v in request.GET.items() if k != "page" and v}


def crisis_plans_to_act_on(user, team_ids: list[int]) -> dict[str, list[CrisisPlan]]:
    """The crisis response plans of the supervisor's teams (the team of the case each was
    written on) that wait for them: versions awaiting approval, longest waiting first
    (crisisplan_submitted_idx), and approved plans whose review is overdue or due within
    CRISIS_PLAN_REVIEW_SOON_DAYS of the agency's today, soonest first
    (crisisplan_review_idx). Two queries, none without a team."""
    if not team_ids:
        return {"awaiting": [], "review": []}
    agency = user.agency
    horizon = agency.midnight(
        agency.today() + datetime.timedelta(days=CRISIS_PLAN_REVIEW_SOON_DAYS + 1)
    )
    plans = CrisisPlan.objects.filter(
        agency_id=agency.pk, case__team_id__in=team_ids
    ).select_related("client", "author", "case__team")
    awaiting = plans.filter(status=CrisisPlanStatus.SUBMITTED).order_by("submitted_at", "pk")
    review = plans.approved().filter(review_due_at__lt=horizon).order_by("review_due_at", "pk")
    # Two queries, each searching its own partial index (an OR would use neither; a
    # UNION of limited branches is refused by SQLite, the embedded default).
    return {
        "awaiting": list(awaiting[:CRISIS_PLAN_ROWS]),
        "review": list(review[:CRISIS_PLAN_ROWS]),
    }


@login_required
def team(request):
    _require_supervisor(request, "supervision_team")
    user = request.user
    teams = list(user.supervised_teams.order_by("name"))
    form = TeamFilterForm(request.GET or None, supervisor=user)
    worker = form.cleaned_data.get("worker") if form.is_valid() else None

    open_high = Q(assigned_cases__status=CaseStatus.OPEN, assigned_cases__risk_level=RiskLevel.HIGH)
    members = list(
        team_members(user)
        .annotate(
            open_case_count=Count(
                "assigned_cases", filter=Q(assigned_cases__status=CaseStatus.OPEN)
            ),
            high_risk_count=Count("assigned_cases", filter=open_high),
        )
        .order_by("first_name", "last_name", "username")
    )
    team_cases = Case.objects.visible_to(user).open().filter(team__in=teams)
    totals = {
        row["team"]: row
        for row in team_cases.order_by()
        .values("team")
        .annotate(open=Count("pk"), high=Count("pk", filter=Q(risk_level=RiskLevel.HIGH)))
    }
    cases = (
        team_cases.select_related("client", "assigned_worker")
        .annotate(risk_rank=RISK_RANK)
        .order_by("-risk_rank", F("last_contact_at").asc(nulls_first=True), "pk")
    )
    if worker is not None:
        cases = cases.filter(assigned_worker=worker)
    cases = list(cases)

    rows = [
        {
            "team": t,
            "open_count": totals.get(t.pk, {}).get("open", 0),
            "high_risk_count": totals.get(t.pk, {}).get("high", 0),
            "members": [m for m in members if m.team_id == t.pk],
            "cases": [c for c in cases if c.team_id == t.pk],
        }
        for t in teams
    ]
    unreviewed = (
        EmergencyAccess.objects.for_supervisor(user).filter(reviewed_at__isnull=True).count()
    )
    crisis_plans = crisis_plans_to_act_on(user, [t.pk for t in teams])
    shown_plans = crisis_plans["awaiting"] + crisis_plans["review"]
    if shown_plans:
        record_list(
            request=request,
            object_type="crisisplan",
            objects=shown_plans,
            client_ids=[p.client_id for p in shown_plans],
            detail={"page": "supervision_team"},
        )
    record_list(
        request=request,
        object_type="case",
        objects=cases,
        client_ids=[c.client_id for c in cases],
        detail={"page": "supervision_team", "filters": _filters_of(request)},
    )
    return render(
        request,
        "supervision/team.html",
        {
            "rows": rows,
            "form": form,
            "worker": worker,
            "unreviewed_count": unreviewed,
            "crisis_plans": crisis_plans,
            "review_soon_days": CRISIS_PLAN_REVIEW_SOON_DAYS,
        },
    )


@login_required
def reassign_case(request, pk):
    case = get_case_for_user(request, pk, write=True)
    if not services.can_reassign(request.user, case):
        audit(
            request=request,
            action=Action.DENIED,
            obj=case,
            detail={"reason": "not a supervisor of this case's team"},
        )
        raise PermissionDenied(_("Only a supervisor of this case's team can reassign it."))
    form = ReassignCaseForm(request.POST or None, supervisor=request.user, case=case)
    if request.method == "POST" and form.is_valid():
        to_worker = form.cleaned_data["to_worker"]
        try:
            services.reassign_case(
                actor=request.user, case=case, to_worker=to_worker, request=request
            )
        except DomainError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("Case reassigned to %(worker)s.") % {"worker": to_worker})
            return redirect("casework:case_detail", pk=case.pk)
    return render(request, "supervision/case_reassign.html", {"case": case, "form": form})


@login_required
def reassign_caseload(request):
    _require_supervisor(request, "reassign_caseload")
    user = request.user
    form = ReassignCaseloadForm(request.POST or None, supervisor=user)
    if request.method == "POST" and form.is_valid():
        from_worker = form.cleaned_data["from_worker"]
        to_worker = form.cleaned_data["to_worker"]
        if not request.POST.get("confirm"):
            return render(
                request,
                "supervision/caseload_reassign_confirm.html",
                {
                    "form": form,
                    "from_worker": from_worker,
                    "to_worker": to_worker,
                    "count": movable_cases(user, from_worker).count(),
                },
            )
        try:
            moved = services.reassign_caseload(
                actor=user, from_worker=from_worker, to_worker=to_worker, request=request
            )
        except DomainError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request,
                ngettext(
                    "%(count)d case moved from %(from_worker)s to %(to_worker)s.",
                    "%(count)d cases moved from %(from_worker)s to %(to_worker)s.",
                    moved,
                )
                % {"count": moved, "from_worker": from_worker, "to_worker": to_worker},
            )
            return redirect("supervision:team")
    return render(request, "supervision/caseload_reassign.html", {"form": form})


def _emergency_accesses(user):
    return (
        EmergencyAccess.objects.for_supervisor(user)
        .select_related("user", "case__client", "case__team", "reviewed_by")
        .annotate(
            is_reviewed=ExpressionWrapper(Q(reviewed_at__isnull=False), output_field=BooleanField())
        )
        .order_by("is_reviewed", "-granted_at", "-pk")
    )


@login_required
def emergency_access(request):
    _require_supervisor(request, "emergency_access_review")
    user = request.user
    page = Paginator(_emergency_accesses(user), EMERGENCY_ACCESS_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    grants = list(page.object_list)
    record_list(
        request=request,
        object_type="emergencyaccess",
        objects=grants,
        client_ids=[g.case.client_id for g in grants],
        detail={"page": "supervision_emergency_access"},
    )
    return render(
        request,
        "supervision/emergencyaccess_list.html",
        {
            "page": page,
            "grants": grants,
            "supervised_team_ids": set(user.supervised_teams.values_list("pk", flat=True)),
            "review_form": EmergencyAccessReviewForm(),
        },
    )


@login_required
@require_POST
def emergency_access_review(request, pk):
    _require_supervisor(request, "emergency_access_review")
    user = request.user
    grant = _emergency_accesses(user).filter(pk=pk).first()
    if grant is None:
        audit(
            request=request,
            action=Action.DENIED,
            object_type="emergencyaccess",
            object_id=pk,
            detail={"reason": "not visible"},
        )
        raise Http404(_("No emergency access found."))
    form = EmergencyAccessReviewForm(request.POST)
    error = None
    if form.is_valid():
        try:
            grant = services.review_emergency_access(
                actor=user, grant=grant, note=form.cleaned_data["note"], request=request
            )
        except DomainError as exc:
            error = str(exc)
    else:
        error = " ".join(e for errors in form.errors.values() for e in errors)

    if request.htmx:
        grant = _emergency_accesses(user).get(pk=grant.pk)
        return render(
            request,
            "supervision/_emergencyaccess_card.html",
            {
                "grant": grant,
                "error": error,
                "review_form": form if error else EmergencyAccessReviewForm(),
                "supervised_team_ids": set(user.supervised_teams.values_list("pk", flat=True)),
            },
        )
    if error:
        messages.error(request, error)
    else:
        messages.success(
            request, _("Emergency access by %(user)s marked reviewed.") % {"user": grant.user}
        )
    return redirect("supervision:emergency_access")


@login_required
def case_list(request):
    user = request.user
    if user.role not in (Role.SUPERVISOR, Role.AGENCY_ADMIN) or not user.agency_id:
        refuse(request, "case_list", _("This page is for supervisors and agency admins."))
    form = CaseListFilterForm(request.GET or None, user=user)
    cases = Case.objects.visible_to(user).select_related("client", "assigned_worker", "team")
    if form.is_bound:
        cases = form.filter(cases) if form.is_valid() else cases.none()
    page = DeferredJoinPaginator(cases.order_by("-opened_at", "-pk"), CASE_LIST_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    shown = list(page.object_list)
    record_list(
        request=request,
        object_type="case",
        objects=shown,
        client_ids=[c.client_id for c in shown],
        detail={"page": "case_list", "filters": _filters_of(request), "page_number": page.number},
    )
    return render(
        request,
        "supervision/case_list.html",
        {"form": form, "page": page, "cases": shown},
    )
