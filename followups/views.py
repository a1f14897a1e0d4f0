"""The worker's follow-up pages: the Today list, one follow-up, and the follow-up and
hospital-visit actions of the case page. Every action calls one followups.services
function; a refusal of the service shows on the form, never as an error page."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from audit.models import Action
from audit.services import record as audit
from audit.services import record_list, refuse
from core.exceptions import DomainError
from core.forms import add_error
from core.ids import as_id
from core.offline import keep_offline
from followups import engine, services, texts
from followups.access import (
    get_followup_for_user,
)
from followups.forms import (
    PLAN_CHANGED_LABEL,
    PLAN_REVIEWED_LABEL,
    AttemptForm,
    CancelForm,
    CompleteForm,
    MoveForm,
)
from followups.models import (
    AttemptOutcome,
    FollowUp,
    FollowUpEventKind,
    Status,
)
from followups.today import describe, today_rows, with_row_details


def _today_sections(user, now):
    """The Today list's rows (one query) in its three sections: to do now, coming up,
    missed recently; and the counts its headings show."""
    rows = list(today_rows(user, now))
    due, coming, missed = [], [], []
    for fu in rows:
        describe(fu, now)
        if fu.shown_status == Status.MISSED:
            missed.append(fu)
        elif fu.shown_status == Status.SCHEDULED:
            coming.append(fu)
        else:
            due.append(fu)
    coming.sort(key=lambda fu: (fu.window_start, fu.pk))
    missed.sort(key=lambda fu: (fu.window_end, fu.pk), reverse=True)
    counts = {
        "due": len(due),
        "overdue": sum(fu.shown_status == Status.OVERDUE for fu in due),
        "coming": len(coming),
        "missed": len(missed),
    }
    return rows, {"due": due, "coming": coming, "missed": missed, "counts": counts}


@login_required
@require_GET
def today(request):
    """My follow-ups to do now, highest case risk first, then the window that closes
    soonest; what opens within a day; and what was missed in the last week."""
    user = request.user
    if not user.works_cases:
        refuse(
            request, "followups_today", _("Only social workers and supervisors have follow-ups.")
        )
    rows, sections = _today_sections(user, timezone.now())
    record_list(
        request=request,
        object_type="followup",
        objects=rows,
        client_ids=[fu.case.client_id for fu in rows],
        detail={"page": "today"},
    )
    response = render(
        request,
        "followups/today.html",
        {**sections, "attempt_form": AttemptForm(), "plan_questions": _plan_questions()},
    )
    # The phone keeps the worker's Today list for reading offline (core.offline).
    return keep_offline(response, user)


# The safety plan questions (forms.add_plan_questions), as the Today row asks them.
PLAN_QUESTIONS = {"plan_reviewed": PLAN_REVIEWED_LABEL, "plan_changed": PLAN_CHANGED_LABEL}


def _plan_questions(answers=None):
    """(field name, question, answer given: "yes", "no" or "") for the Today row."""
    answers = answers or {}
    return [(name, label, answers.get(name, "")) for name, label in PLAN_QUESTIONS.items()]


def _today_row(request, fu, *, error="", undo=None, reaching=False, note="", answers=None, done=""):
    """One Today row after an action on it (htmx), with the page's counts and the inbox
    count in the menu swapped out of band, as they may have changed with it."""
    now = timezone.now()
    fu = with_row_details(FollowUp.objects.filter(pk=fu.pk), request.user).get()
    describe(fu, now)
    counts = None
    if request.user.works_cases:
        counts = _today_sections(request.user, now)[1]["counts"]
    return render(
        request,
        "followups/_today_row.html",
        {
            "fu": fu,
            "attempt_form": AttemptForm(),
            "error": error,
            "reaching": reaching,
            "note_value": note,
            "plan_questions": _plan_questions(answers),
            "undo": undo,
            "undo_seconds": services.UNDO_SHOWN_SECONDS,
            "done": done,
            "counts": counts,
            "oob": True,
        },
    )


def _get_followup(request, pk, *, write=False, audit_read=False):
    """The follow-up `pk` with what its page and the Today row show: 404 when its case
    is invisible, 403 when the user may see but not work it; each refusal audited
    (followups.access)."""
    user = request.user
    return get_followup_for_user(
        request,
        pk,
        write=write,
        audit_read=audit_read,
        refine=lambda visible: with_row_details(visible, user).select_related(
            "assigned_to", "completed_by", "completed_contact", "created_by"
        ),
    )


def _history(fu):
    """The follow-up's events, a moved due date with its old and new times."""
    rows = list(fu.events.select_related("actor"))
    for event in rows:
        event.moved_from = event.moved_to = None
        if event.kind == FollowUpEventKind.RESCHEDULED:
            detail = event.detail or {}
            event.moved_from = _when(detail.get("from", {}).get("due_at"))
            event.moved_to = _when(detail.get("to", {}).get("due_at") or detail.get("due_at"))
    return rows


def _when(value):
    return parse_datetime(value) if isinstance(value, str) else None


def _detail_page(request, fu, *, forms=None, status=200):
    now = timezone.now()
    describe(fu, now)
    forms = forms or {}
    return render(
        request,
        "followups/followup_detail.html",
        {
            "fu": fu,
            "case": fu.case,
            "client": fu.case.client,
            "enrolment": fu.enrolment,
            "protocol_version": fu.enrolment.version if fu.enrolment_id else None,
            "attempts": fu.attempts.select_related("by"),
            "history": _history(fu),
            "can_work": fu.can_work,
            "is_open": fu.is_open,
            "can_move": fu.is_open,
            "can_complete": fu.status not in (Status.COMPLETED, Status.CANCELLED),
            "attempt_form": forms.get("attempt")
            or AttemptForm(initial={"method": fu.method}, plan_asked=fu.plan_asked),
            "complete_form": forms.get("complete")
            or CompleteForm(note_required=bool(fu.note_required), plan_asked=fu.plan_asked),
            "move_form": forms.get("move")
            or MoveForm(initial={"due_at": timezone.localtime(fu.due_at)}),
            "cancel_form": forms.get("cancel") or CancelForm(),
            "can_release": fu.parked_at is not None and _supervises(request.user, fu.case),
        },
        status=status,
    )


def _supervises(user, case) -> bool:
    return (
        user.is_supervisor
        and case.team_id is not None
        and user.supervised_teams.filter(pk=case.team_id).exists()
    )


@login_required
@require_GET
def detail(request, pk):
    fu = _get_followup(request, pk, audit_read=True)
    return _detail_page(request, fu)


@login_required
@require_POST
def release(request, pk):
    """A supervisor of the case's team resumes a follow-up the engine parked after
    repeated failures (followups.engine.release)."""
    fu = _get_followup(request, pk)
    if not _supervises(request.user, fu.case):
        audit(
            request=request,
            action=Action.DENIED,
            obj=fu,
            client_id=fu.case.client_id,
            detail={"reason": "not a supervisor of this case's team"},
        )
        raise PermissionDenied(_("Only a supervisor of this case's team can resume it."))
    if fu.parked_at is not None:
        engine.release(fu, request.user, reason=texts.RESUMED_BY_SUPERVISOR)
        audit(
            request=request,
            action=Action.UPDATE,
            obj=fu,
            client_id=fu.case.client_id,
            detail={"released": True},
        )
        messages.success(request, _("Processing resumed: the follow-up is checked again now."))
    return redirect("followups:detail", pk=fu.pk)


@login_required
@require_POST
def attempt(request, pk):
    """Log one try. From the Today list (htmx) answers with the updated row."""
    fu = _get_followup(request, pk, write=True)
    form = AttemptForm(request.POST, plan_asked=fu.plan_asked)
    error, logged = "", None
    if form.is_valid():
        try:
            logged = services.log_attempt(
                actor=request.user,
                followup=fu,
                outcome=form.cleaned_data["outcome"],
                method=form.cleaned_data["method"] or None,
                note=form.cleaned_data["note"],
                at=form.cleaned_data["saved_at"],
                submission_id=form.cleaned_data["submission_id"],
                plan_reviewed=form.cleaned_data.get("plan_reviewed"),
                plan_changed=form.cleaned_data.get("plan_changed"),
                request=request,
            )
        except DomainError as exc:
            add_error(exc, form)
            error = str(exc)
    else:
        error = " ".join(message for errors in form.errors.values() for message in errors)
    if request.htmx:
        # A refused "reached" keeps the card's note form open with what was typed.
        reaching = logged is None and request.POST.get("outcome") == AttemptOutcome.REACHED
        note = request.POST.get("note", "")[:2000] if reaching else ""
        answers = {name: request.POST.get(name, "") for name in PLAN_QUESTIONS} if reaching else {}
        return _today_row(
            request, fu, error=error, undo=logged, reaching=reaching, note=note, answers=answers
        )
    if form.errors:
        return _detail_page(request, _get_followup(request, pk), forms={"attempt": form})
    messages.success(request, _("Attempt logged."))
    return redirect("followups:detail", fu.pk)


@login_required
@require_POST
def undo_attempt(request, pk, attempt_pk):
    """Take back an attempt just logged (services.undo_attempt: a few seconds, its author,
    the follow-up's last). From the Today list (htmx) answers with the updated row."""
    fu = _get_followup(request, pk, write=True)
    attempt = fu.attempts.filter(pk=as_id(attempt_pk)).first() if as_id(attempt_pk) else None
    error = ""
    if attempt is None:
        error = _("Nothing to undo: that attempt is not there any more.")
    else:
        try:
            services.undo_attempt(actor=request.user, attempt=attempt, request=request)
        except DomainError as exc:
            error = str(exc)
    if request.htmx:
        return _today_row(request, fu, error=error, done="" if error else _("Undone."))
    if error:
        messages.error(request, error)
        return _detail_page(request, _get_followup(request, pk))
    messages.success(request, _("Attempt undone."))
    return redirect("followups:detail", fu.pk)


def _detail_action(request, pk, form_class, key, act, done_message, **form_options):
    """A follow-up page action: validate, call the service, or show the form's errors.
    `form_options`: the form's keyword arguments, each read from the follow-up."""
    fu = _get_followup(request, pk, write=True)
    form = form_class(request.POST, **{name: option(fu) for name, option in form_options.items()})
    if form.is_valid():
        try:
            act(fu, form.cleaned_data)
        except DomainError as exc:
            add_error(exc, form)
        else:
            messages.success(request, done_message)
            return redirect("followups:detail", fu.pk)
    fu = _get_followup(request, pk)
    return _detail_page(request, fu, forms={key: form})


@login_required
@require_POST
def complete(request, pk):
    def act(fu, data):
        services.complete_followup(
            actor=request.user,
            followup=fu,
            note=data["note"],
            plan_reviewed=data.get("plan_reviewed"),
            plan_changed=data.get("plan_changed"),
            request=request,
        )

    # The follow-up's page then offers to update a safety plan that changed.
    return _detail_action(
        request,
        pk,
        CompleteForm,
        "complete",
        act,
        _("Follow-up marked done."),
        plan_asked=lambda fu: fu.plan_asked,
    )


@login_required
@require_POST
def move(request, pk):
    def act(fu, data):
        services.move_followup(
            actor=request.user,
            followup=fu,
            due_at=data["due_at"],
            reason=data["reason"],
            request=request,
        )

    return _detail_action(request, pk, MoveForm, "move", act, _("Due date moved."))


@login_required
@require_POST
def cancel(request, pk):
    def act(fu, data):
        services.cancel_followup(
            actor=request.user, followup=fu, reason=data["reason"], request=request
        )

    return _detail_action(request, pk, CancelForm, "cancel", act, _("Follow-up cancelled."))
