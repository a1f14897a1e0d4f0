"""The case page, its changes, and emergency access to a case outside one's scope."""

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from audit.access import record_denied
from audit.models import Action
from audit.services import record as audit
from cases import services
from cases.access import get_case_for_user
from cases.exceptions import CaseClosed, EmergencyAccessRefused
from cases.forms import CloseCaseForm, ConcernsForm, EmergencyAccessForm
from cases.models import Case
from cases.views.common import require_worker
from core.offline import keep_offline
from followups.forms import DischargeForm, EndEnrolmentForm, OneOffForm, VisitForm
from followups.models import CLOSED_STATUSES, Enrolment, EnrolmentStatus, FollowUp, HospitalVisit
from followups.today import describe, with_row_details
from plans.models import PENDING_STATUSES, CrisisPlan, CrisisPlanStatus, SafetyPlan
from referrals.models import PART2_REDISCLOSURE_NOTICE, Consent, Disclosure, Referral
from referrals.staleness import stale_reason

# Closed follow-ups shown on the case page besides the open ones.
RECENT_CLOSED = 10


@login_required
@require_GET
def case_detail(request, pk):
    case = get_case_for_user(request, pk, audit_read=False)
    response = case_page(request, case)
    if case.is_open and case.assigned_worker_id == request.user.pk:
        # The phone keeps the worker's own open cases for reading offline (core.offline).
        keep_offline(response, request.user)
    return response


def referral_sections_of(case) -> dict:
    """The case page's Referrals, Consents and Disclosures (templates/referrals/
    _case_sections.html): three queries, whatever the case's history."""
    now = timezone.now()
    # Rows the template reads, each given a page-only attribute below.
    referrals: list[Any] = list(Referral.objects.filter(case=case).select_related("service"))
    for referral in referrals:
        referral.stale_reason = stale_reason(referral, now)
    consents: list[Any] = list(
        Consent.objects.filter(client_id=case.client_id).select_related(
            "agency", "recipient_organization"
        )
    )
    for consent in consents:
        consent.active_now = consent.is_active(now)
    disclosures = list(Disclosure.objects.filter(case=case).select_related("consent"))
    return {
        "referrals": referrals,
        "consents": consents,
        "disclosures": disclosures,
        "part2_notice": (
            PART2_REDISCLOSURE_NOTICE if any(d.part2_notice for d in disclosures) else ""
        ),
    }


def followup_sections(case) -> dict:
    """The case page's Follow-ups, Protocols and Hospital visits: three queries, whatever
    the case's history. Open follow-ups first (soonest due first), then the most recently
    closed ones."""
    now = timezone.now()
    followups = [
        describe(fu, now)
        for fu in with_row_details(FollowUp.objects.filter(case=case))
        .select_related("assigned_to")
        .order_by("due_at", "pk")
    ]
    closed = sorted(
        (fu for fu in followups if fu.status in CLOSED_STATUSES),
        key=lambda fu: (fu.status_changed_at, fu.pk),
        reverse=True,
    )
    enrolments = list(
        Enrolment.objects.filter(case=case).select_related("version__protocol", "source_visit")
    )
    return {
        "open": [fu for fu in followups if fu.status not in CLOSED_STATUSES],
        "closed": closed[:RECENT_CLOSED],
        "closed_count": len(closed),
        "enrolments": enrolments,
        "active_enrolments": [e for e in enrolments if e.status == EnrolmentStatus.ACTIVE],
        "visits": list(HospitalVisit.objects.filter(case=case).select_related("recorded_by")),
    }


def plan_sections_of(case) -> dict:
    """The case page's Safety plan and Crisis response plan (templates/plans/
    _case_sections.html): the client's plan with its current version, and their approved
    and pending crisis plans; three queries."""
    safety_plan = (
        SafetyPlan.objects.filter(client_id=case.client_id)
        .select_related("current", "current__created_by")
        .first()
    )
    crisis_plans = list(
        CrisisPlan.objects.filter(
            client_id=case.client_id, status__in=(CrisisPlanStatus.APPROVED, *PENDING_STATUSES)
        ).select_related("author", "approved_by")
    )
    approved = next((p for p in crisis_plans if p.status == CrisisPlanStatus.APPROVED), None)
    pending = next((p for p in crisis_plans if p.status != CrisisPlanStatus.APPROVED), None)
    return {
        "safety_plan": safety_plan,
        "means": list(safety_plan.current.means.all())
        if safety_plan and safety_plan.current
        else [],
        "crisis_plan": approved,
        "crisis_pending": pending,
        # What the case page's audit row names of them.
        "audit_ids": {
            "safety_plan_id": safety_plan.pk if safety_plan else None,
            "crisis_plan_ids": [p.pk for p in crisis_plans],
        },
    }


def case_page(
    request,
    case,
    *,
    close_form=None,
    concerns_form=None,
    followup_form=None,
    visit_form=None,
    discharge_form=None,
    discharge_visit_id=None,
    end_form=None,
    end_enrolment_id=None,
):
    """The case page; forms with errors are shown as they were typed (a discharge or an
    end-of-protocol form under the visit or enrolment it was for)."""
    user = request.user
    can_write = Case.objects.writable_by(user).filter(pk=case.pk).exists()
    contacts = list(case.contacts.select_related("recorded_by", "call_nature"))
    concerns = list(case.presenting_concerns.all())
    referral_sections = referral_sections_of(case)
    followups = followup_sections(case)
    shown_followups = followups["open"] + followups["closed"]
    plans = plan_sections_of(case)
    audit(
        request=request,
        action=Action.VIEW,
        obj=case,
        detail={
            "contact_ids": [contact.pk for contact in contacts],
            "referral_ids": [referral.pk for referral in referral_sections["referrals"]],
            "consent_ids": [consent.pk for consent in referral_sections["consents"]],
            "disclosure_ids": [d.pk for d in referral_sections["disclosures"]],
            "followup_ids": [fu.pk for fu in shown_followups],
            "enrolment_ids": [e.pk for e in followups["enrolments"]],
            "visit_ids": [visit.pk for visit in followups["visits"]],
            **plans["audit_ids"],
        },
    )
    return render(
        request,
        "casework/case_detail.html",
        {
            "case": case,
            "client": case.client,
            "identifiers": case.client.identifiers.all(),
            "concerns": concerns,
            "events": case.events.select_related("actor"),
            "contacts": contacts,
            "referral_sections": referral_sections,
            "plans": plans,
            "can_write": can_write and case.is_open,
            "can_record": user.works_cases,
            "can_reassign": case.is_open and services.can_reassign(user, case),
            "close_form": close_form or CloseCaseForm(),
            "concerns_form": concerns_form
            or ConcernsForm(case=case, initial={"concerns": [c.pk for c in concerns]}),
            "followups": followups,
            "followup_form": followup_form or OneOffForm(),
            "visit_form": visit_form or VisitForm(),
            "discharge_form": discharge_form,
            "discharge_visit_id": discharge_visit_id,
            "blank_discharge_form": DischargeForm(),
            "end_form": end_form,
            "end_enrolment_id": end_enrolment_id,
            "blank_end_form": EndEnrolmentForm(),
        },
    )


@login_required
@require_POST
def case_close(request, pk):
    case = get_case_for_user(request, pk, write=True, audit_read=False)
    form = CloseCaseForm(request.POST)
    if not form.is_valid():
        return case_page(request, case, close_form=form)
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
        messages.success(request, _("Case closed."))
    return redirect("casework:case_detail", case.pk)


@login_required
@require_POST
def case_concerns(request, pk):
    case = get_case_for_user(request, pk, write=True, audit_read=False)
    form = ConcernsForm(request.POST, case=case)
    if not form.is_valid():
        return case_page(request, case, concerns_form=form)
    try:
        services.set_case_concerns(
            actor=request.user, case=case, concerns=form.cleaned_data["concerns"], request=request
        )
    except CaseClosed as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Presenting concerns saved."))
    return redirect("casework:case_detail", case.pk)


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
        raise Http404(_("No case found."))
    if Case.objects.visible_to(user).filter(pk=case.pk).exists():
        return redirect("casework:case_detail", case.pk)
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
            until = formats.date_format(timezone.localtime(grant.expires_at), "DATETIME_FORMAT")
            messages.warning(
                request,
                _("Emergency access granted until %(until)s. Your supervisor will review it.")
                % {"until": until},
            )
            return redirect("casework:case_detail", case.pk)
    if request.method == "GET":
        # The warning page names the client: that is a read of their record.
        audit(request=request, action=Action.VIEW, obj=case, detail={"page": "emergency access"})
    return render(
        request,
        "casework/case_emergency_access.html",
        {"case": case, "client": case.client, "form": form},
    )
