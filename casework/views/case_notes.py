"""A note on a case: from the case page, or the outbox of a phone that was offline."""

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from cases import services
from cases.access import get_case_for_user
from cases.exceptions import CaseClosed
from cases.forms.notes import CaseNoteForm
from cases.models import CaseNote
from core.exceptions import NotPermitted
from core.forms import add_error


def _already_noted(user, value) -> CaseNote | None:
    """The note this user already recorded from the form with this one-time id."""
    try:
        submission_id = uuid.UUID(str(value))
    except ValueError:
        return None
    return CaseNote.objects.filter(author=user, submission_id=submission_id).first()


@login_required
@require_http_methods(["GET", "POST"])
def case_note(request, pk):
    """Add a note to one of the worker's open cases. A repeat of a note already recorded
    (the same one-time id) answers as the first did; a closed case answers 409 with the
    note as typed, so that the phone keeps it for the worker to resolve."""
    user = request.user
    if request.method == "POST":
        done = _already_noted(user, request.POST.get("submission_id"))
        if done is not None:
            messages.success(request, _("Note added."))
            return redirect("casework:case_detail", done.case_id)
    case = get_case_for_user(request, pk, write=True, audit_read=request.method == "GET")
    form = CaseNoteForm(request.POST or None, initial={"submission_id": uuid.uuid4()})
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            services.add_case_note(
                actor=user,
                case=case,
                text=form.cleaned_data["text"],
                at=form.cleaned_data["saved_at"],
                submission_id=form.cleaned_data["submission_id"],
                request=request,
            )
        except ValidationError as exc:
            add_error(exc, form)
        except CaseClosed as exc:
            form.add_error(None, str(exc))
            status = 409
        except NotPermitted as exc:
            form.add_error(None, str(exc))
            status = 403
        else:
            messages.success(request, _("Note added."))
            return redirect("casework:case_detail", case.pk)
    return render(
        request,
        "casework/case_note_form.html",
        {"case": case, "client": case.client, "form": form},
        status=status,
    )
