"""One follow-up: adding a one-off, completing it, logging an attempt, moving its due
date and cancelling it."""

import datetime
import uuid
from typing import Any, TypeGuard

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts.models import Agency, User
from audit.models import Action
from audit.services import record as audit
from cases.models import Case, CaseStatus, Contact
from core.i18n import label, stored_text
from followups import events, texts
from followups.exceptions import CannotUndo, FollowUpClosed, FollowUpInvalid
from followups.models import (
    NOTE_REQUIRED,
    OPEN_STATUSES,
    Attempt,
    AttemptOutcome,
    EndRule,
    Enrolment,
    EnrolmentStatus,
    FollowUp,
    FollowUpEventKind,
    Method,
    Status,
)
from followups.schedule import local_midnight
from followups.services.common import (
    REASON_MAX,
    cancel_open,
    clean_reason,
    lock_case,
    require_worker,
    save_new,
    set_window,
    window_detail,
)
from followups.services.enrolment import end_enrolment, schedule_next_occurrence
from notifications import services as notices

# How far a due date may be moved or set, from now.
MAX_DUE_AHEAD = datetime.timedelta(days=366 * 5)
# How long after logging it an attempt can be undone. The Today card offers it for 8
# seconds (UNDO_SHOWN_SECONDS); the server allows a little more for a slow network.
UNDO_SHOWN_SECONDS = 8
UNDO_WINDOW = datetime.timedelta(seconds=12)
NOTE_NEEDED = gettext_noop(
    "Write a short note for this call: how the client is, the risk now, the safety plan "
    "and what happens next."
)
# The case timeline's entry for a completion (stored in English, read in each reader's).
DONE = gettext_noop("Follow-up done: %(title)s")
DONE_PLAN_CHANGED = gettext_noop("Follow-up done: %(title)s · safety plan reviewed, changed")
DONE_PLAN_UNCHANGED = gettext_noop("Follow-up done: %(title)s · safety plan reviewed, not changed")
DONE_PLAN_NOT_REVIEWED = gettext_noop("Follow-up done: %(title)s · safety plan not reviewed")


def _already(fu: FollowUp) -> FollowUpClosed:
    return FollowUpClosed(
        _("This follow-up is already %(status)s.") % {"status": fu.get_status_display().lower()}
    )


def _lock(followup: FollowUp) -> FollowUp:
    return (
        FollowUp.objects.select_for_update(of=("self",))
        .select_related("case__agency", "case__client", "step", "enrolment__version")
        .get(pk=followup.pk)
    )


def _is_time(value: object) -> TypeGuard[datetime.datetime]:
    return isinstance(value, datetime.datetime) and not timezone.is_naive(value)


def _check_due(due_at: object, *, field: str = "due_at") -> None:
    if not _is_time(due_at):
        raise FollowUpInvalid(_("Give the date and time it is due."), field=field)
    now = timezone.now()
    if due_at > now + MAX_DUE_AHEAD:
        raise FollowUpInvalid(_("Check the date: that is more than five years ahead."), field=field)
    if due_at < now - datetime.timedelta(days=1):
        raise FollowUpInvalid(_("A follow-up cannot be due in the past."), field=field)


def _end_of_local_day(at: datetime.datetime, agency: Agency) -> datetime.datetime:
    """The midnight that ends `at`'s date for the agency (the written DST rule,
    schedule.py), in UTC."""
    return local_midnight(agency.day_of(at) + datetime.timedelta(days=1), agency.zone)


def _start_of_local_day(at: datetime.datetime, agency: Agency) -> datetime.datetime:
    return local_midnight(agency.day_of(at), agency.zone)


@transaction.atomic
def create_followup(
    *,
    actor: User,
    case: Case,
    due_at: datetime.datetime,
    reason: str,
    method: str = Method.PHONE,
    title: str = "",
    window_start: datetime.datetime | None = None,
    window_end: datetime.datetime | None = None,
    assigned_to: User | None = None,
    request: HttpRequest | None = None,
) -> FollowUp:
    """A one-off follow-up a worker adds by hand, due at `due_at`. By default its window
    is the due date (agency time zone): it opens at the start of that day and is missed
    at its end. Its window must not have closed already."""
    case = lock_case(case)
    require_worker(actor, case)
    if case.status != CaseStatus.OPEN:
        raise FollowUpInvalid(_("This case is closed."))
    _check_due(due_at)
    reason = clean_reason(reason)
    if method not in Method.values:
        raise FollowUpInvalid(_("Choose how to follow up."), field="method")
    agency = case.agency
    if window_start is None:
        window_start = min(_start_of_local_day(due_at, agency), due_at)
    elif not _is_time(window_start) or window_start > due_at:
        raise FollowUpInvalid(
            _("The window must open at or before the due time."), field="window_start"
        )
    if window_end is None:
        window_end = max(_end_of_local_day(due_at, agency), due_at)
    elif not _is_time(window_end) or window_end < due_at:
        raise FollowUpInvalid(_("The window cannot close before it is due."), field="window_end")
    now = timezone.now()
    if window_end <= now:
        raise FollowUpInvalid(
            _("That day is already over: today is %(today)s. Choose a due time from now on.")
            % {"today": agency.describe_day(agency.today(now))},
            field="due_at",
        )
    assignee = assigned_to or case.assigned_worker
    if not Case.objects.writable_by(assignee).filter(pk=case.pk).exists():
        raise FollowUpInvalid(
            _("Assign it to a worker who may work this case."), field="assigned_to"
        )
    fu = FollowUp(
        agency_id=case.agency_id,
        case=case,
        title=" ".join((title or "").replace("\x00", "").split())[:200] or texts.ONE_OFF_TITLE,
        reason=reason,
        method=method,
        assigned_to=assignee,
        window_start=window_start,
        due_at=due_at,
        window_end=window_end,
        created_by=actor,
    )
    fu = save_new([fu], actor=actor, now=now)[0]
    events.on_timeline(
        case_id=case.pk,
        actor=actor,
        text=stored_text(
            gettext_noop("Follow-up added: %(title)s (%(reason)s)"),
            title=events.followup_title(fu),
            reason=reason,
        ),
        detail={"followup_id": fu.pk},
    )
    audit(
        request=request,
        actor=actor,
        action=Action.CREATE,
        obj=fu,
        client_id=case.client_id,
        detail={"due_at": due_at.isoformat(), "assigned_to": assignee.pk},
    )
    return fu


def _close(
    fu: FollowUp,
    *,
    to_status: str,
    actor: User | None,
    now: datetime.datetime,
    reason: str = "",
    **fields: Any,
) -> FollowUp:
    old = fu.status
    fu.status = to_status
    fu.status_changed_at = now
    fu.next_check_at = None
    fu.lease_until = None
    fu.lease_token = None
    for name, value in fields.items():
        setattr(fu, name, value)
    fu.save()
    events.status_changed(followup=fu, actor=actor, from_status=old, at=now, reason=reason)
    schedule_next_occurrence(fu, actor=actor)
    notices.resolve_followup_notices(followup_ids=[fu.pk])
    return fu


def _require_note(fu: FollowUp, note: str, *, field: str = "note") -> None:
    """A follow-up NOTE_REQUIRED names is not done without a note."""
    if not note.strip() and FollowUp.objects.filter(NOTE_REQUIRED, pk=fu.pk).exists():
        raise FollowUpInvalid(_(NOTE_NEEDED), field=field)


def check_plan_answers(
    *, asked: bool, reviewed: bool | None, changed: bool | None
) -> tuple[bool | None, bool | None]:
    """The safety plan answers to keep on a completed follow-up, or FollowUpInvalid
    naming the answer at fault. One that asks (`asked`: models.plan_review_asked) needs
    whether the plan was reviewed with the client and, when it was, whether it changed;
    a plan not reviewed cannot have changed (`changed` is kept as given, None or False).
    One that does not ask keeps None and refuses answers given to it: a question nobody
    was shown is not answered by mistake. A form calls this before saving what would
    complete the follow-up (casework.forms.ContactForm)."""
    if not asked:
        if reviewed is not None or changed is not None:
            raise FollowUpInvalid(
                _("This follow-up does not ask about a safety plan: leave those answers out."),
                field="plan_reviewed" if reviewed is not None else "plan_changed",
            )
        return None, None
    if reviewed is None:
        raise FollowUpInvalid(
            _("Say whether the safety plan was reviewed with the client."), field="plan_reviewed"
        )
    if reviewed and changed is None:
        raise FollowUpInvalid(_("Say whether the safety plan changed."), field="plan_changed")
    if not reviewed and changed:
        raise FollowUpInvalid(
            _("A safety plan that was not reviewed cannot have changed: answer No."),
            field="plan_changed",
        )
    return reviewed, changed


def _plan_answers(
    fu: FollowUp, reviewed: bool | None, changed: bool | None
) -> tuple[bool | None, bool | None]:
    """check_plan_answers for `fu`, asking the database whether it asks."""
    asked = FollowUp.objects.asking_plan_review().filter(pk=fu.pk).exists()
    return check_plan_answers(asked=asked, reviewed=reviewed, changed=changed)


def _done_message(reviewed: bool | None, changed: bool | None) -> str:
    """The timeline's entry for a completion, with the safety plan answers when asked."""
    if reviewed is None:
        return DONE
    if not reviewed:
        return DONE_PLAN_NOT_REVIEWED
    return DONE_PLAN_CHANGED if changed else DONE_PLAN_UNCHANGED


def _earliest_work(fu: FollowUp) -> datetime.datetime:
    """Work on a follow-up cannot predate its cause: the anchor of its protocol, or the
    day it was added by hand."""
    if fu.enrolment is not None:
        return fu.enrolment.anchor_at
    return min(fu.created_at, fu.window_start) - datetime.timedelta(days=1)


def _check_contact(fu: FollowUp, contact: Contact | None) -> None:
    if contact is None:
        return
    if contact.case_id != fu.case_id:
        raise FollowUpInvalid(_("That contact is on another case."), field="contact")
    if fu.enrolment is not None and fu.enrolment.source_contact_id == contact.pk:
        raise FollowUpInvalid(
            _("That is the contact this follow-up comes from: record the follow-up contact."),
            field="contact",
        )


def _attempt_time(
    fu: FollowUp, at: datetime.datetime | None, *, now: datetime.datetime
) -> datetime.datetime:
    """When an attempt was made: `at`, or `now` when not given. Refused in the future
    (past a few minutes of clock skew) and before the reason for the follow-up."""
    at = now if at is None else at
    if not _is_time(at) or at > now + datetime.timedelta(minutes=5):
        raise FollowUpInvalid(_("An attempt cannot be in the future."), field="at")
    if at < _earliest_work(fu):
        raise FollowUpInvalid(_("That is before the reason for this follow-up."), field="at")
    return at


def _ended_by_declining(fu: FollowUp) -> Enrolment | None:
    """The active enrolment of `fu` when its protocol runs until the client is engaged in
    care (one the client stops by declining further calls), else None."""
    enrolment = fu.enrolment
    if (
        enrolment is not None
        and enrolment.version.end_rule == EndRule.ENGAGED_IN_CARE
        and enrolment.status == EnrolmentStatus.ACTIVE
    ):
        return enrolment
    return None


def _done_time(
    fu: FollowUp, contact: Contact | None, at: object, *, now: datetime.datetime
) -> datetime.datetime:
    """When a follow-up was done: `at`, else the contact's time, else `now`. Refused in
    the future (past a few minutes of clock skew) and before the reason for it."""
    if at is not None and not _is_time(at):
        raise FollowUpInvalid(_("Give the date and time it was done."), field="at")
    done_at = at or (contact.received_at if contact else now)
    field = "at" if at is not None or contact is None else "contact"
    if done_at > now + datetime.timedelta(minutes=5):
        raise FollowUpInvalid(_("It cannot be done in the future."), field=field)
    if done_at < _earliest_work(fu):
        raise FollowUpInvalid(_("That is before the reason for this follow-up."), field=field)
    return done_at


@transaction.atomic
def complete_followup(
    *,
    actor: User,
    followup: FollowUp,
    contact: Contact | None = None,
    at: datetime.datetime | None = None,
    note: str = "",
    plan_reviewed: bool | None = None,
    plan_changed: bool | None = None,
    request: HttpRequest | None = None,
) -> FollowUp:
    """Mark a follow-up done, by `contact` when a contact completed it (done at the
    contact's time). A missed one can still be completed late: it then does not count as
    done within its window. Completing it again by the same contact changes nothing.
    Without a contact, a follow-up that needs a note (models.NOTE_REQUIRED: high risk,
    the Safety Planning calls) needs `note`. Its unread notices are resolved.

    A follow-up that asks about the safety plan (models.plan_review_asked) needs
    `plan_reviewed`, and `plan_changed` when the plan was reviewed; one that does not
    ask refuses them (see _plan_answers). They are kept on the row, in the audit row and
    in the timeline's entry."""
    fu = _lock(followup)
    require_worker(actor, fu.case)
    if fu.status in (Status.COMPLETED, Status.CANCELLED):
        if contact is not None and fu.completed_contact_id == contact.pk:
            return fu
        raise _already(fu)
    _check_contact(fu, contact)
    note = clean_reason(note, field="note", required=False)
    if contact is None:
        _require_note(fu, note)
    plan_reviewed, plan_changed = _plan_answers(fu, plan_reviewed, plan_changed)
    now = timezone.now()
    done_at = _done_time(fu, contact, at, now=now)
    _close(
        fu,
        to_status=Status.COMPLETED,
        actor=actor,
        now=now,
        reason=note,
        completed_at=done_at,
        completed_by=actor,
        completed_contact=contact,
        plan_reviewed=plan_reviewed,
        plan_changed=plan_changed,
    )
    answers = (
        {"plan_reviewed": plan_reviewed, "plan_changed": plan_changed}
        if plan_reviewed is not None
        else {}
    )
    events.on_timeline(
        case_id=fu.case_id,
        actor=actor,
        text=stored_text(
            _done_message(plan_reviewed, plan_changed), title=events.followup_title(fu)
        ),
        detail={"followup_id": fu.pk, "contact_id": contact.pk if contact else None, **answers},
    )
    audit(
        request=request,
        actor=actor,
        action=Action.UPDATE,
        obj=fu,
        client_id=fu.case.client_id,
        detail={
            "status": "completed",
            "completed_at": done_at.isoformat(),
            "contact_id": contact.pk if contact else None,
            **answers,
        },
    )
    return fu


def _check_reached(
    fu: FollowUp,
    outcome: str,
    note: str,
    contact: Contact | None,
    reviewed: bool | None,
    changed: bool | None,
) -> None:
    """What completing it by a reached attempt needs, checked before the attempt is
    logged: the note (unless a contact records it) and the safety plan answers, which
    another outcome does not take."""
    if outcome == AttemptOutcome.REACHED:
        if contact is None:
            _require_note(fu, note)
        _plan_answers(fu, reviewed, changed)
    elif reviewed is not None or changed is not None:
        raise FollowUpInvalid(
            _("The safety plan questions are answered when the client is reached."),
            field="plan_reviewed" if reviewed is not None else "plan_changed",
        )


@transaction.atomic
def log_attempt(
    *,
    actor: User,
    followup: FollowUp,
    outcome: str,
    method: str | None = None,
    note: str = "",
    at: datetime.datetime | None = None,
    contact: Contact | None = None,
    submission_id: uuid.UUID | None = None,
    plan_reviewed: bool | None = None,
    plan_changed: bool | None = None,
    request: HttpRequest | None = None,
) -> Attempt:
    """Log one try (on an open or missed follow-up). Reached completes the follow-up
    (with the note: one that needs a note, models.NOTE_REQUIRED, is refused without one
    unless a contact records it; with the safety plan answers, as complete_followup asks
    them, which only a reached attempt gives); declined on a protocol that runs until
    the client is engaged in care ends that protocol (the client declines further
    calls). Returns the attempt.

    With a `submission_id` (the form's one-time id), a repeated call returns the attempt
    the first one logged and changes nothing: the follow-up's row lock orders the two."""
    fu = _lock(followup)
    if submission_id is not None:
        done = Attempt.objects.filter(by=actor, submission_id=submission_id).first()
        if done is not None:
            return done
    require_worker(actor, fu.case)
    if fu.status in (Status.COMPLETED, Status.CANCELLED):
        raise _already(fu)
    if outcome not in AttemptOutcome.values:
        raise FollowUpInvalid(_("Choose what happened."), field="outcome")
    method = method or fu.method
    if method not in Method.values:
        raise FollowUpInvalid(_("Choose how you tried."), field="method")
    _check_contact(fu, contact)
    now = timezone.now()
    at = _attempt_time(fu, at, now=now)
    note = (note or "").replace("\x00", "")[:2000]
    _check_reached(fu, outcome, note, contact, plan_reviewed, plan_changed)
    attempt = Attempt.objects.create(
        followup=fu,
        at=at,
        method=method,
        outcome=outcome,
        note=note,
        by=actor,
        contact=contact,
        submission_id=submission_id,
    )
    events.followup_event(
        followup=fu,
        kind=FollowUpEventKind.ATTEMPT,
        actor=actor,
        at=now,
        detail={"attempt_id": attempt.pk, "outcome": outcome, "method": method},
    )
    audit(
        request=request,
        actor=actor,
        action=Action.CREATE,
        obj=attempt,
        agency_id=fu.agency_id,
        client_id=fu.case.client_id,
        detail={"followup_id": fu.pk, "outcome": outcome},
    )
    if outcome == AttemptOutcome.REACHED:
        complete_followup(
            actor=actor,
            followup=fu,
            contact=contact,
            at=at,
            # The attempt keeps the whole note; the completion, its start.
            note=" ".join(note.split())[:REASON_MAX],
            plan_reviewed=plan_reviewed,
            plan_changed=plan_changed,
            request=request,
        )
    elif outcome == AttemptOutcome.DECLINED and (enrolment := _ended_by_declining(fu)):
        end_enrolment(
            actor=actor,
            enrolment=enrolment,
            reason=texts.CLIENT_DECLINED,
            request=request,
        )
    return attempt


def _reopen(
    fu: FollowUp, *, to_status: str, since: datetime.datetime, now: datetime.datetime, actor: User
) -> None:
    """Undo a completion made at or after `since`: the follow-up takes `to_status` again
    (the engine applies any change its times made meanwhile), and an enrolment that the
    completion ended (its last step done) runs again. A next weekly call the completion
    scheduled stays: it would be scheduled again when this one closes."""
    fu.status = to_status
    fu.status_changed_at = now
    fu.completed_at = fu.completed_by = fu.completed_contact = None
    fu.plan_reviewed = fu.plan_changed = None
    if fu.status in OPEN_STATUSES:
        fu.next_check_at = now if fu.status_at(now) != fu.status else fu.next_boundary(now)
    else:
        fu.next_check_at = None
    fu.lease_until = fu.lease_token = None
    fu.save()
    if fu.enrolment is None:  # joined by _lock
        return
    enrolment = Enrolment.objects.select_for_update(of=("self",)).get(pk=fu.enrolment.pk)
    if (
        enrolment.status == EnrolmentStatus.ENDED
        and enrolment.ended_at is not None
        and enrolment.ended_at >= since
    ):
        enrolment.status = EnrolmentStatus.ACTIVE
        enrolment.ended_at = None
        enrolment.end_reason, enrolment.end_reason_i18n = "", None
        enrolment.save(update_fields=["status", "ended_at", "end_reason", "end_reason_i18n"])
        events.on_timeline(
            case_id=fu.case_id,
            actor=actor,
            text=stored_text(
                gettext_noop("%(protocol)s runs again: the call that ended it was undone"),
                protocol=label(fu.enrolment.version.protocol.name),
            ),
            detail={"enrolment_id": enrolment.pk},
        )


@transaction.atomic
def undo_attempt(*, actor: User, attempt: Attempt, request: HttpRequest | None = None) -> FollowUp:
    """Take back an attempt its author logged by mistake, within UNDO_WINDOW of logging
    it and while it is the follow-up's last: the attempt is removed and, when it completed
    the follow-up (reached), the follow-up takes its previous status again; one
    ATTEMPT_UNDONE event keeps what was undone. An attempt recorded with a contact, or a
    decline that ended the protocol, is not undone here. Returns the follow-up."""
    fu = _lock(attempt.followup)
    require_worker(actor, fu.case)
    still_there = fu.attempts.filter(pk=attempt.pk).first()
    if still_there is None:
        raise CannotUndo(_("That attempt has already been undone."))
    attempt = still_there
    logged = (
        fu.events.filter(kind=FollowUpEventKind.ATTEMPT, detail__attempt_id=attempt.pk)
        .values_list("at", flat=True)
        .first()
    )
    now = timezone.now()
    if attempt.by_id != actor.pk:
        raise CannotUndo(_("Only the person who logged an attempt can undo it."))
    if logged is None or now - logged > UNDO_WINDOW:
        raise CannotUndo(_("It is too late to undo this attempt."))
    if fu.attempts.filter(pk__gt=attempt.pk).exists():
        raise CannotUndo(_("Only the last attempt can be undone."))
    if attempt.contact_id is not None:
        raise CannotUndo(_("This attempt was recorded with a contact: amend the contact instead."))
    old = fu.status
    if fu.status == Status.CANCELLED:
        raise CannotUndo(_("This answer ended the protocol; it cannot be undone here."))
    if fu.status == Status.COMPLETED:
        closing = (
            fu.events.filter(
                kind=FollowUpEventKind.STATUS, to_status=Status.COMPLETED, at__gte=logged
            )
            .order_by("-at", "-pk")
            .first()
        )
        if closing is None or fu.completed_contact_id is not None:
            raise CannotUndo(_("This follow-up was completed another way."))
        _reopen(fu, to_status=closing.from_status, since=logged, now=now, actor=actor)
        events.on_timeline(
            case_id=fu.case_id,
            actor=actor,
            text=stored_text(
                gettext_noop("Follow-up reopened: %(title)s (the reached call was undone)"),
                title=events.followup_title(fu),
            ),
            detail={"followup_id": fu.pk},
        )
    events.followup_event(
        followup=fu,
        kind=FollowUpEventKind.ATTEMPT_UNDONE,
        actor=actor,
        at=now,
        from_status=old,
        to_status=fu.status,
        detail={
            "attempt_id": attempt.pk,
            "outcome": attempt.outcome,
            "method": attempt.method,
            "at": attempt.at.isoformat(),
            "note": attempt.note,
        },
    )
    audit(
        request=request,
        actor=actor,
        action=Action.UPDATE,
        obj=fu,
        client_id=fu.case.client_id,
        detail={"attempt_undone": attempt.pk, "outcome": attempt.outcome, "status": fu.status},
    )
    attempt.delete()
    return fu


@transaction.atomic
def move_followup(
    *,
    actor: User,
    followup: FollowUp,
    due_at: datetime.datetime,
    reason: str,
    request: HttpRequest | None = None,
) -> FollowUp:
    """Move an open follow-up's due time, keeping its window's length around it; the old
    and new window, the reason, who and when are kept in its history. A missed one
    cannot be moved (its window closed: that stays on the record); it can still be
    recorded as done late, or a one-off follow-up added."""
    fu = _lock(followup)
    require_worker(actor, fu.case)
    if not fu.is_open:
        raise _already(fu)
    reason = clean_reason(reason)
    _check_due(due_at)
    now = timezone.now()
    delta = due_at - fu.due_at
    if fu.window_end + delta <= now:
        raise FollowUpInvalid(
            _("Its window would already be closed: choose a later time."), field="due_at"
        )
    before = window_detail(fu)
    set_window(fu, fu.window_start + delta, due_at, fu.window_end + delta, now=now)
    fu.save()
    events.followup_event(
        followup=fu,
        kind=FollowUpEventKind.RESCHEDULED,
        actor=actor,
        at=now,
        reason=reason,
        from_status=fu.status,
        to_status=fu.status,
        detail={"from": before, "to": window_detail(fu)},
    )
    events.on_timeline(
        case_id=fu.case_id,
        actor=actor,
        text=stored_text(
            gettext_noop("Follow-up moved: %(title)s (%(reason)s)"),
            title=events.followup_title(fu),
            reason=reason,
        ),
        detail={"followup_id": fu.pk},
    )
    audit(
        request=request,
        actor=actor,
        action=Action.UPDATE,
        obj=fu,
        client_id=fu.case.client_id,
        detail={"due_at": due_at.isoformat(), "from": before["due_at"], "reason": reason},
    )
    return fu


@transaction.atomic
def cancel_followup(
    *, actor: User, followup: FollowUp, reason: str, request: HttpRequest | None = None
) -> FollowUp:
    """Cancel one open follow-up with a reason. A cancelled weekly call does not stop the
    calls: the next one is scheduled while the protocol runs."""
    fu = _lock(followup)
    require_worker(actor, fu.case)
    if not fu.is_open:
        raise _already(fu)
    reason = clean_reason(reason)
    now = timezone.now()
    cancel_open(FollowUp.objects.filter(pk=fu.pk), actor=actor, reason=reason, now=now)
    fu.refresh_from_db()
    schedule_next_occurrence(fu, actor=actor)
    events.on_timeline(
        case_id=fu.case_id,
        actor=actor,
        text=stored_text(
            gettext_noop("Follow-up cancelled: %(title)s (%(reason)s)"),
            title=events.followup_title(fu),
            reason=reason,
        ),
        detail={"followup_id": fu.pk},
    )
    audit(
        request=request,
        actor=actor,
        action=Action.UPDATE,
        obj=fu,
        client_id=fu.case.client_id,
        detail={"status": "cancelled", "reason": reason},
    )
    return fu
