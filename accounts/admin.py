from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from accounts.models import Agency, Team, User


@admin.register(Agency)
class AgencyAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "timezone"]
    prepopulated_fields = {"slug": ["name"]}
    search_fields = ["name"]


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "agency"]
    list_filter = ["agency"]
    search_fields = ["name"]


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ["username", "get_full_name", "role", "agency", "team", "is_active"]
    list_filter = ["role", "agency", "is_active"]
    list_select_related = ["agency", "team"]
    fieldsets = BaseUserAdmin.fieldsets + (
        ("Casebook", {"fields": ("role", "agency", "team", "supervised_teams")}),
    )
    add_fieldsets = BaseUserAdmin.add_fieldsets + (
        ("Casebook", {"fields": ("role", "agency", "team")}),
    )
    filter_horizontal = ["supervised_teams", "groups", "user_permissions"]
