"""The case page's follow-up and hospital-visit forms: a one-off follow-up, a hospital
visit, its discharge, the end of a protocol. Each answers with the case page again, its
form's errors shown, when the service refuses."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cases.access import get_case_for_user
from cases.models import Case
from casework.views.case_pages import case_page
from core.exceptions import DomainError
from core.forms import add_error
from followups import services
from followups.access import get_enrolment_for_user, get_hospital_visit_for_user
from followups.forms import DischargeForm, EndEnrolmentForm, OneOffForm, VisitForm


def _case_action(request, case, form, key, act, done_message, **page_kwargs):
    """A case page action: validate, call the service, back to the case; or the case page
    again with the form's errors."""
    if form.is_valid():
        try:
            act(form.cleaned_data)
        except DomainError as exc:
            add_error(exc, form)
        else:
            messages.success(request, done_message)
            return redirect("casework:case_detail", case.pk)
    return case_page(request, case, **{key: form}, **page_kwargs)


@login_required
@require_POST
def add(request, case_pk):
    """A one-off follow-up on the case."""
    case = get_case_for_user(request, case_pk, write=True, audit_read=False)

    def act(data):
        services.create_followup(
            actor=request.user,
            case=case,
            due_at=data["due_at"],
            method=data["method"],
            reason=data["reason"],
            title=data["title"],
            request=request,
        )

    return _case_action(
        request, case, OneOffForm(request.POST), "followup_form", act, _("Follow-up added.")
    )


@login_required
@require_POST
def visit_add(request, case_pk):
    """An ER visit or admission on the case: it enrols the client in the post-discharge
    protocol (services.record_hospital_visit)."""
    case = get_case_for_user(request, case_pk, write=True, audit_read=False)

    def act(data):
        services.record_hospital_visit(
            actor=request.user,
            case=case,
            kind=data["kind"],
            reason=data["reason"],
            arrived_at=data["arrived_at"],
            discharged_at=data["discharged_at"],
            admitted=data["admitted"],
            facility=data["facility"],
            request=request,
        )

    return _case_action(
        request,
        case,
        VisitForm(request.POST),
        "visit_form",
        act,
        _("Hospital visit recorded; its follow-ups are scheduled."),
    )


@login_required
@require_POST
def visit_discharge(request, pk):
    """The discharge of a visit: the follow-ups it started count from it."""
    # Changed only in the user's own scope, as the case it is checked against below.
    visit = get_hospital_visit_for_user(
        request,
        pk,
        write=True,
        audit_read=False,
        writable_cases=Case.objects.writable_by(request.user),
    )
    case = get_case_for_user(request, visit.case_id, write=True, audit_read=False)

    def act(data):
        services.record_discharge(
            actor=request.user,
            visit=visit,
            discharged_at=data["discharged_at"],
            request=request,
        )

    return _case_action(
        request,
        case,
        DischargeForm(request.POST),
        "discharge_form",
        act,
        _("Discharge recorded; the follow-ups count from it."),
        discharge_visit_id=visit.pk,
    )


@login_required
@require_POST
def enrolment_end(request, pk):
    """End a protocol for the client (engaged in care, declined further calls, ...)."""
    # Changed only in the user's own scope, as the case it is checked against below.
    enrolment = get_enrolment_for_user(
        request,
        pk,
        write=True,
        audit_read=False,
        writable_cases=Case.objects.writable_by(request.user),
    )
    case = get_case_for_user(request, enrolment.case_id, write=True, audit_read=False)

    def act(data):
        services.end_enrolment(
            actor=request.user, enrolment=enrolment, reason=data["reason"], request=request
        )

    return _case_action(
        request,
        case,
        EndEnrolmentForm(request.POST),
        "end_form",
        act,
        _("Protocol ended; its pending follow-ups are cancelled."),
        end_enrolment_id=enrolment.pk,
    )
