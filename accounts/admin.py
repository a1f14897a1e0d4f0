"""Agencies, teams and users in the admin.

A system admin (superuser) manages everything. An agency admin (staff, with the model
permissions given by `accounts.services.grant_agency_admin_permissions`) manages only the
teams and users of their own agency and can never create a system admin or grant
permissions.
"""

from typing import cast

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import mfa
from accounts.models import Agency, Role, Team, User
from audit.models import Action
from audit.services import record
from core.admin import RefusesUnusableQueries
from core.exceptions import DomainError


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


# The admin's "reset second factor" action on users (a lost or replaced phone).
# Authenticator secrets and recovery codes are credentials: nobody reads them in the
# admin. Resetting is the one thing done to them there.
for _model in (TOTPDevice, StaticDevice):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)


class ResetForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Why"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy(
            "Kept in the audit trail, e.g. “phone lost, identity checked in person”."
        ),
    )


@admin.action(
    description=gettext_lazy("Reset second factor (they set it up again at next sign-in)"),
    permissions=["change"],
)
def reset_second_factor(
    modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[User]
) -> HttpResponse | None:
    """Ask why, then remove the selected users' authenticators and recovery codes
    (accounts.mfa.reset_devices, audited with the reason). The admin's queryset already
    holds only the users the admin may manage; the service checks again."""
    form = ResetForm(request.POST if "reason" in request.POST else None)
    if form.is_valid():
        actor = cast(User, request.user)  # the admin site's signed-in staff user
        done = []
        for user in queryset:
            try:
                mfa.reset_devices(
                    actor=actor, user=user, reason=form.cleaned_data["reason"], request=request
                )
            except DomainError as exc:
                modeladmin.message_user(
                    request,
                    _("%(user)s: %(reason)s") % {"user": user, "reason": exc},
                    messages.ERROR,
                )
            else:
                done.append(str(user))
        if done:
            modeladmin.message_user(
                request,
                _("Second factor reset for %(users)s: they set it up again at their next sign-in.")
                % {"users": ", ".join(done)},
                messages.SUCCESS,
            )
        return None
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": _("Reset second factor"),
        "opts": modeladmin.model._meta,
        "users": list(queryset),
        "form": form,
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
    }
    return TemplateResponse(request, "accounts/mfa_reset_confirm.html", context)


@admin.register(Agency)
class AgencyAdmin(AuditedAdmin):
    """A system admin manages every agency; an agency admin sees their own and changes
    only its settings for the plans."""

    list_display = ["name", "slug", "timezone"]
    prepopulated_fields = {"slug": ["name"]}
    search_fields = ["name"]
    AGENCY_ADMIN_FIELDS = ("crisis_line", "crisis_plan_review_days")

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if request.user.is_superuser:
            return qs
        return qs.filter(pk=request.user.agency_id)

    def get_fields(self, request, obj=None):
        if request.user.is_superuser:
            return super().get_fields(request, obj)
        return ("name", "timezone", *self.AGENCY_ADMIN_FIELDS)

    def get_readonly_fields(self, request, obj=None):
        return () if request.user.is_superuser else ("name", "timezone")

    def get_prepopulated_fields(self, request, obj=None):
        return self.prepopulated_fields if request.user.is_superuser else {}

    def has_add_permission(self, request):
        return request.user.is_superuser and super().has_add_permission(request)

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser and super().has_delete_permission(request, obj)


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
    actions = [reset_second_factor]
    casebook_fields = (
        gettext_lazy("Casebook"),
        {"fields": ("role", "agency", "team", "supervised_teams", "language")},
    )
    add_fieldsets = BaseUserAdmin.add_fieldsets + (
        (gettext_lazy("Casebook"), {"fields": ("role", "agency", "team", "language")}),
    )

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return self.add_fieldsets
        if request.user.is_superuser:
            return BaseUserAdmin.fieldsets + (self.casebook_fields,)
        return (
            (None, {"fields": ("username", "password")}),
            (gettext_lazy("Personal info"), {"fields": ("first_name", "last_name", "email")}),
            (gettext_lazy("Access"), {"fields": ("is_active",)}),
            self.casebook_fields,
            (gettext_lazy("Important dates"), {"fields": ("last_login", "date_joined")}),
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
