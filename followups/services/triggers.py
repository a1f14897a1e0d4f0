"""Enrolment from what is recorded: a contact (a hospital visit, a high C-SSRS risk, a
crisis resolved on scene), a sent referral, and the end of the protocols that run until
the client is engaged in care."""

import datetime
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_noop

from accounts.models import User
from cases.cssrs import RiskLevel
from cases.models import CallNature, Case, Contact, Disposition
from core.i18n import StoredText, english, label, stored_text
from core.i18n import day as day_arg
from followups.models import (
    OPEN_STATUSES,
    EndRule,
    Enrolment,
    EnrolmentStatus,
    FollowUp,
    HospitalVisit,
    Protocol,
    Trigger,
    VisitKind,
)
from followups.services.common import clean_reason
from followups.services.enrolment import end_locked_enrolment, enrol
from followups.services.protocols import protocols_for
from followups.services.visits import reason_from_concerns, record_hospital_visit

# The contacts that end with the client back in the community, with no service holding
# their care: the post-crisis check follows (protocols of the "resolved on scene"
# trigger). A shelter gives a bed, not care. A crisis centre and detox (withdrawal
# management) hold the client's care for a stay: the check belongs after their
# discharge, which the worker schedules when it is known, so those start nothing here.
POST_CRISIS_CHECK = (Disposition.RESOLVED_ON_SCENE, Disposition.SHELTER)

# The reasons an enrolment from a contact or a referral gives (core.i18n.stored_text:
# stored in English, shown in each reader's language, `day` as the reader writes dates).
HIGH_RISK = gettext_noop("High suicide risk on the C-SSRS screener, %(day)s")
REPLACED_BY = gettext_noop("High C-SSRS risk: replaced by %(protocol)s")
RESOLVED_ON_SCENE = gettext_noop("Crisis contact resolved on scene, %(day)s, %(time)s")
CONTACT_ENDED = gettext_noop("Crisis contact ended: %(disposition)s, %(day)s, %(time)s")
REFERRAL_SENT = gettext_noop("Referral sent to %(provider)s")
# A disposition inside that sentence, as the choice's label in lower case.
DISPOSITION_IN_TEXT: dict[str, str] = {Disposition.SHELTER: gettext_noop("transported to shelter")}


def enrol_from_contact(*, contact: Contact, actor: User, for_followup: bool = False) -> None:
    """What a recorded contact starts: a hospital visit (and its protocol) when the
    client was taken to the ER or hospitalised, the intensive protocol at a high C-SSRS
    risk (which takes over from a running plain post-discharge protocol), a post-crisis
    check when it was resolved on scene or ended at a shelter (POST_CRISIS_CHECK), unless
    the contact was itself a follow-up being done (`for_followup`): that is the check,
    not a new crisis. Idempotent for the same contact. Call inside the contact's
    transaction (cases.services.record_contact does)."""
    case = contact.case
    at = contact.cleared_at or contact.on_scene_at or contact.received_at
    if contact.disposition in (Disposition.EMERGENCY_ROOM, Disposition.HOSPITALISED):
        if HospitalVisit.objects.filter(source_contact=contact).exists():
            return
        kind = (
            VisitKind.ED
            if contact.disposition == Disposition.EMERGENCY_ROOM
            else VisitKind.INPATIENT
        )
        concerns = contact.presenting_concerns.values_list("code", flat=True)
        nature = CallNature.objects.filter(pk=contact.call_nature_id).values_list("code", flat=True)
        record_hospital_visit(
            actor=actor,
            case=case,
            kind=kind,
            reason=reason_from_concerns(concerns, nature.first() or ""),
            arrived_at=at,
            admitted=kind == VisitKind.INPATIENT,
            source_contact=contact,
        )
    elif contact.risk_level == RiskLevel.HIGH:
        already = Enrolment.objects.filter(
            case=case, status=EnrolmentStatus.ACTIVE, version__protocol__intensive=True
        ).exists()
        if not already:
            day = case.agency.day_of(at)
            for protocol in protocols_for(contact.agency_id, Trigger.HIGH_RISK):
                enrolment = enrol(
                    case=case,
                    protocol=protocol,
                    trigger=Trigger.HIGH_RISK,
                    anchor_at=at,
                    reason=stored_text(HIGH_RISK, day=day_arg(day)),
                    actor=actor,
                    source_contact=contact,
                )
                if enrolment is not None:
                    _end_plain_post_discharge(case=case, by=protocol, actor=actor)
    if contact.disposition in POST_CRISIS_CHECK and not for_followup:
        _enrol_post_crisis(contact=contact, case=case, at=at, actor=actor)


def _end_plain_post_discharge(*, case: Case, by: Protocol, actor: User | None) -> None:
    """The more intensive protocol takes over: the case's running plain post-discharge
    enrolments end, so the client follows one post-discharge protocol, never two."""
    plain = (
        Enrolment.objects.select_for_update(of=("self",))
        .select_related("version__protocol", "case")
        .filter(
            case=case,
            status=EnrolmentStatus.ACTIVE,
            version__protocol__trigger=Trigger.ED_VISIT,
            version__protocol__intensive=False,
        )
    )
    now = timezone.now()
    for enrolment in plain:
        end_locked_enrolment(
            enrolment,
            actor=actor,
            reason=stored_text(REPLACED_BY, protocol=label(by.name)),
            now=now,
        )


def _enrol_post_crisis(
    *, contact: Contact, case: Case, at: datetime.datetime, actor: User | None
) -> None:
    """A check 48 hours after a contact resolved on scene (or ended at a shelter), unless
    one is still pending
    for the case: the contact that does a pending check (recorded from the Today list,
    often resolved on scene) must complete it, not cancel it or start another."""
    reason = _post_crisis_reason(contact.disposition, case.agency.local(at))
    for protocol in protocols_for(contact.agency_id, Trigger.RESOLVED_ON_SCENE):
        pending = FollowUp.objects.filter(
            case=case,
            status__in=OPEN_STATUSES,
            enrolment__status=EnrolmentStatus.ACTIVE,
            enrolment__version__protocol=protocol,
        )
        if pending.exists():
            continue
        enrol(
            case=case,
            protocol=protocol,
            trigger=Trigger.RESOLVED_ON_SCENE,
            anchor_at=at,
            reason=reason,
            actor=actor,
            source_contact=contact,
        )


def _post_crisis_reason(disposition: str, at: datetime.datetime) -> StoredText:
    """Why the post-crisis check: how the contact ended, and when (`at`, agency time)."""
    when = {"day": day_arg(at), "time": f"{at:%H:%M}"}
    if disposition == Disposition.RESOLVED_ON_SCENE:
        return stored_text(RESOLVED_ON_SCENE, **when)
    in_text = DISPOSITION_IN_TEXT.get(disposition)
    how = label(in_text) if in_text else english(Disposition(disposition).label).lower()
    return stored_text(CONTACT_ENDED, disposition=how, **when)


def enrol_from_referral(*, referral: Any, actor: User) -> None:  # a referrals.Referral
    """A sent referral gets a referral check. Call inside send_referral's transaction."""
    for protocol in protocols_for(referral.agency_id, Trigger.REFERRAL_SENT):
        enrol(
            case=referral.case,
            protocol=protocol,
            trigger=Trigger.REFERRAL_SENT,
            anchor_at=referral.sent_at,
            reason=stored_text(REFERRAL_SENT, provider=referral.provider_name),
            actor=actor,
            source_referral=referral,
        )


def end_engaged_in_care(*, case: Case, actor: User | None, reason: str | StoredText) -> int:
    """End the case's protocols that run until the client is engaged in care (the weekly
    Safety Planning calls), with `reason` (typed, or a stored text the product wrote).
    Returns how many ended. Call inside the transaction of what showed it (a mental
    health referral completed)."""
    if not isinstance(reason, StoredText):
        reason = clean_reason(reason)
    running = (
        Enrolment.objects.select_for_update(of=("self",))
        .select_related("version__protocol", "case")
        .filter(case=case, status=EnrolmentStatus.ACTIVE, version__end_rule=EndRule.ENGAGED_IN_CARE)
    )
    now = timezone.now()
    ended = list(running)
    for enrolment in ended:
        end_locked_enrolment(enrolment, actor=actor, reason=reason, now=now)
    return len(ended)
