"""The CAD endpoint: a 911 computer-aided dispatch system hands an incident to the team.

It signs in with nobody's session or token but with its agency's CAD key
(`Authorization: Bearer cad_<prefix>_<secret>`, dispatch/cad_keys.py): request.user stays
anonymous, request.auth is the key, and the agency is the key's, never the body's. The
same incident posted again is recorded once (201, then 200 with the same id).

Every call leaves a row in the audit trail, in the key's agency where there is one: the
incident recorded (create) or posted again (view); a body refused (denied, naming the
fields, never what they held); a key refused (denied, in the agency of the key its prefix
names, if any); a key past its rate (denied, once a window, as every rate limit,
core/ratelimit.py). Refused keys are counted per address too, so guessing runs into 429.
"""

from typing import Any, NoReturn, cast

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from audit.models import Action
from audit.services import record as audit
from core.api import JSONParser
from core.exceptions import DomainError
from core.http import client_address
from core.ratelimit import count
from dispatch import services
from dispatch.api.serializers import CadIncidentResultSerializer, CadIncidentSerializer
from dispatch.cad_keys import authenticate_cad_key, prefix_of
from dispatch.models import CadKey

AUDIT_TYPE = "cadkey"


def _audit_refused_key(request: Request, raw: str) -> None:
    prefix = prefix_of(raw) or ""
    owner = CadKey.objects.filter(prefix=prefix).values("agency_id").first() if prefix else None
    audit(
        # The HTTP request itself: the DRF one would sign in again to read its user.
        request=request._request,
        action=Action.DENIED,
        object_type=AUDIT_TYPE,
        object_id=prefix,
        agency_id=owner["agency_id"] if owner else None,
        detail={"reason": "bad cad key" if raw else "no cad key"},
    )


class CadKeyAuthentication(BaseAuthentication):
    """`Authorization: Bearer cad_<prefix>_<secret>`: an active CAD key, else 401 (or 429
    for an address that keeps sending bad ones)."""

    def authenticate(self, request: Request) -> tuple[AnonymousUser, CadKey]:
        parts = get_authorization_header(request).split()
        raw = ""
        if len(parts) == 2 and parts[0].lower() == b"bearer":
            raw = parts[1].decode("latin-1")
        key = authenticate_cad_key(raw) if raw else None
        if key is None:
            self._refuse(request, raw)
        timezone.activate(key.agency.zone)
        return AnonymousUser(), key

    def _refuse(self, request: Request, raw: str) -> NoReturn:
        usage = count(
            request,
            group="dispatch-cad-refused",
            who=client_address(request) or "unknown",
            rate=settings.DISPATCH_CAD_REFUSED_RATE,
        )
        if usage.limited:
            if usage.first_refusal:
                _audit_refused_key(request, raw)
            raise exceptions.Throttled(
                wait=usage.retry_after, detail=_("Too many refused keys from this address.")
            )
        _audit_refused_key(request, raw)
        raise exceptions.AuthenticationFailed(
            _("Send the agency's CAD key: `Authorization: Bearer cad_<prefix>_<secret>`.")
        )

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="cad"'


class CadKeyScheme(OpenApiAuthenticationExtension):
    target_class = CadKeyAuthentication
    name = "cadKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "The agency's CAD key: `Authorization: Bearer cad_<prefix>_<secret>`.",
        }


class HasCadKey(BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        return isinstance(request.auth, CadKey)


class CadKeyThrottle(BaseThrottle):
    """Posts per key (settings.DISPATCH_CAD_RATE), counted as every rate limit is."""

    retry_after: int | None = None

    def allow_request(self, request: Request, view: Any) -> bool:
        key = cast(CadKey, request.auth)  # HasCadKey
        usage = count(
            request,
            group="dispatch-cad",
            who=str(key.pk),
            rate=settings.DISPATCH_CAD_RATE,
        )
        if usage.first_refusal:
            _audit_call(request, key, Action.DENIED, {"reason": "rate limited"})
        self.retry_after = usage.retry_after
        return not usage.limited

    def wait(self) -> int | None:
        return self.retry_after


def _audit_call(
    request: Request, key: CadKey, action: str, detail: dict[str, Any], **target: Any
) -> None:
    audit(
        request=request,
        action=action,
        object_type=target.pop("object_type", AUDIT_TYPE),
        object_id=target.pop("object_id", key.prefix),
        agency_id=key.agency_id,
        detail={"cad_key": key.prefix, **detail},
    )


class CadIncidentView(APIView):
    """A 911 CAD's incident for the team, recorded as a request waiting for a unit
    (source `cad_911`). Posting the same `incident_number` again records
    nothing more and answers the same request's id (200)."""

    authentication_classes = [CadKeyAuthentication]
    permission_classes = [HasCadKey]
    throttle_classes = [CadKeyThrottle]
    parser_classes = [JSONParser]

    def throttled(self, request: Request, wait: float | None) -> NoReturn:
        raise exceptions.Throttled(wait=wait, detail=_("Too many incidents from this CAD key."))

    @extend_schema(
        summary="Hand a 911 incident to the team (a CAD system, with its agency's key)",
        request=CadIncidentSerializer,
        responses={
            201: CadIncidentResultSerializer,
            200: OpenApiResponse(
                CadIncidentResultSerializer, description="The incident was already recorded."
            ),
            401: OpenApiResponse(
                inline_serializer("CadKeyRefusal", {"detail": serializers.CharField()}),
                description="No valid CAD key: send `Authorization: Bearer cad_<prefix>_<secret>`.",
            ),
        },
        tags=["dispatch"],
    )
    def post(self, request: Request) -> Response:
        key = cast(CadKey, request.auth)  # HasCadKey
        serializer = CadIncidentSerializer(data=request.data)
        if not serializer.is_valid():
            _audit_call(
                request,
                key,
                Action.DENIED,
                {"reason": "invalid", "fields": sorted(serializer.errors)},
            )
            raise exceptions.ValidationError(serializer.errors)
        data = dict(serializer.validated_data)
        number = data.pop("incident_number")
        data["reason_notes"] = data.pop("notes")
        try:
            found, created = services.record_cad_incident(
                cad_key=key,
                incident_number=number,
                data=data,
                http_request=request,
            )
        except (DomainError, DjangoValidationError) as exc:
            fields = sorted(getattr(exc, "message_dict", {})) or [getattr(exc, "field", "")]
            _audit_call(request, key, Action.DENIED, {"reason": "refused", "fields": fields})
            raise
        _audit_call(
            request,
            key,
            Action.CREATE if created else Action.VIEW,
            {
                "result": "created" if created else "repeated",
                "incident_number": found.cad_incident_number,
            },
            object_type="teamrequest",
            object_id=found.pk,
        )
        answer = {
            "id": found.pk,
            "incident_number": found.cad_incident_number,
            "status": found.status,
            "created": created,
        }
        code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return Response(CadIncidentResultSerializer(answer).data, status=code)
