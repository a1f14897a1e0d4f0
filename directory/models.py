"""The community resource directory, on the Open Referral Human Services Data
Specification (HSDS) 3.0.

Each model is one HSDS core table, with the specification's field names and types, so a
package imported and exported again loses nothing (directory/hsds.py does both). The
HSDS tables casebook does not search on (program, cost_option, funding, accessibility,
required_document, organization_identifier, metadata, meta_table_description) are kept
whole, cell for cell, in HsdsRecord.

Besides the HSDS fields, every row has an owner: `agency` is empty for the shared
community directory (maintained by import and by system admins) and set for an agency's
own services, which only that agency's users see and only its admins edit.
"""

import uuid
from typing import Any, Self, TypeVar

from django.contrib.auth.models import AnonymousUser
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from accounts.models import User


class NeedCategory(models.TextChoices):
    """What a worker searches the directory by. Each maps to taxonomy terms through
    TaxonomyTerm.need_category."""

    HOUSING = "housing", _("Housing and shelter")
    MENTAL_HEALTH = "mental_health", _("Counselling and mental health")
    SUBSTANCE_USE = "substance_use", _("Substance use treatment")
    EMPLOYMENT = "employment", _("Employment")
    FINANCIAL = "financial", _("Financial aid and benefits")
    MEDICAL = "medical", _("Medical")
    FOOD = "food", _("Food")
    LEGAL = "legal", _("Legal")
    TRANSPORTATION = "transportation", _("Transportation")
    DOMESTIC_VIOLENCE = "domestic_violence", _("Domestic violence")
    OTHER = "other", _("Other")


_Row = TypeVar("_Row", bound="HsdsModel")


class DirectoryQuerySet(models.QuerySet[_Row]):
    def visible_to(self, user: User | AnonymousUser) -> Self:
        """Rows of the shared community directory, and the user's own agency's rows.
        Never another agency's."""
        if not user.is_authenticated:
            return self.none()
        if not user.agency_id:
            return self.filter(agency__isnull=True)
        return self.filter(Q(agency__isnull=True) | Q(agency_id=user.agency_id))

    def editable_by(self, user: User | AnonymousUser) -> Self:
        """Rows the user may change: an agency admin their agency's own rows; a system
        admin the shared directory."""
        if not user.is_authenticated:
            return self.none()
        if user.is_system_admin:
            return self.filter(agency__isnull=True)
        if user.is_agency_admin:
            return self.filter(agency_id=user.agency_id)
        return self.none()


class HsdsModel(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    agency = models.ForeignKey(
        "accounts.Agency",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Empty for the shared community directory."),
    )

    objects = DirectoryQuerySet.as_manager()

    # The HSDS table name, as in the schemas (directory/hsds.py maps tables to models).
    hsds_table = ""

    class Meta:
        abstract = True


def text(**kwargs: Any) -> "models.TextField[str, str]":
    return models.TextField(blank=True, default="", **kwargs)


class Organization(HsdsModel):
    hsds_table = "organization"

    name = models.TextField()
    alternate_name = text()
    description = models.TextField()
    email = text()
    website = text()
    tax_status = text()
    tax_id = text()
    year_incorporated = models.FloatField(null=True, blank=True)
    legal_status = text()
    logo = text()
    uri = text()
    parent_organization = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="children"
    )

    class Meta:
        ordering = ["name", "id"]
        indexes = [models.Index(fields=["agency", "name"], name="dir_org_agency_name_idx")]

    def __str__(self) -> str:
        return self.name


class ServiceStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    INACTIVE = "inactive", _("Inactive")
    DEFUNCT = "defunct", _("Defunct")
    TEMPORARILY_CLOSED = "temporarily closed", _("Temporarily closed")


class Service(HsdsModel):
    hsds_table = "service"

    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="services"
    )
    # HSDS program rows are kept in HsdsRecord; the id is checked on import.
    program_id = models.UUIDField(null=True, blank=True)
    name = models.TextField()
    alternate_name = text()
    description = text()
    url = text()
    email = text()
    status = models.CharField(
        max_length=20, choices=ServiceStatus.choices, default=ServiceStatus.ACTIVE
    )
    interpretation_services = text()
    application_process = text()
    fees_description = text()
    wait_time = text()
    fees = text()
    accreditations = text()
    eligibility_description = text()
    minimum_age = models.FloatField(null=True, blank=True)
    maximum_age = models.FloatField(null=True, blank=True)
    assured_date = models.DateField(null=True, blank=True)
    assurer_email = text()
    licenses = text()
    alert = text()
    last_modified = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name", "id"]
        indexes = [
            # Directory search: active services of the shared and the agency's directory.
            models.Index(fields=["status", "agency"], name="dir_service_status_idx"),
            # Age eligibility filter.
            models.Index(fields=["minimum_age", "maximum_age"], name="dir_service_age_idx"),
        ]

    def __str__(self) -> str:
        return self.name


class LocationType(models.TextChoices):
    PHYSICAL = "physical", _("Physical")
    POSTAL = "postal", _("Postal")
    VIRTUAL = "virtual", _("Virtual")


class Location(HsdsModel):
    hsds_table = "location"

    location_type = models.CharField(
        max_length=10, choices=LocationType.choices, default=LocationType.PHYSICAL
    )
    url = text()
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, null=True, blank=True, related_name="locations"
    )
    name = text()
    alternate_name = text()
    description = text()
    transportation = text()
    latitude = models.FloatField(null=True, blank=True)
    longitude = models.FloatField(null=True, blank=True)
    external_identifier = text()
    external_identifier_type = text()

    class Meta:
        ordering = ["name", "id"]
        indexes = [
            # Nearest first: a bounding box on coordinates.
            models.Index(fields=["latitude", "longitude"], name="dir_location_coords_idx"),
        ]

    def __str__(self) -> str:
        return self.name or str(self.id)


class ServiceAtLocation(HsdsModel):
    hsds_table = "service_at_location"

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="at_locations")
    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="services_at")
    description = text()

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.service} at {self.location}"


class AddressType(models.TextChoices):
    PHYSICAL = "physical", _("Physical")
    POSTAL = "postal", _("Postal")
    VIRTUAL = "virtual", _("Virtual")


class Address(HsdsModel):
    hsds_table = "address"

    location = models.ForeignKey(
        Location, on_delete=models.CASCADE, null=True, blank=True, related_name="addresses"
    )
    attention = text()
    address_1 = models.TextField()
    address_2 = text()
    city = models.TextField()
    region = text()
    state_province = models.TextField()
    postal_code = models.TextField()
    country = models.TextField()
    address_type = models.CharField(max_length=10, choices=AddressType.choices)

    class Meta:
        ordering = ["id"]
        verbose_name_plural = _("addresses")
        indexes = [
            # Geocoding an address typed by a worker against the directory's own addresses.
            models.Index(fields=["postal_code"], name="dir_address_postal_idx"),
        ]

    def __str__(self) -> str:
        return ", ".join(p for p in [self.address_1, self.city, self.postal_code] if p)


class Contact(HsdsModel):
    hsds_table = "contact"

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, null=True, blank=True, related_name="contacts"
    )
    service = models.ForeignKey(
        Service, on_delete=models.CASCADE, null=True, blank=True, related_name="contacts"
    )
    service_at_location = models.ForeignKey(
        ServiceAtLocation,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="contacts",
    )
    location = models.ForeignKey(
        Location, on_delete=models.CASCADE, null=True, blank=True, related_name="contacts"
    )
    name = text()
    title = text()
    department = text()
    email = text()

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name or self.email or str(self.id)


class Phone(HsdsModel):
    hsds_table = "phone"

    location = models.ForeignKey(
        Location, on_delete=models.CASCADE, null=True, blank=True, related_name="phones"
    )
    service = models.ForeignKey(
        Service, on_delete=models.CASCADE, null=True, blank=True, related_name="phones"
    )
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, null=True, blank=True, related_name="phones"
    )
    contact = models.ForeignKey(
        Contact, on_delete=models.CASCADE, null=True, blank=True, related_name="phones"
    )
    service_at_location = models.ForeignKey(
        ServiceAtLocation, on_delete=models.CASCADE, null=True, blank=True, related_name="phones"
    )
    number = models.TextField()
    extension = models.FloatField(null=True, blank=True)
    type = text()
    description = text()

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.number


class Schedule(HsdsModel):
    """When a service is open, as an iCalendar (RFC 5545) recurrence rule."""

    hsds_table = "schedule"

    service = models.ForeignKey(
        Service, on_delete=models.CASCADE, null=True, blank=True, related_name="schedules"
    )
    location = models.ForeignKey(
        Location, on_delete=models.CASCADE, null=True, blank=True, related_name="schedules"
    )
    service_at_location = models.ForeignKey(
        ServiceAtLocation,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="schedules",
    )
    valid_from = models.DateField(null=True, blank=True)
    valid_to = models.DateField(null=True, blank=True)
    dtstart = models.DateField(null=True, blank=True)
    # HSDS: the UTC offset of the times below, in hours.
    timezone = models.FloatField(null=True, blank=True)
    until = models.DateField(null=True, blank=True)
    count = models.FloatField(null=True, blank=True)
    wkst = text()
    freq = text()
    interval = models.FloatField(null=True, blank=True)
    byday = text()
    byweekno = text()
    bymonthday = text()
    byyearday = text()
    description = text()
    opens_at = models.TimeField(null=True, blank=True)
    closes_at = models.TimeField(null=True, blank=True)
    schedule_link = text()
    attending_type = text()
    notes = text()

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.description or f"{self.byday} {self.opens_at}–{self.closes_at}"


class Taxonomy(HsdsModel):
    hsds_table = "taxonomy"

    name = models.TextField()
    description = models.TextField()
    uri = text()
    version = text()

    class Meta:
        ordering = ["name", "id"]
        verbose_name_plural = _("taxonomies")

    def __str__(self) -> str:
        return self.name


class TaxonomyTerm(HsdsModel):
    hsds_table = "taxonomy_term"

    code = text()
    name = models.TextField()
    description = models.TextField()
    parent = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="children"
    )
    taxonomy = text()
    language = text()
    # HSDS has both `taxonomy` (a name) and `taxonomy_id`; the id is checked on import.
    taxonomy_id = models.UUIDField(null=True, blank=True)
    term_uri = text()
    # Not HSDS: which worker-facing need this term stands for (set on import from the
    # term's words, and editable by admins).
    need_category = models.CharField(
        max_length=20, choices=NeedCategory.choices, blank=True, default=""
    )

    class Meta:
        ordering = ["name", "id"]
        indexes = [
            models.Index(fields=["need_category"], name="dir_term_need_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}".strip()


class Attribute(HsdsModel):
    """Links a taxonomy term to any HSDS row (link_entity names its table)."""

    hsds_table = "attribute"

    link_id = models.UUIDField()
    taxonomy_term = models.ForeignKey(
        TaxonomyTerm, on_delete=models.CASCADE, related_name="attributes"
    )
    link_type = text()
    link_entity = models.TextField()
    value = text()

    class Meta:
        ordering = ["id"]
        indexes = [
            # Search by need: services linked to terms of a category.
            models.Index(fields=["taxonomy_term", "link_id"], name="dir_attribute_term_idx"),
            models.Index(fields=["link_id"], name="dir_attribute_link_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.link_entity} {self.link_id}: {self.taxonomy_term_id}"


class Language(HsdsModel):
    hsds_table = "language"

    service = models.ForeignKey(
        Service, on_delete=models.CASCADE, null=True, blank=True, related_name="languages"
    )
    location = models.ForeignKey(
        Location, on_delete=models.CASCADE, null=True, blank=True, related_name="languages"
    )
    phone = models.ForeignKey(
        Phone, on_delete=models.CASCADE, null=True, blank=True, related_name="languages"
    )
    name = text()
    code = text()
    note = text()

    class Meta:
        ordering = ["name", "id"]
        indexes = [
            # Search by language (ISO 639 code or name).
            models.Index(fields=["code"], name="dir_language_code_idx"),
        ]

    def __str__(self) -> str:
        return self.name or self.code


class ServiceArea(HsdsModel):
    hsds_table = "service_area"

    service = models.ForeignKey(
        Service, on_delete=models.CASCADE, null=True, blank=True, related_name="service_areas"
    )
    name = text()
    description = text()
    extent = text()
    extent_type = text()
    uri = text()

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name or str(self.id)


class HsdsRecord(HsdsModel):
    """A row of an HSDS table casebook keeps but does not search on (program,
    cost_option, funding, ...): its cells exactly as imported, so export gives them back."""

    table = models.CharField(max_length=40)
    data = models.JSONField(default=dict)

    class Meta:
        ordering = ["table", "id"]
        indexes = [models.Index(fields=["table"], name="dir_record_table_idx")]

    def __str__(self) -> str:
        return f"{self.table} {self.id}"


HSDS_MODELS = [
    Organization,
    Service,
    Location,
    ServiceAtLocation,
    Address,
    Contact,
    Phone,
    Schedule,
    Taxonomy,
    TaxonomyTerm,
    Attribute,
    Language,
    ServiceArea,
]
