"""Notifications in the admin: read-only, for agency admins, their own agency's rows.

Every notification is written by notifications/services.py and moved along by
notifications/tasks.py; nothing here adds, changes or deletes one. In-app text may name
a client, so a system admin sees no rows and every list and record shown is audited.
"""

from django.contrib import admin

from audit.admin_base import ClientRecordAdmin
from notifications.models import Kind, Notification


@admin.register(Notification)
class NotificationAdmin(ClientRecordAdmin):
    list_display = ["created_at", "kind", "channel", "recipient", "status", "tries", "sent_at"]
    list_filter = ["status", "channel", "kind"]
    list_select_related = ["recipient"]
    date_hierarchy = "created_at"
    fields = (
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
    )
    readonly_fields = fields

    def get_fields(self, request, obj=None):
        # A provider's link works, without an account, until it expires or is revoked:
        # the email that carries it is not shown to anyone here.
        if obj is not None and obj.kind == Kind.PROVIDER_LINK:
            return tuple(name for name in self.fields if name != "body")
        return self.fields
