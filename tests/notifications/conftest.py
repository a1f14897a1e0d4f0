"""Helpers for notification tests. Follow-ups are made through followups.services (a
one-off by create_followup, protocol ones by record_hospital_visit or enrol), so they
carry the enrolments and reasons a real one has."""

import datetime

import pytest
from django.utils import timezone

from cases import services as case_services
from cases.models import CaseStatus
from followups import services as followup_services
from notifications.backends import DeliveryError, LocmemSMSBackend


class FailingSMSBackend:
    """A text backend whose gateway is down."""

    calls = 0

    def send(self, to, text):
        FailingSMSBackend.calls += 1
        raise DeliveryError("gateway answered 503")


@pytest.fixture
def sms_outbox(settings):
    """Texts go to LocmemSMSBackend.outbox (emptied first), which is returned."""
    settings.SMS_BACKEND = "notifications.backends.LocmemSMSBackend"
    LocmemSMSBackend.outbox = []
    return LocmemSMSBackend.outbox


@pytest.fixture
def failing_sms(settings):
    settings.SMS_BACKEND = "tests.notifications.conftest.FailingSMSBackend"
    FailingSMSBackend.calls = 0
    return FailingSMSBackend


def followup_on(case, *, due_in=datetime.timedelta(hours=4), actor=None, **fields):
    """A one-off follow-up on `case` through create_followup (due `due_in` from now; a
    negative due_in makes one already overdue)."""
    fields.setdefault("reason", "Check the plan made on scene held")
    fields.setdefault("title", "Check-in call")
    return followup_services.create_followup(
        actor=actor or case.assigned_worker,
        case=case,
        due_at=timezone.now() + due_in,
        **fields,
    )


def remind_by(client, channel, *, phone=None, email=None):
    """Record how the client agreed to be reminded, through cases.services.update_client
    (by the worker of the client's open case)."""
    changes = {"reminder_channel": channel}
    if phone is not None:
        changes["phone"] = phone
    if email is not None:
        changes["email"] = email
    worker = client.cases.get(status=CaseStatus.OPEN).assigned_worker
    return case_services.update_client(actor=worker, client=client, data=changes)


@pytest.fixture
def with_emails(alice, bob, sam, dana, erin, carol):
    """Every persona has an email address."""
    for user in (alice, bob, sam, dana, erin, carol):
        user.email = f"{user.username}@example.org"
        user.save(update_fields=["email"])
