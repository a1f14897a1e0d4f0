"""The follow-ups, protocols and hospital visits API.

As the cases API: lists are scoped by visible_to(user) and audited with the ids shown;
detail routes fetch through the access helpers of followups/access.py (another agency's
id: 404 and a DENIED audit row; a record the user may only read, as an agency admin: 403
on a write).
Every write validates an input serializer and calls one service in followups/services/;
a refusal of the service is a 400 naming the field it is about where there is one.
"""

import django_filters
from django.db import models
from django.db.models import Prefetch, Q, Value, When
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from audit.api import AccessHelperMixin
from audit.services import record_list, refuse
from cases.cssrs import RISK_ORDER
from cases.models import Case
from core.api_filters import IdFilter, StrictBooleanFilter, UTCIsoDateTimeFilter
from core.ids import MAX_ID, as_id
from followups import services
from followups.access import get_followup_for_user, get_hospital_visit_for_user
from followups.api.serializers import (
    AttemptInputSerializer,
    CancelInputSerializer,
    CompleteInputSerializer,
    DischargeInputSerializer,
    FollowUpCreateSerializer,
    FollowUpDetailSerializer,
    FollowUpSerializer,
    HospitalVisitCreateSerializer,
    HospitalVisitSerializer,
    MoveInputSerializer,
    ProtocolSerializer,
)
from followups.models import (
    ACTIONABLE_STATUSES,
    OPEN_STATUSES,
    Attempt,
    FollowUp,
    FollowUpEvent,
    HospitalVisit,
    Protocol,
    ProtocolVersion,
    Status,
    VisitKind,
)


def _require_contactable(request, case, page):
    if not Case.objects.contactable_by(request.user).filter(pk=case.pk).exists():
        refuse(request, page, _("You may view this case but not change its follow-ups."))


# --- Follow-ups --------------------------------------------------------------------------


@extend_schema_field(
    {
        "oneOf": [
            {"type": "integer", "minimum": 1, "maximum": MAX_ID},
            {"type": "string", "enum": ["me"]},
        ]
    }
)
class AssignedToFilter(IdFilter):
    """A user's id, or `me` (FollowUpFilter puts the requester's id in its place)."""


class FollowUpFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Status.choices)
    assigned_to = AssignedToFilter(
        field_name="assigned_to_id", label=gettext_lazy("`me`, or a user's id")
    )
    case = IdFilter(field_name="case_id")
    due_after = UTCIsoDateTimeFilter(field_name="due_at", lookup_expr="gte")
    due_before = UTCIsoDateTimeFilter(field_name="due_at", lookup_expr="lt")
    overdue = StrictBooleanFilter(
        method="filter_overdue",
        label=gettext_lazy("Open and past its due time (by the database clock), or not"),
    )

    class Meta:
        model = FollowUp
        fields: list[str] = []

    def __init__(self, data=None, *args, **kwargs):
        # `assigned_to=me` is the common case: the requester's own id.
        if data is not None and data.get("assigned_to") == "me":
            data = data.copy()
            data["assigned_to"] = str(kwargs["request"].user.pk)
        super().__init__(data, *args, **kwargs)

    def filter_overdue(self, queryset, name, value):
        # The application clock, as the sweeper and the pages use (not the database's).
        late = Q(status__in=OPEN_STATUSES, due_at__lt=timezone.now())
        return queryset.filter(late) if value else queryset.exclude(late)


def risk_rank():
    """The case's C-SSRS risk as a number, higher first in the Today list."""
    return models.Case(
        *[When(case__risk_level=level, then=Value(rank)) for level, rank in RISK_ORDER.items()],
        default=Value(0),
        output_field=models.IntegerField(),
    )


@extend_schema(tags=["follow-ups"])
@extend_schema_view(
    list=extend_schema(
        summary="Follow-ups on cases you can see",
        description="`assigned_to=me` for your own; `overdue=true` for open ones past "
        "their due time.",
    ),
    retrieve=extend_schema(
        summary="A follow-up, with its attempts and history",
        responses=FollowUpDetailSerializer,
    ),
)
class FollowUpViewSet(
    AccessHelperMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Follow-ups: scheduled by the protocols a client is enrolled in, or added by hand.
    Status over time: scheduled, due (window open), overdue (past the due time), missed
    (the window closed without success); completed or cancelled (with a reason) by a
    worker. Agency admins read every follow-up of the agency and change none (403)."""

    serializer_class = FollowUpSerializer
    filterset_class = FollowUpFilter
    access_helper = staticmethod(get_followup_for_user)
    audit_object_type = "followup"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return FollowUp.objects.none()
        return (
            FollowUp.objects.visible_to(self.request.user)
            .select_related("case__client", "assigned_to", "enrolment__version__protocol", "step")
            .with_plan_review()
        )

    def get_serializer_class(self):
        if self.action == "retrieve":
            return FollowUpDetailSerializer
        return FollowUpSerializer

    def get_object(self):
        followup = super().get_object()
        if self.action == "retrieve":
            followup = self.detailed(followup.pk)
        return followup

    def client_id_of(self, obj):
        return obj.case.client_id

    def detailed(self, pk):
        return (
            self.get_queryset()
            .prefetch_related(
                Prefetch("attempts", queryset=Attempt.objects.select_related("by")),
                Prefetch("events", queryset=FollowUpEvent.objects.select_related("actor")),
            )
            .get(pk=pk)
        )

    def followup_response(self, followup, code=status.HTTP_200_OK):
        return Response(
            FollowUpDetailSerializer(
                self.detailed(followup.pk), context=self.get_serializer_context()
            ).data,
            status=code,
        )

    @extend_schema(
        summary="Your Today list",
        description="Due and overdue follow-ups assigned to you, highest C-SSRS risk "
        "first, then by the time left in their window.",
        responses=FollowUpSerializer(many=True),
    )
    @action(detail=False, methods=["get"], filterset_class=None)
    def today(self, request):
        rows = (
            self.get_queryset()
            .filter(assigned_to=request.user, status__in=ACTIONABLE_STATUSES)
            .annotate(risk_order=risk_rank())
            .order_by("-risk_order", "window_end", "pk")
        )
        page = self.paginate_queryset(rows)
        record_list(
            request=request,
            object_type=self.audit_object_type,
            objects=page,
            client_ids=[self.client_id_of(row) for row in page],
            detail={"list": "today"},
        )
        serializer = FollowUpSerializer(page, many=True, context=self.get_serializer_context())
        return self.get_paginated_response(serializer.data)

    @extend_schema(
        summary="Add a one-off follow-up",
        request=FollowUpCreateSerializer,
        responses={201: FollowUpDetailSerializer},
    )
    def create(self, request):
        self.require_case_worker(request)
        serializer = FollowUpCreateSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        case = data.pop("case")
        _require_contactable(request, case, "api:followups")
        followup = services.create_followup(actor=request.user, case=case, request=request, **data)
        return self.followup_response(followup, status.HTTP_201_CREATED)

    @extend_schema(
        summary="Log an attempt (`reached` completes the follow-up)",
        description="A reached attempt on a follow-up that asks about the safety plan "
        "(`plan_asked`) gives `plan_reviewed` and `plan_changed`, as completing it does.",
        request=AttemptInputSerializer,
        responses={201: FollowUpDetailSerializer},
    )
    @action(detail=True, methods=["post"], filterset_class=None)
    def attempts(self, request, pk=None):
        followup = self.get_object()
        serializer = AttemptInputSerializer(
            data=request.data, context={"request": request, "case_id": followup.case_id}
        )
        serializer.is_valid(raise_exception=True)
        services.log_attempt(
            actor=request.user, followup=followup, request=request, **serializer.validated_data
        )
        return self.followup_response(followup, status.HTTP_201_CREATED)

    @extend_schema(
        summary="Mark a follow-up done",
        description="Optionally by the contact that completed it (a contact on the same "
        "case). A missed follow-up can still be done late; it then does not count as done "
        "within its window. One that asks about the safety plan (`plan_asked`) needs "
        "`plan_reviewed`, and `plan_changed` when the plan was reviewed.",
        request=CompleteInputSerializer,
        responses=FollowUpDetailSerializer,
    )
    @action(detail=True, methods=["post"], filterset_class=None)
    def complete(self, request, pk=None):
        followup = self.get_object()
        serializer = CompleteInputSerializer(
            data=request.data, context={"request": request, "case_id": followup.case_id}
        )
        serializer.is_valid(raise_exception=True)
        followup = services.complete_followup(
            actor=request.user, followup=followup, request=request, **serializer.validated_data
        )
        return self.followup_response(followup)

    @extend_schema(
        summary="Move a follow-up's due time, with a reason",
        description="The window moves with it; the old and new times, the reason and who "
        "moved it are kept in its history.",
        request=MoveInputSerializer,
        responses=FollowUpDetailSerializer,
    )
    @action(detail=True, methods=["post"], filterset_class=None)
    def move(self, request, pk=None):
        followup = self.get_object()
        serializer = MoveInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        followup = services.move_followup(
            actor=request.user, followup=followup, request=request, **serializer.validated_data
        )
        return self.followup_response(followup)

    @extend_schema(
        summary="Cancel a follow-up, with a reason",
        request=CancelInputSerializer,
        responses=FollowUpDetailSerializer,
    )
    @action(detail=True, methods=["post"], filterset_class=None)
    def cancel(self, request, pk=None):
        followup = self.get_object()
        serializer = CancelInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        followup = services.cancel_followup(
            actor=request.user, followup=followup, request=request, **serializer.validated_data
        )
        return self.followup_response(followup)


# --- Protocols ---------------------------------------------------------------------------


@extend_schema(tags=["follow-ups"])
@extend_schema_view(
    list=extend_schema(summary="Your agency's follow-up protocols"),
    retrieve=extend_schema(summary="A protocol, with its current version and steps"),
)
class ProtocolViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The follow-up protocols of your agency, each with the version new enrolments follow
    (its description cites the evidence) and its steps. Another agency's id answers 404."""

    serializer_class = ProtocolSerializer
    # Any id segment reaches get_object, which answers a JSON 404 for one that cannot be
    # an id (the router's default would leave "1.5" to Django's HTML page).
    lookup_value_regex = "[^/]+"

    def get_object(self):
        pk = as_id(self.kwargs[self.lookup_field])
        protocol = self.get_queryset().filter(pk=pk).first() if pk else None
        if protocol is None:
            raise Http404(_("No protocol found."))
        return protocol

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Protocol.objects.none()
        user = self.request.user
        if not user.agency_id:
            return Protocol.objects.none()
        versions = ProtocolVersion.objects.order_by("-number").prefetch_related("steps")
        return (
            Protocol.objects.for_agency(user.agency_id)
            .prefetch_related(Prefetch("versions", queryset=versions))
            .order_by("name", "pk")
        )


# --- Hospital visits ---------------------------------------------------------------------


class HospitalVisitFilter(django_filters.FilterSet):
    case = IdFilter(field_name="case_id")
    client = IdFilter(field_name="client_id")
    kind = django_filters.ChoiceFilter(choices=VisitKind.choices)
    arrived_after = UTCIsoDateTimeFilter(field_name="arrived_at", lookup_expr="gte")
    arrived_before = UTCIsoDateTimeFilter(field_name="arrived_at", lookup_expr="lt")

    class Meta:
        model = HospitalVisit
        fields: list[str] = []


@extend_schema(tags=["follow-ups"])
@extend_schema_view(
    list=extend_schema(summary="ER visits and hospital admissions on cases you can see"),
    retrieve=extend_schema(summary="An ER visit or hospital admission"),
)
class HospitalVisitViewSet(
    AccessHelperMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """ER visits and inpatient admissions recorded on a case. Recording one enrols the
    client in the post-discharge protocol (the more intensive one at a high C-SSRS risk),
    counted from the discharge when known; a new visit restarts it."""

    serializer_class = HospitalVisitSerializer
    filterset_class = HospitalVisitFilter
    access_helper = staticmethod(get_hospital_visit_for_user)
    audit_object_type = "hospitalvisit"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return HospitalVisit.objects.none()
        return HospitalVisit.objects.visible_to(self.request.user).select_related(
            "case", "client", "recorded_by"
        )

    def visit_response(self, visit, code=status.HTTP_200_OK):
        visit = self.get_queryset().get(pk=visit.pk)
        return Response(
            HospitalVisitSerializer(visit, context=self.get_serializer_context()).data,
            status=code,
        )

    @extend_schema(
        summary="Record an ER visit or hospital admission on a case",
        request=HospitalVisitCreateSerializer,
        responses={201: HospitalVisitSerializer},
    )
    def create(self, request):
        self.require_case_worker(request)
        serializer = HospitalVisitCreateSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        case = data.pop("case")
        _require_contactable(request, case, "api:hospital-visits")
        visit = services.record_hospital_visit(
            actor=request.user, case=case, request=request, **data
        )
        return self.visit_response(visit, status.HTTP_201_CREATED)

    @extend_schema(
        summary="Record the discharge",
        description="Follow-ups of the protocols the visit started that nobody has worked "
        "on yet are counted again from the discharge.",
        request=DischargeInputSerializer,
        responses=HospitalVisitSerializer,
    )
    @action(detail=True, methods=["post"], filterset_class=None)
    def discharge(self, request, pk=None):
        visit = self.get_object()
        serializer = DischargeInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        visit = services.record_discharge(
            actor=request.user, visit=visit, request=request, **serializer.validated_data
        )
        return self.visit_response(visit)
