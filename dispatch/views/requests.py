"""A request's pages for the dispatcher: taking one, and one request with its timeline
and what can be done to it (send a unit, release it, close it unserved, correct it)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from audit.models import Action
from audit.services import record as audit
from cases.forms import OutsideSearchForm
from cases.lookup import outside_lookup_allowed, record_outside_lookup
from cases.matching import find_outside_clients
from core.exceptions import DomainError, NotPermitted
from core.forms import add_error
from core.ids import as_id
from dispatch import services
from dispatch.access import get_request_for_user, get_unit_for_user
from dispatch.forms import AssignForm, NotServedForm, ReasonForm, RequestForm
from dispatch.models import Assignment, RequestEvent, RequestStatus, ShiftMember, Unit
from dispatch.services.intake import EDITABLE_FIELDS
from dispatch.views.common import attempt, require_dispatcher_page
from dispatch.views.unit import approved_crisis_plan

LOOKUP_PAGE = "dispatch request"
LOOKUP_PREFIX = "lookup"


@login_required
@require_http_methods(["GET", "POST"])
def request_new(request):
    require_dispatcher_page(request, "new dispatch request")
    form = RequestForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if v not in ("", None)}
        try:
            created = services.record_request(actor=request.user, data=data, http_request=request)
        except NotPermitted as exc:
            raise PermissionDenied(str(exc)) from exc
        except (DomainError, ValidationError) as exc:
            add_error(exc, form)
        else:
            return redirect("dispatch:request", created.pk)
    return render(request, "dispatch/request_form.html", _form_context(form))


def _detail_context(request, found) -> dict:
    writer = request.user.can_dispatch
    assignments = list(
        Assignment.objects.filter(request=found).select_related("unit").order_by("assigned_at")
    )
    live = next((a for a in assignments if a.is_live), None)
    context = {
        "req": found,
        "events": RequestEvent.objects.filter(request=found).select_related("unit", "actor"),
        "assignments": assignments,
        "live": live,
        "writer": writer,
        "target": services.settings_for(found.agency_id).target_minutes(found.priority),
        "crisis_plan": _crisis_plan(request, found, live, writer=writer),
    }
    if writer and not found.is_final:
        context["suggestions"] = (
            services.suggest_units(found) if found.status == RequestStatus.WAITING else []
        )
        context["not_served_form"] = NotServedForm()
        context["release_form"] = ReasonForm()
    return context


def _crisis_plan(request, found, live: Assignment | None, *, writer: bool):
    """The person's approved crisis response plan, for the dispatcher and for the crew of
    the unit on the request (each showing audited); None for anyone else."""
    plan = approved_crisis_plan(found)
    if plan is None:
        return None
    if not writer and not (
        live is not None
        and ShiftMember.objects.filter(shift_id=live.shift_id, user_id=request.user.pk).exists()
    ):
        return None
    audit(
        request=request,
        action=Action.VIEW,
        obj=plan,
        detail={"where": "request page", "request_id": found.pk},
    )
    return plan


@login_required
def request_detail(request, pk):
    found = get_request_for_user(request, pk)
    return render(request, "dispatch/request_detail.html", _detail_context(request, found))


@login_required
@require_POST
def request_assign(request, pk):
    found = get_request_for_user(request, pk, write=True, audit_read=False)
    form = AssignForm(request.POST, units=Unit.objects.filter(agency_id=found.agency_id))
    if form.is_valid():
        unit = form.cleaned_data["unit"]
        attempt(
            request,
            lambda: services.assign_unit(
                request=found, unit=unit, actor=request.user, http_request=request
            ),
            done=_("%(unit)s sent.") % {"unit": unit},
        )
    else:
        messages.error(request, _("Choose a unit."))
    return redirect("dispatch:request", found.pk)


@login_required
@require_POST
def request_release(request, pk):
    found = get_request_for_user(request, pk, write=True, audit_read=False)
    form = ReasonForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    attempt(
        request,
        lambda: services.release_unit(
            request=found, actor=request.user, reason=reason, http_request=request
        ),
        done=_("The unit was released; the request waits again."),
    )
    return redirect("dispatch:request", found.pk)


@login_required
@require_POST
def request_not_served(request, pk):
    found = get_request_for_user(request, pk, audit_read=False)
    form = NotServedForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    notes = form.cleaned_data.get("notes", "") if form.is_valid() else ""
    attempt(
        request,
        lambda: services.close_not_served(
            request=found, reason=reason, notes=notes, actor=request.user, http_request=request
        ),
        done=_("The request was closed as not served."),
    )
    if request.POST.get("back") == "unit":
        return redirect("dispatch:unit")
    return redirect("dispatch:request", found.pk)


@login_required
@require_http_methods(["GET", "POST"])
def request_edit(request, pk):
    found = get_request_for_user(request, pk, write=True)
    initial = {name: getattr(found, name) for name in RequestForm.base_fields if name != "client"}
    initial["client"] = found.client_id
    form = RequestForm(request.POST or None, initial=initial, user=request.user)
    editable = EDITABLE_FIELDS | {"client"}
    for name in set(form.fields) - editable:
        form.fields[name].disabled = True
    if request.method == "POST" and form.is_valid():
        data = {name: form.cleaned_data[name] for name in form.changed_data if name in editable}
        if attempt(
            request,
            lambda: services.edit_request(
                request=found, actor=request.user, data=data, http_request=request
            ),
            done=_("Request corrected.") if data else "",
        ):
            return redirect("dispatch:request", found.pk)
    return render(request, "dispatch/request_form.html", {**_form_context(form), "req": found})


def _form_context(form) -> dict:
    client = form["client"].value()
    chosen = form.fields["client"].queryset.filter(pk=as_id(client)).first() if client else None
    return {
        "form": form,
        "lookup_form": OutsideSearchForm(prefix=LOOKUP_PREFIX),
        "chosen_client": chosen,
    }


@login_required
@require_GET
def client_lookup(request):
    """Whether the person a request is for is known to the agency: the strict matches of
    cases.matching (a whole name, and a date of birth or a phone number), named with no
    more than is needed to be sure. Counted against the user's lookup limit and audited
    (who, when, whom it found; never what was typed), as every lookup outside a
    caseload."""
    require_dispatcher_page(request, "dispatch client lookup")
    form = OutsideSearchForm(request.GET, prefix=LOOKUP_PREFIX)
    context: dict = {"form": form, "found": [], "limited": False}
    if form.is_valid():
        if outside_lookup_allowed(request, page=LOOKUP_PAGE):
            found = find_outside_clients(
                user=request.user,
                legal_name=form.cleaned_data["name"],
                date_of_birth=form.cleaned_data["date_of_birth"],
                phone=form.cleaned_data["phone"],
                with_case_only=False,
            )
            record_outside_lookup(request, page=LOOKUP_PAGE, found=found)
            context["found"] = found
        else:
            context["limited"] = True
    return render(request, "dispatch/_client_lookup.html", context)


@login_required
@require_POST
def unit_service(request, pk):
    """A dispatcher, or the unit's own team, takes it out of service or returns it (the
    service checks which: require_crew_or_dispatcher)."""
    unit = get_unit_for_user(request, pk)
    to = request.POST.get("to")
    if to not in ("out", "in"):
        messages.error(request, _("Say whether the unit goes out of service or back."))
    elif to == "out":
        reason = request.POST.get("reason", "")
        attempt(
            request,
            lambda: services.take_out_of_service(unit=unit, actor=request.user, reason=reason),
            done=_("%(unit)s is out of service.") % {"unit": unit},
        )
    else:
        attempt(
            request,
            lambda: services.return_to_service(unit=unit, actor=request.user),
            done=_("%(unit)s is back in service.") % {"unit": unit},
        )
    return redirect("dispatch:unit" if request.POST.get("back") == "unit" else "dispatch:board")
