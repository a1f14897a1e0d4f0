"""Referrals, consents and disclosures in the admin: read-only, for agency admins, and
only their own agency's rows.

Client records are otherwise reached through the application; these pages are the agency
admin's window on what was shared with whom, so they follow the same rules: nothing can
be added, changed or deleted here (every change goes through referrals/services/), a
system admin sees no rows, and every list and record shown is audited.
"""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from audit.admin_base import ClientRecordAdmin, is_agency_admin
from referrals.models import Consent, Disclosure, Referral, ReferralEvent


class ReferralEventInline(admin.TabularInline):
    model = ReferralEvent
    fields = ("at", "kind", "via", "actor", "from_status", "to_status", "outcome", "note")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_view_permission(self, request, obj=None):
        return is_agency_admin(request.user)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Referral)
class ReferralAdmin(ClientRecordAdmin):
    list_display = [
        "id",
        "provider_name",
        "need_category",
        "status",
        "outcome",
        "created_by",
        "sent_at",
        "closed_at",
    ]
    list_filter = ["status", "need_category", "outcome", "urgency"]
    list_select_related = ["created_by"]
    date_hierarchy = "created_at"
    exclude = ["service", "location"]
    readonly_fields = ["service_name", "location_name"]
    inlines = [ReferralEventInline]

    @admin.display(description=_("Service"))
    def service_name(self, obj):
        return obj.service.name if obj.service_id else "—"

    @admin.display(description=_("Location"))
    def location_name(self, obj):
        return str(obj.location) if obj.location_id else "—"


@admin.register(Consent)
class ConsentAdmin(ClientRecordAdmin):
    list_display = ["id", "client", "method", "is_part2", "recipients", "obtained_at", "revoked_at"]
    list_filter = ["method", "is_part2"]
    list_select_related = ["client"]
    date_hierarchy = "obtained_at"
    exclude = ["recipient_organization"]
    readonly_fields = ["recipient_organization_name"]

    @admin.display(description=_("Recipient organization"))
    def recipient_organization_name(self, obj):
        return obj.recipient_organization.name if obj.recipient_organization_id else _("Any")


@admin.register(Disclosure)
class DisclosureAdmin(ClientRecordAdmin):
    list_display = ["id", "recipient", "channel", "part2_notice", "disclosed_at", "disclosed_by"]
    list_filter = ["channel", "part2_notice"]
    list_select_related = ["disclosed_by"]
    date_hierarchy = "disclosed_at"
