"""The dispatch API: requests for a mobile team and the units that answer them.

As the other client-record APIs: lists are scoped by visible_to(user); a detail route
fetches through dispatch/access.py, so another agency's id answers 404 (audited as
denied) exactly like one that does not exist. A request that names a client is client
data: its reads are audited, and a list is audited with the ids it shows when one of them
names a client. Every write validates an input serializer and calls one service; a
refusal of the service is a 400 naming the field it is about, or a 403 (audited) when the
user may not do it.

Who may do what is the services' to say: dispatchers and supervisors record, correct and
send (their routes fetch the request as writable: 403 for anyone else); a unit's own crew
acknowledges and records its steps, closes a request it could not serve and runs its
shift (their routes fetch what the user may see, and the service checks the shift).
"""

import django_filters
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from audit.api import AccessHelperMixin
from audit.models import Action
from audit.services import record as audit
from audit.services import record_list, refuse
from core.api import PARSER_CLASSES
from core.api_filters import UTCIsoDateTimeFilter
from core.exceptions import NotPermitted
from dispatch import services
from dispatch.access import get_request_for_user, get_unit_for_user
from dispatch.api import serializers as s
from dispatch.exceptions import InvalidTransition
from dispatch.models import (
    Priority,
    RequestStatus,
    TeamRequest,
    Unit,
    UnitStatus,
)

DISPATCHERS_ONLY = gettext_lazy("Only a dispatcher or a supervisor records requests.")


class RefusalsAudited:
    """A service's "you may not" (NotPermitted, answered 403) leaves its trace in the
    audit trail, as the access helpers' refusals do."""

    audit_object_type = ""

    def handle_exception(self, exc):
        if isinstance(exc, NotPermitted):
            audit(
                request=self.request,
                action=Action.DENIED,
                object_type=self.audit_object_type,
                object_id=self.kwargs.get("pk", ""),
                detail={"reason": "not permitted", "action": self.action},
            )
        return super().handle_exception(exc)


# --- Requests ------------------------------------------------------------------------------


class RequestFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=RequestStatus.choices)
    priority = django_filters.ChoiceFilter(choices=Priority.choices)
    received_after = UTCIsoDateTimeFilter(field_name="received_at", lookup_expr="gte")
    received_before = UTCIsoDateTimeFilter(field_name="received_at", lookup_expr="lt")

    class Meta:
        model = TeamRequest
        fields: list[str] = []


@extend_schema(tags=["dispatch"])
@extend_schema_view(
    list=extend_schema(
        summary="Requests for a mobile team you can see, newest first",
        description="Dispatchers and supervisors: the agency's. A social worker: the "
        "agency's while on a unit's shift, else those of the shifts they were on.",
    ),
)
class RequestViewSet(
    RefusalsAudited,
    AccessHelperMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Requests for a mobile team, from the call to back in service (or not served). The
    timeline follows NEMSIS: received, dispatched, acknowledged, en route, on scene, left
    scene, at destination, transfer of care, back in service."""

    serializer_class = s.TeamRequestSerializer
    filterset_class = RequestFilter
    access_helper = staticmethod(get_request_for_user)
    audit_object_type = "teamrequest"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return TeamRequest.objects.none()
        requests = TeamRequest.objects.visible_to(self.request.user).for_list()
        return requests.with_live_unit().order_by("-received_at", "-pk")

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        client_ids = [row.client_id for row in page if row.client_id is not None]
        if client_ids:
            record_list(
                request=request,
                object_type=self.audit_object_type,
                objects=page,
                client_ids=client_ids,
            )
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def visible_request(self):
        """The request, for a route whose service checks who may act (the unit's crew
        or a dispatcher): what the user may see, its read not audited (the change is)."""
        return get_request_for_user(self.request, self.kwargs["pk"], audit_read=False)

    def detail_response(self, request, code=status.HTTP_200_OK):
        """The request as retrieve shows it: read after the change, with its timeline."""
        found = TeamRequest.objects.for_list().with_live_unit().with_timeline().get(pk=request.pk)
        context = self.get_serializer_context()
        return Response(s.TeamRequestDetailSerializer(found, context=context).data, status=code)

    @extend_schema(
        summary="A request, with its timeline and the units sent to it",
        responses=s.TeamRequestDetailSerializer,
    )
    def retrieve(self, request, pk=None):
        return self.detail_response(self.get_object())

    @extend_schema(
        summary="Record a request (dispatchers and supervisors)",
        request=s.RequestCreateSerializer,
        responses={201: s.TeamRequestDetailSerializer},
    )
    def create(self, request):
        if not request.user.can_dispatch:
            refuse(request, "api:dispatch-requests", DISPATCHERS_ONLY)
        serializer = s.RequestCreateSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        created = services.record_request(
            actor=request.user, data=serializer.validated_data, http_request=request
        )
        return self.detail_response(created, status.HTTP_201_CREATED)

    @extend_schema(
        summary="Correct or complete a request (dispatchers and supervisors)",
        description="Only the fields given change; not when or how the request came in.",
        request=s.RequestEditSerializer,
        responses=s.TeamRequestDetailSerializer,
    )
    def partial_update(self, request, pk=None):
        found = self.get_object()
        serializer = s.RequestEditSerializer(
            data=request.data, partial=True, context={"request": request}
        )
        serializer.is_valid(raise_exception=True)
        edited = services.edit_request(
            request=found, actor=request.user, data=serializer.validated_data, http_request=request
        )
        return self.detail_response(edited)

    @extend_schema(
        summary="Send an available unit (dispatchers and supervisors)",
        request=s.AssignSerializer,
        responses=s.TeamRequestDetailSerializer,
    )
    @action(detail=True, methods=["post"])
    def assign(self, request, pk=None):
        found = self.get_object()
        serializer = s.AssignSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        services.assign_unit(
            request=found,
            unit=serializer.validated_data["unit"],
            actor=request.user,
            http_request=request,
        )
        return self.detail_response(found)

    @extend_schema(
        summary="The unit's crew says it has the request",
        request=None,
        responses=s.TeamRequestDetailSerializer,
    )
    @action(detail=True, methods=["post"])
    def acknowledge(self, request, pk=None):
        found = self.visible_request()
        assignment = found.assignments.live().first()
        if assignment is None:
            raise InvalidTransition(_("No unit is on this request."))
        services.acknowledge(assignment=assignment, actor=request.user, http_request=request)
        return self.detail_response(found)

    @extend_schema(
        summary="One tap: the unit's next step (its crew, or a dispatcher)",
        description="Without `to`, the next step of the timeline; on scene, say whether "
        "the team is `transporting` (with its `destination`) or `back_in_service`.",
        request=s.AdvanceSerializer,
        responses=s.TeamRequestDetailSerializer,
    )
    @action(detail=True, methods=["post"])
    def advance(self, request, pk=None):
        found = self.visible_request()
        serializer = s.AdvanceSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        assignment = found.assignments.live().select_related("unit").first()
        if assignment is None:
            raise InvalidTransition(_("No unit is on this request."))
        with transaction.atomic():
            moved = services.advance(
                unit=assignment.unit,
                actor=request.user,
                http_request=request,
                **serializer.validated_data,
            )
            # The unit is stepped on its live request: one it was sent to since is not this.
            if moved.pk != found.pk:
                raise InvalidTransition(
                    _("%(unit)s is now on another request.") % {"unit": assignment.unit}
                )
        return self.detail_response(found)

    @extend_schema(
        summary="Take the unit off a request it has not reached (dispatchers)",
        request=s.ReleaseSerializer,
        responses=s.TeamRequestDetailSerializer,
    )
    @action(detail=True, methods=["post"])
    def release(self, request, pk=None):
        found = self.get_object()
        serializer = s.ReleaseSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.release_unit(
            request=found,
            actor=request.user,
            reason=serializer.validated_data["reason"],
            http_request=request,
        )
        return self.detail_response(found)

    @extend_schema(
        summary="Send another unit in place of the one on the request (dispatchers)",
        request=s.ReassignSerializer,
        responses=s.TeamRequestDetailSerializer,
    )
    @action(detail=True, methods=["post"])
    def reassign(self, request, pk=None):
        found = self.get_object()
        serializer = s.ReassignSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        services.reassign_unit(
            request=found,
            unit=serializer.validated_data["unit"],
            actor=request.user,
            reason=serializer.validated_data["reason"],
            http_request=request,
        )
        return self.detail_response(found)

    @extend_schema(
        summary="Close a request before a team was on scene, with why",
        request=s.NotServedSerializer,
        responses=s.TeamRequestDetailSerializer,
    )
    @action(detail=True, methods=["post"], url_path="close-not-served")
    def close_not_served(self, request, pk=None):
        found = self.visible_request()
        serializer = s.NotServedSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.close_not_served(
            request=found, actor=request.user, http_request=request, **serializer.validated_data
        )
        return self.detail_response(found)

    @extend_schema(
        summary="The agency's available units, nearest first",
        responses=s.SuggestionSerializer(many=True),
    )
    @action(detail=True, methods=["get"], filterset_class=None, pagination_class=None)
    def suggestions(self, request, pk=None):
        found = self.get_object()
        return Response(s.SuggestionSerializer(services.suggest_units(found), many=True).data)


# --- Units -------------------------------------------------------------------------------


class UnitFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=UnitStatus.choices)

    class Meta:
        model = Unit
        fields: list[str] = []


@extend_schema(tags=["dispatch"])
@extend_schema_view(
    list=extend_schema(summary="Your agency's units"),
    retrieve=extend_schema(summary="A unit of your agency"),
)
class UnitViewSet(
    RefusalsAudited,
    mixins.ListModelMixin,
    viewsets.GenericViewSet,
):
    """The agency's units: their status, crew, the request they are on and, while they
    share it, where they last were. Nobody outside the agency sees them (404). A unit
    holds no client data: reading one is not audited, refusals are. A unit's crew or a
    dispatcher runs its shift; only its crew shares and records its position."""

    serializer_class = s.UnitSerializer
    filterset_class = UnitFilter
    parser_classes = PARSER_CLASSES
    lookup_value_regex = "[^/]+"
    audit_object_type = "unit"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Unit.objects.none()
        return Unit.objects.visible_to(self.request.user).select_related("team").with_crew()

    def unit(self):
        return get_unit_for_user(self.request, self.kwargs["pk"])

    def unit_response(self, unit):
        found = Unit.objects.select_related("team").with_crew().get(pk=unit.pk)
        return Response(s.UnitSerializer(found, context=self.get_serializer_context()).data)

    def retrieve(self, request, pk=None):
        return self.unit_response(self.unit())

    @extend_schema(
        summary="Put the unit on shift with its crew",
        request=s.StartShiftSerializer,
        responses=s.UnitSerializer,
    )
    @action(detail=True, methods=["post"], url_path="start-shift")
    def start_shift(self, request, pk=None):
        unit = self.unit()
        serializer = s.StartShiftSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        services.start_shift(
            unit=unit,
            members=[(member["user"], member["credential"]) for member in data["members"]],
            actor=request.user,
            shares_position=data["shares_position"],
        )
        return self.unit_response(unit)

    @extend_schema(
        summary="Take the unit off shift (its positions are deleted)",
        request=None,
        responses=s.UnitSerializer,
    )
    @action(detail=True, methods=["post"], url_path="end-shift")
    def end_shift(self, request, pk=None):
        unit = self.unit()
        services.end_shift(unit=unit, actor=request.user)
        return self.unit_response(unit)

    @extend_schema(
        summary="The unit can take no request for now",
        request=s.OutOfServiceSerializer,
        responses=s.UnitSerializer,
    )
    @action(detail=True, methods=["post"], url_path="out-of-service")
    def out_of_service(self, request, pk=None):
        unit = self.unit()
        serializer = s.OutOfServiceSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.take_out_of_service(
            unit=unit, actor=request.user, reason=serializer.validated_data["reason"]
        )
        return self.unit_response(unit)

    @extend_schema(summary="The unit is available again", request=None, responses=s.UnitSerializer)
    @action(detail=True, methods=["post"], url_path="return-to-service")
    def return_to_service(self, request, pk=None):
        unit = self.unit()
        services.return_to_service(unit=unit, actor=request.user)
        return self.unit_response(unit)

    @extend_schema(
        summary="Start or stop sharing the unit's position (its crew)",
        description="Stopping deletes the positions stored.",
        request=s.SharingSerializer,
        responses=s.UnitSerializer,
    )
    @action(detail=True, methods=["post"])
    def sharing(self, request, pk=None):
        unit = self.unit()
        serializer = s.SharingSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.set_position_sharing(
            unit=unit, actor=request.user, shares=serializer.validated_data["shares_position"]
        )
        return self.unit_response(unit)

    @extend_schema(
        summary="Record where the unit is (its crew, while it shares its position)",
        request=s.PositionInputSerializer,
        responses={201: s.UnitPositionSerializer},
    )
    @action(detail=True, methods=["post"])
    def position(self, request, pk=None):
        unit = self.unit()
        serializer = s.PositionInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        position = services.record_position(
            unit=unit, actor=request.user, **serializer.validated_data
        )
        return Response(s.UnitPositionSerializer(position).data, status=status.HTTP_201_CREATED)
