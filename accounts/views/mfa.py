"""The second factor's pages: enrol an authenticator app, and verify a sign-in with it."""

from typing import cast
from urllib.parse import urlencode

import segno
from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters

from accounts import mfa, signin
from accounts.models import User
from core.exceptions import DomainError
from core.forms import add_error


class CodeForm(forms.Form):
    code = forms.CharField(
        label=gettext_lazy("Code"),
        max_length=40,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "autocapitalize": "off", "spellcheck": "false"}
        ),
    )


def _next_url(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return resolve_url(settings.LOGIN_REDIRECT_URL)


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)  # behind login_required


@never_cache
@sensitive_post_parameters("code")
@login_required
def enrol(request: HttpRequest) -> HttpResponse:
    """Set up an authenticator: scan the QR code (or type the secret), confirm with a code,
    then take the recovery codes, shown this once."""
    user = _user(request)
    if mfa.has_authenticator(user):
        return HttpResponseRedirect(
            reverse("accounts:mfa_verify") + "?" + urlencode({"next": _next_url(request)})
        )
    form = CodeForm(request.POST or None)
    if form.is_valid():
        try:
            codes = mfa.confirm_enrolment(
                request=request, user=user, code=form.cleaned_data["code"]
            )
        except DomainError as exc:
            add_error(exc, form)
        else:
            return render(
                request,
                "accounts/mfa_recovery_codes.html",
                {"codes": codes, "next": _next_url(request)},
            )
    device = mfa.pending_authenticator(user)
    qr = segno.make(device.config_url, error="m").svg_inline(
        scale=4, title=_("QR code for your authenticator app")
    )
    context = {
        "form": form,
        "qr_svg": qr,
        "secret": mfa.secret_text(device),
        "next": _next_url(request),
        "required": mfa.mfa_required(user),
    }
    return render(request, "accounts/mfa_enrol.html", context)


@never_cache
@sensitive_post_parameters("code")
@login_required
def verify(request: HttpRequest) -> HttpResponse:
    """The second step of every sign-in: a code from the app, or a recovery code."""
    user = _user(request)
    if not mfa.has_authenticator(user):
        return redirect("accounts:mfa_enrol")
    if not mfa.owes_factor(request):
        return HttpResponseRedirect(_next_url(request))
    form = CodeForm(request.POST or None)
    if form.is_valid():
        refusal = _refusal(request, user)
        if refusal:
            form.add_error("code", refusal)
        elif mfa.verify(request, form.cleaned_data["code"]):
            signin.record_success(request, user.get_username())
            return HttpResponseRedirect(_next_url(request))
        else:
            # A wrong code is a failed sign-in: it slows the next password attempt too.
            signin.record_failure(request, user.get_username())
            form.add_error(
                "code",
                _(
                    "That code is not right. Enter the 6-digit code your app shows now, "
                    "or one of your recovery codes."
                ),
            )
    return render(request, "accounts/mfa_verify.html", {"form": form, "next": _next_url(request)})


def _refusal(request: HttpRequest, user: User) -> str:
    """Why no code may be tried now (the sign-in limits' wait, or the devices' own after
    wrong codes), or "" when one may."""
    refusal = signin.check_allowed(request, user.get_username())
    if refusal is not None:
        return refusal.message
    wait = mfa.seconds_to_wait(user)
    if wait:
        return ngettext(
            "Too many wrong codes. Wait %(wait)d second, then enter the code your app shows.",
            "Too many wrong codes. Wait %(wait)d seconds, then enter the code your app shows.",
            wait,
        ) % {"wait": wait}
    return ""


@never_cache
@sensitive_post_parameters("code")
@login_required
def recovery_codes(request: HttpRequest) -> HttpResponse:
    """New recovery codes (the old ones stop working), against a code from the app."""
    user = _user(request)
    if not mfa.has_authenticator(user):
        return HttpResponseRedirect(reverse("accounts:mfa_enrol"))
    form = CodeForm(request.POST or None)
    if form.is_valid():
        try:
            codes = mfa.renew_recovery_codes(
                request=request, user=user, code=form.cleaned_data["code"]
            )
        except DomainError as exc:
            add_error(exc, form)
        else:
            context = {"codes": codes, "next": reverse("casework:caseload"), "renewed": True}
            return render(request, "accounts/mfa_recovery_codes.html", context)
    return render(request, "accounts/mfa_recovery_codes_new.html", {"form": form})
