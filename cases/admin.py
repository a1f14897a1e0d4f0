"""Reference data only. Client records are not browsable in the admin: they are reached
through the application, where every read is authorised and audited."""

from django.contrib import admin

from accounts.admin import AuditedAdmin
from cases.models import CallNature, Concern, OnSceneService


class ReferenceAdmin(AuditedAdmin):
    list_display = ["label", "code", "sort_order", "is_active"]
    list_editable = ["sort_order", "is_active"]
    search_fields = ["label", "code"]


admin.site.register(Concern, ReferenceAdmin)
admin.site.register(CallNature, ReferenceAdmin)
admin.site.register(OnSceneService, ReferenceAdmin)
