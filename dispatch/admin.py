"""Dispatch in the admin, for an agency admin and only their own agency's rows (a system
admin sees none, as with client records).

The agency's dispatch settings and its units' set-up (call sign, team, base) are edited
here, each change audited. A unit's status, shifts and position, and the requests with
their timelines, are read-only: every change to them goes through dispatch/services/.
Requests are client data when they name a client: every list and record is audited.
The agency's CAD keys are made here (the key is shown once, in a message) and revoked;
a key's secret is never stored, so never shown again."""

from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from accounts.admin import AuditedAdmin
from accounts.models import Team
from audit.admin_base import ClientRecordAdmin, is_agency_admin
from dispatch.cad_keys import create_cad_key, revoke_cad_key
from dispatch.models import (
    Assignment,
    CadKey,
    DispatchSettings,
    RequestEvent,
    Shift,
    ShiftMember,
    TeamRequest,
    Unit,
    UnitEvent,
)


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_view_permission(self, request, obj=None):
        return is_agency_admin(request.user)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class AgencyRowsAdmin(AuditedAdmin):
    """The agency admin's own agency's rows (`agency_field` reaches the agency); viewed
    and, where the subclass allows, added and changed; never deleted (history points at
    them)."""

    agency_field = "agency_id"
    editable = True

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if not is_agency_admin(request.user):
            return queryset.none()
        return queryset.filter(**{self.agency_field: request.user.agency_id})

    def has_module_permission(self, request):
        return is_agency_admin(request.user)

    def has_view_permission(self, request, obj=None):
        return is_agency_admin(request.user)

    def has_add_permission(self, request):
        return self.editable and is_agency_admin(request.user)

    def has_change_permission(self, request, obj=None):
        return self.editable and is_agency_admin(request.user)

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        obj.agency_id = request.user.agency_id
        super().save_model(request, obj, form, change)


@admin.register(DispatchSettings)
class DispatchSettingsAdmin(AgencyRowsAdmin):
    list_display = [
        "agency",
        "emergent_target_minutes",
        "urgent_target_minutes",
        "acknowledge_timeout_seconds",
        "check_in_minutes",
        "position_retention_hours",
    ]
    exclude = ["agency"]

    def has_add_permission(self, request):
        # One row an agency; made with the defaults on first use.
        agency_id = request.user.agency_id
        return super().has_add_permission(request) and not (
            DispatchSettings.objects.filter(agency_id=agency_id).exists()
        )


class UnitForm(forms.ModelForm):
    agency_id = None  # set per request by UnitAdmin.get_form

    class Meta:
        model = Unit
        fields = ["call_sign", "team", "base_address", "base_latitude", "base_longitude"]

    def clean_call_sign(self):
        call_sign = self.cleaned_data["call_sign"].strip()
        taken = Unit.objects.filter(agency_id=self.agency_id, call_sign=call_sign)
        if taken.exclude(pk=self.instance.pk).exists():
            raise forms.ValidationError(_("Another unit of the agency has this call sign."))
        return call_sign


class UnitEventInline(ReadOnlyInline):
    model = UnitEvent
    fields = readonly_fields = ("at", "kind", "actor", "detail")


@admin.register(Unit)
class UnitAdmin(AgencyRowsAdmin):
    form = UnitForm
    list_display = ["call_sign", "team", "status", "status_changed_at", "shares_position"]
    list_filter = ["status"]
    list_select_related = ["team"]
    readonly_fields = [
        "status",
        "status_changed_at",
        "shares_position",
        "last_latitude",
        "last_longitude",
        "last_position_at",
    ]
    inlines = [UnitEventInline]

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        return type("AgencyUnitForm", (form,), {"agency_id": request.user.agency_id})

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "team":
            kwargs["queryset"] = Team.objects.filter(agency_id=request.user.agency_id)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class ShiftMemberInline(ReadOnlyInline):
    model = ShiftMember
    fields = readonly_fields = ("user", "credential")


@admin.register(Shift)
class ShiftAdmin(AgencyRowsAdmin):
    agency_field = "unit__agency_id"
    editable = False
    list_display = ["unit", "started_at", "ended_at", "started_by"]
    list_select_related = ["unit", "started_by"]
    date_hierarchy = "started_at"
    inlines = [ShiftMemberInline]


class AssignmentInline(ReadOnlyInline):
    model = Assignment
    fk_name = "request"
    fields = readonly_fields = (
        "unit",
        "assigned_at",
        "assigned_by",
        "acknowledge_by",
        "acknowledged_at",
        "released_at",
        "release_reason",
        "members",
    )


class RequestEventInline(ReadOnlyInline):
    model = RequestEvent
    fields = readonly_fields = ("at", "kind", "unit", "actor", "latitude", "longitude", "detail")


@admin.register(TeamRequest)
class TeamRequestAdmin(ClientRecordAdmin):
    list_display = [
        "id",
        "received_at",
        "source",
        "reason",
        "priority",
        "status",
        "not_served_reason",
        "on_scene_at",
    ]
    list_filter = ["status", "source", "reason", "priority", "not_served_reason"]
    date_hierarchy = "received_at"
    exclude = ["client", "contact"]
    readonly_fields = ["client_id", "contact_id"]
    inlines = [AssignmentInline, RequestEventInline]


class CadKeyForm(forms.ModelForm):
    class Meta:
        model = CadKey
        fields = ["name"]


@admin.register(CadKey)
class CadKeyAdmin(AgencyRowsAdmin):
    form = CadKeyForm
    list_display = ["name", "prefix", "created_at", "created_by", "last_used_at", "revoked_at"]
    list_select_related = ["created_by"]
    readonly_fields = ["prefix", "created_at", "created_by", "last_used_at", "revoked_at"]
    actions = ["revoke"]

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        key, raw = create_cad_key(agency=request.user.agency, name=obj.name, actor=request.user)
        obj.pk = key.pk
        obj.refresh_from_db()
        messages.warning(
            request,
            _("The key of %(name)s, shown this once (only its digest is kept): %(key)s")
            % {"name": key.name, "key": raw},
        )

    @admin.action(description=gettext_lazy("Revoke the selected keys"), permissions=["change"])
    def revoke(self, request, queryset):
        revoked = [revoke_cad_key(key=key, actor=request.user) for key in queryset.active()]
        messages.success(
            request,
            ngettext(
                "%(count)d key(s) revoked: they no longer work.",
                "%(count)d key(s) revoked: they no longer work.",
                len(revoked),
            )
            % {"count": len(revoked)},
        )
