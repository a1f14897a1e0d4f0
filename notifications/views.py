"""The inbox (each person's own in-app notifications) and the deliveries page, where
supervisors and agency admins see every email and text and what became of it, so a
reminder that did not go out is seen by a person."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.models import Role
from audit.access import record_denied
from audit.services import record_list, refuse
from notifications import services
from notifications.client_reminders import mask_address
from notifications.forms import DeliveryFilterForm
from notifications.models import Channel, DeliveryStatus, Notification

INBOX_PAGE_SIZE = 25
DELIVERIES_PAGE_SIZE = 50


def _require_agency(request, page):
    if not request.user.agency_id:
        refuse(request, page, _("The inbox belongs to agency staff."))


def _audit_page(request, rows, page_name, detail=None):
    """One LIST event when the rows shown name clients (in-app text may)."""
    client_ids = [row.client_id for row in rows if row.client_id]
    if client_ids:
        record_list(
            request=request,
            object_type="notification",
            objects=rows,
            client_ids=client_ids,
            detail={"page": page_name, **(detail or {})},
        )


@login_required
@require_GET
def inbox(request):
    _require_agency(request, "inbox")
    page = Paginator(Notification.objects.inbox_of(request.user), INBOX_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    rows = list(page.object_list)
    _audit_page(request, rows, "inbox")
    return render(
        request,
        "notifications/inbox.html",
        {
            "page": page,
            "notifications": rows,
            "unread": Notification.objects.inbox_of(request.user).unread().exists(),
        },
    )


@login_required
@require_POST
def mark_read(request, pk):
    _require_agency(request, "inbox")
    notification = Notification.objects.inbox_of(request.user).filter(pk=pk).first()
    if notification is None:
        # In the trail of the agency whose notification it is, when it is one.
        record_denied(request, Notification, pk, "not visible", page="inbox")
        raise Http404(_("No such notification."))
    services.mark_read(user=request.user, notification_id=notification.pk)
    if request.htmx:
        notification.refresh_from_db()
        return render(request, "notifications/_inbox_item.html", {"notification": notification})
    return redirect("notifications:inbox")


@login_required
@require_POST
def mark_all_read(request):
    _require_agency(request, "inbox")
    services.mark_read(user=request.user)
    if request.htmx:
        # Every row on the page is stale now: htmx reloads it.
        return HttpResponse(headers={"HX-Refresh": "true"})
    return redirect("notifications:inbox")


def deliveries_for(user):
    """The emails and texts a supervisor or agency admin may see: an agency admin, the
    whole agency's; a supervisor, those about their teams' cases, to their teams'
    members, or to themselves."""
    rows = Notification.objects.filter(agency_id=user.agency_id).exclude(channel=Channel.IN_APP)
    if user.role == Role.AGENCY_ADMIN:
        return rows
    teams = user.supervised_teams.values("pk")
    return rows.filter(
        Q(followup__case__team__in=teams) | Q(recipient__team__in=teams) | Q(recipient=user)
    )


@login_required
@require_GET
def deliveries(request):
    user = request.user
    if user.role not in (Role.SUPERVISOR, Role.AGENCY_ADMIN) or not user.agency_id:
        refuse(request, "notification_deliveries", _("This page is for supervisors and admins."))
    form = DeliveryFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    scope = deliveries_for(user)
    counts = scope.aggregate(
        **{value: Count("pk", filter=Q(status=value)) for value in DeliveryStatus.values}
    )
    rows = scope
    if filters.get("status"):
        rows = rows.filter(status=filters["status"])
    if filters.get("channel"):
        rows = rows.filter(channel=filters["channel"])
    if filters.get("to") == "client":
        rows = rows.filter(recipient__isnull=True)
    elif filters.get("to") == "staff":
        rows = rows.filter(recipient__isnull=False)
    rows = rows.select_related("recipient", "client", "followup").order_by("-created_at", "-pk")
    page = Paginator(rows, DELIVERIES_PAGE_SIZE).get_page(request.GET.get("page"))
    shown = list(page.object_list)
    for row in shown:
        row.masked_address = (
            mask_address(row.channel, row.address) if row.recipient_id is None else row.address
        )
    _audit_page(
        request,
        shown,
        "notification_deliveries",
        {key: value for key, value in filters.items() if value},
    )
    return render(
        request,
        "notifications/delivery_list.html",
        {
            "form": form,
            "page": page,
            "deliveries": shown,
            "counts": [(value, label, counts[value]) for value, label in DeliveryStatus.choices],
            "status": filters.get("status", ""),
        },
    )
