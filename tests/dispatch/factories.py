"""Factories for dispatch rows. Tests about the workflows set state up through the real
services (the fixtures in conftest.py: `on_shift`, `new_request`, `request_at`); the
factories are for bulk rows where the workflow is not what a test is about (lists, query
counts, the purge)."""

import datetime
from decimal import Decimal

import factory
from django.utils import timezone

from accounts.models import Role
from dispatch.models import (
    Assignment,
    Credential,
    DispatchSettings,
    Priority,
    RequestEvent,
    RequestEventKind,
    RequestReason,
    RequestSource,
    Shift,
    ShiftMember,
    TeamRequest,
    Unit,
    UnitEvent,
    UnitEventKind,
    UnitPosition,
    UnitStatus,
)
from tests.accounts.factories import AgencyFactory, UserFactory


class DispatchSettingsFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DispatchSettings
        django_get_or_create = ("agency",)

    agency = factory.SubFactory(AgencyFactory)


class UnitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Unit

    agency = factory.SubFactory(AgencyFactory)
    call_sign = factory.Sequence(lambda n: f"Van {n}")
    base_address = "1 Main St"
    base_latitude = Decimal("44.050000")
    base_longitude = Decimal("-123.090000")


class ShiftFactory(factory.django.DjangoModelFactory):
    """An open shift row; the unit's status is not changed (start_shift does that)."""

    class Meta:
        model = Shift

    unit = factory.SubFactory(UnitFactory, status=UnitStatus.AVAILABLE)
    started_by = factory.SubFactory(
        UserFactory, role=Role.DISPATCHER, agency=factory.SelfAttribute("..unit.agency")
    )


class ShiftMemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ShiftMember

    shift = factory.SubFactory(ShiftFactory)
    user = factory.SubFactory(UserFactory, agency=factory.SelfAttribute("..shift.unit.agency"))
    credential = Credential.LICENSED_CLINICIAN


class UnitEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = UnitEvent

    unit = factory.SubFactory(UnitFactory)
    kind = UnitEventKind.SHIFT_STARTED


class UnitPositionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = UnitPosition

    unit = factory.SubFactory(UnitFactory)
    at = factory.LazyFunction(timezone.now)
    latitude = Decimal("44.050000")
    longitude = Decimal("-123.090000")
    accuracy_m = 8.0


class TeamRequestFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TeamRequest

    agency = factory.SubFactory(AgencyFactory)
    received_at = factory.LazyFunction(lambda: timezone.now() - datetime.timedelta(minutes=5))
    source = RequestSource.TEAM_LINE
    callback_number = "541-555-0199"
    location_text = "5th and Main"
    reason = RequestReason.WELFARE_CHECK
    priority = Priority.URGENT
    created_by = factory.SubFactory(
        UserFactory, role=Role.DISPATCHER, agency=factory.SelfAttribute("..agency")
    )


class AssignmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Assignment

    request = factory.SubFactory(TeamRequestFactory)
    shift = factory.SubFactory(
        ShiftFactory, unit__agency=factory.SelfAttribute("...request.agency")
    )
    unit = factory.SelfAttribute("shift.unit")
    assigned_by = factory.SelfAttribute("request.created_by")
    acknowledge_by = factory.LazyFunction(lambda: timezone.now() + datetime.timedelta(minutes=2))


class RequestEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RequestEvent

    request = factory.SubFactory(TeamRequestFactory)
    kind = RequestEventKind.RECEIVED
