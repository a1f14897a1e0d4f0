from django.contrib import admin

from audit.models import AuditEvent
from audit.views import CappedPaginator
from core.admin import RefusesUnusableQueries


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
    list_filter = ["action", "agency"]
    search_fields = ["actor_username", "object_id", "path"]
    date_hierarchy = "at"
    # The trail grows to hundreds of millions of rows: a page counts at most 10,001 of the
    # matches, and never the whole table beside them.
    paginator = CappedPaginator
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
