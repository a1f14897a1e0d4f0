"""The crisis response plan's pages: writing a draft on a case, reading the plan, and the
workflow's moves (submit, return, approve, review, withdraw)."""

from collections.abc import Callable
from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import User
from audit.models import Action
from audit.services import record as audit
from cases.access import get_case_for_user, get_client_for_user
from cases.models import Case, Client
from core.forms import add_error
from plans import services
from plans.access import get_crisis_plan_for_user
from plans.exceptions import NotPermitted, PlanError
from plans.forms.crisis import CrisisPlanForm, ReturnPlanForm
from plans.models import PENDING_STATUSES, CrisisPlan, CrisisPlanStatus
from plans.services.crisis import MAX_CONTACTS, TEXT_FIELDS

# The moves without a field of their own: each a button on the plan's page.
MOVES: dict[str, Callable[..., CrisisPlan]] = {
    "submit": services.submit_crisis_plan,
    "approve": services.approve_crisis_plan,
    "review": services.review_crisis_plan,
    "withdraw": services.withdraw_crisis_plan,
}


def _done(action: str) -> str:
    return {
        "submit": _("Sent for approval."),
        "return": _("Returned to its author with your note."),
        "approve": _("Approved: the team sees this plan from now on."),
        "review": _("Marked reviewed: still right."),
        "withdraw": _("Withdrawn: the team no longer sees it."),
    }[action]


@login_required
@require_http_methods(["GET", "POST"])
def crisis_plan_edit(request, case_id):
    """Write the next version on an open case: the draft being written, else a copy of
    the approved version to change. Saved as a draft; sent for approval from the plan's
    page."""
    case = get_case_for_user(request, case_id, write=True, audit_read=request.method == "GET")
    client = case.client
    approved, pending = _approved_and_pending(
        list(
            CrisisPlan.objects.filter(
                client_id=client.pk, status__in=(CrisisPlanStatus.APPROVED, *PENDING_STATUSES)
            )
        )
    )
    if request.method == "GET" and (refusal := _not_writable_now(case, pending)):
        # A POST is left to the service, which refuses it with the text typed kept.
        messages.error(request, refusal)
        return redirect("plans:crisis_plan", client.pk)
    form = _form(request, pending or approved)
    status = 200
    if request.method == "POST" and form.is_valid():
        status = _save_draft(request, case, form)
        if status == 302:
            messages.success(request, _("Draft saved. Send it for approval when it is ready."))
            return redirect("plans:crisis_plan", client.pk)
    return render(
        request,
        "plans/crisis_plan_form.html",
        {
            "case": case,
            "client": client,
            "form": form,
            "contacts": form.contacts,
            "max_contacts": MAX_CONTACTS,
            "pending": pending,
            "approved": approved,
        },
        status=status,
    )


def _form(request: HttpRequest, source: CrisisPlan | None) -> CrisisPlanForm:
    """The form, started from `source` (the draft, else the approved version: its read
    is audited)."""
    if source is None:
        return CrisisPlanForm(request.POST or None)
    if request.method == "GET":
        audit(request=request, action=Action.VIEW, obj=source, detail={"page": "crisis plan form"})
    return CrisisPlanForm(
        request.POST or None,
        initial={name: getattr(source, name) for name in TEXT_FIELDS},
        contacts=list(source.contacts),
    )


def _save_draft(request: HttpRequest, case: Case, form: CrisisPlanForm) -> int:
    """Save the form's draft: 302 when saved, else the status of the form shown again
    with the service's refusal on it."""
    user = cast(User, request.user)  # login_required
    try:
        services.save_crisis_plan(actor=user, case=case, content=form.content(), request=request)
    except NotPermitted as exc:
        form.add_error(None, str(exc))
        return 403
    except PlanError as exc:
        add_error(exc, form)
        return 200
    return 302


def _not_writable_now(case: Case, pending: CrisisPlan | None) -> str:
    """Why no version can be written on `case` now, as the service would say it."""
    if not case.is_open:
        return _("This case is closed: write the plan on the client's open case.")
    if pending is not None and pending.status == CrisisPlanStatus.SUBMITTED:
        return _("The plan is waiting for approval: it can be changed once it is returned.")
    return ""


@login_required
@require_GET
def crisis_plan_detail(request, client_id):
    client = get_client_for_user(request, client_id, audit_read=False)
    return _plan_page(request, client)


@login_required
@require_POST
def crisis_plan_act(request, pk, action):
    """One move of the workflow (MOVES, or `return` with a note), then back to the plan's
    page. A refusal of the rules (NotPermitted) answers 403; a plan that cannot move now
    says why on the page."""
    if action not in MOVES and action != "return":
        raise Http404
    plan = get_crisis_plan_for_user(request, pk, audit_read=False)
    form = ReturnPlanForm(request.POST) if action == "return" else None
    try:
        if form is None:
            MOVES[action](actor=request.user, plan=plan, request=request)
        elif form.is_valid():
            services.return_crisis_plan(
                actor=request.user, plan=plan, note=form.cleaned_data["note"], request=request
            )
        else:
            return _plan_page(request, plan.client, return_form=form, status=400)
    except NotPermitted as exc:
        audit(
            request=request,
            action=Action.DENIED,
            obj=plan,
            detail={"reason": "not permitted", "move": action},
        )
        raise PermissionDenied(str(exc)) from exc
    except PlanError as exc:
        if form is not None and exc.field == "note":
            add_error(exc, form)
            return _plan_page(request, plan.client, return_form=form, status=400)
        messages.error(request, str(exc))
    else:
        messages.success(request, _done(action))
    return redirect("plans:crisis_plan", plan.client_id)


def _moves(user: User, plan: CrisisPlan | None, writable_case_ids: set[int]) -> dict[str, Any]:
    """What `user` may do to `plan` (the services decide again): a worker of its case
    submits and withdraws a pending version, a supervisor of its team who is not its
    author returns, approves and reviews it, and withdraws the approved one."""
    if plan is None:
        return {}
    on_case = plan.case_id in writable_case_ids
    supervisor = on_case and user.is_supervisor
    approver = supervisor and not plan.written_by(user)
    pending = plan.status in PENDING_STATUSES
    return {
        "submit": on_case and plan.status == CrisisPlanStatus.DRAFT,
        "approve": approver and plan.status == CrisisPlanStatus.SUBMITTED,
        "review": approver and plan.status == CrisisPlanStatus.APPROVED,
        "withdraw": (on_case and pending) or (supervisor and not pending),
        # Why a supervisor sees no Approve or Review button on a plan they wrote.
        "own_plan": supervisor
        and not approver
        and plan.status in (CrisisPlanStatus.SUBMITTED, CrisisPlanStatus.APPROVED),
    }


def _approved_and_pending(
    versions: list[CrisisPlan],
) -> tuple[CrisisPlan | None, CrisisPlan | None]:
    approved = next((p for p in versions if p.status == CrisisPlanStatus.APPROVED), None)
    pending = next((p for p in versions if p.status in PENDING_STATUSES), None)
    return approved, pending


def _writable_ids(writable: Any, plans: tuple[CrisisPlan | None, ...]) -> set[int]:
    """The ids of the shown plans' cases that the user may change (one query, or none)."""
    shown = {p.case_id for p in plans if p is not None}
    return set(writable.filter(pk__in=shown).values_list("pk", flat=True)) if shown else set()


def _approved_days(agency: Any, approved: CrisisPlan | None) -> dict[str, Any]:
    """The approved version's approval and review dates as the agency's days."""
    if agency is None or approved is None:
        return {"approved_day": None, "review_day": None}
    return {
        "approved_day": agency.day_of(approved.approved_at) if approved.approved_at else None,
        "review_day": agency.day_of(approved.review_due_at) if approved.review_due_at else None,
    }


def _plan_page(
    request: HttpRequest,
    client: Client,
    *,
    return_form: ReturnPlanForm | None = None,
    status: int = 200,
) -> HttpResponse:
    """The client's crisis response plan: the approved version, the one being written or
    waiting for approval, and every earlier version; one audit row names them all."""
    user = cast(User, request.user)  # login_required
    versions = list(
        CrisisPlan.objects.filter(client_id=client.pk)
        .select_related("agency", "case", "author", "approved_by", "reviewed_by", "ended_by")
        .prefetch_related("editors")
    )
    approved, pending = _approved_and_pending(versions)
    writable = Case.objects.writable_by(user)
    writable_ids = _writable_ids(writable, (approved, pending))
    # Where a new version is written: the client's open case the user may change.
    write_case = writable.open().filter(client_id=client.pk).order_by("-opened_at").first()
    audit(
        request=request,
        action=Action.VIEW,
        obj=approved or pending or next(iter(versions), None) or client,
        client_id=client.pk,
        detail={"page": "crisis plan", "crisis_plan_ids": [p.pk for p in versions]},
    )
    agency = versions[0].agency if versions else None
    return render(
        request,
        "plans/crisis_plan_detail.html",
        {
            "client": client,
            "approved": approved,
            "pending": pending,
            "history": [p for p in versions if p not in (approved, pending)],
            "approved_moves": _moves(user, approved, writable_ids),
            "pending_moves": _moves(user, pending, writable_ids),
            "write_case": write_case,
            **_approved_days(agency, approved),
            "return_form": return_form or ReturnPlanForm(),
        },
        status=status,
    )
