"""Named constructors for case timeline events. Call inside the transaction that made
the change, so the timeline and the change commit together.

Each summary is stored in English (the row's `summary`: exports, search, the audit trail)
and as its message and arguments (`detail["i18n"]`, core.i18n.stored_text), so that the
timeline reads in each reader's language (CaseEvent.text)."""

from django.utils import timezone, translation
from django.utils.translation import gettext_noop

from cases.cssrs import RiskLevel
from cases.models import CaseEvent, CaseEventKind, CloseReason, ContactSource, Disposition
from core.i18n import StoredText, day, label, label_list, stored_text


def _name(client) -> str:
    """The client's name as the English summary gives it (an unidentified person's too)."""
    with translation.override("en"):
        return client.display_name


def _choice(choices, value):
    """A choice's label as a stored text's argument (the value itself if it has none)."""
    return label(choices(value).label) if value in choices.values else value


# A client's detail as a timeline entry names it inside a sentence ("Client details
# changed: …"): services.CLIENT_FIELDS, and the client's identifiers.
CLIENT_FIELD_WORDS = {
    "legal_name": gettext_noop("legal name"),
    "preferred_name": gettext_noop("preferred name"),
    "date_of_birth": gettext_noop("date of birth"),
    "estimated_age": gettext_noop("estimated age"),
    "pronouns": gettext_noop("pronouns"),
    "preferred_language": gettext_noop("preferred language"),
    "phone": gettext_noop("phone number"),
    "email": gettext_noop("email address"),
    "reminder_channel": gettext_noop("reminder channel"),
    "where_to_find": gettext_noop("where to find them"),
    "is_unidentified": gettext_noop("unidentified person"),
    "description": gettext_noop("description"),
    "identifiers": gettext_noop("identifiers"),
}

# A contact's field as an amendment's entry names it ("Contact … amended (…)"):
# AMENDABLE_FIELDS, and the risk level an amended screen moves.
CONTACT_FIELD_WORDS = {
    "source": gettext_noop("source"),
    "received_at": gettext_noop("time received"),
    "dispatched_at": gettext_noop("time dispatched"),
    "on_scene_at": gettext_noop("time on scene"),
    "cleared_at": gettext_noop("time cleared"),
    "call_nature": gettext_noop("call nature"),
    "location": gettext_noop("location"),
    "others_present": gettext_noop("others present"),
    "police_backup_requested": gettext_noop("police backup requested"),
    "arrest": gettext_noop("arrest"),
    "injury": gettext_noop("injury"),
    "disposition": gettext_noop("disposition"),
    "narrative": gettext_noop("narrative"),
    "cssrs_performed": gettext_noop("whether the C-SSRS screen was done"),
    "cssrs_wish_dead": gettext_noop("C-SSRS question 1"),
    "cssrs_suicidal_thoughts": gettext_noop("C-SSRS question 2"),
    "cssrs_method": gettext_noop("C-SSRS question 3"),
    "cssrs_intent": gettext_noop("C-SSRS question 4"),
    "cssrs_plan": gettext_noop("C-SSRS question 5"),
    "cssrs_behavior": gettext_noop("C-SSRS question 6"),
    "cssrs_behavior_recent": gettext_noop("C-SSRS question 6b"),
    "risk_level": gettext_noop("risk level"),
}


def _naming_fields(message, names, words, **args) -> StoredText:
    """A message naming changed fields (`%(fields)s`): the English summary names them as
    the row's detail does (their field names, as it always has), the stored text in words
    (`words`) that read in the reader's language."""
    english = stored_text(message, fields=", ".join(names), **args).english
    text = stored_text(message, fields=label_list(words.get(n, n) for n in names), **args)
    return StoredText(english=english, data=text.data)


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
    text = _naming_fields(
        gettext_noop("Contact of %(date)s amended (%(fields)s): %(reason)s"),
        sorted(amendment.changes),
        CONTACT_FIELD_WORDS,
        # The agency's day of the call, as its people say which contact it was.
        date=day(contact.agency.day_of(contact.received_at)),
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
    text = _naming_fields(
        gettext_noop("Client details changed: %(fields)s"), sorted(fields), CLIENT_FIELD_WORDS
    )
    return CaseEvent.objects.create(
        case=case,
        actor=actor,
        kind=CaseEventKind.CLIENT_UPDATED,
        summary=text.english,
        detail={"fields": sorted(fields), "i18n": text.data},
    )


def concerns_changed(*, case, actor, added, removed):
    # Reference data: translated when shown if the product installed it (SEEDED_LABELS),
    # else named as the agency typed it.
    shown = {"added": label_list(sorted(added)), "removed": label_list(sorted(removed))}
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
