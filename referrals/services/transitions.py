"""Moving a referral along its states, and the appointment the provider books."""

import datetime
from typing import cast

from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts.models import User
from audit.models import Action
from audit.services import record as audit
from cases.models import Case
from core.i18n import label, stored_text
from directory.models import NeedCategory
from followups import services as followup_services
from followups.models import Enrolment, EnrolmentStatus
from notifications import services as notices
from referrals import events
from referrals.exceptions import (
    InvalidTransition,
    ReferralInvalid,
)
from referrals.models import (
    ALLOWED_TRANSITIONS,
    FINAL_STATUSES,
    LIVE_STATUSES,
    OUTCOMES_FOR_STATUS,
    EventVia,
    Outcome,
    Party,
    Referral,
    ReferralEvent,
    ReferralEventKind,
    Status,
)
from referrals.services.common import clean_text, lock_referral, require_case_writer
from referrals.services.links import revoke_link

# Sanity bound on an appointment typed by a worker or provider: beyond it a date is a typo.
APPOINTMENT_HORIZON = datetime.timedelta(days=5 * 365)


# What a move does to a referral, in words. In English (as marked) in the texts that are
# stored (a follow-up's end reason); through gettext in the messages shown.
TO_WORDS: dict[str, str] = {
    Status.DRAFT: gettext_noop("made a draft again"),
    Status.REQUESTED: gettext_noop("sent"),
    Status.ACCEPTED: gettext_noop("accepted"),
    Status.REJECTED: gettext_noop("rejected"),
    Status.IN_PROGRESS: gettext_noop("marked in progress"),
    Status.ON_HOLD: gettext_noop("put on hold"),
    Status.COMPLETED: gettext_noop("completed"),
    Status.CANCELLED: gettext_noop("cancelled"),
    Status.FAILED: gettext_noop("marked failed"),
    Status.ENTERED_IN_ERROR: gettext_noop("marked entered in error"),
}


def _status_words(status: str) -> str:
    """A status's label inside a sentence, in the active language."""
    return str(Status(status).label).lower()


def refusal(from_status: str, to_status: str, party: str) -> str:
    """Why `party` may not move a referral from `from_status` to `to_status`."""
    words = {"status": _status_words(from_status), "action": _(TO_WORDS[to_status])}
    if from_status == to_status:
        return _("The referral is already %(status)s.") % words
    who = ALLOWED_TRANSITIONS.get((from_status, to_status), frozenset())
    if who and party not in who:
        if Party.PERFORMER in who:
            if (from_status, to_status) in {
                (Status.REQUESTED, Status.ACCEPTED),
                (Status.REQUESTED, Status.REJECTED),
            }:
                return _(
                    "A sent referral can be accepted or rejected only by the receiving "
                    "provider: record what the provider reported."
                )
            return (
                _(
                    "A %(status)s referral can be %(action)s only by the receiving "
                    "provider: record what the provider reported."
                )
                % words
            )
        return _("A %(status)s referral can be %(action)s only by the referring agency.") % words
    if from_status == Status.ENTERED_IN_ERROR:
        return _("A referral entered in error cannot be changed.")
    if from_status in FINAL_STATUSES:
        return _("A %(status)s referral cannot be reopened.") % words
    if from_status == Status.DRAFT:
        return _("A draft referral cannot be %(action)s before it is sent.") % words
    if to_status == Status.DRAFT:
        return _("A %(status)s referral cannot go back to draft.") % words
    return _("A %(status)s referral cannot be %(action)s.") % words


def _check_outcome(to_status: str, outcome: str) -> str:
    if to_status == Status.COMPLETED:
        if outcome not in ("", Outcome.GOT_HELP):
            raise ReferralInvalid(
                _("A completed referral's outcome is 'got help'."), field="outcome"
            )
        return Outcome.GOT_HELP
    allowed = OUTCOMES_FOR_STATUS.get(to_status)
    if allowed is None:
        if outcome:
            raise ReferralInvalid(
                _("An outcome is recorded only when a referral ends."), field="outcome"
            )
        return ""
    if not outcome:
        raise ReferralInvalid(
            _("Say why the referral was %(action)s.") % {"action": _(TO_WORDS[to_status])},
            field="outcome",
        )
    if outcome not in allowed:
        labels = ", ".join(str(Outcome(o).label).lower() for o in allowed)
        raise ReferralInvalid(
            _("A %(status)s referral's outcome is one of: %(outcomes)s.")
            % {"status": _status_words(to_status), "outcomes": labels},
            field="outcome",
        )
    return outcome


def _check_service_date(
    referral: Referral, to_status: str, service_date: datetime.date | None
) -> datetime.date | None:
    if service_date is None:
        if to_status == Status.COMPLETED and referral.service_date is None:
            raise ReferralInvalid(
                _(
                    "Give the date the client was seen: a referral is completed only when the "
                    "client was seen."
                ),
                field="service_date",
            )
        return referral.service_date
    if to_status not in (Status.COMPLETED, Status.IN_PROGRESS):
        raise ReferralInvalid(
            _(
                "A service date is recorded only when the client was seen (in progress or "
                "completed)."
            ),
            field="service_date",
        )
    agency = referral.agency
    today = agency.today()
    if service_date > today:
        raise ReferralInvalid(
            _("The service date cannot be after today, %(today)s.")
            % {"today": agency.describe_day(today)},
            field="service_date",
        )
    if referral.sent_at is not None and service_date < agency.day_of(referral.sent_at):
        sent_on = agency.describe_day(agency.day_of(referral.sent_at))
        raise ReferralInvalid(
            _("The service date cannot be before the referral was sent, %(sent_on)s.")
            % {"sent_on": sent_on},
            field="service_date",
        )
    return service_date


def _check_seen_after_appointment(referral: Referral, service_date: datetime.date) -> None:
    """Refuse a date seen before the day of the booked appointment until it is confirmed
    (field `seen_early_confirmed`)."""
    if referral.appointment_at is None:
        return
    agency = referral.agency
    booked = agency.day_of(referral.appointment_at)
    if service_date < booked:
        raise ReferralInvalid(
            _(
                "The appointment is booked for %(booked)s, after the date seen (%(seen)s). "
                "Check the date seen; if the client was indeed seen before the appointment, "
                "confirm it."
            )
            % {"booked": agency.describe_day(booked), "seen": date_format(service_date, "j M Y")},
            field="seen_early_confirmed",
        )


def _end_referral_check(
    referral: Referral, *, actor: User | None, request: HttpRequest | None = None
) -> None:
    """The referral ended: the referral check its sending scheduled has nothing left to
    check. Its open follow-ups are cancelled with the reason, in the caller's
    transaction (followups' end_enrolment)."""
    reason = stored_text(
        gettext_noop("Referral to %(provider)s %(action)s"),
        provider=referral.provider_name,
        action=label(TO_WORDS[referral.status]),
    )
    running = Enrolment.objects.filter(source_referral=referral, status=EnrolmentStatus.ACTIVE)
    for enrolment in running:
        followup_services.end_enrolment(
            actor=actor, enrolment=enrolment, reason=reason, request=request
        )


def _provider_move(referral: Referral) -> str:
    """What the provider did, as the referring worker's inbox says it: in English, as the
    notification stores it (notifications.services.referral_update)."""
    with translation.override("en"):
        return _provider_move_in_english(referral)


def _provider_move_in_english(referral: Referral) -> str:
    outcome = f" ({str(referral.get_outcome_display()).lower()})" if referral.outcome else ""
    status = referral.status
    if status == Status.COMPLETED:
        # A completed referral has its service date (_check_service_date).
        seen_on = cast(datetime.date, referral.service_date)
        return f"saw the client on {referral.agency.describe_day(seen_on)}"
    if status == Status.FAILED:
        return f"did not see the client{outcome}"
    if status == Status.REJECTED:
        return f"declined the referral{outcome}"
    if status == Status.IN_PROGRESS:
        return "started working with the client"
    if status == Status.ON_HOLD:
        return "put the referral on hold"
    return f"{TO_WORDS[status]} the referral{outcome}"


def _tell_referrer(
    referral: Referral, *, event: ReferralEvent, actor: User | None, what: str
) -> None:
    """The referring worker hears of the provider's move in their inbox (in-app only),
    unless they recorded it themselves. When the case has since left their view, its
    assigned worker hears instead."""
    worker = referral.created_by
    if not worker.is_active or not _can_see_case(worker, referral.case_id):
        worker = referral.case.assigned_worker
    if worker == actor or not worker.is_active:
        return
    notices.referral_update(referral=referral, event_id=event.pk, recipient=worker, what=what)


def _can_see_case(user: User | AnonymousUser, case_id: int) -> bool:
    return Case.objects.visible_to(user).filter(pk=case_id).exists()


def _check_via(actor: User | None, via: str) -> str:
    if via == EventVia.PROVIDER_LINK:
        if actor is not None:
            raise ReferralInvalid(_("A change through the provider link has no staff actor."))
        return Party.PERFORMER
    if via == EventVia.STAFF:
        return Party.REQUESTER
    if via == EventVia.STAFF_FOR_PROVIDER:
        return Party.PERFORMER
    raise ReferralInvalid(_("Say who made the change."), field="via")


@transaction.atomic
def transition_referral(
    *,
    actor: User | None,
    referral: Referral,
    to_status: str,
    via: str,
    outcome: str = "",
    note: str = "",
    service_date: datetime.date | None = None,
    seen_early_confirmed: bool = False,
    request: HttpRequest | None = None,
) -> Referral:
    """Move a referral to `to_status` as the side `via` names (ALLOWED_TRANSITIONS).

    `via` STAFF: the requester (the actor changes the case). STAFF_FOR_PROVIDER: a worker
    records what the provider reported (the performer side; `note` says how it was
    reported). PROVIDER_LINK: the provider itself (actor None). Endings need an outcome
    (OUTCOMES_FOR_STATUS); completion needs the service date and sets outcome 'got help'.
    A service date before the day of the booked appointment is refused unless
    `seen_early_confirmed` (a typo is likelier than a client seen early).
    A revoked or expired consent does not stop the loop being closed.

    An ending (FINAL_STATUSES) cancels the referral check its sending scheduled; a move
    by the provider's side tells the referring worker in-app (_tell_referrer).
    """
    party = _check_via(actor, via)
    referral = lock_referral(referral)
    if via != EventVia.PROVIDER_LINK:
        require_case_writer(actor, referral)
    from_status = referral.status
    _check_move(referral, to_status, party)
    note = clean_text(note)
    if via == EventVia.STAFF_FOR_PROVIDER and not note:
        raise ReferralInvalid(
            _("Say how the provider reported this (phone call, email, in person, ...)."),
            field="note",
        )
    outcome = _record_ending(
        referral,
        to_status,
        outcome=outcome,
        service_date=service_date,
        seen_early_confirmed=seen_early_confirmed,
    )
    now = timezone.now()
    _move(referral, to_status, now)
    event = events.referral_event(
        referral=referral,
        kind=ReferralEventKind.STATUS,
        actor=actor,
        via=via,
        from_status=from_status,
        to_status=to_status,
        outcome=outcome,
        note=note[:2000],
        at=now,
        detail={"service_date": referral.service_date.isoformat()}
        if referral.service_date and to_status in (Status.COMPLETED, Status.IN_PROGRESS)
        else {},
    )
    events.referral_status_changed(
        referral=referral, actor=actor, from_status=from_status, via=via, at=now
    )
    _follow_move(referral, party=party, event=event, actor=actor, request=request, now=now)
    audit(
        request=request,
        actor=actor,
        action=Action.UPDATE,
        obj=referral,
        detail={"from": from_status, "to": to_status, "via": via, "outcome": outcome},
    )
    return referral


def _check_move(referral: Referral, to_status: str, party: str) -> None:
    """Refuse (InvalidTransition) a move `party` may not make from the referral's status."""
    if to_status not in Status.values:
        raise InvalidTransition(_("Unknown status."))
    from_status = referral.status
    if to_status == Status.REQUESTED and from_status == Status.DRAFT and party == Party.REQUESTER:
        # Sending goes through the consent gate.
        raise InvalidTransition(_("Send the referral to request it: sending checks the consent."))
    if not referral.can_transition_to(to_status, party):
        raise InvalidTransition(refusal(from_status, to_status, party))


def _record_ending(
    referral: Referral,
    to_status: str,
    *,
    outcome: str,
    service_date: datetime.date | None,
    seen_early_confirmed: bool,
) -> str:
    """Set the referral's outcome and service date for a move to `to_status` (entered in
    error keeps them as they were), and return the outcome the move records."""
    if to_status == Status.ENTERED_IN_ERROR:
        if outcome:
            raise ReferralInvalid(
                _("A referral entered in error has no outcome: say what was wrong in the note."),
                field="outcome",
            )
        return outcome
    outcome = _check_outcome(to_status, outcome)
    referral.outcome = outcome
    referral.service_date = _check_service_date(referral, to_status, service_date)
    if service_date is not None and not seen_early_confirmed:
        _check_seen_after_appointment(referral, service_date)
    return outcome


def _move(referral: Referral, to_status: str, now: datetime.datetime) -> None:
    """Save the referral in `to_status` at `now`, with the times the move sets."""
    referral.status = to_status
    referral.last_activity_at = now
    if to_status == Status.ACCEPTED and referral.accepted_at is None:
        referral.accepted_at = now
    if to_status in OUTCOMES_FOR_STATUS and referral.sent_at is not None:
        # The loop closes when the client was seen or a final outcome was recorded; a
        # draft that was never sent had no loop to close.
        referral.closed_at = now
    staleness = referral.refresh_staleness(now)
    referral.save(
        update_fields=[
            "status",
            "outcome",
            "service_date",
            "accepted_at",
            "closed_at",
            "last_activity_at",
            *staleness,
        ]
    )


def _follow_move(
    referral: Referral,
    *,
    party: str,
    event: ReferralEvent,
    actor: User | None,
    request: HttpRequest | None,
    now: datetime.datetime,
) -> None:
    """What a move leads to: the provider's links revoked when we call the referral off,
    the engaged-in-care calls ended when the client was seen for mental health care, the
    referral check ended with the referral, and the referring worker told of the
    provider's move."""
    to_status = referral.status
    if party == Party.REQUESTER and to_status in (Status.CANCELLED, Status.ENTERED_IN_ERROR):
        # Called off or withdrawn by us: the provider has nothing left to do, and must
        # see nothing more of the client.
        for link in referral.links.usable(now):
            revoke_link(actor=actor, link=link, referral=referral, request=request, now=now)
    if to_status == Status.COMPLETED and referral.need_category == NeedCategory.MENTAL_HEALTH:
        # The client was seen for mental health care: the calls that run until then stop.
        followup_services.end_engaged_in_care(
            case=referral.case,
            actor=actor,
            reason=stored_text(
                gettext_noop("The client attended mental health care (%(provider)s)"),
                provider=referral.provider_name,
            ),
        )
    if to_status in FINAL_STATUSES:
        _end_referral_check(referral, actor=actor, request=request)
    if party == Party.PERFORMER:
        _tell_referrer(referral, event=event, actor=actor, what=_provider_move(referral))


@transaction.atomic
def record_appointment(
    *,
    actor: User | None,
    referral: Referral,
    via: str,
    appointment_at: datetime.datetime,
    note: str = "",
    request: HttpRequest | None = None,
) -> Referral:
    """Record the client's appointment with the provider, on a live referral."""
    _check_via(actor, via)
    referral = lock_referral(referral)
    if via != EventVia.PROVIDER_LINK:
        require_case_writer(actor, referral)
    if referral.status not in LIVE_STATUSES:
        raise InvalidTransition(
            _(
                "An appointment is recorded only on a sent, accepted, in-progress or on-hold "
                "referral; this one is %(status)s."
            )
            % {"status": _status_words(referral.status)}
        )
    if not isinstance(appointment_at, datetime.datetime) or timezone.is_naive(appointment_at):
        raise ReferralInvalid(_("Give the appointment's date and time."), field="appointment_at")
    now = timezone.now()
    if appointment_at > now + APPOINTMENT_HORIZON:
        # Also keeps out a time that overflows the year 9999 in UTC or in a local time
        # zone, which no page could show again.
        raise ReferralInvalid(
            _("Check the date: that is more than five years ahead."), field="appointment_at"
        )
    if appointment_at < referral.created_at - datetime.timedelta(days=1):
        raise ReferralInvalid(
            _("The appointment cannot be before the referral was made."), field="appointment_at"
        )
    referral.appointment_at = appointment_at
    referral.last_activity_at = now
    staleness = referral.refresh_staleness(now)
    referral.save(update_fields=["appointment_at", "last_activity_at", *staleness])
    event = events.referral_event(
        referral=referral,
        kind=ReferralEventKind.APPOINTMENT,
        actor=actor,
        via=via,
        note=clean_text(note)[:2000],
        at=now,
        detail={"appointment_at": appointment_at.isoformat()},
    )
    events.appointment_recorded(referral=referral, actor=actor, at=now)
    if via != EventVia.STAFF:
        local = referral.agency.local(appointment_at)
        _tell_referrer(
            referral,
            event=event,
            actor=actor,
            what=f"booked an appointment for {local:%a} {local.day} {local:%b %Y, %H:%M}",
        )
    audit(
        request=request,
        actor=actor,
        action=Action.UPDATE,
        obj=referral,
        detail={"appointment_at": appointment_at.isoformat(), "via": via},
    )
    return referral
