"""The directory in the admin.

Scoped like the rest of the admin: an agency admin sees the shared directory and their
agency's own rows, changes only their own (a row they add is their agency's), and never
sees another agency's. A system admin maintains the shared directory. Every change is
audited (AuditedAdmin).
"""

from django import forms
from django.contrib import admin
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.admin import AuditedAdmin
from directory.models import (
    Address,
    Attribute,
    Contact,
    HsdsModel,
    HsdsRecord,
    Language,
    Location,
    Organization,
    Phone,
    Schedule,
    Service,
    ServiceArea,
    ServiceAtLocation,
    Taxonomy,
    TaxonomyTerm,
)

# Text fields that hold paragraphs; every other TextField is a one-line input.
LONG_TEXT = {
    "description",
    "eligibility_description",
    "application_process",
    "fees_description",
    "interpretation_services",
    "accreditations",
    "licenses",
    "alert",
    "transportation",
    "notes",
    "note",
    "extent",
}


def _editable(user, obj) -> bool:
    if obj is None:
        return True
    if user.is_system_admin or user.is_superuser:
        return obj.agency_id is None
    return user.is_agency_admin and obj.agency_id is not None and obj.agency_id == user.agency_id


class DirectoryScoped:
    """Shared by the model admins and the inlines: scoped rows, one-line text inputs,
    foreign keys limited to visible rows, and no change to rows the user may only read."""

    def get_queryset(self, request):
        return super().get_queryset(request).visible_to(request.user)

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if isinstance(db_field, models.TextField) and db_field.name not in LONG_TEXT:
            kwargs["widget"] = forms.TextInput(attrs={"class": "vTextField"})
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        related = db_field.related_model
        if isinstance(related, type) and issubclass(related, HsdsModel):
            kwargs["queryset"] = related.objects.visible_to(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and _editable(request.user, obj)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and _editable(request.user, obj)

    def has_add_permission(self, request, obj=None):
        # For an inline `obj` is the parent: no rows added under a read-only parent.
        args = (request, obj) if isinstance(self, admin.options.InlineModelAdmin) else (request,)
        return super().has_add_permission(*args) and _editable(request.user, obj)


class DirectoryAdmin(DirectoryScoped, AuditedAdmin):
    # The HSDS id is made on creation (or comes with an import) and never changes.
    exclude = ["agency", "id"]
    readonly_fields = ["id"]

    @admin.display(description=_("Directory"))
    def owner(self, obj):
        return _("Shared") if obj.agency_id is None else _("Own agency")

    def save_model(self, request, obj, form, change):
        user = request.user
        obj.agency_id = None if user.is_system_admin or user.is_superuser else user.agency_id
        super().save_model(request, obj, form, change)

    def save_formset(self, request, form, formset, change):
        # Inline rows belong to the directory of the row they are edited under.
        for instance in formset.save(commit=False):
            instance.agency_id = form.instance.agency_id
            instance.save()
        for deleted in formset.deleted_objects:
            deleted.delete()
        formset.save_m2m()


class DirectoryInline(DirectoryScoped, admin.TabularInline):
    exclude = ["agency"]
    extra = 0
    show_change_link = True


class PhoneInline(DirectoryInline):
    model = Phone
    fields = ["number", "extension", "type", "description"]


class ScheduleInline(DirectoryInline):
    model = Schedule
    fields = ["freq", "byday", "opens_at", "closes_at", "valid_from", "valid_to", "description"]


class LanguageInline(DirectoryInline):
    model = Language
    fields = ["name", "code", "note"]


class ServiceAreaInline(DirectoryInline):
    model = ServiceArea
    fields = ["name", "description", "extent_type", "uri"]


class ServiceAtLocationInline(DirectoryInline):
    model = ServiceAtLocation
    fields = ["location", "description"]


class AddressInline(DirectoryInline):
    model = Address
    fields = [
        "address_type",
        "attention",
        "address_1",
        "address_2",
        "city",
        "region",
        "state_province",
        "postal_code",
        "country",
    ]


@admin.register(Organization)
class OrganizationAdmin(DirectoryAdmin):
    list_display = ["name", "alternate_name", "email", "website", "owner"]
    search_fields = ["name", "alternate_name", "description", "email"]


@admin.register(Service)
class ServiceAdmin(DirectoryAdmin):
    list_display = ["name", "organization", "status", "minimum_age", "maximum_age", "owner"]
    list_filter = ["status"]
    list_select_related = ["organization"]
    search_fields = ["name", "alternate_name", "description", "organization__name"]
    inlines = [
        PhoneInline,
        ScheduleInline,
        LanguageInline,
        ServiceAreaInline,
        ServiceAtLocationInline,
    ]


@admin.register(Location)
class LocationAdmin(DirectoryAdmin):
    list_display = ["name", "location_type", "organization", "latitude", "longitude", "owner"]
    list_filter = ["location_type"]
    list_select_related = ["organization"]
    search_fields = ["name", "alternate_name", "description", "addresses__address_1"]
    inlines = [AddressInline]


@admin.register(ServiceAtLocation)
class ServiceAtLocationAdmin(DirectoryAdmin):
    list_display = ["service", "location", "owner"]
    list_select_related = ["service", "location"]
    search_fields = ["service__name", "location__name"]


@admin.register(Address)
class AddressAdmin(DirectoryAdmin):
    list_display = ["address_1", "city", "state_province", "postal_code", "location", "owner"]
    list_select_related = ["location"]
    search_fields = ["address_1", "city", "postal_code"]


@admin.register(Contact)
class ContactAdmin(DirectoryAdmin):
    list_display = ["name", "title", "email", "organization", "service", "owner"]
    list_select_related = ["organization", "service"]
    search_fields = ["name", "email", "department"]


@admin.register(Phone)
class PhoneAdmin(DirectoryAdmin):
    list_display = ["number", "type", "service", "organization", "owner"]
    list_select_related = ["service", "organization"]
    search_fields = ["number", "description"]


@admin.register(Schedule)
class ScheduleAdmin(DirectoryAdmin):
    list_display = ["__str__", "service", "location", "freq", "byday", "opens_at", "closes_at"]
    list_select_related = ["service", "location"]
    search_fields = ["description", "service__name"]


@admin.register(Taxonomy)
class TaxonomyAdmin(DirectoryAdmin):
    list_display = ["name", "version", "uri", "owner"]
    search_fields = ["name", "description"]


@admin.register(TaxonomyTerm)
class TaxonomyTermAdmin(DirectoryAdmin):
    list_display = ["name", "code", "taxonomy", "need_category", "owner"]
    list_filter = ["need_category"]
    search_fields = ["name", "code", "description"]


@admin.register(Attribute)
class AttributeAdmin(DirectoryAdmin):
    """Tags a row (a service, usually) with a taxonomy term, e.g. a "casebook needs"
    term to put an agency's own service in a need category."""

    list_display = ["link_entity", "link_id", "taxonomy_term", "value", "owner"]
    list_filter = ["link_entity"]
    list_select_related = ["taxonomy_term"]
    search_fields = ["link_id", "taxonomy_term__name", "value"]


@admin.register(Language)
class LanguageAdmin(DirectoryAdmin):
    list_display = ["name", "code", "service", "location", "owner"]
    list_select_related = ["service", "location"]
    search_fields = ["name", "code"]


@admin.register(ServiceArea)
class ServiceAreaAdmin(DirectoryAdmin):
    list_display = ["name", "service", "extent_type", "owner"]
    list_select_related = ["service"]
    search_fields = ["name", "description"]


@admin.register(HsdsRecord)
class HsdsRecordAdmin(DirectoryAdmin):
    list_display = ["table", "id", "owner"]
    list_filter = ["table"]
    search_fields = ["id", "table"]
