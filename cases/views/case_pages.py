"""The case page, its changes, and emergency access to a case outside one's scope."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import formats, timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from audit.models import Action
from audit.services import record as audit
from cases import services
from cases.access import get_case_for_user, record_denied
from cases.exceptions import CaseClosed, EmergencyAccessRefused
from cases.forms import CloseCaseForm, ConcernsForm, EmergencyAccessForm
from cases.models import Case
from cases.views.common import require_worker
from referrals.views.case_sections import case_sections


@login_required
@require_GET
def case_detail(request, pk):
    case = get_case_for_user(request, pk, audit_read=False)
    return _case_page(request, case)


def _case_page(request, case, *, close_form=None, concerns_form=None):
    """The case page; forms with errors are shown as they were typed."""
    user = request.user
    can_write = Case.objects.writable_by(user).filter(pk=case.pk).exists()
    contacts = list(case.contacts.select_related("recorded_by", "call_nature"))
    concerns = list(case.presenting_concerns.all())
    referral_sections = case_sections(case)
    audit(
        request=request,
        action=Action.VIEW,
        obj=case,
        detail={
            "contact_ids": [contact.pk for contact in contacts],
            "referral_ids": [referral.pk for referral in referral_sections["referrals"]],
            "consent_ids": [consent.pk for consent in referral_sections["consents"]],
            "disclosure_ids": [d.pk for d in referral_sections["disclosures"]],
        },
    )
    return render(
        request,
        "cases/case_detail.html",
        {
            "case": case,
            "client": case.client,
            "identifiers": case.client.identifiers.all(),
            "concerns": concerns,
            "events": case.events.select_related("actor"),
            "contacts": contacts,
            "referral_sections": referral_sections,
            "can_write": can_write and case.is_open,
            "can_record": user.works_cases,
            "can_reassign": case.is_open and services.can_reassign(user, case),
            "close_form": close_form or CloseCaseForm(),
            "concerns_form": concerns_form
            or ConcernsForm(case=case, initial={"concerns": [c.pk for c in concerns]}),
        },
    )


@login_required
@require_POST
def case_close(request, pk):
    case = get_case_for_user(request, pk, write=True, audit_read=False)
    form = CloseCaseForm(request.POST)
    if not form.is_valid():
        return _case_page(request, case, close_form=form)
    try:
        services.close_case(
            actor=request.user,
            case=case,
            reason=form.cleaned_data["reason"],
            note=form.cleaned_data["note"],
            request=request,
        )
    except CaseClosed as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Case closed.")
    return redirect("cases:case_detail", case.pk)


@login_required
@require_POST
def case_concerns(request, pk):
    case = get_case_for_user(request, pk, write=True, audit_read=False)
    form = ConcernsForm(request.POST, case=case)
    if not form.is_valid():
        return _case_page(request, case, concerns_form=form)
    try:
        services.set_case_concerns(
            actor=request.user, case=case, concerns=form.cleaned_data["concerns"], request=request
        )
    except CaseClosed as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Presenting concerns saved.")
    return redirect("cases:case_detail", case.pk)


@login_required
@require_http_methods(["GET", "POST"])
def emergency_access(request, pk):
    """Break the glass: open a case of one's own agency that is outside one's scope, for
    a few hours, with a reason. Another agency's case does not exist here."""
    user = request.user
    case = (
        Case.objects.filter(pk=pk, agency_id=user.agency_id).select_related("client").first()
        if user.agency_id
        else None
    )
    if case is None:
        record_denied(request, Case, pk, "not visible", page="emergency access")
        raise Http404("No case found.")
    if Case.objects.visible_to(user).filter(pk=case.pk).exists():
        return redirect("cases:case_detail", case.pk)
    require_worker(request, "emergency_access")

    form = EmergencyAccessForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            grant = services.grant_emergency_access(
                actor=user, case=case, reason=form.cleaned_data["reason"], request=request
            )
        except EmergencyAccessRefused as exc:
            form.add_error("reason", str(exc))
        else:
            until = formats.date_format(timezone.localtime(grant.expires_at), "j M H:i")
            messages.warning(
                request,
                f"Emergency access granted until {until}. Your supervisor will review it.",
            )
            return redirect("cases:case_detail", case.pk)
    if request.method == "GET":
        # The warning page names the client: that is a read of their record.
        audit(request=request, action=Action.VIEW, obj=case, detail={"page": "emergency access"})
    return render(
        request,
        "cases/case_emergency_access.html",
        {"case": case, "client": case.client, "form": form},
    )
