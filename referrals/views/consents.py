"""A client's consent to share: recorded, read, revoked."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from audit.models import Action
from audit.services import record as audit
from cases.access import get_case_for_user, get_client_for_user
from cases.models import Client
from core.exceptions import DomainError
from referrals import services
from referrals.access import get_consent_for_user
from referrals.forms import ConsentForm, RevokeConsentForm
from referrals.models import PART2_REDISCLOSURE_NOTICE, Consent
from referrals.views.common import add_referral_error


@login_required
@require_http_methods(["GET", "POST"])
def consent_new(request):
    """Record a consent for `?client=<id>`, on `&case=<id>` when given (its timeline
    shows it)."""
    client = get_client_for_user(request, request.GET.get("client"), write=True)
    case = None
    if request.GET.get("case"):
        case = get_case_for_user(request, request.GET["case"], write=True, audit_read=False)
        if case.client_id != client.pk:
            raise Http404(_("No case found."))
    form = ConsentForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            consent = services.record_consent(
                actor=request.user,
                client=client,
                case=case,
                request=request,
                **form.consent_data(),
            )
        except DomainError as exc:
            add_referral_error(exc, form)
        else:
            messages.success(request, _("Consent recorded."))
            if case is not None:
                return redirect("casework:case_detail", case.pk)
            return redirect("referrals:consent_detail", consent.pk)
    return render(
        request,
        "referrals/consent_form.html",
        {"form": form, "client": client, "case": case},
    )


@login_required
@require_GET
def consent_detail(request, pk):
    consent = get_consent_for_user(request, pk, audit_read=False)
    return _consent_page(request, consent)


def _consent_page(request, consent, *, revoke_form=None):
    user = request.user
    can_write = Consent.objects.filter(
        pk=consent.pk, client__in=Client.objects.writable_by(user)
    ).exists()
    # "consent" too: the related manager sets it on each row, a query per row if deferred.
    referrals = list(
        consent.referrals.only("pk", "consent", "provider_name", "status", "created_at")
    )
    disclosures = list(consent.disclosures.all())
    audit(
        request=request,
        action=Action.VIEW,
        obj=consent,
        detail={"disclosure_ids": [disclosure.pk for disclosure in disclosures]},
    )
    return render(
        request,
        "referrals/consent_detail.html",
        {
            "consent": consent,
            "client": consent.client,
            "referrals": referrals,
            "disclosures": disclosures,
            "active": consent.is_active(),
            "can_revoke": can_write and consent.revoked_at is None,
            "revoke_form": revoke_form or RevokeConsentForm(),
            "part2_notice": PART2_REDISCLOSURE_NOTICE if consent.is_part2 else "",
        },
    )


@login_required
@require_POST
def consent_revoke(request, pk):
    """Revoke: nothing more is disclosed under it, and the provider links of referrals
    sent under it stop showing anything."""
    consent = get_consent_for_user(request, pk, write=True, audit_read=False)
    form = RevokeConsentForm(request.POST)
    if form.is_valid():
        try:
            services.revoke_consent(
                actor=request.user,
                consent=consent,
                note=form.cleaned_data["note"].strip(),
                request=request,
            )
        except DomainError as exc:
            add_referral_error(exc, form)
        else:
            messages.success(request, _("Consent revoked. Nothing more is shared under it."))
            return redirect("referrals:consent_detail", consent.pk)
    return _consent_page(request, consent, revoke_form=form)
