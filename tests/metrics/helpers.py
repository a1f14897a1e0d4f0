"""Direct rows for the metrics datasets. The numbers are about what is stored, not about
the workflows that store it (those have their own tests), so these write plain rows: a
visit, a contact, a follow-up in a given state, an attempt."""

import datetime
import zoneinfo

from cases.models import CallNature, ContactSource, Disposition
from followups.models import (
    OPEN_STATUSES,
    Attempt,
    AttemptOutcome,
    FollowUp,
    HospitalVisit,
    Method,
    Status,
    VisitKind,
    VisitReason,
)
from metrics.compliance import period_followups
from tests.cases.factories import CaseFactory, ClientFactory, ContactFactory

LA = zoneinfo.ZoneInfo("America/Los_Angeles")


def local(day: datetime.date, hour=10, minute=0, tz=LA) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=tz)


def client_case(
    worker, *, dob=datetime.date(1990, 4, 12), estimated_age=None, legal_name=None, **fields
):
    """An open case of `worker` (on the worker's team) for a new client."""
    names = {"legal_name": legal_name} if legal_name else {}
    client = ClientFactory(
        agency=worker.agency, date_of_birth=dob, estimated_age=estimated_age, **names
    )
    return CaseFactory(client=client, assigned_worker=worker, **fields)


def visit(case, at, *, kind=VisitKind.ED, reason=VisitReason.MENTAL_HEALTH, **fields):
    return HospitalVisit.objects.create(
        agency_id=case.agency_id,
        case=case,
        client_id=case.client_id,
        kind=kind,
        reason=reason,
        arrived_at=at,
        recorded_by=case.assigned_worker,
        **fields,
    )


def contact(case, at, *, on_scene_minutes=15, **fields):
    fields.setdefault("call_nature", CallNature.objects.get(code="welfare-check"))
    return ContactFactory(
        case=case,
        received_at=at,
        on_scene_at=None
        if on_scene_minutes is None
        else at + datetime.timedelta(minutes=on_scene_minutes),
        **fields,
    )


def followup(
    case,
    due_at,
    *,
    status=Status.SCHEDULED,
    window_before=datetime.timedelta(days=1),
    window_after=datetime.timedelta(days=2),
    completed_at=None,
    enrolment=None,
    assigned_to=None,
    **fields,
):
    if status == Status.CANCELLED:
        fields.setdefault("cancel_reason", "Case closed")
    return FollowUp.objects.create(
        agency_id=case.agency_id,
        case=case,
        enrolment=enrolment,
        title="Follow-up call",
        reason="After the crisis contact",
        assigned_to=assigned_to or case.assigned_worker,
        window_start=due_at - window_before,
        due_at=due_at,
        window_end=due_at + window_after,
        status=status,
        completed_at=completed_at,
        **fields,
    )


def attempt(fu, at, outcome=AttemptOutcome.REACHED, method=Method.PHONE):
    return Attempt.objects.create(
        followup=fu, at=at, method=method, outcome=outcome, by=fu.assigned_to
    )


def followup_rows(*, agency_id, since, until, teams=None, worker=None) -> list[dict]:
    """Plain values of the agency's follow-ups with due_at in [since, until), in scope."""
    return list(
        period_followups(
            agency_id=agency_id, since=since, until=until, teams=teams, worker=worker
        ).values(
            "id",
            "enrolment_id",
            "status",
            "due_at",
            "window_start",
            "window_end",
            "completed_at",
        )
    )


def buckets_of(row: dict, now) -> list:
    """The counts one follow-up row (followup_rows) falls in at `now`: the definitions of
    metrics.compliance, stated again in Python, against which its SQL conditions
    (bucket_conditions) are checked."""
    status = row["status"]
    if status == Status.CANCELLED:
        return ["cancelled"]
    names = ["due"]
    done_within = False
    if status == Status.COMPLETED:
        done_within = row["completed_at"] <= row["window_end"]
        names.append("done_within_window" if done_within else "completed_late")
    elif status == Status.MISSED or (status in OPEN_STATUSES and now >= row["window_end"]):
        names.append("missed")
    elif now >= row["due_at"]:
        names.append("overdue")
    else:
        names.append("not_yet_due")
    if row["enrolment_id"] is not None and (status == Status.COMPLETED or "missed" in names):
        names.append("steps_due")
        if done_within and row["completed_at"] >= row["window_start"]:
            names.append("steps_done_within_window")
    return names


__all__ = ["ContactSource", "Disposition", "VisitKind", "VisitReason"]
