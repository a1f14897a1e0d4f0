"""The receiving provider's page: no account, the link's token in the path.

A usable link shows exactly what the client's consent allows (services.shared_view) and
the actions valid for the referral's status; anything else (a malformed, unknown,
expired or revoked link, or one whose consent was revoked or expired) gets the same
neutral 404 that names nobody. Every view, action and refusal is audited, with the caller's
address and the path; the token is never written to the trail (services.link_audit_path).

Requests are counted per client address (settings.PROVIDER_LINK_RATE): past the limit the
page answers 429 without looking at the token, and one audit row per window says the
limit was hit, so guessing tokens neither goes on nor fills the trail.
"""

from django.conf import settings
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from accounts.models import zone_of
from audit.models import Action
from audit.services import record as audit
from core.exceptions import DomainError
from core.http import client_address
from core.i18n import client_language
from core.ratelimit import count
from referrals import services
from referrals.forms import AppointmentForm, StatusForm, status_auto_id, status_forms
from referrals.models import LIVE_STATUSES, EventVia, Party, ProviderLink, Status
from referrals.views.common import add_referral_error

APPOINTMENT = "appointment"


def _private(response):
    """No search engine, cache or other site's Referer header keeps the page or its
    address. "same-origin", not "no-referrer": under no-referrer browsers send
    `Origin: null` with the page's own forms, and the CSRF check refuses them."""
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "same-origin"
    return response


@require_http_methods(["GET", "POST"])
def provider_link(request, token):
    usage = count(
        request,
        group="referrals.provider_link",
        who=client_address(request) or "",
        rate=settings.PROVIDER_LINK_RATE,
    )
    if usage.limited:
        return _refuse_for_rate(request, usage)
    link = services.resolve_provider_link(token)
    if link is None:
        _audit_refused(request, token)
        return _private(render(request, "referrals/provider_link_gone.html", status=404))
    referral = link.referral
    agency = referral.agency
    # The page speaks the language of the client the referral is about, in the
    # referring agency's time zone (the provider has no account, so no setting of its own).
    language = client_language(referral.client)
    with timezone.override(zone_of(agency)), translation.override(language):
        if request.method == "POST":
            response = _act(request, link, token)
        else:
            services.record_link_use(link=link, request=request, what="view")
            response = _page(request, link, done=request.GET.get("done", ""))
    response["Content-Language"] = language
    return _private(response)


def _refuse_for_rate(request, usage):
    if usage.first_refusal:
        audit(
            request=request,
            action=Action.DENIED,
            object_type="providerlink",
            detail={"reason": "rate limit", "method": request.method},
            path=services.link_audit_path(None),
        )
    response = render(request, "referrals/provider_link_limited.html", status=429)
    response["Retry-After"] = str(usage.retry_after)
    return _private(response)


def _audit_refused(request, token):
    """A DENIED row for an unusable link: its public id (and its agency's trail) when the
    token is well formed and signed, nothing of the token otherwise."""
    public_id = ProviderLink.parse(token[:200])
    agency_id = None
    if public_id is not None:
        row = (
            ProviderLink.objects.filter(public_id=public_id)
            .values("referral__agency_id", "referral_id")
            .first()
        )
        agency_id = row["referral__agency_id"] if row else None
    audit(
        request=request,
        action=Action.DENIED,
        object_type="providerlink",
        object_id=str(public_id) if public_id else "",
        agency_id=agency_id,
        detail={"reason": "provider link unusable", "method": request.method},
        path=services.link_audit_path(request, public_id),
    )


def _act(request, link, token):
    """One of the provider's actions: a status change or an appointment."""
    referral = link.referral
    action = request.POST.get("action", "")
    failed = None
    appointment_form = None
    if action == APPOINTMENT:
        appointment_form = AppointmentForm(request.POST, auto_id="id_appt_%s")
        if appointment_form.is_valid():
            try:
                services.record_appointment(
                    actor=None,
                    referral=referral,
                    via=EventVia.PROVIDER_LINK,
                    appointment_at=appointment_form.cleaned_data["appointment_at"],
                    note=appointment_form.cleaned_data["note"].strip(),
                    request=None,
                )
            except DomainError as exc:
                add_referral_error(exc, appointment_form)
            else:
                services.record_link_use(link=link, request=request, what=APPOINTMENT)
                return redirect(f"{request.path}?done={APPOINTMENT}")
    elif action in Status.values:
        failed = StatusForm(
            request.POST,
            to_status=action,
            auto_id=status_auto_id(Party.PERFORMER, action),
        )
        if failed.is_valid():
            try:
                services.transition_referral(
                    actor=None,
                    referral=referral,
                    via=EventVia.PROVIDER_LINK,
                    request=None,
                    **failed.transition_data(),
                )
            except DomainError as exc:
                add_referral_error(exc, failed)
            else:
                services.record_link_use(link=link, request=request, what=f"status:{action}")
                return redirect(f"{request.path}?done={action}")
    else:
        # Audited, but not counted as a use of the link: the request named no action.
        audit(
            request=request,
            action=Action.PROVIDER_LINK,
            object_type="referral",
            object_id=referral.pk,
            agency_id=referral.agency_id,
            client_id=referral.client_id,
            detail={"link": str(link.public_id), "what": "unknown action"},
            path=services.link_audit_path(request, link.public_id),
        )
        return _page(request, link, error=_("That action is not available."), status=400)
    services.record_link_use(link=link, request=request, what=f"refused:{action}")
    referral.refresh_from_db()
    return _page(request, link, failed=failed, appointment_form=appointment_form)


def _page(request, link, *, failed=None, appointment_form=None, done="", error="", status=200):
    referral = link.referral
    forms = [
        form
        for form in status_forms(referral, Party.PERFORMER, failed=failed)
        if form.to_status != Status.CANCELLED
    ]
    errors = [error] if error else []
    if failed is not None and failed not in forms:
        # The status moved on meanwhile: say why the action was refused.
        errors += list(failed.non_field_errors())
    live = referral.status in LIVE_STATUSES
    done_label = ""
    if done == APPOINTMENT:
        done_label = _("Appointment recorded. Thank you.")
    elif done in Status.values:
        done_label = _("Recorded: %(status)s. Thank you.") % {
            "status": str(Status(done).label).lower()
        }
    worker = referral.created_by
    return render(
        request,
        "referrals/provider_link.html",
        {
            "view": services.shared_view(referral),
            "agency_name": referral.agency.name,
            "worker_name": worker.first_name or "",
            "forms": forms,
            "appointment_form": (appointment_form or AppointmentForm(auto_id="id_appt_%s"))
            if live
            else None,
            "done": done_label,
            "errors": errors,
        },
        status=status,
    )
