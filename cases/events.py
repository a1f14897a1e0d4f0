"""Named constructors for case timeline events. Call inside the transaction that made
the change, so the timeline and the change commit together.

Each summary is stored in English (the row's `summary`: exports, search, the audit trail)
and as its message and arguments (`detail["i18n"]`, core.i18n.stored_text), so that the
timeline reads in each reader's language (CaseEvent.text)."""

from django.utils import timezone, translation
from django.utils.translation import gettext_noop

from cases.cssrs import RiskLevel
from cases.models import CaseEvent, CaseEventKind, CloseReason, ContactSource, Disposition
from core.i18n import label, stored_text


def _name(client) -> str:
    """The client's name as the English summary gives it (an unidentified person's too)."""
    with translation.override("en"):
        return client.display_name


def _choice(choices, value):
    """A choice's label as a stored text's argument (the value itself if it has none)."""
    return label(choices(value).label) if value in choices.values else value


def _until(grant) -> str:
    with translation.override("en"):
        return grant.case.agency.describe_moment(grant.expires_at)


def case_opened(*, case, actor, contact=None):
    text = stored_text(
        gettext_noop("Case opened for %(client)s, assigned to %(worker)s"),
        client=_name(case.client),
        worker=str(case.assigned_worker),
    )
    return CaseEvent.objects.create(
        case=case,
        actor=actor,
        # The case opened when the call that opened it came in, not when it was typed up.
        at=case.opened_at,
        kind=CaseEventKind.OPENED,
        contact=contact,
        summary=text.english,
        detail={"i18n": text.data},
    )


def contact_recorded(*, contact, actor):
    text = stored_text(
        gettext_noop("%(source)s contact: %(nature)s — %(disposition)s"),
        source=_choice(ContactSource, contact.source),
        # Reference data: translated when shown if the product installed it (SEEDED_LABELS).
        nature=label(contact.call_nature.label),
        disposition=_choice(Disposition, contact.disposition),
    )
    return CaseEvent.objects.create(
        case=contact.case,
        actor=actor,
        at=contact.received_at,
        kind=CaseEventKind.CONTACT,
        contact=contact,
        summary=text.english,
        detail={"risk_level": contact.risk_level, "i18n": text.data},
    )


def contact_amended(*, amendment):
    contact = amendment.contact
    text = stored_text(
        gettext_noop("Contact of %(date)s amended (%(fields)s): %(reason)s"),
        date=f"{contact.received_at:%Y-%m-%d}",
        fields=", ".join(sorted(amendment.changes)),
        reason=amendment.reason,
    )
    return CaseEvent.objects.create(
        case=contact.case,
        actor=amendment.amended_by,
        kind=CaseEventKind.AMENDED,
        contact=contact,
        summary=text.english,
        detail={
            "amendment_id": amendment.pk,
            "fields": sorted(amendment.changes),
            "i18n": text.data,
        },
    )


def risk_changed(*, case, actor, old, new, contact=None):
    text = stored_text(
        gettext_noop("Risk level %(old)s → %(new)s (C-SSRS screen)"),
        old=label(RiskLevel(old).label),
        new=label(RiskLevel(new).label),
    )
    return CaseEvent.objects.create(
        case=case,
        actor=actor,
        # A screen's risk is as of the contact it was taken on (as risk_assessed_at is).
        at=contact.received_at if contact is not None else timezone.now(),
        kind=CaseEventKind.RISK_CHANGED,
        contact=contact,
        summary=text.english,
        detail={"from": old, "to": new, "i18n": text.data},
    )


def client_updated(*, case, actor, fields):
    text = stored_text(
        gettext_noop("Client details changed: %(fields)s"), fields=", ".join(sorted(fields))
    )
    return CaseEvent.objects.create(
        case=case,
        actor=actor,
        kind=CaseEventKind.CLIENT_UPDATED,
        summary=text.english,
        detail={"fields": sorted(fields), "i18n": text.data},
    )


def concerns_changed(*, case, actor, added, removed):
    # Concerns are the agency's reference data: named as recorded.
    shown = {"added": ", ".join(sorted(added)), "removed": ", ".join(sorted(removed))}
    if added and removed:
        text = stored_text(
            gettext_noop("Presenting concerns: added %(added)s; removed %(removed)s"), **shown
        )
    elif added:
        text = stored_text(
            gettext_noop("Presenting concerns: added %(added)s"), added=shown["added"]
        )
    else:
        text = stored_text(
            gettext_noop("Presenting concerns: removed %(removed)s"), removed=shown["removed"]
        )
    return CaseEvent.objects.create(
        case=case,
        actor=actor,
        kind=CaseEventKind.CONCERNS_CHANGED,
        summary=text.english,
        detail={"added": sorted(added), "removed": sorted(removed), "i18n": text.data},
    )


def reassigned(*, case, actor, old_worker, new_worker, old_team, new_team):
    workers = {"old": str(old_worker), "new": str(new_worker)}
    if old_team != new_team:
        text = stored_text(
            gettext_noop("Reassigned from %(old)s to %(new)s (team %(old_team)s → %(new_team)s)"),
            **workers,
            old_team=str(old_team or "—"),
            new_team=str(new_team or "—"),
        )
    else:
        text = stored_text(gettext_noop("Reassigned from %(old)s to %(new)s"), **workers)
    return CaseEvent.objects.create(
        case=case,
        actor=actor,
        kind=CaseEventKind.REASSIGNED,
        summary=text.english,
        detail={
            "from_worker": old_worker.pk,
            "to_worker": new_worker.pk,
            "from_team": getattr(old_team, "pk", None),
            "to_team": getattr(new_team, "pk", None),
            "i18n": text.data,
        },
    )


def case_closed(*, case, actor):
    text = stored_text(
        gettext_noop("Case closed: %(reason)s"), reason=_choice(CloseReason, case.close_reason)
    )
    return CaseEvent.objects.create(
        case=case,
        actor=actor,
        kind=CaseEventKind.CLOSED,
        summary=text.english,
        detail={"reason": case.close_reason, "i18n": text.data},
    )


def emergency_access_granted(*, grant):
    text = stored_text(
        gettext_noop("Emergency access by %(user)s until %(until)s: %(reason)s"),
        user=str(grant.user),
        # The moment as the agency's clock shows it: data, as written at the time.
        until=_until(grant),
        reason=grant.reason,
    )
    return CaseEvent.objects.create(
        case=grant.case,
        actor=grant.user,
        kind=CaseEventKind.EMERGENCY_ACCESS,
        summary=text.english,
        detail={"grant_id": grant.pk, "i18n": text.data},
    )


def clients_merged(*, cases, actor, survivor, duplicate):
    """One entry on each of the person's cases (all now the survivor's)."""
    text = stored_text(
        gettext_noop(
            "Client record %(merged_id)s (%(merged)s) merged into record %(survivor_id)s "
            "(%(survivor)s)"
        ),
        merged_id=duplicate.pk,
        merged=_name(duplicate),
        survivor_id=survivor.pk,
        survivor=_name(survivor),
    )
    detail = {"survivor_id": survivor.pk, "merged_id": duplicate.pk, "i18n": text.data}
    return CaseEvent.objects.bulk_create(
        CaseEvent(
            case=case,
            actor=actor,
            kind=CaseEventKind.CLIENTS_MERGED,
            summary=text.english[:300],
            detail=detail,
        )
        for case in cases
    )


# How much of a note the timeline shows (the summary holds 300 characters).
NOTE_EXCERPT = 240


def note_added(*, note):
    """The note on the timeline, at the time it was written; its text is data, shown as
    typed."""
    excerpt = " ".join(note.text.split())
    if len(excerpt) > NOTE_EXCERPT:
        excerpt = excerpt[: NOTE_EXCERPT - 1] + "…"
    text = stored_text(gettext_noop("Note: %(text)s"), text=excerpt)
    return CaseEvent.objects.create(
        case=note.case,
        actor=note.author,
        at=note.at,
        kind=CaseEventKind.NOTE,
        summary=text.english[:300],
        detail={"note_id": note.pk, "i18n": text.data},
    )
