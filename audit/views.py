"""The agency admin's audit trail browser. Read-only: there is no way to change a row."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.shortcuts import render
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from audit.forms import TrailFilterForm
from audit.models import Action, AuditEvent
from audit.services import record

PAGE_SIZE = 50
# How many matching events a page counts at most: a trail of hundreds of millions of rows
# is not counted on every page. Past it the page says "more than" and shows as many pages
# as that makes; a date or user filter narrows the rest.
COUNT_AT_MOST = 10_000


class CappedPaginator(Paginator):
    """A Paginator that counts no further than COUNT_AT_MOST + 1 rows."""

    @cached_property
    def count(self) -> int:
        head = self.object_list[: COUNT_AT_MOST + 1]
        return head.count() if isinstance(head, QuerySet) else len(head)

    @property
    def capped(self) -> bool:
        return self.count > COUNT_AT_MOST


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
        raise PermissionDenied(_("The audit trail is for agency admins."))
    form = TrailFilterForm(request.GET or None)
    events = AuditEvent.objects.for_agency(user.agency).order_by("-at", "-id")
    if form.is_bound:
        events = form.filter(events) if form.is_valid() else events.none()
    page = CappedPaginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
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
        request,
        "audit/auditevent_list.html",
        {"form": form, "page": page, "events": shown, "count_at_most": COUNT_AT_MOST},
    )
