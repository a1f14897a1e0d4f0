"""The API sign-in pages: each person's own tokens, and an agency admin's view of their
agency's, with a button to end each."""

from typing import cast

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.models import ApiToken, User
from accounts.tokens import get_token_for_user, revoke_token
from audit.services import refuse

PAGE_SIZE = 50


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)  # behind login_required


def _page(request: HttpRequest, tokens: QuerySet[ApiToken], agency_view: bool) -> HttpResponse:
    page = Paginator(tokens, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "accounts/tokens_list.html",
        {
            "page": page,
            "agency_view": agency_view,
            "idle_minutes": settings.API_TOKEN_IDLE_SECONDS // 60,
            "max_hours": settings.API_TOKEN_MAX_HOURS,
        },
    )


@login_required
@require_GET
def mine(request: HttpRequest) -> HttpResponse:
    return _page(request, ApiToken.objects.live().of_user(_user(request)), agency_view=False)


@login_required
@require_GET
def agency(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if not (user.is_agency_admin and user.agency_id):
        refuse(
            request, "agency api sign-ins", _("Only an agency admin sees the agency's sign-ins.")
        )
    tokens = ApiToken.objects.live().filter(agency_id=user.agency_id).select_related("user")
    return _page(request, tokens, agency_view=True)


@login_required
@require_POST
def revoke(request: HttpRequest, pk: str) -> HttpResponse:
    user = _user(request)
    token = get_token_for_user(request, pk)
    own = token.user_id == user.pk
    reason = "revoked by its user" if own else "revoked by admin"
    revoke_token(token=token, actor=user, reason=reason, request=request)
    messages.success(request, _("The API sign-in %(prefix)s has ended.") % {"prefix": token.prefix})
    return redirect("accounts:api_tokens" if own else "accounts:agency_api_tokens")
