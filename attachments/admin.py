"""Attachments in the admin: read-only, for agency admins, their own agency's rows, each
list and record shown audited (audit.admin_base.ClientRecordAdmin). The admin shows what
was attached, by whom and when, never the file: it has no link to it, as the file has no
public URL; it is read on the record's page, where every read is checked and audited."""

from django.contrib import admin

from attachments.models import Attachment
from audit.admin_base import ClientRecordAdmin


@admin.register(Attachment)
class AttachmentAdmin(ClientRecordAdmin):
    list_display = [
        "id",
        "kind",
        "label",
        "content_type",
        "size",
        "uploaded_by",
        "uploaded_at",
        "entered_in_error_at",
    ]
    list_filter = ["kind", "content_type"]
    list_select_related = ["uploaded_by"]
    date_hierarchy = "uploaded_at"
    exclude = ["file"]
