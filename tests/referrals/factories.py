"""Factories for consents, referrals, disclosures and provider links.

Tests about the workflows set state up through the real services (`give_consent`,
`make_referral`, `sent_referral` below); the factories are for bulk rows where the
workflow is not what a test is about (reports, lists, query counts).
"""

import datetime
from typing import Any

import factory
import time_machine
from django.utils import timezone

from directory.models import NeedCategory
from referrals import services
from referrals.models import (
    Consent,
    ConsentMethod,
    Disclosure,
    DisclosureChannel,
    ProviderLink,
    Referral,
    ReferralEvent,
    ReferralEventKind,
    ShareItem,
    Status,
)
from referrals.tasks import flag_stale_referrals
from tests.cases.factories import CaseFactory

ALL_ITEMS = list(ShareItem.values)


GENERAL_ITEMS = [v for v in ShareItem.values if v != ShareItem.SUBSTANCE_USE]


class ConsentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Consent

    case = factory.SubFactory(CaseFactory)
    client = factory.LazyAttribute(lambda o: o.case.client)
    agency = factory.LazyAttribute(lambda o: o.client.agency)
    method = ConsentMethod.VERBAL
    obtained_by = factory.LazyAttribute(lambda o: o.case.assigned_worker)
    scope = factory.LazyFunction(lambda: list(GENERAL_ITEMS))
    recipients = "Any provider I am referred to"
    purpose = "Referral for services"


class ReferralFactory(factory.django.DjangoModelFactory):
    """A referral row in any status. Pass `sent_at`, `accepted_at`, `closed_at`,
    `service_date` and `outcome` that fit the status: nothing is derived but stale_at and
    is_stale, as the services store them (Referral.refresh_staleness) unless given."""

    class Meta:
        model = Referral

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        referral = model_class(*args, **kwargs)
        if "stale_at" not in kwargs and "is_stale" not in kwargs:
            referral.refresh_staleness(timezone.now())
        referral.save()
        return referral

    case = factory.SubFactory(CaseFactory)
    agency = factory.LazyAttribute(lambda o: o.case.agency)
    client = factory.LazyAttribute(lambda o: o.case.client)
    provider_name = factory.Sequence(lambda n: f"Provider {n}")
    need_category = NeedCategory.HOUSING
    reason = "Needs a safe place to stay."
    shared_items = factory.LazyFunction(lambda: [ShareItem.NAME, ShareItem.PHONE])
    status = Status.DRAFT
    created_by = factory.LazyAttribute(lambda o: o.case.assigned_worker)


class ReferralEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ReferralEvent

    referral = factory.SubFactory(ReferralFactory)
    kind = ReferralEventKind.NOTE


class DisclosureFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Disclosure

    referral = factory.SubFactory(ReferralFactory)
    case = factory.LazyAttribute(lambda o: o.referral.case)
    client = factory.LazyAttribute(lambda o: o.referral.client)
    agency = factory.LazyAttribute(lambda o: o.referral.agency)
    consent = factory.SubFactory(ConsentFactory, case=factory.SelfAttribute("..case"))
    recipient = factory.LazyAttribute(lambda o: o.referral.provider_name)
    items = factory.LazyAttribute(lambda o: list(o.referral.shared_items))
    channel = DisclosureChannel.PROVIDER_LINK


class ProviderLinkFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProviderLink

    referral = factory.SubFactory(ReferralFactory)
    sent_to = factory.Sequence(lambda n: f"intake{n}@provider.example")
    created_by = factory.LazyAttribute(lambda o: o.referral.created_by)
    expires_at = factory.LazyFunction(ProviderLink.default_expiry)


# --- Through the real services ---------------------------------------------------------


def part2_fields(**overrides) -> dict:
    """Every §2.31 element of a written Part 2 consent, as record_consent takes them."""
    data = {
        "method": ConsentMethod.WRITTEN,
        "scope": list(ALL_ITEMS),
        "recipients": "Riverside Recovery Center",
        "purpose": "Referral to substance use treatment",
        "is_part2": True,
        "discloser": "Agency A mobile crisis programme",
        "information_description": "Name, contact details and substance use history",
        "right_to_revoke_explained": True,
        "expires_on": timezone.localdate() + datetime.timedelta(days=180),
        "signed_by": "Jordan Rivers",
        # Yesterday in UTC is no later than today anywhere an agency works.
        "signed_on": timezone.localdate() - datetime.timedelta(days=1),
    }
    data.update(overrides)
    return data


def give_consent(worker, case, **fields) -> Consent:
    """A consent recorded by `worker` on `case` through record_consent: verbal, any
    recipient, everything but substance use information, unless told otherwise."""
    data: dict[str, Any] = {
        "method": ConsentMethod.VERBAL,
        "scope": list(GENERAL_ITEMS),
        "recipients": "Any provider I am referred to",
        "purpose": "Referral for services",
    }
    data.update(fields)
    return services.record_consent(actor=worker, client=case.client, case=case, **data)


def make_referral(worker, case, **fields) -> Referral:
    """A draft referral to an outside provider through create_referral, unless told
    otherwise (pass `service=` for a directory service, `send=True` to send it)."""
    data: dict[str, Any] = {
        "need_category": NeedCategory.HOUSING,
        "reason": "Needs a safe place to stay tonight.",
        "shared_items": [ShareItem.NAME, ShareItem.PHONE],
    }
    if "service" not in fields:
        data["provider_name"] = "Eugene Mission"
        data["provider_email"] = "intake@mission.example"
    data.update(fields)
    return services.create_referral(actor=worker, case=case, **data)


def sent_referral(worker, case, **fields) -> Referral:
    """A referral sent under a fresh consent (given unless `consent=` is passed)."""
    if "consent" not in fields:
        fields["consent"] = give_consent(worker, case)
    return make_referral(worker, case, send=True, **fields)


def backdate(referral, days) -> Referral:
    """The referral with no activity for `days` days: its last activity moved back, and
    its stale_at and is_stale as the services and the stale sweep would have left them
    (a shortcut for sending it that long ago: see sent_days_ago)."""
    now = timezone.now()
    referral.last_activity_at = now - datetime.timedelta(days=days)
    fields = referral.refresh_staleness(now)
    referral.save(update_fields=["last_activity_at", *fields])
    return referral


def sent_days_ago(worker, case, days, **fields) -> Referral:
    """A referral sent through the services `days` ago (the clock moved back for it),
    then swept as beat would have since (referrals.tasks.flag_stale_referrals)."""
    with time_machine.travel(timezone.now() - datetime.timedelta(days=days), tick=False):
        referral = sent_referral(worker, case, **fields)
    flag_stale_referrals()
    referral.refresh_from_db()
    return referral


def move_to(referral, status, *, actor=None) -> Referral:
    """Take a sent referral along the provider's path to `status` (through the link),
    or cancel / mark in error as `actor` (the requester)."""
    from referrals.models import EventVia, Outcome

    path = {
        Status.REQUESTED: [],
        Status.ACCEPTED: [Status.ACCEPTED],
        Status.REJECTED: [Status.REJECTED],
        Status.IN_PROGRESS: [Status.ACCEPTED, Status.IN_PROGRESS],
        Status.ON_HOLD: [Status.ACCEPTED, Status.ON_HOLD],
        Status.COMPLETED: [Status.ACCEPTED, Status.COMPLETED],
        Status.FAILED: [Status.ACCEPTED, Status.FAILED],
        Status.CANCELLED: [Status.CANCELLED],
        Status.ENTERED_IN_ERROR: [Status.ENTERED_IN_ERROR],
    }[status]
    outcomes = {
        Status.REJECTED: Outcome.NO_CAPACITY,
        Status.FAILED: Outcome.DID_NOT_ATTEND,
        Status.CANCELLED: Outcome.DECLINED,
    }
    for step in path:
        by_requester = step == Status.ENTERED_IN_ERROR
        referral = services.transition_referral(
            actor=actor if by_requester else None,
            referral=referral,
            to_status=step,
            via=EventVia.STAFF if by_requester else EventVia.PROVIDER_LINK,
            outcome=outcomes.get(step, ""),
            service_date=referral.agency.today() if step == Status.COMPLETED else None,
        )
    return referral
