"""The read-only, agency-scoped, audited admin of client records, which every app's
admin of client data is built on."""

from django.contrib import admin

from audit.models import Action
from audit.services import record, record_list
from core.admin import RefusesUnusableQueries


def is_agency_admin(user) -> bool:
    return bool(user.is_active and user.is_staff and user.is_agency_admin and user.agency_id)


class ClientRecordAdmin(RefusesUnusableQueries, admin.ModelAdmin):
    """View-only rows of the agency admin's own agency, each read audited; a system admin
    sees none. `agency_field` and `client_field` are the lookups that reach the row's
    agency and client. Every change goes through the app's services, never here."""

    agency_field = "agency_id"
    client_field = "client_id"

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if not is_agency_admin(request.user):
            return queryset.none()
        return queryset.filter(**{self.agency_field: request.user.agency_id})

    def has_module_permission(self, request):
        return is_agency_admin(request.user)

    def has_view_permission(self, request, obj=None):
        return is_agency_admin(request.user)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def _client_ids(self, rows) -> list:
        if "__" not in self.client_field:
            return [getattr(row, self.client_field) for row in rows]
        pks = [row.pk for row in rows]
        found = self.model.objects.filter(pk__in=pks).values_list("pk", self.client_field)
        by_pk = dict(found)
        return [by_pk.get(pk) for pk in pks]

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        changelist = getattr(response, "context_data", {}).get("cl")
        if changelist is not None:
            rows = list(changelist.result_list)
            record_list(
                request=request,
                object_type=self.model._meta.model_name,
                objects=rows,
                client_ids=[pk for pk in self._client_ids(rows) if pk],
                detail={"admin": True},
            )
        return response

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        original = getattr(response, "context_data", {}).get("original")
        if original is not None:
            record(
                request=request,
                action=Action.VIEW,
                obj=original,
                client_id=self._client_ids([original])[0],
                detail={"admin": True},
            )
        return response
