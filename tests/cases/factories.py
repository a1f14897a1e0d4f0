"""Factories for client records. Cases and contacts are normally made through
`cases.services.record_contact` (see `record_contact_for` in conftest); these factories
are for bulk rows where the workflow is not what a test is about."""

import datetime

import factory
from django.utils import timezone

from cases.models import CallNature, Case, Client, Contact, Disposition, name_key, phone_digits
from cases.names import phonetic_key
from tests.accounts.factories import AgencyFactory, UserFactory


class ClientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Client

    agency = factory.SubFactory(AgencyFactory)
    legal_name = factory.Faker("name")
    preferred_name = ""
    date_of_birth = factory.Faker("date_of_birth", minimum_age=18, maximum_age=80)
    phone = factory.Sequence(lambda n: f"541-555-{n % 10000:04d}")
    name_key = factory.LazyAttribute(lambda o: name_key(o.legal_name, o.preferred_name))
    name_phonetic = factory.LazyAttribute(lambda o: phonetic_key(o.legal_name, o.preferred_name))
    phone_normalized = factory.LazyAttribute(lambda o: phone_digits(o.phone))


class CaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Case

    client = factory.SubFactory(ClientFactory)
    agency = factory.LazyAttribute(lambda o: o.client.agency)
    assigned_worker = factory.SubFactory(UserFactory)
    team = factory.LazyAttribute(lambda o: o.assigned_worker.team)
    opened_by = factory.LazyAttribute(lambda o: o.assigned_worker)
    last_contact_at = factory.LazyFunction(timezone.now)


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    case = factory.SubFactory(CaseFactory)
    client = factory.LazyAttribute(lambda o: o.case.client)
    agency = factory.LazyAttribute(lambda o: o.case.agency)
    recorded_by = factory.LazyAttribute(lambda o: o.case.assigned_worker)
    source = "911"
    received_at = factory.LazyFunction(lambda: timezone.now() - datetime.timedelta(hours=1))
    on_scene_at = factory.LazyAttribute(lambda o: o.received_at + datetime.timedelta(minutes=14))
    call_nature = factory.LazyFunction(lambda: CallNature.objects.get(code="welfare-check"))
    disposition = Disposition.RESOLVED_ON_SCENE
    narrative = factory.Faker("paragraph")
