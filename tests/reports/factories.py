"""Referrals with explicit dates and states, for the report's hand-built dataset. The
report counts what referrals are, not how they got there, so rows are made directly."""

import factory

from directory.models import NeedCategory, Organization, Service
from referrals.models import Referral, Status


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Organization {n}")
    description = "A community organization."


class ServiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Service

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Service {n}")


class ReferralFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Referral

    agency = factory.LazyAttribute(lambda o: o.case.agency)
    client = factory.LazyAttribute(lambda o: o.case.client)
    created_by = factory.LazyAttribute(lambda o: o.case.assigned_worker)
    service = None
    provider_name = factory.LazyAttribute(lambda o: o.service.name if o.service else "Outside")
    need_category = NeedCategory.HOUSING
    reason = "Needs a place to stay."
    shared_items = ["name", "phone"]
    status = Status.REQUESTED
