"""Notifications in the admin: read-only, for agency admins, their own agency's rows.

Every notification is written by notifications/services.py and moved along by
notifications/tasks.py; nothing here adds, changes or deletes one. In-app text may name
a client, so a system admin sees no rows and every list and record shown is audited.
"""

from django.contrib import admin

from audit.models import Action
from audit.services import record, record_list
from casebook.admin_queries import RefusesUnusableQueries
from notifications.models import Notification


def _is_agency_admin(user) -> bool:
    return bool(user.is_active and user.is_staff and user.is_agency_admin and user.agency_id)


@admin.register(Notification)
class NotificationAdmin(RefusesUnusableQueries, admin.ModelAdmin):
    list_display = ["created_at", "kind", "channel", "recipient", "status", "tries", "sent_at"]
    list_filter = ["status", "channel", "kind"]
    list_select_related = ["recipient"]
    date_hierarchy = "created_at"
    fields = [
        "kind",
        "channel",
        "recipient",
        "client",
        "followup",
        "address",
        "subject",
        "body",
        "url",
        "dedupe_key",
        "status",
        "created_at",
        "next_attempt_at",
        "tries",
        "lease_until",
        "sent_at",
        "failed_at",
        "failure_reason",
        "read_at",
    ]
    readonly_fields = fields

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if not _is_agency_admin(request.user):
            return queryset.none()
        return queryset.filter(agency_id=request.user.agency_id)

    def has_module_permission(self, request):
        return _is_agency_admin(request.user)

    def has_view_permission(self, request, obj=None):
        return _is_agency_admin(request.user)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        changelist = getattr(response, "context_data", {}).get("cl")
        if changelist is not None:
            rows = list(changelist.result_list)
            record_list(
                request=request,
                object_type="notification",
                objects=rows,
                client_ids=[row.client_id for row in rows if row.client_id],
                detail={"admin": True},
            )
        return response

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        original = getattr(response, "context_data", {}).get("original")
        if original is not None:
            record(request=request, action=Action.VIEW, obj=original, detail={"admin": True})
        return response
