"""Follow-ups in the admin: read-only.

Protocols are agency settings, not client data: their pages in the application edit them
(a change makes a new version); here they can be read, and switched off, by a system
admin or by an agency admin for their own agency.

Hospital visits, enrolments, follow-ups and attempts are client records, so they follow
the rule of referrals/admin.py: only an agency admin sees them, only their own agency's,
nothing can be added, changed or deleted here (every change goes through
followups/services/), a system admin sees no rows, and every list and record shown is
audited.
"""

from django.contrib import admin

from accounts.admin import AuditedAdmin
from audit.admin_base import ClientRecordAdmin as BaseClientRecordAdmin
from audit.admin_base import is_agency_admin
from followups.models import (
    Attempt,
    Enrolment,
    FollowUp,
    FollowUpEvent,
    HospitalVisit,
    Protocol,
    ProtocolStep,
    ProtocolVersion,
)


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# --- Protocols (agency settings) ------------------------------------------------------------


class ProtocolVersionInline(ReadOnlyInline):
    model = ProtocolVersion
    fields = ["number", "end_rule", "created_at", "created_by", "change_note", "description"]


@admin.register(Protocol)
class ProtocolAdmin(AuditedAdmin):
    list_display = ["name", "key", "trigger", "intensive", "is_active"]
    list_filter = ["trigger", "is_active"]
    search_fields = ["name", "key"]
    readonly_fields = ["agency", "key", "name", "trigger", "intensive", "created_at"]
    inlines = [ProtocolVersionInline]

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(agency_id=request.user.agency_id)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ProtocolVersion)
class ProtocolVersionAdmin(AuditedAdmin):
    """A version and its steps, as they were: a version never changes once made."""

    class StepInline(ReadOnlyInline):
        model = ProtocolStep

    list_display = ["protocol", "number", "end_rule", "created_at"]
    list_select_related = ["protocol"]
    inlines = [StepInline]

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(protocol__agency_id=request.user.agency_id)

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# --- Client records: agency admins only, read-only, audited ---------------------------------


class ClientRecordAdmin(BaseClientRecordAdmin):
    """Read-only follow-up records; their client is reached through the case."""

    client_field = "case__client_id"

    def get_readonly_fields(self, request, obj=None):
        left_out = set(self.exclude or ())
        return [field.name for field in self.model._meta.fields if field.name not in left_out]


class ClientRecordInline(ReadOnlyInline):
    def has_view_permission(self, request, obj=None):
        return is_agency_admin(request.user)


@admin.register(HospitalVisit)
class HospitalVisitAdmin(ClientRecordAdmin):
    client_field = "client_id"
    list_display = ["id", "kind", "reason", "arrived_at", "discharged_at", "admitted", "case"]
    list_filter = ["kind", "reason", "admitted"]
    list_select_related = ["case"]
    date_hierarchy = "arrived_at"
    exclude = ["source_contact"]


@admin.register(Enrolment)
class EnrolmentAdmin(ClientRecordAdmin):
    list_display = ["id", "version", "trigger", "status", "anchor_at", "case"]
    list_filter = ["status", "trigger"]
    list_select_related = ["version__protocol", "case"]
    date_hierarchy = "anchor_at"
    exclude = ["source_contact", "source_referral", "source_visit"]


class AttemptInline(ClientRecordInline):
    model = Attempt
    fields = ["at", "method", "outcome", "by", "note"]


class FollowUpEventInline(ClientRecordInline):
    model = FollowUpEvent
    fields = ["at", "kind", "actor", "from_status", "to_status", "reason"]


@admin.register(FollowUp)
class FollowUpAdmin(ClientRecordAdmin):
    list_display = ["id", "title", "status", "due_at", "window_end", "assigned_to", "case"]
    list_filter = ["status", "method"]
    list_select_related = ["assigned_to", "case"]
    date_hierarchy = "due_at"
    exclude = ["completed_contact", "lease_token"]
    inlines = [AttemptInline, FollowUpEventInline]


@admin.register(Attempt)
class AttemptAdmin(ClientRecordAdmin):
    agency_field = "followup__agency_id"
    client_field = "followup__case__client_id"
    list_display = ["id", "followup", "at", "method", "outcome", "by"]
    list_filter = ["outcome", "method"]
    list_select_related = ["followup", "by"]
    date_hierarchy = "at"
    exclude = ["contact"]
