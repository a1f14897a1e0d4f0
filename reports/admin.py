from django.contrib import admin

from core.admin import RefusesUnusableQueries
from reports.models import ExportJob


@admin.register(ExportJob)
class ExportJobAdmin(RefusesUnusableQueries, admin.ModelAdmin):
    """Read-only: jobs are made by request_export and moved by the worker, never by hand.
    Shows what was asked and how it went, never the file."""

    list_display = [
        "id",
        "requested_by",
        "agency",
        "format",
        "deidentified",
        "status",
        "created_at",
    ]
    list_filter = ["status", "format", "deidentified"]
    list_select_related = ["requested_by", "agency"]
    exclude = ["file_path"]
    readonly_fields = [
        "agency",
        "requested_by",
        "kind",
        "format",
        "deidentified",
        "filters",
        "status",
        "rows_total",
        "rows_done",
        "error",
        "created_at",
        "started_at",
        "heartbeat_at",
        "finished_at",
    ]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
