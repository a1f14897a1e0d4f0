"""Protocols: which ones an event enrols in, and an agency admin's changes to them (a new
version applies to new enrolments only)."""

from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts.models import Role, User
from audit.models import Action
from audit.services import record as audit
from followups.exceptions import FollowUpInvalid, NotPermitted
from followups.models import (
    EndRule,
    Method,
    Performer,
    Protocol,
    ProtocolStep,
    ProtocolVersion,
    Trigger,
    Unit,
)
from followups.protocols import install_standard_protocols
from followups.services.common import clean_reason


def protocols_for(agency_id: int, trigger: str, *, intensive: bool = False) -> list[Protocol]:
    """The agency's active protocols for a trigger, in one query once the agency has any
    (the standard ones are installed the first time an agency has none at all). For an
    ED visit at high risk the intensive one is chosen instead of the plain one (the plain
    one when the agency has no active intensive one); a high risk alone enrols in the
    intensive one only."""
    wanted = Trigger.ED_VISIT if trigger == Trigger.HIGH_RISK else trigger
    chosen = list(Protocol.objects.for_agency(agency_id).active().filter(trigger=wanted))
    if not chosen and not Protocol.objects.filter(agency_id=agency_id).exists():
        install_standard_protocols(agency_id)
        chosen = list(Protocol.objects.for_agency(agency_id).active().filter(trigger=wanted))
    if trigger == Trigger.HIGH_RISK:
        return [p for p in chosen if p.intensive]
    if trigger == Trigger.ED_VISIT:
        intensive_ones = [p for p in chosen if p.intensive]
        plain = [p for p in chosen if not p.intensive]
        return intensive_ones if (intensive and intensive_ones) else plain
    return chosen


STEP_FIELDS = (
    "name",
    "unit",
    "start",
    "due",
    "end",
    "method",
    "performer",
    "repeat_every",
    "repeat_times",
)


MAX_STEPS = 40


MAX_OFFSET = {Unit.DAYS: 366 * 5, Unit.HOURS: 24 * 366}


def _require_agency_admin(actor: User, protocol: Protocol) -> None:
    if actor.role != Role.AGENCY_ADMIN or actor.agency_id != protocol.agency_id:
        raise NotPermitted(_("Only the agency's administrators change its protocols."))


def _invalid(n: int, message: str, **args: object) -> FollowUpInvalid:
    """A refusal about step `n` (1-based): "Step 2: give it a name." `message` is marked
    with gettext_noop and may name more `args`."""
    return FollowUpInvalid(_(message) % {"n": n, **args}, field="steps")


# The offsets as the messages name them.
OFFSET_NAMES = {
    "start": gettext_noop("start"),
    "due": gettext_noop("due"),
    "end": gettext_noop("end"),
}


def _clean_step(n: int, raw: dict) -> dict:
    """One step's values, checked; `n` is its 1-based position for the messages."""
    step = {name: raw.get(name) for name in STEP_FIELDS}
    step["name"] = " ".join(str(step["name"] or "").replace("\x00", "").split())[:120]
    if not step["name"]:
        raise _invalid(n, gettext_noop("Step %(n)s: give it a name."))
    if step["unit"] not in Unit.values:
        raise _invalid(n, gettext_noop("Step %(n)s: choose days or hours."))
    if step["method"] not in Method.values:
        raise _invalid(n, gettext_noop("Step %(n)s: choose how the contact is made."))
    if step["performer"] not in Performer.values:
        raise _invalid(n, gettext_noop("Step %(n)s: choose who does it."))
    _check_window(n, step)
    _clean_repeat(n, step)
    return step


def _check_window(n: int, step: dict) -> None:
    """The step's start, due and end offsets: whole numbers within reach, in that order."""
    for name in ("start", "due", "end"):
        value = step[name]
        offset = _(OFFSET_NAMES[name])
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise _invalid(
                n,
                gettext_noop("Step %(n)s: %(offset)s must be a whole number from 0."),
                offset=offset,
            )
        if value > MAX_OFFSET[step["unit"]]:
            raise _invalid(
                n, gettext_noop("Step %(n)s: %(offset)s is too far from the anchor."), offset=offset
            )
    if not step["start"] <= step["due"] <= step["end"]:
        raise _invalid(
            n,
            gettext_noop(
                "Step %(n)s: the window must open, fall due and close in that order "
                "(start <= due <= end)."
            ),
        )


def _clean_repeat(n: int, step: dict) -> None:
    """Check the step's repeat_every and repeat_times, setting the blank ones to None;
    call after _check_window."""
    every, times = step["repeat_every"], step["repeat_times"]
    if every in (None, 0, ""):
        if times not in (None, 0, ""):
            raise _invalid(n, gettext_noop("Step %(n)s: say how often it repeats."))
        step["repeat_every"] = step["repeat_times"] = None
        return
    if not isinstance(every, int) or every < 1:
        raise _invalid(n, gettext_noop("Step %(n)s: it repeats every 1 or more units."))
    if every > MAX_OFFSET[step["unit"]]:
        raise _invalid(n, gettext_noop("Step %(n)s: it repeats too far apart."))
    if every <= step["end"] - step["start"]:
        raise _invalid(
            n,
            gettext_noop(
                "Step %(n)s: it repeats before its window closes; repeat less often or "
                "narrow the window."
            ),
        )
    if times in (None, ""):
        step["repeat_times"] = None
    elif not isinstance(times, int) or not 2 <= times <= 100:
        raise _invalid(
            n, gettext_noop("Step %(n)s: it repeats 2 to 100 times in all, or leave it blank.")
        )


@transaction.atomic
def save_protocol_version(
    *,
    actor: User,
    protocol: Protocol,
    description: str,
    end_rule: str,
    steps: list[dict],
    change_note: str,
    request: HttpRequest | None = None,
) -> ProtocolVersion:
    """Save a new version of an agency's protocol (number + 1). Enrolments already made
    keep the version they follow; the new one applies to new enrolments only."""
    _require_agency_admin(actor, protocol)
    protocol = Protocol.objects.select_for_update().get(pk=protocol.pk)
    description = (description or "").replace("\x00", "").strip()
    if not description:
        raise FollowUpInvalid(_("Describe the protocol and its evidence."), field="description")
    if len(description) > 4000:
        raise FollowUpInvalid(_("Keep the description under 4000 characters."), field="description")
    if end_rule not in EndRule.values:
        raise FollowUpInvalid(_("Choose when the protocol ends."), field="end_rule")
    change_note = clean_reason(change_note, field="change_note")
    if not steps:
        raise FollowUpInvalid(_("A protocol needs at least one step."), field="steps")
    if len(steps) > MAX_STEPS:
        raise FollowUpInvalid(_("Keep it to %(max)s steps.") % {"max": MAX_STEPS}, field="steps")
    cleaned = [_clean_step(n, raw) for n, raw in enumerate(steps, start=1)]
    last = protocol.versions.order_by("-number").values_list("number", flat=True).first() or 0
    version = ProtocolVersion.objects.create(
        protocol=protocol,
        number=last + 1,
        description=description,
        end_rule=end_rule,
        created_by=actor,
        change_note=change_note,
    )
    ProtocolStep.objects.bulk_create(
        ProtocolStep(version=version, position=n, **step) for n, step in enumerate(cleaned, start=1)
    )
    audit(
        request=request,
        actor=actor,
        action=Action.UPDATE,
        obj=protocol,
        agency_id=protocol.agency_id,
        detail={"version": version.number, "change_note": change_note, "steps": len(cleaned)},
    )
    return version


@transaction.atomic
def set_protocol_active(
    *, actor: User, protocol: Protocol, active: bool, request: HttpRequest | None = None
) -> Protocol:
    """Switch a protocol on or off for new enrolments; running enrolments carry on."""
    _require_agency_admin(actor, protocol)
    protocol = Protocol.objects.select_for_update().get(pk=protocol.pk)
    if protocol.is_active != active:
        protocol.is_active = active
        protocol.save(update_fields=["is_active"])
        audit(
            request=request,
            actor=actor,
            action=Action.UPDATE,
            obj=protocol,
            agency_id=protocol.agency_id,
            detail={"is_active": active},
        )
    return protocol
