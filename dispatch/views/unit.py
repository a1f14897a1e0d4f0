"""The team's phone: going on shift, and on shift the unit's request with its hazards,
the one tap to the next step, the check-in, SOS, sharing the position, and recording the
contact once back in service. It refreshes its panel when told of a change
(dispatch.live).

When the unit is sent to a person with an approved crisis response plan, the phone shows
it, and each time it is sent to the phone an audit row names it. The panel refreshes every
few seconds: the phone names the plan it already shows (`shown`, the key of the
assignment, the version and whether its review is overdue), and a refresh that would send
the same plan again keeps the one on screen (hx-preserve) instead of sending and auditing
it anew."""

from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from audit.models import Action
from audit.services import record as audit
from core.exceptions import DomainError
from dispatch import live, services
from dispatch.forms import NotServedForm, PositionForm, StartShiftForm, StepForm
from dispatch.models import (
    Assignment,
    NotServedReason,
    RequestStatus,
    ShiftMember,
    Step,
    TeamRequest,
    Unit,
)
from dispatch.services import safety
from dispatch.views.common import attempt
from plans.models import CrisisPlan

# What the team may close a request with from the phone, before it is on scene.
TEAM_NOT_SERVED = [
    NotServedReason.NO_ONE_FOUND,
    NotServedReason.DECLINED,
    NotServedReason.CANCELLED_BEFORE_ARRIVAL,
]


def _membership(user) -> ShiftMember | None:
    """The user's place on a unit's open shift, with the unit."""
    return (
        ShiftMember.objects.filter(user=user, shift__ended_at__isnull=True)
        .select_related("shift__unit__agency")
        .first()
    )


def approved_crisis_plan(team_request: TeamRequest | None) -> CrisisPlan | None:
    """The approved crisis response plan of the person a request is for, if the request
    names one and they have one (crisisplan_one_approved: one row at most)."""
    if team_request is None or team_request.client_id is None:
        return None
    return (
        CrisisPlan.objects.approved()
        .filter(client_id=team_request.client_id, agency_id=team_request.agency_id)
        .first()
    )


def _crisis_plan_context(request, assignment: Assignment | None, shown: str) -> dict:
    """The plan of the unit's request for the panel: sent (and audited) unless the phone
    already shows this very one (`shown`, its key)."""
    plan = approved_crisis_plan(assignment.request if assignment else None)
    if assignment is None or plan is None:
        return {"crisis_plan": None, "crisis_plan_key": "", "crisis_plan_sent": False}
    key = f"{assignment.pk}-{plan.pk}-{int(plan.is_review_overdue())}"
    sent = shown != key
    if sent:
        audit(
            request=request,
            action=Action.VIEW,
            obj=plan,
            detail={"where": "unit phone", "assignment_id": assignment.pk},
        )
    return {"crisis_plan": plan, "crisis_plan_key": key, "crisis_plan_sent": sent}


def _unit_context(request, *, shown: str = "") -> dict:
    membership = _membership(request.user)
    if membership is None:
        return {"membership": None, "catch_up_seconds": live.CATCH_UP_SECONDS}
    unit = membership.shift.unit
    assignment = Assignment.objects.live().filter(unit=unit).select_related("request").first()
    req = assignment.request if assignment else None
    crew = ShiftMember.objects.filter(shift=membership.shift).select_related("user")
    # The last request this shift served whose contact is still to be recorded.
    to_record = (
        TeamRequest.objects.filter(
            assignments__shift=membership.shift,
            status=RequestStatus.COMPLETED,
            contact__isnull=True,
        )
        .order_by("-closed_at")
        .first()
    )
    return {
        "membership": membership,
        "unit": unit,
        "crew": crew,
        "assignment": assignment,
        "req": req,
        "next_step": req.next_step() if req else None,
        "allowed_steps": req.allowed_steps() if req else [],
        "steps": Step,
        "not_served_reasons": [(r, NotServedReason(r).label) for r in TEAM_NOT_SERVED],
        "to_record": to_record,
        "open_alerts": unit.alerts.filter(resolved_at__isnull=True).order_by("-raised_at"),
        "catch_up_seconds": live.CATCH_UP_SECONDS,
        **_crisis_plan_context(request, assignment, shown),
    }


@login_required
@require_http_methods(["GET", "POST"])
def unit_page(request):
    """The team's phone; with no open shift, the form to start one."""
    context = _unit_context(request)
    if context["membership"] is None:
        form = StartShiftForm(request.POST or None, user=request.user)
        if request.method == "POST" and form.is_valid():
            members = [(request.user, form.cleaned_data["credential"])]
            partner = form.cleaned_data.get("partner")
            if partner is not None:
                members.append((partner, form.cleaned_data["partner_credential"] or "other"))
            if attempt(
                request,
                lambda: services.start_shift(
                    unit=form.cleaned_data["unit"],
                    members=members,
                    actor=request.user,
                    shares_position=form.cleaned_data["shares_position"],
                ),
                done=_("On shift."),
            ):
                return redirect("dispatch:unit")
        context["form"] = form
    return render(request, "dispatch/unit.html", context)


@login_required
@require_GET
def unit_panel(request):
    """The phone's panel, fetched by htmx on each change, on reconnection and every
    catch_up_seconds; `shown` is the key of the crisis plan the phone shows."""
    shown = request.GET.get("shown", "") if request.htmx else ""
    return render(request, "dispatch/_unit_panel.html", _unit_context(request, shown=shown))


def _on_my_unit(request, act: Callable[[Unit], object], *, done: str) -> HttpResponse:
    """A button of the phone: `act` on the user's unit on shift (a refusal shown as a
    message), then back to the phone."""
    membership = _on_shift(request)
    if membership is not None:
        unit = membership.shift.unit
        attempt(request, lambda: act(unit), done=done)
    return redirect("dispatch:unit")


def _on_shift(request):
    membership = _membership(request.user)
    if membership is None:
        messages.error(request, _("You are not on a unit's shift."))
    return membership


@login_required
@require_POST
def unit_acknowledge(request):
    membership = _on_shift(request)
    if membership is not None:
        assignment = Assignment.objects.live().filter(unit=membership.shift.unit).first()
        if assignment is None:
            messages.error(request, _("Your unit is on no request."))
        else:
            attempt(
                request,
                lambda: services.acknowledge(
                    assignment=assignment, actor=request.user, http_request=request
                ),
            )
    return redirect("dispatch:unit")


@login_required
@require_POST
def unit_step(request):
    """The one tap (or, where the timeline forks, the chosen step with its details)."""
    membership = _on_shift(request)
    form = StepForm(request.POST)
    if membership is None or not form.is_valid():
        if membership is not None:
            messages.error(request, _("That step could not be read: try again."))
        return redirect("dispatch:unit")
    data = form.cleaned_data
    unit = membership.shift.unit

    attempt(
        request,
        lambda: services.advance(
            unit=unit,
            actor=request.user,
            to=data["to"] or None,
            latitude=data["latitude"],
            longitude=data["longitude"],
            destination=data["destination"],
            involuntary_hold=data["involuntary_hold"],
            involuntary_transport=data["involuntary_transport"],
            http_request=request,
        ),
    )
    return redirect("dispatch:unit")


@login_required
@require_POST
def unit_not_served(request):
    membership = _on_shift(request)
    form = NotServedForm(request.POST)
    if membership is not None and form.is_valid():
        assignment = Assignment.objects.live().filter(unit=membership.shift.unit).first()
        if assignment is None:
            messages.error(request, _("Your unit is on no request."))
        else:
            attempt(
                request,
                lambda: services.close_not_served(
                    request=assignment.request,
                    reason=form.cleaned_data["reason"],
                    notes=form.cleaned_data["notes"],
                    actor=request.user,
                    http_request=request,
                ),
                done=_("Closed: not served. The unit is available."),
            )
    return redirect("dispatch:unit")


@login_required
@require_POST
def unit_check_in(request):
    return _on_my_unit(
        request,
        lambda unit: safety.check_in(unit=unit, actor=request.user),
        done=_("Checked in: safe."),
    )


@login_required
@require_POST
def unit_sos(request):
    """SOS: raised at once with the position the phone sends, if it could."""
    form = PositionForm(request.POST)
    place = form.cleaned_data if form.is_valid() else {}
    return _on_my_unit(
        request,
        lambda unit: safety.raise_sos(
            unit=unit,
            actor=request.user,
            latitude=place.get("latitude"),
            longitude=place.get("longitude"),
        ),
        done=_("SOS sent: the dispatcher and your supervisor are being told now."),
    )


@login_required
@require_POST
def unit_sharing(request):
    membership = _on_shift(request)
    choice = request.POST.get("shares")
    if membership is not None and choice not in ("on", "off"):
        messages.error(request, _("Say whether to share the position or not."))
    elif membership is not None:
        shares = choice == "on"
        attempt(
            request,
            lambda: services.set_position_sharing(
                unit=membership.shift.unit, actor=request.user, shares=shares
            ),
            done=_("Sharing your position.")
            if shares
            else _("Position no longer shared; the stored ones were deleted."),
        )
    return redirect("dispatch:unit")


@login_required
@require_POST
def unit_position(request):
    """A position the phone sends while sharing (static/js/dispatch.js): 204, or 400 with
    the reason."""
    membership = _membership(request.user)
    if membership is None:
        return JsonResponse({"detail": _("You are not on a unit's shift.")}, status=400)
    form = PositionForm(request.POST)
    if not form.is_valid():
        return JsonResponse({"errors": form.errors.get_json_data()}, status=400)
    try:
        services.record_position(
            unit=membership.shift.unit, actor=request.user, **form.cleaned_data
        )
    except ValidationError as exc:
        return JsonResponse({"detail": " ".join(exc.messages)}, status=400)
    except DomainError as exc:
        return JsonResponse({"detail": str(exc)}, status=400)
    return HttpResponse(status=204)


@login_required
@require_POST
def unit_end_shift(request):
    return _on_my_unit(
        request,
        lambda unit: services.end_shift(unit=unit, actor=request.user),
        done=_("Shift ended."),
    )
