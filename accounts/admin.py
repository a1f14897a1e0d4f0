"""Agencies, teams and users in the admin.

A system admin (superuser) manages everything. An agency admin (staff, with the model
permissions given by `accounts.services.grant_agency_admin_permissions`) manages only the
teams and users of their own agency and can never create a system admin or grant
permissions.
"""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from rest_framework.authtoken.models import TokenProxy

from accounts.models import Agency, Role, Team, User
from audit.models import Action
from audit.services import record
from core.admin import RefusesUnusableQueries


class AuditedAdmin(RefusesUnusableQueries, admin.ModelAdmin):
    """Every change made in the admin also goes to the audit trail."""

    def _audit(self, request, obj, action, message):
        record(
            request=request,
            action=action,
            obj=obj,
            agency_id=getattr(obj, "agency_id", None) or request.user.agency_id,
            detail={"admin": str(message)[:1000]},
        )

    def log_addition(self, request, obj, message):
        self._audit(request, obj, Action.CREATE, message)
        return super().log_addition(request, obj, message)

    def log_change(self, request, obj, message):
        self._audit(request, obj, Action.UPDATE, message)
        return super().log_change(request, obj, message)

    def log_deletions(self, request, queryset):
        for obj in queryset:
            self._audit(request, obj, Action.UPDATE, "deleted")
        return super().log_deletions(request, queryset)


class AgencyScopedAdmin(AuditedAdmin):
    """Non-superusers see and edit only rows of their own agency."""

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if request.user.is_superuser:
            return qs
        return qs.filter(agency_id=request.user.agency_id)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if not request.user.is_superuser:
            if db_field.name == "agency":
                kwargs["queryset"] = Agency.objects.filter(pk=request.user.agency_id)
            elif db_field.name == "team":
                kwargs["queryset"] = Team.objects.filter(agency_id=request.user.agency_id)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if not request.user.is_superuser and db_field.name == "supervised_teams":
            kwargs["queryset"] = Team.objects.filter(agency_id=request.user.agency_id)
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        if not request.user.is_superuser:
            obj.agency_id = request.user.agency_id
        super().save_model(request, obj, form, change)


# API tokens are credentials: nobody reads them in the admin.
admin.site.unregister(TokenProxy)


@admin.register(Agency)
class AgencyAdmin(AuditedAdmin):
    list_display = ["name", "slug", "timezone"]
    prepopulated_fields = {"slug": ["name"]}
    search_fields = ["name"]


@admin.register(Team)
class TeamAdmin(AgencyScopedAdmin):
    list_display = ["name", "agency"]
    list_filter = ["agency"]
    search_fields = ["name"]


@admin.register(User)
class UserAdmin(AgencyScopedAdmin, BaseUserAdmin):
    list_display = ["username", "get_full_name", "role", "agency", "team", "is_active"]
    list_filter = ["role", "agency", "is_active"]
    list_select_related = ["agency", "team"]
    filter_horizontal = ["supervised_teams", "groups", "user_permissions"]
    casebook_fields = ("Casebook", {"fields": ("role", "agency", "team", "supervised_teams")})
    add_fieldsets = BaseUserAdmin.add_fieldsets + (
        ("Casebook", {"fields": ("role", "agency", "team")}),
    )

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return self.add_fieldsets
        if request.user.is_superuser:
            return BaseUserAdmin.fieldsets + (self.casebook_fields,)
        return (
            (None, {"fields": ("username", "password")}),
            ("Personal info", {"fields": ("first_name", "last_name", "email")}),
            ("Access", {"fields": ("is_active",)}),
            self.casebook_fields,
            ("Important dates", {"fields": ("last_login", "date_joined")}),
        )

    def get_readonly_fields(self, request, obj=None):
        if request.user.is_superuser:
            return ()
        if obj is not None and obj.pk == request.user.pk:
            # Nobody widens their own access: another admin changes an admin's role.
            return ("last_login", "date_joined", "role", "team", "supervised_teams", "is_active")
        return ("last_login", "date_joined")

    def formfield_for_choice_field(self, db_field, request, **kwargs):
        if db_field.name == "role" and not request.user.is_superuser:
            kwargs["choices"] = [c for c in Role.choices if c[0] != Role.SYSTEM_ADMIN]
        return super().formfield_for_choice_field(db_field, request, **kwargs)

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if request.user.is_superuser:
            return qs
        return qs.filter(is_superuser=False)
