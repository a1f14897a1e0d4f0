"""Factories for every directory (HSDS) model.

Rows belong to the shared community directory (agency None) unless a test passes
`agency=`. Children default to the owner of their parent, so an agency's own service gets
an agency-owned organization only when the organization is made for that agency.
"""

import datetime
import uuid

import factory

from directory.models import (
    Address,
    Attribute,
    Contact,
    HsdsRecord,
    Language,
    Location,
    Organization,
    Phone,
    Schedule,
    Service,
    ServiceArea,
    ServiceAtLocation,
    ServiceStatus,
    Taxonomy,
    TaxonomyTerm,
)
from directory.services import need_terms

NEEDS_TAXONOMY = "casebook needs"


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    agency = None
    name = factory.Sequence(lambda n: f"Organization {n}")
    description = "A community organization."


class ServiceFactory(factory.django.DjangoModelFactory[Service]):
    class Meta:
        model = Service

    organization = factory.SubFactory(OrganizationFactory, agency=factory.SelfAttribute("..agency"))
    agency = None
    name = factory.Sequence(lambda n: f"Service {n}")
    description = "Help for people who need it."
    status = ServiceStatus.ACTIVE


class LocationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Location

    agency = None
    organization = None
    name = factory.Sequence(lambda n: f"Location {n}")
    latitude = 44.05
    longitude = -123.09


class ServiceAtLocationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ServiceAtLocation

    service = factory.SubFactory(ServiceFactory)
    location = factory.SubFactory(LocationFactory, agency=factory.SelfAttribute("..agency"))
    agency = factory.LazyAttribute(lambda o: o.service.agency)


class AddressFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Address

    location = factory.SubFactory(LocationFactory)
    agency = factory.LazyAttribute(lambda o: o.location.agency if o.location else None)
    address_1 = factory.Sequence(lambda n: f"{100 + n} Main St")
    city = "Eugene"
    state_province = "OR"
    postal_code = "97401"
    country = "US"
    address_type = "physical"


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    service = factory.SubFactory(ServiceFactory)
    agency = factory.LazyAttribute(lambda o: o.service.agency if o.service else None)
    name = factory.Faker("name")
    email = factory.Sequence(lambda n: f"intake{n}@provider.example")


class PhoneFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Phone

    service = factory.SubFactory(ServiceFactory)
    agency = factory.LazyAttribute(lambda o: o.service.agency if o.service else None)
    number = factory.Sequence(lambda n: f"541-555-{n % 10000:04d}")


class ScheduleFactory(factory.django.DjangoModelFactory):
    """Weekdays 9:00-17:00 unless told otherwise; `timezone` (hours from UTC) None means
    the searching user's agency time zone."""

    class Meta:
        model = Schedule

    service = factory.SubFactory(ServiceFactory)
    agency = factory.LazyAttribute(lambda o: o.service.agency if o.service else None)
    freq = "WEEKLY"
    byday = "MO,TU,WE,TH,FR"
    opens_at = datetime.time(9, 0)
    closes_at = datetime.time(17, 0)


class TaxonomyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Taxonomy

    name = factory.Sequence(lambda n: f"Taxonomy {n}")
    description = "A taxonomy."


class TaxonomyTermFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TaxonomyTerm

    code = factory.Sequence(lambda n: f"T{n}")
    name = factory.Sequence(lambda n: f"Term {n}")
    description = "A term."
    taxonomy = "Test taxonomy"
    need_category = ""


def need_term(category: str) -> TaxonomyTerm:
    """The "casebook needs" term of a NeedCategory (made by migration 0002)."""
    return need_terms([category])[category]


class AttributeFactory(factory.django.DjangoModelFactory[Attribute]):
    class Meta:
        model = Attribute

    taxonomy_term = factory.SubFactory(TaxonomyTermFactory)
    link_entity = "service"
    link_id = factory.LazyFunction(lambda: ServiceFactory.create().id)


def tag_service(service: Service, category: str) -> Attribute:
    """Put a service in a need category, as the directory does: an Attribute linking it to
    the category's term."""
    return AttributeFactory.create(
        taxonomy_term=need_term(category),
        link_entity="service",
        link_id=service.id,
        agency=service.agency,
    )


class LanguageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Language

    service = factory.SubFactory(ServiceFactory)
    agency = factory.LazyAttribute(lambda o: o.service.agency if o.service else None)
    name = "Spanish"
    code = "es"


class ServiceAreaFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ServiceArea

    service = factory.SubFactory(ServiceFactory)
    agency = factory.LazyAttribute(lambda o: o.service.agency if o.service else None)
    name = "Lane County"


class HsdsRecordFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = HsdsRecord

    id = factory.LazyFunction(uuid.uuid4)
    table = "program"
    data = factory.LazyAttribute(lambda o: {"id": str(o.id), "name": "A program"})
