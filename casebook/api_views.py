"""API sign-in: a token per sign-in, the list of one's sign-ins, and ending them."""

import logging

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from accounts.mfa import check_code, mfa_required
from accounts.models import ApiToken
from accounts.signin import refusal_of
from accounts.tokens import get_token_for_user, issue_token, revoke_token
from audit.models import Action
from audit.services import record
from casebook.authentication import ExpiringTokenAuthentication
from core.api import PARSER_CLASSES
from core.http import client_address
from core.ratelimit import count

logger = logging.getLogger(__name__)


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=4096, trim_whitespace=False)
    otp = serializers.CharField(
        max_length=64,
        required=False,
        allow_blank=True,
        help_text=gettext_lazy(
            "The code your authenticator app shows, or a recovery code: required "
            "when the account signs in with a second factor."
        ),
    )


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(
        help_text=gettext_lazy("Shown only here: keep it, it cannot be read again.")
    )


class ApiTokenSerializer(serializers.ModelSerializer):
    current = serializers.SerializerMethodField(
        help_text=gettext_lazy("Whether this is the token the request was sent with.")
    )

    class Meta:
        model = ApiToken
        fields = [
            "id",
            "prefix",
            "created_at",
            "last_used_at",
            "expires_at",
            "ip_address",
            "user_agent",
            "current",
        ]
        read_only_fields = fields

    def get_current(self, token: ApiToken) -> bool:
        used = getattr(self.context.get("request"), "auth", None)
        return isinstance(used, ApiToken) and used.pk == token.pk


class TokenRateThrottle(BaseThrottle):
    """Token requests per client address (settings.API_TOKEN_RATE), counted as every rate
    limit is (core/ratelimit.py): the address as the audit trail and the sign-in limits read
    it, the first refusal of a window audited once, nothing limited while the cache is down
    (people in a crisis still sign in; the audit trail still records every failure)."""

    retry_after = None

    def allow_request(self, request, view):
        usage = count(
            request,
            group="api-token",
            who=client_address(request) or "unknown",
            rate=settings.API_TOKEN_RATE,
        )
        if usage.first_refusal:
            record(
                request=request,
                action=Action.DENIED,
                object_type="api-token",
                detail={"limit": "token requests a minute"},
            )
        self.retry_after = usage.retry_after
        return not usage.limited

    def wait(self):
        return self.retry_after


class LockedOut(exceptions.APIException):
    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_code = "locked_out"


MISSING_CODE = gettext_lazy(
    "This account signs in with a second factor: enter the code your authenticator app "
    "shows, or a recovery code."
)
WRONG_CODE = gettext_lazy(
    "That code is not right: enter the code your authenticator app shows now."
)


class ObtainTokenView(APIView):
    """Exchange a username and password (and the code of a second factor, when the
    account has one) for a new API token, then send it on every request as
    `Authorization: Token <token>`. Every call signs in anew with a token of its own.
    A token ends after 30 minutes without use, 12 hours after it was issued, at
    POST /api/v1/auth/logout/, when revoked, or when the password changes; ask for a new
    one then. After five failed attempts for a username, from any address (a wrong code
    counts), or twenty from one address, each further attempt must wait, twice as long
    after each failure up to 15 minutes (429, saying how long); more than 20 attempts a
    minute from one address are refused too."""

    authentication_classes = []
    permission_classes = [AllowAny]
    parser_classes = PARSER_CLASSES
    document_form_bodies = True
    throttle_classes = [TokenRateThrottle]

    @extend_schema(
        summary="Get an API token",
        request=TokenRequestSerializer,
        responses={200: TokenSerializer},
        auth=[],
        tags=["auth"],
    )
    def post(self, request):
        serializer = TokenRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        # With the request, a sign-in that must wait is refused before the password is
        # checked (accounts/signin.py); the auth signals count and audit failures.
        user = authenticate(request=request, username=data["username"], password=data["password"])
        if user is None:
            if (refusal := refusal_of(request)) is not None:
                raise LockedOut(refusal.message)
            raise exceptions.ValidationError(
                {"non_field_errors": [_("The username or password is not correct.")]},
                code="authorization",
            )
        if mfa_required(user):
            self._check_second_factor(request, user, data.get("otp", ""))
        issued = issue_token(user=user, request=request)
        # A sign-in like the login page's: audited, last_login set, failure count reset.
        user_logged_in.send(sender=user.__class__, request=request, user=user)
        return Response({"token": issued.key})

    def _check_second_factor(self, request, user, code: str) -> None:
        """Refuse the sign-in unless `code` is right; a refusal is a failed sign-in for
        the sign-in limits' count and the audit trail."""
        if code.strip() and check_code(user, code):
            return
        user_login_failed.send(
            sender=__name__, credentials={"username": user.get_username()}, request=request
        )
        raise exceptions.ValidationError(
            {"otp": [WRONG_CODE if code.strip() else MISSING_CODE]}, code="authorization"
        )


class LogoutView(APIView):
    """End the token this request is sent with. Signing out here ends no other token and
    no page session: each sign-in is ended on its own."""

    authentication_classes = [ExpiringTokenAuthentication]
    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="Sign out: end this token",
        request=None,
        responses={204: OpenApiResponse(description="The token no longer works.")},
        tags=["auth"],
    )
    def post(self, request):
        revoke_token(token=request.auth, actor=request.user, reason="signed out", request=request)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(
    list=extend_schema(
        summary="Your API sign-ins",
        description="Your tokens that still work, newest first, without their secrets.",
        tags=["auth"],
    ),
    destroy=extend_schema(
        summary="End an API sign-in",
        description="Revoke one of your tokens (an agency admin: one of their agency's).",
        responses={204: OpenApiResponse(description="The token no longer works.")},
        tags=["auth"],
    ),
)
class ApiTokenViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = ApiTokenSerializer
    # The model, for the schema; every request reads get_queryset().
    queryset = ApiToken.objects.none()

    def get_queryset(self):
        return ApiToken.objects.live().of_user(self.request.user)

    def destroy(self, request, pk=None):
        token = get_token_for_user(request, pk)
        reason = "revoked by its user" if token.user_id == request.user.pk else "revoked by admin"
        revoke_token(token=token, actor=request.user, reason=reason, request=request)
        return Response(status=status.HTTP_204_NO_CONTENT)
