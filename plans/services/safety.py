"""Writing a client's safety plan: each save is a new version, the earlier ones kept."""

import uuid
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from audit.models import Action
from audit.services import record as audit
from cases.models import Case, Client, Contact
from core.i18n import stored_text
from directory.models import Service, ServiceStatus
from plans import events
from plans.exceptions import NotPermitted, PlanInvalid
from plans.models import (
    LINE_SECTIONS,
    PEOPLE_SECTIONS,
    REQUIRED_SECTIONS,
    MeansKind,
    SafetyPlan,
    SafetyPlanMeans,
    SafetyPlanVersion,
)

# Limits that keep a plan to one or two printed pages.
MAX_ITEMS = 12
MAX_LINE = 200
MAX_PHONE = 40
MAX_MEANS = 8


@dataclass
class MeansStep:
    kind: str
    step: str
    who: str
    confirmed: bool = False


@dataclass
class PlanContent:
    """What a version holds, as the form or the API gives it: lines for LINE_SECTIONS,
    {"name", "phone"} dicts for PEOPLE_SECTIONS, directory service ids, lethal-means
    steps."""

    warning_signs: list[str] = field(default_factory=list)
    coping: list[str] = field(default_factory=list)
    distractions: list[dict[str, str]] = field(default_factory=list)
    help_people: list[dict[str, str]] = field(default_factory=list)
    professionals: list[dict[str, str]] = field(default_factory=list)
    service_ids: list[str] = field(default_factory=list)
    means: list[MeansStep] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, version: SafetyPlanVersion) -> "PlanContent":
        """A version's content, to start the next one from."""
        return cls(
            warning_signs=list(version.warning_signs),
            coping=list(version.coping),
            distractions=list(version.distractions),
            help_people=list(version.help_people),
            professionals=list(version.professionals),
            service_ids=[s["service_id"] for s in version.services],
            means=[
                MeansStep(kind=m.kind, step=m.step, who=m.who, confirmed=m.is_confirmed)
                for m in version.means.all()
            ],
            reasons=list(version.reasons),
        )


def _clean(text: Any, max_length: int, field_name: str) -> str:
    value = " ".join(str(text or "").replace("\x00", "").split())
    if len(value) > max_length:
        raise PlanInvalid(
            _("Keep each entry under %(max)s characters.") % {"max": max_length}, field=field_name
        )
    return value


def _lines(values: list[Any], field_name: str) -> list[str]:
    lines = [line for line in (_clean(v, MAX_LINE, field_name) for v in values) if line]
    if len(lines) > MAX_ITEMS:
        raise PlanInvalid(
            _("Keep each step to %(max)s entries at most.") % {"max": MAX_ITEMS}, field=field_name
        )
    return lines


def _people(values: list[Any], field_name: str) -> list[dict[str, str]]:
    people = []
    for value in values:
        if not isinstance(value, dict):
            raise PlanInvalid(
                _("Give a name and, if there is one, a phone number."), field=field_name
            )
        name = _clean(value.get("name"), MAX_LINE, field_name)
        phone = _clean(value.get("phone"), MAX_PHONE, field_name)
        if phone and not name:
            raise PlanInvalid(
                _("Give the name that goes with %(phone)s.") % {"phone": phone}, field=field_name
            )
        if name:
            people.append({"name": name, "phone": phone})
    if len(people) > MAX_ITEMS:
        raise PlanInvalid(
            _("Keep each step to %(max)s entries at most.") % {"max": MAX_ITEMS}, field=field_name
        )
    return people


def _services(ids: list[str], user: User) -> list[dict[str, str]]:
    """The directory services chosen, as they read now ({"service_id", "name", "phone"});
    a service the user cannot see, or one no longer active, is refused."""
    try:
        wanted = [str(uuid.UUID(str(i))) for i in dict.fromkeys(ids)]
    except ValueError as exc:
        raise PlanInvalid(_("Choose services from the directory."), field="services") from exc
    if len(wanted) > MAX_ITEMS:
        raise PlanInvalid(
            _("Keep each step to %(max)s entries at most.") % {"max": MAX_ITEMS}, field="services"
        )
    found = {
        str(s.pk): s
        for s in Service.objects.visible_to(user)
        .filter(pk__in=wanted, status=ServiceStatus.ACTIVE)
        .select_related("organization")
        .prefetch_related("phones")
    }
    if len(found) != len(wanted):
        raise PlanInvalid(_("A chosen service is not in the directory."), field="services")
    chosen = []
    for pk in wanted:
        service = found[pk]
        phones = sorted(service.phones.all(), key=lambda p: str(p.pk))
        chosen.append(
            {
                "service_id": pk,
                "name": service.name,
                "phone": phones[0].number if phones else "",
            }
        )
    return chosen


def _means(steps: list[MeansStep]) -> list[MeansStep]:
    cleaned = []
    for step in steps:
        if step.kind not in MeansKind.values:
            raise PlanInvalid(_("Choose what the step is about."), field="means")
        what = _clean(step.step, 300, "means")
        who = _clean(step.who, 200, "means")
        if not what and not who:
            continue
        if not what:
            raise PlanInvalid(_("Say what was agreed for each step."), field="means")
        if not who:
            raise PlanInvalid(_("Say who will do each step."), field="means")
        cleaned.append(MeansStep(kind=step.kind, step=what, who=who, confirmed=step.confirmed))
    if len(cleaned) > MAX_MEANS:
        raise PlanInvalid(_("Keep to %(max)s steps at most.") % {"max": MAX_MEANS}, field="means")
    return cleaned


def clean_content(content: PlanContent, user: User) -> dict[str, Any]:
    """The version's fields from `content`, checked (PlanInvalid on the step at fault)."""
    fields: dict[str, Any] = {}
    for section in LINE_SECTIONS:
        fields[section.value] = _lines(getattr(content, section.value), section.value)
    for section in PEOPLE_SECTIONS:
        fields[section.value] = _people(getattr(content, section.value), section.value)
    for section in REQUIRED_SECTIONS:
        if not fields[section.value]:
            raise PlanInvalid(
                _("Write at least one entry for “%(step)s”.") % {"step": section.label},
                field=section.value,
            )
    fields["services"] = _services(content.service_ids, user)
    fields["means"] = _means(content.means)
    return fields


def _same(version: SafetyPlanVersion | None, fields: dict[str, Any], line: str) -> bool:
    if version is None or version.agency_line != line:
        return False
    for name, value in fields.items():
        if name == "means":
            before = [(m.kind, m.step, m.who, m.is_confirmed) for m in version.means.all()]
            after = [(m.kind, m.step, m.who, m.confirmed) for m in value]
            if before != after:
                return False
        elif getattr(version, name) != value:
            return False
    return True


def _require_writer(actor: User, case: Case) -> None:
    """The plan is written by a worker on the client's case (an emergency access included:
    it is made during a contact)."""
    if not Case.objects.contactable_by(actor).filter(pk=case.pk).exists():
        raise NotPermitted(_("Only the workers on this client's case can write their safety plan."))


def _check_where(case: Case, contact: Contact | None, followup: Any) -> None:
    if not case.is_open:
        raise PlanInvalid(_("This case is closed: write the plan on the client's open case."))
    if contact is not None and contact.case_id != case.pk:
        raise PlanInvalid(_("That contact is not on this case."), field="contact")
    if followup is not None and followup.case_id != case.pk:
        raise PlanInvalid(_("That follow-up is not on this case."), field="followup")


def _means_rows(
    version: SafetyPlanVersion,
    steps: list[MeansStep],
    previous: SafetyPlanVersion | None,
    actor: User,
) -> list[SafetyPlanMeans]:
    """The version's lethal-means rows: a step ticked as confirmed keeps who confirmed it
    and when from the earlier version that did (the same kind, step and who), else it is
    confirmed now by `actor`."""
    before = {}
    if previous is not None:
        before = {(m.kind, m.step, m.who): m for m in previous.means.all() if m.is_confirmed}
    rows = []
    for position, step in enumerate(steps):
        row = SafetyPlanMeans(
            version=version, position=position, kind=step.kind, step=step.step, who=step.who
        )
        if step.confirmed:
            earlier = before.get((step.kind, step.step, step.who))
            row.confirmed_at = earlier.confirmed_at if earlier else version.created_at
            row.confirmed_by_id = earlier.confirmed_by_id if earlier else actor.pk
        rows.append(row)
    return rows


def _record(
    plan: SafetyPlan, version: SafetyPlanVersion, actor: User, request: HttpRequest | None
) -> None:
    text = (
        stored_text(events.SAFETY_PLAN_MADE)
        if version.number == 1
        else stored_text(events.SAFETY_PLAN_CHANGED, number=version.number)
    )
    events.on_timeline(
        case_id=plan.case_id,
        actor=actor,
        kind=events.SAFETY_PLAN,
        text=text,
        detail={"safety_plan_id": plan.pk, "version": version.number},
    )
    audit(
        request=request,
        actor=actor,
        action=Action.CREATE if version.number == 1 else Action.UPDATE,
        obj=plan,
        client_id=plan.client_id,
        detail={"version": version.number, "case_id": plan.case_id},
    )


@transaction.atomic
def save_safety_plan(
    *,
    actor: User,
    case: Case,
    content: PlanContent,
    contact: Contact | None = None,
    followup: Any = None,
    change_note: str = "",
    request: HttpRequest | None = None,
) -> SafetyPlanVersion:
    """Save the safety plan of the case's client as a new version (the first one makes
    the plan). Made during `contact` or on the follow-up call `followup` when given (each
    must be of this case). A lethal-means step ticked as confirmed keeps who confirmed it
    and when from the version that first recorded it. Refuses a version identical to the
    current one: a review that changes nothing is recorded on the follow-up."""
    client = Client.objects.select_for_update().get(pk=case.client_id)
    case = Case.objects.select_related("agency").get(pk=case.pk)
    _require_writer(actor, case)
    _check_where(case, contact, followup)
    fields = clean_content(content, actor)
    note = _clean(change_note, 300, "change_note")
    line = case.agency.crisis_line
    now = timezone.now()

    plan = SafetyPlan.objects.filter(client=client).select_related("current").first()
    previous = plan.current if plan is not None else None
    if _same(previous, fields, line):
        raise PlanInvalid(_("Nothing in the plan changed."))
    if plan is None:
        plan = SafetyPlan.objects.create(
            agency_id=case.agency_id, client=client, case=case, created_by=actor, created_at=now
        )
    means = fields.pop("means")
    version = SafetyPlanVersion.objects.create(
        plan=plan,
        number=(previous.number + 1) if previous else 1,
        created_at=now,
        created_by=actor,
        contact=contact,
        followup=followup,
        change_note=note,
        agency_line=line,
        **fields,
    )
    SafetyPlanMeans.objects.bulk_create(_means_rows(version, means, previous, actor))
    plan.current = version
    plan.case = case
    plan.updated_at = now
    plan.save(update_fields=["current", "case", "updated_at"])
    _record(plan, version, actor, request)
    return version
