"""The clients, cases and contacts API.

Lists are scoped by visible_to(user) and audited with the ids shown; a detail route
fetches through the access helper in cases/access.py, so an invisible id answers 404
(audited as denied) exactly like one that does not exist, and a write on a record the
user may only read answers 403. Every write is one service call.
"""

from django.db.models import OuterRef, Subquery
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import MethodNotAllowed, PermissionDenied
from rest_framework.response import Response

from audit.api import AccessHelperMixin
from cases import services
from cases.access import get_case_for_user, get_client_for_user, get_contact_for_user
from cases.api import filters
from cases.api.serializers import (
    AmendContactSerializer,
    CaseConcernsSerializer,
    CaseEventSerializer,
    CaseSerializer,
    ClientCreateSerializer,
    ClientSerializer,
    ClientUpdateSerializer,
    CloseCaseSerializer,
    ContactAmendmentSerializer,
    ContactInputSerializer,
    ContactSerializer,
    ReassignCaseSerializer,
)
from cases.models import Case, Client, Contact


@extend_schema(tags=["clients"])
@extend_schema_view(
    list=extend_schema(
        summary=_("Clients you can see"),
        description=_("`q` searches names, phone numbers and identifiers."),
    ),
    retrieve=extend_schema(summary=_("A client")),
)
class ClientViewSet(
    AccessHelperMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """People your agency serves: those with a case you may see (agency admins: all of the
    agency's). Any other id answers 404. Clients are never deleted."""

    serializer_class = ClientSerializer
    filterset_class = filters.ClientFilter
    access_helper = staticmethod(get_client_for_user)
    audit_object_type = "client"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Client.objects.none()
        user = self.request.user
        open_case = Case.objects.visible_to(user).open().filter(client=OuterRef("pk"))
        return (
            Client.objects.visible_to(user)
            .annotate(open_case_id=Subquery(open_case.values("pk")[:1]))
            .prefetch_related("identifiers")
        )

    def client_id_of(self, obj):
        return obj.pk

    @extend_schema(
        summary=_("Create a client"),
        request=ClientCreateSerializer,
        responses={201: ClientSerializer},
    )
    def create(self, request):
        self.require_case_worker(request)
        serializer = ClientCreateSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        identifiers = [(i["kind"], i["value"]) for i in data.pop("identifiers", [])]
        client = services.create_client(
            actor=request.user, data=data, identifiers=identifiers, request=request
        )
        client = Client.objects.prefetch_related("identifiers").get(pk=client.pk)
        return Response(
            ClientSerializer(client, context=self.get_serializer_context()).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(
        summary=_("Change a client's details"),
        request=ClientUpdateSerializer,
        responses={200: ClientSerializer},
    )
    def update(self, request, pk=None, partial=False):
        client = self.get_object()
        serializer = ClientUpdateSerializer(
            client, data=request.data, partial=partial, context={"request": request}
        )
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        identifiers = None
        if "identifiers" in data:
            identifiers = [(i["kind"], i["value"]) for i in data.pop("identifiers")]
        client = services.update_client(
            actor=request.user, client=client, data=data, identifiers=identifiers, request=request
        )
        return Response(ClientSerializer(client, context=self.get_serializer_context()).data)

    @extend_schema(
        summary=_("Change some of a client's details"),
        request=ClientUpdateSerializer,
        responses={200: ClientSerializer},
    )
    def partial_update(self, request, pk=None):
        return self.update(request, pk=pk, partial=True)


@extend_schema(tags=["cases"])
@extend_schema_view(
    list=extend_schema(summary=_("Cases you can see")),
    retrieve=extend_schema(summary=_("A case")),
)
class CaseViewSet(
    AccessHelperMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Episodes of care. A case opens when a contact is recorded for a client without an
    open case; it is closed with a reason. Cases you may not see answer 404; agency admins
    read every case of the agency and change none (403)."""

    serializer_class = CaseSerializer
    filterset_class = filters.CaseFilter
    access_helper = staticmethod(get_case_for_user)
    audit_object_type = "case"
    refused_actions = ("create",)

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Case.objects.none()
        return Case.objects.visible_to(self.request.user).for_caseload()

    @extend_schema(exclude=True)
    def create(self, request):
        raise MethodNotAllowed(
            "POST",
            detail=gettext("Cases are opened by recording a contact: POST /api/v1/contacts/."),
        )

    @extend_schema(
        summary=_("Change a case's presenting concerns"),
        request=CaseConcernsSerializer,
        responses={200: CaseSerializer},
    )
    def partial_update(self, request, pk=None):
        case = self.get_object()
        serializer = CaseConcernsSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        case = services.set_case_concerns(
            actor=request.user,
            case=case,
            concerns=serializer.validated_data["presenting_concerns"],
            request=request,
        )
        return self.case_response(case)

    @extend_schema(summary=_("Close a case"), request=CloseCaseSerializer, responses=CaseSerializer)
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        case = self.get_object()
        serializer = CloseCaseSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        case = services.close_case(
            actor=request.user, case=case, request=request, **serializer.validated_data
        )
        return self.case_response(case)

    @extend_schema(
        summary=_("Reassign a case (supervisors of its team)"),
        request=ReassignCaseSerializer,
        responses=CaseSerializer,
    )
    @action(detail=True, methods=["post"])
    def reassign(self, request, pk=None):
        case = self.get_object()
        if not services.can_reassign(request.user, case):
            raise PermissionDenied(
                gettext("Only a supervisor of this case's team can reassign it.")
            )
        serializer = ReassignCaseSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        case = services.reassign_case(
            actor=request.user,
            case=case,
            to_worker=serializer.validated_data["assigned_worker"],
            request=request,
        )
        return self.case_response(case)

    @extend_schema(
        summary=_("A case's timeline, newest first"), responses=CaseEventSerializer(many=True)
    )
    @action(detail=True, methods=["get"], filterset_class=None)
    def timeline(self, request, pk=None):
        case = self.get_object()
        return self.paginated(case.events.select_related("actor"), CaseEventSerializer)

    def case_response(self, case):
        case = self.get_queryset().get(pk=case.pk)
        return Response(CaseSerializer(case, context=self.get_serializer_context()).data)


@extend_schema(tags=["contacts"])
@extend_schema_view(
    list=extend_schema(summary=_("Contacts on cases you can see")),
    retrieve=extend_schema(summary=_("A contact")),
)
class ContactViewSet(
    AccessHelperMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Crisis contacts, as CAHOOTS, STAR and 988 teams report them. A saved contact is
    never edited: a correction is an amendment that keeps the values it replaced."""

    serializer_class = ContactSerializer
    filterset_class = filters.ContactFilter
    access_helper = staticmethod(get_contact_for_user)
    audit_object_type = "contact"
    refused_actions = ("update", "partial_update")

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Contact.objects.none()
        return (
            Contact.objects.visible_to(self.request.user)
            .for_list()
            .prefetch_related("attended_by", "presenting_concerns", "services_on_scene")
        )

    @extend_schema(
        summary=_("Record a crisis contact"),
        description=_(
            "For an existing client (`client`) or a new one (`new_client`). Adds to "
            "the client's open case or opens one; the answer names the case."
        ),
        request=ContactInputSerializer,
        responses={201: ContactSerializer},
    )
    def create(self, request):
        self.require_case_worker(request)
        serializer = ContactInputSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        client = data.pop("client")
        new_client = data.pop("new_client")
        identifiers = []
        if new_client is not None:
            new_client = dict(new_client)
            identifiers = [(i["kind"], i["value"]) for i in new_client.pop("identifiers", [])]
        contact = services.record_contact(
            actor=request.user,
            client=client,
            new_client_data=new_client,
            new_client_identifiers=identifiers,
            contact_data=data,
            request=request,
        )
        contact = self.get_queryset().get(pk=contact.pk)
        return Response(
            ContactSerializer(contact, context=self.get_serializer_context()).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(exclude=True)
    def update(self, request, pk=None):
        raise MethodNotAllowed(
            request.method,
            detail=gettext(
                "Contacts are corrected by amendment: POST /api/v1/contacts/{id}/amend/."
            ),
        )

    @extend_schema(exclude=True)
    def partial_update(self, request, pk=None):
        return self.update(request, pk=pk)

    @extend_schema(
        summary=_("Correct a contact (the original values are kept)"),
        request=AmendContactSerializer,
        responses={201: ContactAmendmentSerializer},
    )
    @action(detail=True, methods=["post"])
    def amend(self, request, pk=None):
        contact = self.get_object()
        serializer = AmendContactSerializer(
            data=request.data, context={"request": request, "contact": contact}
        )
        serializer.is_valid(raise_exception=True)
        amendment = services.amend_contact(
            actor=request.user,
            contact=contact,
            request=request,
            **serializer.validated_data,
        )
        return Response(
            ContactAmendmentSerializer(amendment, context=self.get_serializer_context()).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(
        summary=_("A contact's amendments, oldest first"),
        responses=ContactAmendmentSerializer(many=True),
    )
    @action(detail=True, methods=["get"], filterset_class=None)
    def amendments(self, request, pk=None):
        contact = self.get_object()
        return self.paginated(
            contact.amendments.select_related("amended_by"), ContactAmendmentSerializer
        )
