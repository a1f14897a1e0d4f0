"""The language of one's own pages and e-mails."""

from typing import cast

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from accounts.forms import LanguageForm
from accounts.models import User
from accounts.services import set_language
from core.exceptions import DomainError
from core.forms import add_error
from core.i18n import supported


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)  # behind login_required


def _next_page_language(request: HttpRequest, chosen: str | None) -> str:
    """The language the next page speaks: the one chosen, else the browser's (the language
    cookie this answer removes aside)."""
    if chosen:
        return chosen
    cookies = request.COOKIES
    request.COOKIES = {k: v for k, v in cookies.items() if k != settings.LANGUAGE_COOKIE_NAME}
    try:
        return translation.get_language_from_request(request)
    finally:
        request.COOKIES = cookies


@login_required
@require_http_methods(["GET", "POST"])
def language(request: HttpRequest) -> HttpResponse:
    """Choose the language of one's pages and e-mails, or the browser's. The language
    cookie follows the choice, so that the login page speaks it after logging out."""
    user = _user(request)
    form = LanguageForm(request.POST or None, initial={"language": user.language})
    if request.method == "POST" and form.is_valid():
        try:
            set_language(user=user, language=form.cleaned_data["language"], request=request)
        except DomainError as exc:
            add_error(exc, form)
        else:
            chosen = supported(user.language)
            # Said in the language the next page speaks.
            with translation.override(_next_page_language(request, chosen)):
                messages.success(request, _("Your language is saved."))
            response = redirect("accounts:language")
            if chosen:
                response.set_cookie(
                    settings.LANGUAGE_COOKIE_NAME,
                    chosen,
                    max_age=settings.LANGUAGE_COOKIE_AGE,
                    path=settings.LANGUAGE_COOKIE_PATH,
                    domain=settings.LANGUAGE_COOKIE_DOMAIN,
                    secure=settings.LANGUAGE_COOKIE_SECURE,
                    httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
                    samesite=settings.LANGUAGE_COOKIE_SAMESITE,
                )
            else:
                response.delete_cookie(
                    settings.LANGUAGE_COOKIE_NAME,
                    path=settings.LANGUAGE_COOKIE_PATH,
                    domain=settings.LANGUAGE_COOKIE_DOMAIN,
                    samesite=settings.LANGUAGE_COOKIE_SAMESITE,
                )
            return response
    return render(request, "accounts/language.html", {"form": form})
