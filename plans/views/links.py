"""Sending the client a link to their safety plan, and revoking it. Both answer on the
client's safety plan page (plans:safety_plan), which shows the links through
`links_context` and templates/plans/_safety_plan_links.html."""

import datetime
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from audit.access import record_denied
from audit.models import Action
from audit.services import record as audit
from cases.models import Case
from core.exceptions import DomainError, NotPermitted
from core.ids import as_id
from notifications.client_reminders import mask_address
from notifications.models import DeliveryStatus
from plans import services
from plans.access import get_safety_plan_for_user
from plans.forms.links import SafetyPlanLinkForm
from plans.models import LinkChannel, SafetyPlan, SafetyPlanLink


@dataclass(frozen=True)
class LinkRow:
    """One link as the safety plan page lists it: the address masked, as staff lists
    show a client's number."""

    pk: int
    channel: str
    sent_to: str
    created_at: datetime.datetime
    created_by: str
    expires_at: datetime.datetime
    revoked_at: datetime.datetime | None
    expired: bool
    delivery: str
    delivery_error: str
    use_count: int
    last_used_at: datetime.datetime | None
    revoke_url: str


def _row(link: SafetyPlanLink, now: datetime.datetime, can_revoke: bool) -> LinkRow:
    notification = link.notification
    delivery = error = ""
    if notification is not None:
        delivery = notification.get_status_display()
        if notification.status in (DeliveryStatus.FAILED, DeliveryStatus.CANCELLED):
            error = notification.display_failure_reason
    usable = link.is_usable(now)
    return LinkRow(
        pk=link.pk,
        channel=str(LinkChannel(link.channel).label),
        sent_to=mask_address(link.channel, link.sent_to),
        created_at=link.created_at,
        created_by=str(link.created_by),
        expires_at=link.expires_at,
        revoked_at=link.revoked_at,
        expired=link.revoked_at is None and not usable,
        delivery=delivery,
        delivery_error=error,
        use_count=link.use_count,
        last_used_at=link.last_used_at,
        revoke_url=reverse("plans:safety_plan_link_revoke", args=[link.pk])
        if can_revoke and usable
        else "",
    )


def links_context(request: HttpRequest, plan: SafetyPlan | None) -> dict[str, Any]:
    """What templates/plans/_safety_plan_links.html shows on the safety plan page: the
    plan's links, newest first, and the form to send one (for the workers on the plan's
    case, once the plan has a version). Two queries, whatever the number of links."""
    if plan is None:
        return {"link_form": None, "plan_links": [], "link_send_url": ""}
    user = request.user
    can_send = Case.objects.contactable_by(user).filter(pk=plan.case_id).exists()
    now = timezone.now()
    links = plan.links.select_related("created_by", "notification")
    return {
        "link_form": SafetyPlanLinkForm(client=plan.client)
        if can_send and plan.current_id is not None
        else None,
        "link_send_url": reverse("plans:safety_plan_link_send", args=[plan.client_id]),
        "plan_links": [_row(link, now, can_send) for link in links],
    }


def _refuse(request: HttpRequest, exc: NotPermitted, plan_id: int) -> PermissionDenied:
    """403 for someone who may see the plan but is not a worker on its case, audited."""
    record_denied(request, SafetyPlan, plan_id, "not a worker on the case")
    return PermissionDenied(str(exc))


@login_required
@require_POST
def safety_plan_link_send(request, client_id):
    plan = get_safety_plan_for_user(request, client_id, audit_read=False)
    back = redirect("plans:safety_plan", plan.client_id)
    form = SafetyPlanLinkForm(request.POST, client=plan.client)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return back
    try:
        link = services.issue_safety_plan_link(
            actor=request.user,
            plan=plan,
            channel=form.cleaned_data["channel"],
            address=form.cleaned_data["address"] or None,
            request=request,
        )
    except NotPermitted as exc:
        raise _refuse(request, exc, plan.pk) from exc
    except DomainError as exc:
        messages.error(request, str(exc))
        return back
    agency = plan.agency
    messages.success(
        request,
        _("The link is on its way to %(address)s. It works until %(date)s.")
        % {
            "address": mask_address(link.channel, link.sent_to),
            "date": agency.describe_day(agency.day_of(link.expires_at)),
        },
    )
    return back


def _get_link(request: HttpRequest, pk: object) -> SafetyPlanLink:
    """The link `pk` of a plan the user may see; 404, audited, otherwise."""
    pk_id = as_id(pk)
    visible = SafetyPlan.objects.visible_to(request.user).values("pk")
    link = (
        SafetyPlanLink.objects.filter(pk=pk_id, plan__in=visible).select_related("plan").first()
        if pk_id
        else None
    )
    if link is None:
        owner = (
            SafetyPlanLink.objects.filter(pk=pk_id).values("plan__agency_id").first()
            if pk_id
            else None
        )
        audit(
            request=request,
            action=Action.DENIED,
            object_type="safetyplanlink",
            object_id=pk,
            agency_id=owner["plan__agency_id"] if owner else None,
            detail={"reason": "not visible"},
        )
        raise Http404(_("No link found."))
    return link


@login_required
@require_POST
def safety_plan_link_revoke(request, pk):
    link = _get_link(request, pk)
    client_id = link.plan.client_id
    try:
        services.revoke_safety_plan_link(actor=request.user, link=link, request=request)
    except NotPermitted as exc:
        raise _refuse(request, exc, link.plan_id) from exc
    except DomainError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            _("The link sent to %(address)s no longer works.")
            % {"address": mask_address(link.channel, link.sent_to)},
        )
    return redirect("plans:safety_plan", client_id)
