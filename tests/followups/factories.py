"""Helpers for follow-up tests. Downstream state is made through the real services:
a case by recording a contact, a visit by record_hospital_visit, a one-off follow-up by
create_followup. Functions, not factory_boy classes, because every row here belongs to a
workflow (events, audit rows, enrolments) that a bare factory would skip."""

import datetime

from django.db import transaction
from django.utils import timezone

from cases import services as case_services
from cases.models import Disposition
from followups import events, services
from followups.models import FollowUp, Method, Protocol, Status, Trigger, VisitKind, VisitReason
from followups.protocols import install_standard_protocols
from tests.conftest import contact_data, new_client

_counter = iter(range(1, 1_000_000))


def make_contact(worker, *, client=None, legal_name=None, **fields):
    """A contact recorded by `worker` through record_contact (a new client unless one is
    given). Fields override conftest.contact_data (disposition, received_at, C-SSRS...)."""
    new = None
    if client is None:
        n = next(_counter)
        new = new_client(
            legal_name=legal_name or f"Client {n} Rivers",
            phone=f"541-555-{n % 10000:04d}",
        )
    return case_services.record_contact(
        actor=worker,
        client=client,
        new_client_data=new,
        contact_data=contact_data(**fields),
    )


def make_case(worker, *, disposition=Disposition.REFERRED, **fields):
    """An open case of `worker`. The default disposition (referred) enrols in nothing, so
    the case starts without follow-ups; pass another disposition to enrol."""
    return make_contact(worker, disposition=disposition, **fields).case


def due_followup(case, *, actor=None, due_in=datetime.timedelta(hours=4), **kwargs):
    """A one-off follow-up on `case` through create_followup, due `due_in` from now.

    Its window is the due day in the agency's zone, as create_followup makes it, except
    that one due within a day is open now whatever the hour: left alone, a due time past
    the agency's midnight would open only then, and one just before a midnight that has
    passed would be refused."""
    actor = actor or case.assigned_worker
    kwargs.setdefault("reason", "Check how the client is doing")
    now = timezone.now()
    due_at = now + due_in
    agency = case.agency
    if abs(due_in) < datetime.timedelta(days=1):
        day = agency.day_of(due_at)
        if "window_start" not in kwargs and agency.midnight(day) > now:
            kwargs["window_start"] = min(now, due_at)
        if "window_end" not in kwargs and agency.midnight(day + datetime.timedelta(days=1)) <= now:
            kwargs["window_end"] = max(now, due_at) + datetime.timedelta(hours=4)
    return services.create_followup(actor=actor, case=case, due_at=due_at, **kwargs)


def ed_visit(
    case,
    arrived_at=None,
    *,
    actor=None,
    kind=VisitKind.ED,
    reason=VisitReason.MENTAL_HEALTH,
    discharged_at=None,
    **kwargs,
):
    """An ER visit (or admission) recorded on `case` through record_hospital_visit,
    which enrols the client in the post-discharge protocol."""
    return services.record_hospital_visit(
        actor=actor or case.assigned_worker,
        case=case,
        kind=kind,
        reason=reason,
        arrived_at=arrived_at or timezone.now() - datetime.timedelta(hours=6),
        discharged_at=discharged_at,
        **kwargs,
    )


def protocol(agency, key):
    """The agency's protocol with `key`, installing the standard ones first."""
    install_standard_protocols(agency.pk)
    return Protocol.objects.get(agency=agency, key=key)


def followups_of(case, *, key=None, trigger=None):
    """The case's protocol follow-ups in due order, optionally of one protocol key."""
    qs = FollowUp.objects.filter(case=case).select_related("step", "enrolment__version__protocol")
    if key is not None:
        qs = qs.filter(enrolment__version__protocol__key=key)
    if trigger is not None:
        qs = qs.filter(enrolment__trigger=trigger)
    return list(qs.order_by("due_at", "pk"))


def advance(now=None) -> int:
    """Apply the time-driven status changes at `now` to every open follow-up, as the
    engine does (FollowUp.status_at, a STATUS event, the next weekly call when one is
    missed), without its leases and notifications: the time-travel tests are about the
    protocols, not the sweeper. Returns how many changed."""
    now = now or timezone.now()
    changed = 0
    with transaction.atomic():
        for fu in FollowUp.objects.open().select_for_update().order_by("pk"):
            new = fu.status_at(now)
            if new == fu.status:
                continue
            old = fu.status
            fu.status, fu.status_changed_at = new, now
            fu.next_check_at = fu.next_boundary(now)
            fu.save(update_fields=["status", "status_changed_at", "next_check_at"])
            events.status_changed(followup=fu, actor=None, from_status=old, at=now)
            if new == Status.MISSED:
                services.schedule_next_occurrence(fu)
            changed += 1
    return changed


__all__ = [
    "advance",
    "Method",
    "Trigger",
    "due_followup",
    "ed_visit",
    "followups_of",
    "make_case",
    "make_contact",
    "protocol",
]
