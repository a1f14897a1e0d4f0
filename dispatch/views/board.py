"""The dispatcher's board: alerts, waiting requests against their targets, the requests
units are on, every unit's status and last known place, and the map. It refreshes its
panels when told of a change (dispatch.live) and every CATCH_UP_SECONDS.

The board shows where and why, not who: a request's client (client data) is seen, and
its reading audited, on the request's own page."""

import datetime
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from dispatch import live
from dispatch.forms import ResolveAlertForm
from dispatch.models import (
    FINAL_STATUSES,
    Alert,
    Assignment,
    Priority,
    TeamRequest,
    Unit,
    UnitStatus,
)
from dispatch.services import safety, settings_for
from dispatch.views.common import attempt, require_dispatcher_page

# The board shows at most this many of each list; more waiting than this is a crisis of
# its own, and the count says so.
BOARD_ROWS = 100
# The board's "recently closed": requests received this long ago or since, now closed.
RECENT = datetime.timedelta(hours=12)
# Units shown as off shift after the ones on shift.
STATUS_ORDER = [status for status in UnitStatus.values if status != UnitStatus.OFF_SHIFT]


def _waiting_rows(agency_id: int, now: datetime.datetime) -> tuple[list[dict[str, Any]], int]:
    dispatch_settings = settings_for(agency_id)
    waiting = TeamRequest.objects.filter(agency_id=agency_id).waiting()
    rows = []
    # Emergent first, each oldest first (the index serves the oldest BOARD_ROWS).
    found = sorted(waiting[:BOARD_ROWS], key=lambda r: r.priority != Priority.EMERGENT)
    for request in found:
        target = dispatch_settings.target_minutes(request.priority)
        waited = int((now - request.received_at).total_seconds() // 60)
        rows.append(
            {"request": request, "waited": waited, "target": target, "late": waited >= target}
        )
    return rows, waiting.count() if len(rows) == BOARD_ROWS else len(rows)


def _marker(kind: str, label: str, lat: Any, lon: Any, status: str, **extra: Any) -> dict:
    return {
        "kind": kind,
        "label": label,
        "lat": float(lat),
        "lon": float(lon),
        "status": status,
        **extra,
    }


def _markers(units: list[Unit], waiting: list[dict], now: datetime.datetime) -> list[dict]:
    markers = []
    for unit in units:
        place = unit.where(now)
        if unit.is_on_shift and place is not None:
            lat, lon, measured_from = place
            markers.append(
                _marker(
                    "unit",
                    unit.call_sign,
                    lat,
                    lon,
                    unit.status,
                    source=measured_from,
                    status_label=unit.get_status_display(),
                )
            )
    for row in waiting:
        request = row["request"]
        if request.latitude is not None:
            markers.append(
                _marker(
                    "request",
                    _("%(priority)s: %(reason)s")
                    % {
                        "priority": request.get_priority_display(),
                        "reason": request.get_reason_display(),
                    },
                    request.latitude,
                    request.longitude,
                    request.priority,
                )
            )
    return markers


def board_context(request) -> dict[str, Any]:
    """The board's panels: a fixed number of queries, whatever the rows."""
    agency_id = request.user.agency_id
    now = timezone.now()
    waiting, waiting_count = _waiting_rows(agency_id, now)
    live_assignments = list(
        Assignment.objects.live()
        .filter(request__agency_id=agency_id)
        .select_related("request", "unit")
        .order_by("request__received_at")[:BOARD_ROWS]
    )
    units = list(Unit.objects.filter(agency_id=agency_id).select_related("team").with_crew())
    order = {status: index for index, status in enumerate(STATUS_ORDER)}
    units.sort(key=lambda u: (order.get(u.status, len(order)), u.call_sign))
    alerts = list(
        Alert.objects.visible_to(request.user).open().select_related("unit", "request")[:BOARD_ROWS]
    )
    # By teamrequest_received_idx: the agency's requests of the last hours, the closed ones.
    closed = list(
        TeamRequest.objects.filter(
            agency_id=agency_id, received_at__gte=now - RECENT, status__in=FINAL_STATUSES
        ).order_by("-closed_at", "-pk")[:BOARD_ROWS]
    )
    return {
        "now": now,
        "alerts": alerts,
        "waiting": waiting,
        "waiting_count": waiting_count,
        "live_assignments": live_assignments,
        "closed": closed,
        "units": units,
        "markers": _markers(units, waiting, now),
        "resolve_form": ResolveAlertForm(),
        "catch_up_seconds": live.CATCH_UP_SECONDS,
    }


@login_required
@require_GET
def board(request):
    require_dispatcher_page(request, "dispatch board")
    return render(
        request,
        "dispatch/board.html",
        {
            **board_context(request),
            "tile_url": settings.DISPATCH_TILE_URL,
            "tile_attribution": settings.DISPATCH_TILE_ATTRIBUTION,
        },
    )


@login_required
@require_GET
def board_panels(request):
    require_dispatcher_page(request, "dispatch board")
    return render(request, "dispatch/_board_panels.html", board_context(request))


@login_required
@require_POST
def resolve_alert(request, pk):
    require_dispatcher_page(request, "dispatch alert")
    alert = get_object_or_404(Alert.objects.visible_to(request.user), pk=pk)
    form = ResolveAlertForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Say how the alert was handled."))
        return redirect("dispatch:board")
    attempt(
        request,
        lambda: safety.resolve_alert(
            alert=alert, actor=request.user, resolution=form.cleaned_data["resolution"]
        ),
        done=_("Alert about %(unit)s resolved.") % {"unit": alert.unit},
    )
    return redirect("dispatch:board")
