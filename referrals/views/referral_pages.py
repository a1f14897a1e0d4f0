"""The worker's referrals: the list, a new referral with its consent, and one referral
with its history, disclosures, provider links and the actions allowed on it."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import models, transaction
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from audit.models import Action
from audit.services import record as audit
from audit.services import record_list, refuse
from cases.access import get_case_for_user
from core.exceptions import DomainError
from core.pagination import DeferredJoinPaginator
from directory.access import get_directory_row_for_user, parse_uuid
from directory.models import Location, NeedCategory, Service
from directory.search import need_categories_for
from referrals import services
from referrals.access import get_referral_for_user
from referrals.forms import (
    PART2_SHARE_NOTE,
    AppointmentForm,
    ConsentForm,
    ProviderLinkForm,
    ReferralForm,
    StatusForm,
    status_auto_id,
    status_forms,
)
from referrals.models import (
    FINAL_STATUSES,
    LIVE_STATUSES,
    PART2_REDISCLOSURE_NOTICE,
    EventVia,
    Party,
    Referral,
    Status,
)
from referrals.staleness import stale_reason
from referrals.views.common import add_referral_error, loop_times

PAGE_SIZE = 25
# The list's filters: a few groups, then any single status.
GROUPS = {
    "": (pgettext_lazy("referrals", "All"), None),
    "open": (pgettext_lazy("referrals", "Open"), models.Q(status__in=LIVE_STATUSES)),
    "stale": (pgettext_lazy("referrals", "Needs attention"), models.Q(is_stale=True)),
    "draft": (pgettext_lazy("referrals", "Drafts"), models.Q(status=Status.DRAFT)),
    "closed": (pgettext_lazy("referrals", "Closed"), models.Q(status__in=FINAL_STATUSES)),
}
# Which side of the referral a status form on the worker's page speaks for.
SIDES = {"requester": Party.REQUESTER, "provider": Party.PERFORMER}


@login_required
@require_GET
def referral_list(request):
    """The referrals of the cases the user may see, stale ones first with the reason.

    Stale here is the swept is_stale, so that the order and the filter are an index's
    (referral_agency_stale_idx for the agency admin): a referral joins the stale ones at
    most one sweep (5 minutes) after its stale_at, and shows its flag from then on."""
    user = request.user
    if not user.agency_id:
        refuse(request, "referral_list", _("Referrals belong to agencies."))
    show = request.GET.get("status", "")
    if show not in GROUPS and show not in Status.values:
        show = ""
    now = timezone.now()
    referrals = Referral.objects.visible_to(user).for_list()
    if show in GROUPS:
        condition = GROUPS[show][1]
        if condition is not None:
            referrals = referrals.filter(condition)
    else:
        referrals = referrals.filter(status=show)
    referrals = referrals.order_by("-is_stale", "-created_at", "-pk")
    page = DeferredJoinPaginator(referrals, PAGE_SIZE).get_page(request.GET.get("page"))
    for referral in page:
        referral.stale_reason = stale_reason(referral, now) if referral.is_stale else ""
    record_list(
        request=request,
        object_type="referral",
        objects=page.object_list,
        client_ids=[referral.client_id for referral in page],
        detail={"page": "referrals", "status": show},
    )
    return render(
        request,
        "referrals/referral_list.html",
        {
            "page": page,
            "show": show,
            "groups": {key: label for key, (label, _condition) in GROUPS.items()},
            "statuses": Status.choices,
        },
    )


# --- New referral ---------------------------------------------------------------------


def _chosen_service(user, value):
    """The service a posted form names, for showing it again (None when it is not one the
    user may choose; the form then says so)."""
    pk = parse_uuid(value) if value else None
    if pk is None:
        return None
    return (
        Service.objects.visible_to(user)
        .select_related("organization")
        .prefetch_related("phones")
        .filter(pk=pk)
        .first()
    )


@login_required
@require_http_methods(["GET", "POST"])
def referral_new(request):
    """A referral on a case: to a service of the directory or a provider typed in, with
    the client's consent chosen from those on file or recorded here. "Save draft" keeps
    it; "Send" sends it at once, or shows why it cannot go."""
    user = request.user
    case = get_case_for_user(request, request.GET.get("case"), write=True)
    client = case.client
    if request.method == "POST":
        chosen = _chosen_service(user, request.POST.get("service"))
        form = ReferralForm(request.POST, user=user, client=client)
        new_consent = request.POST.get("consent_choice") == "new"
        if new_consent:
            consent_form = _consent_form(user, form, chosen, data=request.POST)
            # Both forms are checked, so that each shows its errors.
            valid = all([form.is_valid(), consent_form.is_valid()])
        else:
            valid = form.is_valid()
            # A consent on file was chosen: the new-consent fields were not filled in and
            # must not come back marked as errors.
            consent_form = _consent_form(user, form, chosen)
        if valid:
            done = _submit(request, case, form, consent_form if new_consent else None)
            if done is not None:
                return done
    else:
        chosen, initial = _initial(request, case)
        form = ReferralForm(initial=initial, user=user, client=client)
        consent_form = _consent_form(user, form, chosen)
    return render(
        request,
        "referrals/referral_form.html",
        {
            "case": case,
            "client": client,
            "form": form,
            "consent_form": consent_form,
            "service": chosen,
            "location": _shown_location(user, form["location"].value()),
            "consents": list(form.fields["consent"].queryset),
            "part2": form.is_part2,
            "part2_note": PART2_SHARE_NOTE,
        },
    )


def _initial(request, case):
    """(service, initial values) of a new referral from the query string: the directory
    service (and location of it) and the need it names, and the client's consent when
    exactly one is active."""
    chosen, initial = _service_from_query(request)
    need = _initial_need(request, chosen)
    if need:
        initial["need_category"] = need
    active = list(case.client.consents.active(case.agency))
    initial["consent_choice"] = "existing" if active else "new"
    if len(active) == 1:
        initial["consent"] = active[0].pk
    return chosen, initial


def _service_from_query(request):
    """(service, {"service": …, "location": …}) the query string names; (None, {})
    without one. An invisible service or a location not offering it answers 404."""
    if not request.GET.get("service"):
        return None, {}
    chosen = get_directory_row_for_user(
        request,
        Service,
        request.GET["service"],
        queryset=Service.objects.select_related("organization").prefetch_related("phones"),
    )
    initial = {"service": chosen.pk}
    if request.GET.get("location"):
        location = get_directory_row_for_user(
            request,
            Location,
            request.GET["location"],
            queryset=Location.objects.filter(services_at__service=chosen),
        )
        initial["location"] = location.pk
    return chosen, initial


def _initial_need(request, chosen):
    if request.GET.get("need") in NeedCategory.values:
        return request.GET["need"]
    if chosen is not None:
        # A service listed under one need only: that is what the referral is for.
        needs = need_categories_for(request.user, [chosen.pk]).get(chosen.pk, [])
        if len(needs) == 1:
            return needs[0]
    return None


def _consent_form(user, form, chosen, data=None):
    """The inline consent form: bound to `data` when a new consent was typed, else blank
    with the chosen service's organization as its recipient."""
    organization = chosen.organization if chosen else None
    if data is not None:
        return ConsentForm(
            data,
            prefix="consent",
            user=user,
            part2=form.is_part2,
            organization=organization,
            inline=True,
        )
    return ConsentForm(
        prefix="consent",
        user=user,
        part2=form.is_part2,
        organization=organization,
        inline=True,
        initial={"recipients": organization.name if organization else ""},
    )


def _shown_location(user, value):
    pk = parse_uuid(value) if value else None
    return Location.objects.visible_to(user).filter(pk=pk).first() if pk else None


def _submit(request, case, form, consent_form):
    """Create the referral (and send it when asked): the redirect to it, or None when a
    service refused it (the refusal is then on the forms)."""
    send = request.POST.get("action") == "send"
    try:
        referral = _create(request, case, form, consent_form, send)
    except DomainError as exc:
        add_referral_error(exc, form, consent_form)
        return None
    messages.success(request, _sent_message(referral) if send else _("Referral saved as a draft."))
    return redirect("referrals:detail", referral.pk)


def _create(request, case, form, consent_form, send):
    """Record the inline consent (when one was filled in) and the referral together: a
    refused send leaves nothing half-made, and the form shows again as typed."""
    with transaction.atomic():
        consent = form.cleaned_data["consent"]
        if consent_form is not None:
            consent = services.record_consent(
                actor=request.user,
                client=case.client,
                case=case,
                request=request,
                **consent_form.consent_data(),
            )
        return services.create_referral(
            actor=request.user,
            case=case,
            consent=consent,
            send=send,
            request=request,
            **form.referral_data(),
        )


def _sent_message(referral):
    provider = {"provider": referral.provider_name}
    if referral.provider_email:
        return _("Referral sent. %(provider)s was emailed a secure link.") % provider
    if referral.is_part2:
        return (
            _(
                "Referral sent. Tell %(provider)s yourself: they have no email on file. It is "
                "covered by 42 CFR Part 2: no written notice went with it. Send them the "
                "notice and the consent's scope in writing (shown on this page)."
            )
            % provider
        )
    return _("Referral sent. Tell %(provider)s yourself: they have no email on file.") % provider


# --- One referral ---------------------------------------------------------------------


@login_required
@require_GET
def referral_detail(request, pk):
    referral = get_referral_for_user(request, pk, audit_read=False)
    return _detail_page(request, referral)


def _detail_page(
    request, referral, *, failed=None, send_error="", appointment_form=None, link_form=None
):
    """The referral page; a form that was posted with errors is shown as it was typed
    (`failed`: (side, StatusForm))."""
    user = request.user
    now = timezone.now()
    can_write = Referral.objects.writable_by(user).filter(pk=referral.pk).exists()
    events = list(referral.events.select_related("actor"))
    disclosures = list(referral.disclosures.select_related("consent", "disclosed_by"))
    links = list(referral.links.select_related("created_by", "notification"))
    audit(
        request=request,
        action=Action.VIEW,
        obj=referral,
        detail={
            "event_ids": [event.pk for event in events],
            "disclosure_ids": [disclosure.pk for disclosure in disclosures],
        },
    )
    forms_by_side = _status_forms_by_side(request, referral, failed) if can_write else {}
    writable_and_live = can_write and referral.status in LIVE_STATUSES
    return render(
        request,
        "referrals/referral_detail.html",
        {
            "referral": referral,
            "case": referral.case,
            "client": referral.client,
            "events": events,
            "disclosures": disclosures,
            "links": links,
            "now": now,
            "can_write": can_write,
            "can_send": can_write and referral.status == Status.DRAFT,
            # Closing the loop: a referral that did not connect is followed by another.
            "can_refer_elsewhere": can_write
            and referral.case.is_open
            and referral.status in (Status.REJECTED, Status.FAILED, Status.CANCELLED),
            "send_error": send_error,
            "requester_forms": forms_by_side.get("requester", []),
            "provider_forms": forms_by_side.get("provider", []),
            "appointment_form": (appointment_form or AppointmentForm(auto_id="id_appt_%s"))
            if writable_and_live
            else None,
            "link_form": (link_form or ProviderLinkForm(initial={"email": referral.provider_email}))
            if writable_and_live
            else None,
            "stale_reason": stale_reason(referral, now),
            "times": loop_times(referral),
            "part2_notice": PART2_REDISCLOSURE_NOTICE if referral.is_part2 else "",
            # Told by phone: no written notice went with it (42 CFR 2.32).
            "part2_unsent": referral.is_part2 and any(not d.part2_notice for d in disclosures),
        },
    )


def _status_forms_by_side(request, referral, failed):
    """The status forms of each side ("requester", "provider"), with the one posted with
    errors (`failed`: (side, StatusForm)) in place of its blank; errors of a posted form
    that is no longer offered become messages."""
    failed_side, failed_form = failed or (None, None)
    forms_by_side = {}
    for side, party in SIDES.items():
        found = status_forms(
            referral,
            party,
            failed=failed_form if failed_side == side else None,
            reported=side == "provider",
        )
        if side == "provider":
            # The requester's own cancel covers a provider calling it off.
            found = [f for f in found if f.to_status != Status.CANCELLED]
        forms_by_side[side] = found
    if failed_form is not None and failed_form not in forms_by_side.get(failed_side, []):
        for error in failed_form.non_field_errors():
            messages.error(request, error)
    return forms_by_side


@login_required
@require_POST
def referral_send(request, pk):
    referral = get_referral_for_user(request, pk, write=True, audit_read=False)
    try:
        referral = services.send_referral(actor=request.user, referral=referral, request=request)
    except DomainError as exc:
        # The draft stays as it was; the page says why it did not go.
        referral.refresh_from_db()
        return _detail_page(request, referral, send_error=str(exc))
    messages.success(request, _sent_message(referral))
    return redirect("referrals:detail", referral.pk)


@login_required
@require_POST
def referral_status(request, pk):
    """A status change: the worker's own (side "requester"), or what the provider
    reported by phone or mail (side "provider")."""
    referral = get_referral_for_user(request, pk, write=True, audit_read=False)
    side = request.POST.get("side")
    to_status = request.POST.get("to_status")
    if side not in SIDES or to_status not in Status.values:
        return HttpResponseBadRequest(_("Unknown action."))
    form = StatusForm(
        request.POST,
        to_status=to_status,
        reported=side == "provider",
        auto_id=status_auto_id(SIDES[side], to_status),
    )
    if form.is_valid():
        via = EventVia.STAFF_FOR_PROVIDER if side == "provider" else EventVia.STAFF
        try:
            services.transition_referral(
                actor=request.user,
                referral=referral,
                via=via,
                request=request,
                **form.transition_data(),
            )
        except DomainError as exc:
            add_referral_error(exc, form)
        else:
            messages.success(
                request,
                _("Referral: %(status)s.") % {"status": str(Status(to_status).label).lower()},
            )
            return redirect("referrals:detail", referral.pk)
    referral.refresh_from_db()
    return _detail_page(request, referral, failed=(side, form))


@login_required
@require_POST
def referral_appointment(request, pk):
    referral = get_referral_for_user(request, pk, write=True, audit_read=False)
    form = AppointmentForm(request.POST, auto_id="id_appt_%s")
    if form.is_valid():
        try:
            services.record_appointment(
                actor=request.user,
                referral=referral,
                via=EventVia.STAFF_FOR_PROVIDER,
                appointment_at=form.cleaned_data["appointment_at"],
                note=form.cleaned_data["note"].strip(),
                request=request,
            )
        except DomainError as exc:
            add_referral_error(exc, form)
        else:
            messages.success(request, _("Appointment recorded."))
            return redirect("referrals:detail", referral.pk)
    referral.refresh_from_db()
    return _detail_page(request, referral, appointment_form=form)


@login_required
@require_POST
def link_new(request, pk):
    """A new link for the provider (the old one lost, or a different contact)."""
    referral = get_referral_for_user(request, pk, write=True, audit_read=False)
    form = ProviderLinkForm(request.POST)
    if form.is_valid():
        try:
            link = services.issue_provider_link(
                actor=request.user,
                referral=referral,
                email=form.cleaned_data["email"] or None,
                request=request,
            )
        except DomainError as exc:
            add_referral_error(exc, form)
        else:
            messages.success(
                request, _("A new link was sent to %(address)s.") % {"address": link.sent_to}
            )
            return redirect("referrals:detail", referral.pk)
    return _detail_page(request, referral, link_form=form)


@login_required
@require_POST
def link_revoke(request, pk, link_pk):
    referral = get_referral_for_user(request, pk, write=True, audit_read=False)
    link = referral.links.filter(pk=link_pk).first()
    if link is None:
        raise Http404(_("No link found."))
    try:
        services.revoke_provider_link(actor=request.user, link=link, request=request)
    except DomainError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request, _("The link sent to %(address)s no longer works.") % {"address": link.sent_to}
        )
    return redirect("referrals:detail", referral.pk)
