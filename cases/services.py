"""Workflows on clients, cases and contacts. Each writes its timeline event and audit
row in the same transaction as the change."""

import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any, cast

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import ForeignObjectRel
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Role, User
from audit.models import Action
from audit.services import record as audit
from cases import events, fanout
from cases.cssrs import RiskLevel, risk_level, skip_logic_errors
from cases.exceptions import (
    CaseClosed,
    EmergencyAccessRefused,
    InvalidAmendment,
    InvalidReassignment,
    MergeRefused,
    OutsideScope,
)
from cases.models import (
    AMENDABLE_FIELDS,
    Case,
    CaseNote,
    CaseStatus,
    Client,
    ClientIdentifier,
    Concern,
    Contact,
    ContactAmendment,
    ContactDraft,
    EmergencyAccess,
    IdentifierKind,
)
from core.exceptions import NotPermitted
from core.text import without_nul

CLIENT_FIELDS = (
    "legal_name",
    "preferred_name",
    "date_of_birth",
    "estimated_age",
    "pronouns",
    "preferred_language",
    "phone",
    "email",
    "reminder_channel",
    "where_to_find",
    "is_unidentified",
    "description",
)


@transaction.atomic
def create_client(
    *,
    actor: User,
    data: dict[str, Any],
    identifiers: Iterable[tuple[str, str | None]] = (),
    request: HttpRequest | None = None,
) -> Client:
    """A new client of the actor's agency. `identifiers`: (kind, value) pairs."""
    # Only workers of an agency register clients (User.clean gives them one).
    client = Client(agency_id=cast(int, actor.agency_id), created_by=actor)
    for name in CLIENT_FIELDS:
        if name in data:
            setattr(client, name, data[name] if data[name] is not None else _blank(name))
    if client.estimated_age is not None and client.date_of_birth is None:
        client.estimated_age_on = client.agency.today()
    client.refresh_search_keys()
    client.full_clean(exclude=["created_by", "agency"])
    identifiers = _clean_identifiers(identifiers)
    _check_identifiers_free(agency_id=client.agency_id, identifiers=identifiers)
    client.save()
    _add_identifiers(client, identifiers)
    audit(request=request, actor=actor, action=Action.CREATE, obj=client)
    return client


def _clean_identifiers(identifiers: Iterable[tuple[str, str | None]]) -> list[tuple[str, str]]:
    """(kind, value) pairs, stripped, blanks and repeats left out, in the given order."""
    cleaned: list[tuple[str, str]] = []
    for kind, value in identifiers:
        value = (value or "").strip()
        if value and (kind, value) not in cleaned:
            cleaned.append((kind, value))
    return cleaned


def _identifier_taken(kind: str, value: str) -> ValidationError:
    label = IdentifierKind(kind).label if kind in IdentifierKind.values else kind
    return ValidationError(
        {
            "identifiers": _("%(kind)s %(value)s already belongs to another client of this agency.")
            % {"kind": label, "value": value}
        }
    )


def _check_identifiers_free(
    *, agency_id: int, identifiers: Iterable[tuple[str, str]], client_id: int | None = None
) -> None:
    """An identifier names one client in an agency: refuse one already in use."""
    for kind, value in identifiers:
        taken = ClientIdentifier.objects.filter(agency_id=agency_id, kind=kind, value__iexact=value)
        if client_id is not None:
            taken = taken.exclude(client_id=client_id)
        if taken.exists():
            raise _identifier_taken(kind, value)


def _add_identifiers(client: Client, identifiers: Iterable[tuple[str, str]]) -> None:
    """Create the identifier rows. One that a concurrent request took first is reported
    like any identifier already in use, not as a database error."""
    for kind, value in identifiers:
        try:
            with transaction.atomic():
                ClientIdentifier.objects.create(
                    agency_id=client.agency_id, client=client, kind=kind, value=value
                )
        except IntegrityError as exc:
            raise _identifier_taken(kind, value) from exc


def _blank(name: str) -> bool | str | None:
    if name == "is_unidentified":
        return False
    return None if name in ("date_of_birth", "estimated_age") else ""


@transaction.atomic
def update_client(
    *,
    actor: User,
    client: Client,
    data: dict[str, Any],
    identifiers: Iterable[tuple[str, str | None]] | None = None,
    request: HttpRequest | None = None,
) -> Client:
    """Change a client's details; the open case's timeline names the changed fields.

    `identifiers`, when given, is the client's whole new set of (kind, value) pairs:
    those left out are removed.
    """
    client = Client.objects.select_for_update().get(pk=client.pk)
    changed = []
    for name in CLIENT_FIELDS:
        if name in data:
            value = data[name] if data[name] is not None else _blank(name)
            if getattr(client, name) != value:
                setattr(client, name, value)
                changed.append(name)
    if identifiers is not None:
        identifiers = _clean_identifiers(identifiers)
        if set(identifiers) != set(client.identifiers.values_list("kind", "value")):
            _check_identifiers_free(
                agency_id=client.agency_id, identifiers=identifiers, client_id=client.pk
            )
            changed.append("identifiers")
    if not changed:
        return client
    if "estimated_age" in changed and client.estimated_age is not None:
        client.estimated_age_on = client.agency.today()
    client.refresh_search_keys()
    client.full_clean(exclude=["created_by", "agency"])
    client.save()
    if "identifiers" in changed:
        client.identifiers.all().delete()
        _add_identifiers(client, identifiers or ())
    open_case = client.cases.filter(status=CaseStatus.OPEN).first()
    if open_case:
        events.client_updated(case=open_case, actor=actor, fields=changed)
    audit(
        request=request, actor=actor, action=Action.UPDATE, obj=client, detail={"fields": changed}
    )
    return client


def compute_screen(data: Mapping[str, Any]) -> tuple[bool, RiskLevel]:
    """(performed, risk level) for a contact's C-SSRS answers; raises ValidationError on
    answers that break the screener's skip logic."""
    from cases.cssrs import QUESTIONS

    answers = {key: data.get(key) for key in QUESTIONS}
    if not data.get("cssrs_performed"):
        if any(v is not None for v in answers.values()):
            raise ValidationError({"cssrs_performed": _("Tick 'screen done' to record answers.")})
        return False, RiskLevel.NOT_SCREENED
    errors = skip_logic_errors(answers)
    if errors:
        raise ValidationError(errors)
    return True, risk_level(answers)


def record_contact(
    *,
    actor: User,
    contact_data: dict[str, Any],
    client: Client | None = None,
    new_client_data: dict[str, Any] | None = None,
    new_client_identifiers: Iterable[tuple[str, str | None]] = (),
    submission_id: uuid.UUID | None = None,
    for_followup: bool = False,
    request: HttpRequest | None = None,
) -> Contact:
    """Record a crisis contact for an existing client or a new one.

    Adds to the client's open case, or opens one assigned to the actor and their team.
    The open case must be one the actor may record on (Case.objects.contactable_by);
    otherwise OutsideScope names it, for emergency access. A C-SSRS screen sets the
    case's current risk level. The actor's saved draft is discarded. `contact_data`
    holds Contact fields plus the many-to-many lists `presenting_concerns`,
    `services_on_scene` and `attended_by`.

    With a `submission_id` (the form's one-time id), a repeated call returns the contact
    the first one recorded, even when both arrive at once. `for_followup`: the contact is
    a follow-up being done, so resolving it on scene schedules no post-crisis check
    (whoever cases/fanout.py tells).
    """
    if submission_id is not None:
        done = Contact.objects.filter(recorded_by=actor, submission_id=submission_id).first()
        if done:
            return done
    try:
        return _record_contact(
            actor=actor,
            contact_data=contact_data,
            client=client,
            new_client_data=new_client_data,
            new_client_identifiers=new_client_identifiers,
            submission_id=submission_id,
            for_followup=for_followup,
            request=request,
        )
    except IntegrityError:
        done = (
            Contact.objects.filter(recorded_by=actor, submission_id=submission_id).first()
            if submission_id
            else None
        )
        if done:
            return done
        raise


@transaction.atomic
def _record_contact(
    *,
    actor: User,
    contact_data: dict[str, Any],
    client: Client | None,
    new_client_data: dict[str, Any] | None,
    new_client_identifiers: Iterable[tuple[str, str | None]],
    submission_id: uuid.UUID | None,
    for_followup: bool,
    request: HttpRequest | None,
) -> Contact:
    if not actor.works_cases:
        raise NotPermitted(_("Only social workers and supervisors record contacts."))
    if client is None:
        client = create_client(
            actor=actor,
            data=new_client_data or {},
            identifiers=new_client_identifiers,
            request=request,
        )
    client = _lock_current_record(client)

    data = dict(contact_data)
    concerns = _pop_list(data, "presenting_concerns")
    services = _pop_list(data, "services_on_scene")
    attended = _pop_list(data, "attended_by")
    performed, level = compute_screen(data)

    case, opened = _case_to_record_on(
        actor=actor, client=client, received_at=data.get("received_at")
    )

    contact = Contact(
        agency_id=client.agency_id,
        case=case,
        client=client,
        recorded_by=actor,
        cssrs_performed=performed,
        risk_level=level,
        submission_id=submission_id,
    )
    _set_contact_fields(contact, data)
    contact.full_clean(exclude=["case", "client", "agency", "recorded_by"])
    contact.save()
    contact.presenting_concerns.set(concerns)
    contact.services_on_scene.set(services)
    contact.attended_by.set(attended or [actor])

    if opened:
        events.case_opened(case=case, actor=actor, contact=contact)
    events.contact_recorded(contact=contact, actor=actor)
    case.presenting_concerns.add(*concerns)
    if case.last_contact_at is None or contact.received_at >= case.last_contact_at:
        case.last_contact_at = contact.received_at
        case.save(update_fields=["last_contact_at"])
    if performed:
        _refresh_case_risk(case=case, actor=actor, contact=contact)

    ContactDraft.objects.filter(user=actor).delete()
    audit(request=request, actor=actor, action=Action.CREATE, obj=contact)
    fanout.contact_recorded(contact=contact, actor=actor, for_followup=for_followup)
    return contact


def _lock_current_record(client: Client) -> Client:
    """The client's row, locked; or, when it has been merged (while the form was open),
    the row of the record it was merged into: the contact belongs to the same person."""
    client = Client.objects.select_for_update().get(pk=client.pk)
    if client.merged_into_id:
        client = Client.objects.select_for_update().get(pk=client.merged_into_id)
    return client


def _pop_list(data: dict[str, Any], name: str) -> list[Any]:
    return list(data.pop(name, []) or [])


def _case_to_record_on(
    *, actor: User, client: Client, received_at: datetime | None
) -> tuple[Case, bool]:
    """The client's open case, or a new one assigned to the actor and their team, opened
    at `received_at` (else now); and whether it was opened here. Raises OutsideScope,
    naming the case, when the open case is not one the actor may record on."""
    case = client.cases.filter(status=CaseStatus.OPEN).first()
    if case is not None and not Case.objects.contactable_by(actor).filter(pk=case.pk).exists():
        raise OutsideScope(
            _(
                "This client's open case is outside your caseload: use emergency access to "
                "open it, then record the contact."
            ),
            case_id=case.pk,
        )
    if case is not None:
        return case, False
    case = Case.objects.create(
        agency_id=client.agency_id,
        client=client,
        assigned_worker=actor,
        team_id=actor.team_id,
        opened_by=actor,
        opened_at=received_at or timezone.now(),
    )
    return case, True


def _set_contact_fields(contact: Contact, data: dict[str, Any]) -> None:
    """Set each of `data`'s fields on the contact; a call nature given as an id sets
    call_nature_id."""
    for name, value in data.items():
        if name == "call_nature" and isinstance(value, int):
            name = "call_nature_id"
        setattr(contact, name, value)


def _refresh_case_risk(*, case: Case, actor: User, contact: Contact) -> None:
    """Set the case's risk from its latest screen by time received: a back-dated or
    corrected screen changes it only if it is the latest. Updates `case` in place."""
    current = (
        Case.objects.select_for_update(of=("self",))
        .filter(pk=case.pk)
        .values_list("risk_level", "risk_assessed_at")
        .get()
    )
    latest = case.contacts.filter(cssrs_performed=True).order_by("-received_at", "-pk").first()
    level = latest.risk_level if latest else RiskLevel.NOT_SCREENED
    assessed = latest.received_at if latest else None
    if current[0] != level:
        events.risk_changed(case=case, actor=actor, old=current[0], new=level, contact=contact)
    if current != (level, assessed):
        Case.objects.filter(pk=case.pk).update(risk_level=level, risk_assessed_at=assessed)
    case.risk_level, case.risk_assessed_at = level, assessed


def _jsonable(value: object) -> object:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "pk"):
        return value.pk
    return value


@transaction.atomic
def amend_contact(
    *,
    actor: User,
    contact: Contact,
    changes: dict[str, Any],
    reason: str,
    request: HttpRequest | None = None,
) -> ContactAmendment:
    """Correct a saved contact. The replaced values are kept in the amendment row.

    `changes` maps fields of AMENDABLE_FIELDS to new values; unchanged values are ignored.
    Raises InvalidAmendment when nothing changes, a field may not be amended, or no
    reason is given.
    """
    _check_amendment(changes=changes, reason=reason)
    contact = Contact.objects.select_for_update().get(pk=contact.pk)
    diff = _apply_changes(contact, changes)
    if not diff:
        raise InvalidAmendment(_("Nothing was changed."))
    screen_changed = any(name.startswith("cssrs_") for name in diff)
    if screen_changed:
        _rescore_screen(contact, diff)
    contact.full_clean(exclude=["case", "client", "agency", "recorded_by"])
    contact.amendment_count += 1
    contact.save()
    amendment = ContactAmendment.objects.create(
        contact=contact, amended_by=actor, reason=reason.strip(), changes=diff
    )
    events.contact_amended(amendment=amendment)
    case = contact.case
    if screen_changed or "received_at" in diff:
        _refresh_case_risk(case=case, actor=actor, contact=contact)
    if "received_at" in diff:
        latest = (
            case.contacts.order_by("-received_at").values_list("received_at", flat=True).first()
        )
        Case.objects.filter(pk=case.pk).update(last_contact_at=latest)
    audit(
        request=request,
        actor=actor,
        action=Action.AMEND,
        obj=contact,
        detail={"amendment_id": amendment.pk, "fields": sorted(diff)},
    )
    return amendment


def _check_amendment(*, changes: dict[str, Any], reason: str) -> None:
    """Raises InvalidAmendment without a reason or for a field that may not be amended."""
    if not reason or not reason.strip():
        raise InvalidAmendment(_("Say why the contact is being corrected."))
    unknown = set(changes) - set(AMENDABLE_FIELDS)
    if unknown:
        raise InvalidAmendment(
            _("These fields cannot be amended: %(fields)s.")
            % {"fields": ", ".join(sorted(unknown))}
        )


def _apply_changes(contact: Contact, changes: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Set the changed values on the contact (not saved); returns {field: {"from", "to"}}
    for each value that differs."""
    diff: dict[str, dict[str, Any]] = {}
    for name, new in changes.items():
        attname = "call_nature_id" if name == "call_nature" else name
        old = getattr(contact, attname)
        new_value = new.pk if name == "call_nature" and hasattr(new, "pk") else new
        if old != new_value:
            diff[name] = {"from": _jsonable(old), "to": _jsonable(new_value)}
            setattr(contact, attname, new_value)
    return diff


def _rescore_screen(contact: Contact, diff: dict[str, dict[str, Any]]) -> None:
    """Score the amended screen again; a risk level that moves is added to `diff`."""
    answers = {
        name: getattr(contact, name) for name in AMENDABLE_FIELDS if name.startswith("cssrs_")
    }
    performed, level = compute_screen(answers)
    if level != contact.risk_level:
        diff["risk_level"] = {"from": contact.risk_level, "to": level}
    contact.cssrs_performed, contact.risk_level = performed, level


@transaction.atomic
def set_case_concerns(
    *, actor: User, case: Case, concerns: Iterable[Concern], request: HttpRequest | None = None
) -> Case:
    case = Case.objects.select_for_update(of=("self",)).get(pk=case.pk)
    if not case.is_open:
        raise CaseClosed(_("This case is closed."))
    old = {c.pk: c for c in case.presenting_concerns.all()}
    new = {c.pk: c for c in concerns}
    added = [new[pk].label for pk in new.keys() - old.keys()]
    removed = [old[pk].label for pk in old.keys() - new.keys()]
    if added or removed:
        case.presenting_concerns.set(new.values())
        events.concerns_changed(case=case, actor=actor, added=added, removed=removed)
        audit(
            request=request,
            actor=actor,
            action=Action.UPDATE,
            obj=case,
            detail={"concerns": sorted(new)},
        )
    return case


@transaction.atomic
def close_case(
    *, actor: User, case: Case, reason: str, note: str = "", request: HttpRequest | None = None
) -> Case:
    case = Case.objects.select_for_update(of=("self",)).get(pk=case.pk)
    if not case.is_open:
        raise CaseClosed(_("This case is already closed."))
    case.status = CaseStatus.CLOSED
    case.closed_at = timezone.now()
    case.closed_by = actor
    case.close_reason = reason
    case.close_note = note
    case.full_clean(exclude=["client", "agency", "assigned_worker", "opened_by", "team"])
    case.save()
    events.case_closed(case=case, actor=actor)
    fanout.case_closed(case=case, actor=actor, request=request)
    audit(request=request, actor=actor, action=Action.CLOSE, obj=case, detail={"reason": reason})
    return case


def can_reassign(user: User, case: Case) -> bool:
    """Supervisors reassign cases of the teams they supervise."""
    if user.role != Role.SUPERVISOR or case.agency_id != user.agency_id:
        return False
    return case.team_id is not None and user.supervised_teams.filter(pk=case.team_id).exists()


def _check_assignee(actor: User, worker: User) -> None:
    if worker.agency_id != actor.agency_id or not worker.works_cases or not worker.is_active:
        raise InvalidReassignment(_("Cases can only go to an active worker of the same agency."))
    if worker.pk == actor.pk:
        return
    if not (worker.team_id and actor.supervised_teams.filter(pk=worker.team_id).exists()):
        raise InvalidReassignment(_("You can only assign cases to members of teams you supervise."))


def _reassign(*, actor: User, case: Case, to_worker: User, request: HttpRequest | None) -> None:
    old_worker, old_team = case.assigned_worker, case.team
    case.assigned_worker = to_worker
    case.team = to_worker.team or case.team
    case.save(update_fields=["assigned_worker", "team"])
    fanout.case_reassigned(
        case=case,
        old_worker_id=old_worker.pk,
        new_worker=to_worker,
        actor=actor,
        request=request,
    )
    events.reassigned(
        case=case,
        actor=actor,
        old_worker=old_worker,
        new_worker=to_worker,
        old_team=old_team,
        new_team=case.team,
    )
    audit(
        request=request,
        actor=actor,
        action=Action.REASSIGN,
        obj=case,
        detail={"from_worker": old_worker.pk, "to_worker": to_worker.pk},
    )


@transaction.atomic
def reassign_case(
    *, actor: User, case: Case, to_worker: User, request: HttpRequest | None = None
) -> Case:
    """Give one open case to another worker (and their team)."""
    case = (
        Case.objects.select_for_update(of=("self",))
        .select_related("assigned_worker", "team")
        .get(pk=case.pk)
    )
    if not can_reassign(actor, case):
        raise InvalidReassignment(_("Only a supervisor of this case's team can reassign it."))
    if not case.is_open:
        raise CaseClosed(_("A closed case cannot be reassigned."))
    _check_assignee(actor, to_worker)
    if case.assigned_worker_id == to_worker.pk:
        raise InvalidReassignment(
            _("The case is already assigned to %(worker)s.") % {"worker": to_worker}
        )
    _reassign(actor=actor, case=case, to_worker=to_worker, request=request)
    return case


@transaction.atomic
def reassign_caseload(
    *, actor: User, from_worker: User, to_worker: User, request: HttpRequest | None = None
) -> int:
    """Move every open case of `from_worker` in the actor's teams to `to_worker`, in one
    step (for a departing worker). Returns how many cases moved."""
    if actor.role != Role.SUPERVISOR:
        raise InvalidReassignment(_("Only supervisors reassign caseloads."))
    if from_worker.pk == to_worker.pk:
        raise InvalidReassignment(_("Choose a different worker to take the caseload."))
    if from_worker.agency_id != actor.agency_id:
        raise InvalidReassignment(_("That worker is not in your agency."))
    _check_assignee(actor, to_worker)
    cases = list(
        Case.objects.select_for_update(of=("self",))
        .select_related("assigned_worker", "team")
        .filter(
            agency_id=cast(int, actor.agency_id),  # a supervisor's agency (User.clean)
            assigned_worker=from_worker,
            status=CaseStatus.OPEN,
            team__in=actor.supervised_teams.all(),
        )
    )
    for case in cases:
        _reassign(actor=actor, case=case, to_worker=to_worker, request=request)
    return len(cases)


@transaction.atomic
def grant_emergency_access(
    *, actor: User, case: Case, reason: str, request: HttpRequest | None = None
) -> EmergencyAccess:
    """Break the glass: open a case of the actor's agency outside their scope for
    EMERGENCY_ACCESS_HOURS. Audited, on the case timeline, and listed for supervisors."""
    if not actor.works_cases:
        raise EmergencyAccessRefused(
            _("Only social workers and supervisors can use emergency access.")
        )
    if case.agency_id != actor.agency_id:
        raise EmergencyAccessRefused(_("No such case."))
    reason = (reason or "").strip()
    if len(reason) < 10:
        raise EmergencyAccessRefused(
            _("Give the reason for emergency access (at least 10 characters).")
        )
    now = timezone.now()
    grant = EmergencyAccess.objects.create(
        user=actor,
        case=case,
        reason=reason,
        granted_at=now,
        expires_at=now + timedelta(hours=settings.EMERGENCY_ACCESS_HOURS),
    )
    events.emergency_access_granted(grant=grant)
    audit(
        request=request,
        actor=actor,
        action=Action.EMERGENCY_ACCESS,
        obj=case,
        detail={"grant_id": grant.pk, "reason": reason, "expires_at": grant.expires_at.isoformat()},
    )
    return grant


@transaction.atomic
def review_emergency_access(
    *, actor: User, grant: EmergencyAccess, note: str = "", request: HttpRequest | None = None
) -> EmergencyAccess:
    """A supervisor marks an emergency access as reviewed."""
    if not EmergencyAccess.objects.for_supervisor(actor).filter(pk=grant.pk).exists():
        raise EmergencyAccessRefused(_("You do not supervise this access."))
    updated = EmergencyAccess.objects.filter(pk=grant.pk, reviewed_at__isnull=True).update(
        reviewed_by=actor, reviewed_at=timezone.now(), review_note=note[:500]
    )
    if not updated:
        raise EmergencyAccessRefused(_("This access was already reviewed."))
    grant.refresh_from_db()
    audit(
        request=request,
        actor=actor,
        action=Action.UPDATE,
        obj=grant,
        agency=actor.agency,
        detail={"reviewed": True},
    )
    return grant


def save_draft(*, actor: User, data: dict[str, Any]) -> ContactDraft:
    draft, _ = ContactDraft.objects.update_or_create(
        user=actor, defaults={"data": without_nul(data)}
    )
    return draft


# A note written on a phone without a connection reaches the server later, with the
# time it was written: that may be ahead of the server's clock by this much, no more.
NOTE_CLOCK_SKEW = timedelta(minutes=5)
NOTE_MAX_CHARS = 5000


def add_case_note(
    *,
    actor: User,
    case: Case,
    text: str,
    at: datetime | None = None,
    submission_id: uuid.UUID | None = None,
    request: HttpRequest | None = None,
) -> CaseNote:
    """A note on an open case the actor may change (Case.objects.writable_by), on the
    timeline at `at` (when it was written; now by default). Raises CaseClosed on a closed
    case, NotPermitted outside the actor's cases, ValidationError on an empty note or a
    time in the future or before the case opened.

    With a `submission_id` (the form's one-time id), a repeated call returns the note the
    first one recorded, even when both arrive at once."""
    if submission_id is not None:
        done = CaseNote.objects.filter(author=actor, submission_id=submission_id).first()
        if done:
            return done
    try:
        return _add_case_note(
            actor=actor, case=case, text=text, at=at, submission_id=submission_id, request=request
        )
    except IntegrityError:
        done = (
            CaseNote.objects.filter(author=actor, submission_id=submission_id).first()
            if submission_id
            else None
        )
        if done:
            return done
        raise


@transaction.atomic
def _add_case_note(
    *,
    actor: User,
    case: Case,
    text: str,
    at: datetime | None,
    submission_id: uuid.UUID | None,
    request: HttpRequest | None,
) -> CaseNote:
    case = Case.objects.select_for_update(of=("self",)).get(pk=case.pk)
    if not Case.objects.writable_by(actor).filter(pk=case.pk).exists():
        raise NotPermitted(_("Only the workers of this case can add a note to it."))
    if not case.is_open:
        raise CaseClosed(_("This case is closed: a note cannot be added."))
    text = without_nul(text or "").strip()
    if not text:
        raise ValidationError({"text": _("Write the note.")})
    if len(text) > NOTE_MAX_CHARS:
        raise ValidationError(
            {"text": _("A note holds at most %(count)s characters.") % {"count": NOTE_MAX_CHARS}}
        )
    now = timezone.now()
    at = now if at is None else at
    if at > now + NOTE_CLOCK_SKEW:
        raise ValidationError({"at": _("A note cannot be written in the future.")})
    if at < case.opened_at:
        raise ValidationError({"at": _("That is before the case was opened.")})
    note = CaseNote.objects.create(
        case=case, author=actor, at=at, text=text, submission_id=submission_id
    )
    events.note_added(note=note)
    audit(
        request=request,
        actor=actor,
        action=Action.CREATE,
        obj=note,
        agency_id=case.agency_id,
        client_id=case.client_id,
        detail={"case_id": case.pk},
    )
    return note


# Details a merge copies from the duplicate where the survivor has none.
MERGE_FILLS = (
    "legal_name",
    "preferred_name",
    "date_of_birth",
    "pronouns",
    "preferred_language",
    "phone",
    "email",
    "where_to_find",
)


def can_merge_clients(user: User) -> bool:
    """Agency admins merge records of one person entered twice."""
    return user.is_authenticated and user.role == Role.AGENCY_ADMIN and bool(user.agency_id)


@transaction.atomic
def merge_clients(
    *, actor: User, survivor: Client, duplicate: Client, request: HttpRequest | None = None
) -> Client:
    """Merge `duplicate` into `survivor`: every row that names the duplicate (cases,
    contacts, referrals, consents, disclosures, hospital visits, follow-ups through their
    cases, notifications, identifiers, records merged into it before) moves to the
    survivor, which also takes the duplicate's details where it has none. The duplicate is
    kept, inactive, pointing to the survivor; each of the person's cases gets a timeline
    entry, and both records an audit row.

    Refused (MergeRefused) for records of another agency, the same record twice, a record
    already merged, or when both have an open case (a client has at most one: a worker
    closes one first).
    """
    if not can_merge_clients(actor):
        raise NotPermitted(_("Only an agency admin can merge client records."))
    if survivor.pk == duplicate.pk:
        raise MergeRefused(_("Choose two different records to merge."))
    # Both rows locked, in id order so that two merges cannot deadlock; a contact being
    # recorded for either waits (record_contact locks the client too).
    locked = {
        c.pk: c
        for c in Client.objects.select_for_update()
        .filter(pk__in=[survivor.pk, duplicate.pk], agency_id=cast(int, actor.agency_id))
        .order_by("pk")
    }
    if len(locked) != 2:
        raise MergeRefused(_("No such client in your agency."))
    survivor, duplicate = locked[survivor.pk], locked[duplicate.pk]
    for client in (survivor, duplicate):
        if client.is_merged:
            raise MergeRefused(
                _("Record %(merged)s was already merged into record %(survivor)s.")
                % {"merged": client.pk, "survivor": client.merged_into_id}
            )
    open_cases = list(
        Case.objects.select_for_update(of=("self",))
        .filter(client__in=[survivor, duplicate], status=CaseStatus.OPEN)
        .values_list("pk", flat=True)
    )
    if len(open_cases) > 1:
        raise MergeRefused(
            _(
                "Both records have an open case (cases %(first)s and %(second)s): a "
                "client has one open case at a time, so one must be closed before merging."
            )
            % {"first": open_cases[0], "second": open_cases[1]}
        )

    moved, kept_identifiers = _move_client_rows(duplicate=duplicate, survivor=survivor)
    filled = _fill_from(survivor, duplicate)
    Client.objects.filter(pk=duplicate.pk).update(merged_into=survivor, merged_at=timezone.now())
    duplicate.merged_into = survivor
    events.clients_merged(
        cases=Case.objects.filter(client=survivor),
        actor=actor,
        survivor=survivor,
        duplicate=duplicate,
    )
    detail = {
        "survivor_id": survivor.pk,
        "merged_id": duplicate.pk,
        "moved": moved,
        "filled": filled,
        "identifiers_kept_on_merged_record": kept_identifiers,
    }
    for client in (survivor, duplicate):
        audit(request=request, actor=actor, action=Action.MERGE, obj=client, detail=detail)
    return survivor


def _move_client_rows(*, duplicate: Client, survivor: Client) -> tuple[dict[str, int], list[str]]:
    """Point every foreign key to the duplicate at the survivor, whichever app holds it
    (found from the model graph, so a new one cannot be forgotten). Returns the number
    of rows moved per table and what is left on the duplicate: an identifier of a kind
    the survivor already has (one per kind), and the rows of a model that keeps the
    survivor's (`MERGE_KEEPS_SURVIVORS`: a safety plan or crisis plans) when the
    survivor has its own."""
    moved: dict[str, int] = {}
    kept: list[str] = []
    relations = [
        f
        for f in Client._meta.get_fields(include_hidden=True)
        if isinstance(f, ForeignObjectRel)
        and f.auto_created
        and not f.concrete
        and (f.one_to_many or f.one_to_one)
    ]
    for relation in relations:
        model, name = relation.related_model, relation.field.name
        rows = model._base_manager.filter(**{name: duplicate})
        if (
            getattr(model, "MERGE_KEEPS_SURVIVORS", False)
            and model._base_manager.filter(**{name: survivor}).exists()
        ):
            # The person's plan is the survivor's; the duplicate's stays readable on the
            # merged record (one plan per person: plans.models).
            kept += [f"{model._meta.verbose_name}: {row.pk}" for row in rows]
            continue
        if model is ClientIdentifier:
            taken = set(survivor.identifiers.values_list("kind", flat=True))
            kept = [
                f"{kind}: {value}"
                for kind, value in rows.filter(kind__in=taken).values_list("kind", "value")
            ]
            rows = rows.exclude(kind__in=taken)
        count = rows.update(**{name: survivor})
        if count:
            moved[model._meta.label_lower] = moved.get(model._meta.label_lower, 0) + count
    return moved, kept


def _fill_from(survivor: Client, duplicate: Client) -> list[str]:
    """Copy the duplicate's details the survivor lacks; returns the fields filled."""
    filled: list[str] = []
    for name in MERGE_FILLS:
        if not getattr(survivor, name) and getattr(duplicate, name):
            setattr(survivor, name, getattr(duplicate, name))
            filled.append(name)
    if "date_of_birth" in filled:
        survivor.estimated_age = survivor.estimated_age_on = None
    elif (
        survivor.date_of_birth is None
        and survivor.estimated_age is None
        and duplicate.estimated_age is not None
    ):
        survivor.estimated_age = duplicate.estimated_age
        survivor.estimated_age_on = duplicate.estimated_age_on
        filled.append("estimated_age")
    if "legal_name" in filled:
        survivor.is_unidentified = False
    if filled:
        survivor.refresh_search_keys()
        survivor.save()
    return filled
