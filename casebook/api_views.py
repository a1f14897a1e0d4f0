"""Token sign-in for API clients."""

from axes.helpers import get_cool_off
from django.contrib.auth import authenticate
from django.contrib.auth.signals import user_logged_in
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from casebook.authentication import token_expired, touch
from core.api import PARSER_CLASSES


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=4096, trim_whitespace=False)


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField()


class TokenRateThrottle(ScopedRateThrottle):
    """The "token" rate, per client address. DRF would key on X-Forwarded-For, which any
    client can set; the audit trail and django-axes use REMOTE_ADDR, and so does this."""

    def get_ident(self, request):
        return request.META.get("REMOTE_ADDR") or "unknown"


class LockedOut(exceptions.APIException):
    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_code = "locked_out"


class ObtainTokenView(APIView):
    """Exchange a username and password for an API token, then send it on every request
    as `Authorization: Token <token>`. A token ends after 30 minutes without use, 12
    hours after it was issued, or when the password changes; ask for a new one then. Five failed attempts for a username from one
    address lock it for a while (429); so do more than 20 attempts a minute."""

    authentication_classes = []
    permission_classes = [AllowAny]
    parser_classes = PARSER_CLASSES
    document_form_bodies = True
    throttle_classes = [TokenRateThrottle]
    throttle_scope = "token"

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
        # With the request, django-axes counts failures and refuses a locked-out username
        # and address before the password is checked; the auth signals audit both.
        user = authenticate(request=request, **serializer.validated_data)
        if user is None:
            if getattr(request, "axes_locked_out", False):
                cool_off = get_cool_off(request)
                wait = f" for {round(cool_off.total_seconds() / 60)} minutes" if cool_off else ""
                raise LockedOut(
                    f"Too many failed sign-in attempts: this account is locked{wait} "
                    "from your address."
                )
            raise exceptions.ValidationError(
                {"non_field_errors": ["The username or password is not correct."]},
                code="authorization",
            )
        token, created = Token.objects.get_or_create(user=user)
        if not created and token_expired(token):
            token.delete()
            token = Token.objects.create(user=user)
        touch(token)
        # A sign-in like the login page's: audited, last_login set, axes' count reset.
        user_logged_in.send(sender=user.__class__, request=request, user=user)
        return Response({"token": token.key})
