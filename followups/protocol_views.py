"""The agency's follow-up protocols: supervisors and agency admins read them (with every
version and its steps); agency admins save a new version, or switch one on or off. A
protocol of another agency answers 404, as if it did not exist."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import Role
from audit.access import record_denied
from audit.services import refuse
from core.exceptions import DomainError
from followups import services
from followups.forms import ProtocolActiveForm
from followups.models import Protocol, ProtocolStep, ProtocolVersion
from followups.protocol_forms import ProtocolVersionForm, StepFormSet
from followups.protocols import as_shipped, install_standard_protocols

READERS = (Role.SUPERVISOR, Role.AGENCY_ADMIN)
STEP_FIELDS = ("name", "unit", "start", "due", "end", "method", "performer")


def _require_reader(request, page):
    if request.user.role not in READERS or not request.user.agency_id:
        refuse(request, page, _("Protocols are for supervisors and agency admins."))


def _protocol_for(request, pk, *, page, admin=False) -> Protocol:
    """The user's agency's protocol `pk`: 404 for any other, 403 for a role that may not
    read it (or, with `admin`, change it); refusals are audited."""
    protocol = Protocol.objects.filter(agency_id=request.user.agency_id, pk=pk).first()
    if protocol is None or not request.user.agency_id:
        record_denied(request, Protocol, pk, "not visible", page=page)
        raise Http404(_("No protocol found."))
    _require_reader(request, page)
    if admin and request.user.role != Role.AGENCY_ADMIN:
        refuse(request, page, _("Only agency admins change protocols."))
    return protocol


@login_required
@require_GET
def protocol_list(request):
    _require_reader(request, "protocol_list")
    agency_id = request.user.agency_id
    if not Protocol.objects.filter(agency_id=agency_id).exists():
        install_standard_protocols(agency_id)
    protocols = Protocol.objects.for_agency(agency_id).prefetch_related(
        Prefetch("versions", queryset=ProtocolVersion.objects.order_by("-number"))
    )
    return render(request, "followups/protocol_list.html", {"protocols": protocols})


@login_required
@require_GET
def protocol_detail(request, pk):
    protocol = _protocol_for(request, pk, page="protocol_detail")
    versions = protocol.versions.select_related("created_by").prefetch_related(
        Prefetch("steps", queryset=ProtocolStep.objects.order_by("position"))
    )
    return render(
        request,
        "followups/protocol_detail.html",
        {
            "protocol": protocol,
            "versions": versions.order_by("-number"),
            "can_edit": request.user.role == Role.AGENCY_ADMIN,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def protocol_edit(request, pk):
    protocol = _protocol_for(request, pk, page="protocol_edit", admin=True)
    current = protocol.current_version()
    if request.method == "POST":
        form = ProtocolVersionForm(request.POST)
        steps = StepFormSet(request.POST, prefix="steps")
        if form.is_valid() and steps.is_valid():
            try:
                version = services.save_protocol_version(
                    actor=request.user,
                    protocol=protocol,
                    description=as_shipped(form.cleaned_data["description"]),
                    end_rule=form.cleaned_data["end_rule"],
                    steps=[{**step, "name": as_shipped(step["name"])} for step in steps.steps()],
                    change_note=form.cleaned_data["change_note"],
                    request=request,
                )
            except DomainError as exc:
                field = getattr(exc, "field", None)
                if field in form.fields:
                    form.add_error(field, str(exc))
                else:
                    form.add_error(None, str(exc))
            else:
                messages.success(
                    request,
                    _("Version %(number)s saved: it applies to new enrolments.")
                    % {"number": version.number},
                )
                return redirect("followups:protocol_detail", pk=protocol.pk)
    else:
        # The shipped texts in the reader's language, as the pages show them; saved
        # unchanged, they are stored as shipped again (as_shipped above).
        form = ProtocolVersionForm(
            initial={"description": current.display_description, "end_rule": current.end_rule}
            if current
            else None
        )
        initial = [
            {
                **{name: getattr(step, name) for name in STEP_FIELDS},
                "name": step.display_name,
                "repeat_every": step.repeat_every,
                "repeat_times": step.repeat_times,
            }
            for step in (current.steps.order_by("position") if current else [])
        ]
        steps = StepFormSet(prefix="steps", initial=initial)
    return render(
        request,
        "followups/protocol_form.html",
        {"protocol": protocol, "current": current, "form": form, "steps": steps},
    )


@login_required
@require_POST
def protocol_active(request, pk):
    protocol = _protocol_for(request, pk, page="protocol_active", admin=True)
    form = ProtocolActiveForm(request.POST)
    if not form.is_valid():
        return HttpResponseBadRequest(" ".join(form.errors["active"]))
    active = form.cleaned_data["active"]
    services.set_protocol_active(
        actor=request.user, protocol=protocol, active=active, request=request
    )
    message = (
        _("%(protocol)s is on for new enrolments; running ones carry on.")
        if active
        else _("%(protocol)s is off for new enrolments; running ones carry on.")
    )
    messages.success(request, message % {"protocol": protocol.display_name})
    return redirect("followups:protocol_detail", pk=protocol.pk)
