"""The crisis response plan's workflow: a worker writes a draft and sends it for
approval; a supervisor who is not its author approves it (or returns it with a note);
the approved version is reviewed at the agency's interval. Each move locks the row and
writes its timeline entry and audit row."""

import datetime
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.models import User
from audit.models import Action
from audit.services import record as audit
from cases.models import Case, Client
from core.i18n import stored_text, user_language
from notifications import services as notices
from notifications.models import Channel, Kind, Notification
from plans import events
from plans.exceptions import InvalidTransition, NotPermitted, PlanInvalid
from plans.models import PENDING_STATUSES, CrisisPlan, CrisisPlanStatus

MAX_CONTACTS = 8
# The fields a worker writes (CrisisPlanContent); every other column is the workflow's.
TEXT_FIELDS = ("triggers", "helps", "avoid", "preferred_care", "hazards")


@dataclass
class CrisisPlanContent:
    triggers: str = ""
    helps: str = ""
    avoid: str = ""
    contacts: list[dict[str, str]] = field(default_factory=list)
    preferred_care: str = ""
    hazards: str = ""

    @classmethod
    def of(cls, plan: CrisisPlan) -> "CrisisPlanContent":
        return cls(
            **{name: getattr(plan, name) for name in TEXT_FIELDS},
            contacts=[dict(c) for c in plan.contacts],
        )


def _text(value: str, max_length: int, name: str) -> str:
    text = (value or "").replace("\x00", "").strip()
    if len(text) > max_length:
        raise PlanInvalid(
            _("Keep this under %(max)s characters.") % {"max": max_length}, field=name
        )
    return text


def clean_content(content: CrisisPlanContent) -> dict[str, Any]:
    fields: dict[str, Any] = {
        name: _text(getattr(content, name), 300 if name == "preferred_care" else 2000, name)
        for name in TEXT_FIELDS
    }
    contacts = []
    for row in content.contacts:
        name = " ".join(str(row.get("name") or "").split())[:200]
        relation = " ".join(str(row.get("relation") or "").split())[:100]
        phone = " ".join(str(row.get("phone") or "").split())[:40]
        if (relation or phone) and not name:
            raise PlanInvalid(_("Give the name of each person to call."), field="contacts")
        if name:
            contacts.append({"name": name, "relation": relation, "phone": phone})
    if len(contacts) > MAX_CONTACTS:
        raise PlanInvalid(
            _("Keep to %(max)s people at most.") % {"max": MAX_CONTACTS}, field="contacts"
        )
    fields["contacts"] = contacts
    return fields


def _lock(plan: CrisisPlan) -> CrisisPlan:
    return (
        CrisisPlan.objects.select_for_update(of=("self",))
        .select_related("agency", "case", "client")
        .get(pk=plan.pk)
    )


def _require_worker(actor: User, case: Case) -> None:
    if not Case.objects.writable_by(actor).filter(pk=case.pk).exists():
        raise NotPermitted(
            _("Only the workers on this client's case can write their crisis response plan.")
        )


def _require_approver(actor: User, plan: CrisisPlan) -> None:
    """A supervisor of the plan's case, and not its author."""
    if (
        not actor.is_supervisor
        or not Case.objects.writable_by(actor).filter(pk=plan.case_id).exists()
    ):
        raise NotPermitted(
            _("Only a supervisor of this client's team can approve or review the plan.")
        )
    if plan.written_by(actor):
        raise NotPermitted(_("You wrote this plan: another supervisor must approve or review it."))


def _move(plan: CrisisPlan, to: str) -> None:
    if not plan.can_transition_to(to):
        raise InvalidTransition(
            _("This plan is %(status)s: that cannot be done now.")
            % {"status": str(plan.get_status_display()).lower()}
        )
    plan.status = to


def _record(
    plan: CrisisPlan,
    actor: User,
    request: HttpRequest | None,
    message: str,
    action: str,
    **args: Any,
) -> None:
    events.on_timeline(
        case_id=plan.case_id,
        actor=actor,
        kind=events.CRISIS_PLAN,
        text=stored_text(message, **args),
        detail={"crisis_plan_id": plan.pk, "number": plan.number, "status": plan.status},
    )
    audit(
        request=request,
        actor=actor,
        action=action,
        obj=plan,
        client_id=plan.client_id,
        detail={"number": plan.number, "status": plan.status},
    )


def _tell(plan: CrisisPlan, people: list[User], event: str, text: Any) -> None:
    """Each of `people` in-app, in their own language, once per sending of the version
    and `event`: `text()` gives the subject in the active language. In-app only: it
    names the client."""
    path = reverse("plans:crisis_plan", args=[plan.client_id])
    sent = f"{plan.submitted_at:%Y%m%d%H%M%S}" if plan.submitted_at else ""
    for person in people:
        with translation.override(user_language(person)):
            subject = str(text())
        notices.notify(
            agency_id=plan.agency_id,
            kind=Kind.CRISIS_PLAN,
            channel=Channel.IN_APP,
            dedupe_key=f"crisis_plan:{plan.pk}:{event}:{sent}:{person.pk}",
            recipient=person,
            client=plan.client,
            subject=subject[:200],
            url=path,
        )


def _answered(plan: CrisisPlan) -> None:
    """The supervisors' notices that the version waited for them are read: it was
    approved, returned or withdrawn."""
    Notification.objects.filter(
        kind=Kind.CRISIS_PLAN,
        dedupe_key__startswith=f"crisis_plan:{plan.pk}:submitted:",
        read_at__isnull=True,
    ).update(read_at=timezone.now())


@transaction.atomic
def save_crisis_plan(
    *,
    actor: User,
    case: Case,
    content: CrisisPlanContent,
    request: HttpRequest | None = None,
) -> CrisisPlan:
    """Write the draft of the next version of the case's client's crisis plan: the
    draft being written is changed in place, else a new one is made. A version waiting
    for approval is not changed (its supervisor returns it first); an approved one never
    is: a change is the next version, which replaces it when approved."""
    client = Client.objects.select_for_update().get(pk=case.client_id)
    case = Case.objects.get(pk=case.pk)
    _require_worker(actor, case)
    if not case.is_open:
        raise PlanInvalid(_("This case is closed: write the plan on the client's open case."))
    fields = clean_content(content)
    now = timezone.now()
    pending = CrisisPlan.objects.filter(client=client, status__in=PENDING_STATUSES).first()
    if pending is not None and pending.status == CrisisPlanStatus.SUBMITTED:
        raise InvalidTransition(
            _("The plan is waiting for approval: it can be changed once it is returned.")
        )
    if pending is None:
        number = (CrisisPlan.objects.filter(client=client).aggregate(n=Max("number"))["n"] or 0) + 1
        plan = CrisisPlan.objects.create(
            agency_id=case.agency_id,
            client=client,
            case=case,
            number=number,
            author=actor,
            created_at=now,
            updated_at=now,
            **fields,
        )
        action = Action.CREATE
    else:
        plan = pending
        for name, value in fields.items():
            setattr(plan, name, value)
        plan.case = case
        plan.updated_at = now
        plan.save()
        action = Action.UPDATE
    plan.editors.add(actor)
    audit(
        request=request,
        actor=actor,
        action=action,
        obj=plan,
        client_id=client.pk,
        detail={"number": plan.number, "status": plan.status},
    )
    return plan


@transaction.atomic
def submit_crisis_plan(
    *, actor: User, plan: CrisisPlan, request: HttpRequest | None = None
) -> CrisisPlan:
    """Send a draft for approval. It must say something responders can use."""
    plan = _lock(plan)
    _require_worker(actor, plan.case)
    if not (plan.triggers or plan.helps or plan.avoid or plan.hazards or plan.contacts):
        raise PlanInvalid(_("Write what the team should know before sending it for approval."))
    _move(plan, CrisisPlanStatus.SUBMITTED)
    plan.submitted_at = timezone.now()
    plan.returned_note = ""
    plan.save(update_fields=["status", "submitted_at", "returned_note"])
    _record(plan, actor, request, events.CRISIS_PLAN_SUBMITTED, Action.UPDATE, number=plan.number)
    # The team's supervisors who may approve it (not one who wrote in it) are told.
    approvers = [
        p for p in notices.supervisors_of(plan.case) if p.is_supervisor and not plan.written_by(p)
    ]
    name = plan.client.display_name
    _tell(
        plan,
        approvers,
        "submitted",
        lambda: _("Crisis response plan to approve: %(name)s") % {"name": name},
    )
    return plan


@transaction.atomic
def return_crisis_plan(
    *, actor: User, plan: CrisisPlan, note: str, request: HttpRequest | None = None
) -> CrisisPlan:
    """Send a version waiting for approval back to its author, with what to change."""
    plan = _lock(plan)
    _require_approver(actor, plan)
    note = " ".join((note or "").split())
    if not note:
        raise PlanInvalid(_("Say what should change."), field="note")
    if len(note) > 300:
        raise PlanInvalid(_("Keep this under %(max)s characters.") % {"max": 300}, field="note")
    _move(plan, CrisisPlanStatus.DRAFT)
    plan.returned_note = note
    plan.save(update_fields=["status", "returned_note"])
    _record(
        plan,
        actor,
        request,
        events.CRISIS_PLAN_RETURNED,
        Action.UPDATE,
        number=plan.number,
        note=note,
    )
    _answered(plan)
    name = plan.client.display_name
    _tell(
        plan,
        [plan.author],
        "returned",
        lambda: _("Crisis response plan returned to you: %(name)s") % {"name": name},
    )
    return plan


def next_review(plan: CrisisPlan, at: datetime.datetime) -> datetime.datetime:
    return at + datetime.timedelta(days=plan.agency.crisis_plan_review_days)


@transaction.atomic
def approve_crisis_plan(
    *, actor: User, plan: CrisisPlan, request: HttpRequest | None = None
) -> CrisisPlan:
    """Approve a version waiting for approval: responders see it from now on, in place of
    the version approved before. Refused to its own author (NotPermitted)."""
    plan = _lock(plan)
    _require_approver(actor, plan)
    _move(plan, CrisisPlanStatus.APPROVED)
    now = timezone.now()
    for older in CrisisPlan.objects.select_for_update().filter(
        client_id=plan.client_id, status=CrisisPlanStatus.APPROVED
    ):
        older.status = CrisisPlanStatus.SUPERSEDED
        older.ended_at = now
        older.ended_by = actor
        older.save(update_fields=["status", "ended_at", "ended_by"])
    plan.approved_by = actor
    plan.approved_at = now
    plan.review_due_at = next_review(plan, now)
    plan.save(update_fields=["status", "approved_by", "approved_at", "review_due_at"])
    _record(plan, actor, request, events.CRISIS_PLAN_APPROVED, Action.UPDATE, number=plan.number)
    _answered(plan)
    return plan


@transaction.atomic
def review_crisis_plan(
    *, actor: User, plan: CrisisPlan, request: HttpRequest | None = None
) -> CrisisPlan:
    """Record that the approved plan was reviewed and is still right: the next review is
    due an interval from now. A plan that needs changing gets a new version instead."""
    plan = _lock(plan)
    _require_approver(actor, plan)
    if plan.status != CrisisPlanStatus.APPROVED:
        raise InvalidTransition(_("Only the approved plan is reviewed."))
    now = timezone.now()
    plan.reviewed_at = now
    plan.reviewed_by = actor
    plan.review_due_at = next_review(plan, now)
    plan.save(update_fields=["reviewed_at", "reviewed_by", "review_due_at"])
    _record(plan, actor, request, events.CRISIS_PLAN_REVIEWED, Action.UPDATE)
    return plan


@transaction.atomic
def withdraw_crisis_plan(
    *, actor: User, plan: CrisisPlan, request: HttpRequest | None = None
) -> CrisisPlan:
    """Give up a draft (a worker on the case), or take an approved plan out of use (a
    supervisor of the team): responders no longer see it."""
    plan = _lock(plan)
    if plan.status == CrisisPlanStatus.APPROVED and not actor.is_supervisor:
        raise NotPermitted(_("Only a supervisor can withdraw an approved plan."))
    _require_worker(actor, plan.case)
    _move(plan, CrisisPlanStatus.WITHDRAWN)
    plan.ended_at = timezone.now()
    plan.ended_by = actor
    plan.save(update_fields=["status", "ended_at", "ended_by"])
    _record(plan, actor, request, events.CRISIS_PLAN_WITHDRAWN, Action.UPDATE, number=plan.number)
    _answered(plan)
    return plan
