"""The agency admin's audit trail browser. Read-only: there is no way to change a row."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import render
from django.views.decorators.http import require_safe

from audit.forms import TrailFilterForm
from audit.models import Action, AuditEvent
from audit.services import record

PAGE_SIZE = 50


@login_required
@require_safe
def trail(request):
    user = request.user
    if not user.is_agency_admin or not user.agency_id:
        record(
            request=request,
            action=Action.DENIED,
            object_type="audit_trail",
            detail={"reason": "role"},
        )
        raise PermissionDenied("The audit trail is for agency admins.")
    form = TrailFilterForm(request.GET or None)
    events = AuditEvent.objects.for_agency(user.agency).order_by("-at", "-id")
    if form.is_bound:
        events = form.filter(events) if form.is_valid() else events.none()
    page = Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
    shown = list(page.object_list)
    # Examining the trail is itself activity worth a trace.
    record(
        request=request,
        action=Action.VIEW,
        object_type="audit_trail",
        detail={
            "filters": {k[:40]: v[:200] for k, v in request.GET.items() if k != "page" and v},
            "page": page.number,
            "ids": [e.pk for e in shown],
        },
    )
    return render(
        request, "audit/auditevent_list.html", {"form": form, "page": page, "events": shown}
    )
