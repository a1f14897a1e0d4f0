"""Named constructors for case timeline events. Call inside the transaction that made
the change, so the timeline and the change commit together."""

from django.utils import timezone

from cases.cssrs import RiskLevel
from cases.models import CaseEvent, CaseEventKind


def case_opened(*, case, actor, contact=None):
    return CaseEvent.objects.create(
        case=case,
        actor=actor,
        # The case opened when the call that opened it came in, not when it was typed up.
        at=case.opened_at,
        kind=CaseEventKind.OPENED,
        contact=contact,
        summary=f"Case opened for {case.client.display_name}, assigned to {case.assigned_worker}",
    )


def contact_recorded(*, contact, actor):
    return CaseEvent.objects.create(
        case=contact.case,
        actor=actor,
        at=contact.received_at,
        kind=CaseEventKind.CONTACT,
        contact=contact,
        summary=(
            f"{contact.get_source_display()} contact: {contact.call_nature} — "
            f"{contact.get_disposition_display()}"
        ),
        detail={"risk_level": contact.risk_level},
    )


def contact_amended(*, amendment):
    contact = amendment.contact
    fields = ", ".join(sorted(amendment.changes))
    return CaseEvent.objects.create(
        case=contact.case,
        actor=amendment.amended_by,
        kind=CaseEventKind.AMENDED,
        contact=contact,
        summary=f"Contact of {contact.received_at:%Y-%m-%d} amended ({fields}): {amendment.reason}",
        detail={"amendment_id": amendment.pk, "fields": sorted(amendment.changes)},
    )


def risk_changed(*, case, actor, old, new, contact=None):
    return CaseEvent.objects.create(
        case=case,
        actor=actor,
        # A screen's risk is as of the contact it was taken on (as risk_assessed_at is).
        at=contact.received_at if contact is not None else timezone.now(),
        kind=CaseEventKind.RISK_CHANGED,
        contact=contact,
        summary=f"Risk level {RiskLevel(old).label} → {RiskLevel(new).label} (C-SSRS screen)",
        detail={"from": old, "to": new},
    )


def client_updated(*, case, actor, fields):
    return CaseEvent.objects.create(
        case=case,
        actor=actor,
        kind=CaseEventKind.CLIENT_UPDATED,
        summary=f"Client details changed: {', '.join(sorted(fields))}",
        detail={"fields": sorted(fields)},
    )


def concerns_changed(*, case, actor, added, removed):
    parts = []
    if added:
        parts.append("added " + ", ".join(sorted(added)))
    if removed:
        parts.append("removed " + ", ".join(sorted(removed)))
    return CaseEvent.objects.create(
        case=case,
        actor=actor,
        kind=CaseEventKind.CONCERNS_CHANGED,
        summary="Presenting concerns: " + "; ".join(parts),
        detail={"added": sorted(added), "removed": sorted(removed)},
    )


def reassigned(*, case, actor, old_worker, new_worker, old_team, new_team):
    summary = f"Reassigned from {old_worker} to {new_worker}"
    if old_team != new_team:
        summary += f" (team {old_team or '—'} → {new_team or '—'})"
    return CaseEvent.objects.create(
        case=case,
        actor=actor,
        kind=CaseEventKind.REASSIGNED,
        summary=summary,
        detail={
            "from_worker": old_worker.pk,
            "to_worker": new_worker.pk,
            "from_team": getattr(old_team, "pk", None),
            "to_team": getattr(new_team, "pk", None),
        },
    )


def case_closed(*, case, actor):
    return CaseEvent.objects.create(
        case=case,
        actor=actor,
        kind=CaseEventKind.CLOSED,
        summary=f"Case closed: {case.get_close_reason_display()}",
        detail={"reason": case.close_reason},
    )


def emergency_access_granted(*, grant):
    return CaseEvent.objects.create(
        case=grant.case,
        actor=grant.user,
        kind=CaseEventKind.EMERGENCY_ACCESS,
        summary=f"Emergency access by {grant.user} until "
        f"{grant.case.agency.describe_moment(grant.expires_at)}: {grant.reason}",
        detail={"grant_id": grant.pk},
    )


def clients_merged(*, cases, actor, survivor, duplicate):
    """One entry on each of the person's cases (all now the survivor's)."""
    summary = (
        f"Client record {duplicate.pk} ({duplicate.display_name}) merged into record "
        f"{survivor.pk} ({survivor.display_name})"
    )
    detail = {"survivor_id": survivor.pk, "merged_id": duplicate.pk}
    return CaseEvent.objects.bulk_create(
        CaseEvent(
            case=case,
            actor=actor,
            kind=CaseEventKind.CLIENTS_MERGED,
            summary=summary[:300],
            detail=detail,
        )
        for case in cases
    )
