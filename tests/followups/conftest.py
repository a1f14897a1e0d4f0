"""Follow-up fixtures: a case with no follow-ups of its own, short protocols counted in
hours, and the engine run by hand (sweep, then each dispatched task processed)."""

import datetime
from unittest import mock

import pytest
from django.utils import timezone

from cases.models import Disposition
from followups import engine, services, tasks
from followups.models import Method, Protocol, ProtocolStep, ProtocolVersion, Trigger, Unit
from tests.conftest import new_client


@pytest.fixture
def quiet_case(alice, record_contact_for):
    """Alice's case whose first contact (referred to services) enrols it in nothing."""
    contact = record_contact_for(
        alice,
        new_client_data=new_client(legal_name="Quinn Quiet", phone="541-555-0111"),
        disposition=Disposition.REFERRED,
    )
    return contact.case


def make_protocol(agency, steps, *, key="hourly", unit=Unit.HOURS, **step_fields):
    """A protocol of the agency whose steps are (start, due, end) offsets in `unit`."""
    protocol = Protocol.objects.create(
        agency=agency, key=key, name=f"Test protocol {key}", trigger=Trigger.MANUAL
    )
    version = ProtocolVersion.objects.create(
        protocol=protocol, number=1, description="For the engine's tests."
    )
    ProtocolStep.objects.bulk_create(
        ProtocolStep(
            version=version,
            position=i,
            name=f"Step {i}",
            unit=unit,
            start=start,
            due=due,
            end=end,
            method=Method.PHONE,
            **step_fields,
        )
        for i, (start, due, end) in enumerate(steps, start=1)
    )
    return protocol


@pytest.fixture
def enrol_hourly(agency_a):
    """enrol_hourly(case, anchor_at=now, steps=[(2, 4, 6)]) -> the enrolment's follow-ups:
    each step opens `start` hours after the anchor, is due at `due`, closes at `end`."""
    made = {}

    def enrol(case, anchor_at=None, steps=((2, 4, 6),), key="hourly", **step_fields):
        if key not in made:
            made[key] = make_protocol(agency_a, steps, key=key, **step_fields)
        enrolment = services.enrol(
            case=case,
            protocol=made[key],
            trigger=Trigger.MANUAL,
            anchor_at=anchor_at or timezone.now(),
            reason="Test enrolment",
        )
        return list(enrolment.followups.order_by("pk"))

    return enrol


class EngineRun:
    """One pass of the engine by hand: `sweep()` with the batches it sends collected, then
    `process_batch()` for each, as a worker would. `sent` keeps every (id, token) ever
    sent."""

    def __init__(self, capture):
        self.capture = capture
        self.sent: list[tuple[int, str]] = []

    def sweep_batches(self, now=None, limit=engine.SWEEP_LIMIT) -> list[list[tuple[int, str]]]:
        batches: list[list[tuple[int, str]]] = []
        with (
            mock.patch.object(tasks.process_followups, "delay", side_effect=batches.append),
            self.capture(execute=True),
        ):
            count = engine.sweep(now, limit=limit)
        claims = [claim for batch in batches for claim in batch]
        assert count == len(claims)
        self.sent += claims
        return batches

    def sweep(self, now=None, limit=engine.SWEEP_LIMIT) -> list[tuple[int, str]]:
        return [claim for batch in self.sweep_batches(now, limit) for claim in batch]

    def __call__(self, now=None) -> list[tuple[int, str]]:
        batches = self.sweep_batches(now)
        for batch in batches:
            assert engine.process_batch(batch, now=now) == len(batch)
        return [claim for batch in batches for claim in batch]


@pytest.fixture
def run_engine(django_capture_on_commit_callbacks):
    return EngineRun(django_capture_on_commit_callbacks)


def hours(n):
    return datetime.timedelta(hours=n)
