from typing import Any

from django.contrib import admin
from django.contrib.admin.views.main import ERROR_FLAG
from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils.translation import gettext_lazy as _

from audit.models import AuditEvent
from audit.views import CappedPaginator
from core.admin import RefusesUnusableQueries, unusable_admin_query
from core.ids import as_id

CLIENT_PREFIX = "client:"


def search_filter(term: str) -> dict[str, int] | None:
    """The one indexed column and value a search of the trail names, or None when it names
    nothing: `client:<id>` a client's events (the (client_id, at) index); anything else a
    user's, by exact username or else by user id, resolved to the id first so that the
    trail is read by the (actor, at) index. Never a pattern: the trail has no index that
    part of a name, an object id or a path could be looked up in."""
    if term[: len(CLIENT_PREFIX)].lower() == CLIENT_PREFIX:
        client_id = as_id(term[len(CLIENT_PREFIX) :].strip())
        return None if client_id is None else {"client_id": client_id}
    users = get_user_model().objects.filter(username=term)
    actor_id = users.values_list("pk", flat=True).first() or as_id(term)
    return None if actor_id is None else {"actor_id": actor_id}


@admin.register(AuditEvent)
class AuditEventAdmin(RefusesUnusableQueries, admin.ModelAdmin):
    """Read-only: the trail can be examined, never changed."""

    list_display = [
        "at",
        "actor_username",
        "action",
        "object_type",
        "object_id",
        "agency",
        "ip_address",
    ]
    # "at": today, the past 7 days, this month or this year, as a range of the (at, id)
    # index that reads only those months' partitions. No date_hierarchy: its links are a
    # SELECT DISTINCT date_trunc over every matching row.
    list_filter = ["action", "agency", "at"]
    # Shows the search box; get_search_results does the searching, exact and indexed.
    search_fields = ["actor", "client_id"]
    search_help_text = _(
        "An exact username or user id, or client:<id> for one client's events. "
        "Part of a name, an object id or a path finds nothing."
    )
    # The trail grows to hundreds of millions of rows: a page counts at most 10,001 of the
    # matches, and never the whole table beside them.
    paginator = CappedPaginator
    show_full_result_count = False
    # Nor counts of every filter's choices (?_facets), each over all the matches.
    show_facets = admin.ShowFacets.NEVER

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        # The date hierarchy's old links (?at__year=2031&at__month=2) still filter, as plain
        # lookups of `at`; a year past the calendar's is refused, as the hierarchy's was,
        # rather than answered with an error page.
        if unusable_admin_query(request, "at"):
            return HttpResponseRedirect(f"{request.path}?{ERROR_FLAG}=1")
        return super().changelist_view(request, extra_context)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[Any], bool]:
        term = search_term.strip()
        if not term:
            return queryset, False
        found = search_filter(term)
        return (queryset.none() if found is None else queryset.filter(**found)), False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
