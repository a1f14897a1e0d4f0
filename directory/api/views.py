"""The directory API: organizations, services and locations as the user may see them
(the shared directory and their agency's own), and the search behind the search page.

Another agency's row answers 404 (audited as denied) exactly like a row that does not
exist. Reading the directory is not client data and is not audited row by row; each
search leaves one SEARCH audit row, like the page.
"""

from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from cases.models import Case
from core.api import PARSER_CLASSES
from directory import search as finder
from directory.access import get_directory_row_for_user
from directory.api.serializers import (
    LocationSerializer,
    OrganizationSerializer,
    SearchInputSerializer,
    SearchResultSerializer,
    ServiceSerializer,
)
from directory.geocode import GeocodeError, geocode
from directory.models import (
    Address,
    HsdsModel,
    Language,
    Location,
    Organization,
    Phone,
    Schedule,
    Service,
    ServiceAtLocation,
)


class DirectoryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    model: type[HsdsModel] | None = None
    parser_classes = PARSER_CLASSES
    # Any id reaches the access helper, which answers a JSON 404 (audited) for one that is
    # not a visible row's.
    lookup_value_regex = "[^/]+"
    filter_backends = []

    def visible(self, model):
        return model.objects.visible_to(self.request.user)

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return self.model.objects.none()
        return self.visible(self.model)

    def get_object(self):
        return get_directory_row_for_user(
            self.request, self.model, self.kwargs[self.lookup_field], queryset=self.get_queryset()
        )


@extend_schema(tags=["directory"])
@extend_schema_view(
    list=extend_schema(summary="Organizations in the directory"),
    retrieve=extend_schema(summary="An organization"),
)
class OrganizationViewSet(DirectoryViewSet):
    """Organizations of the shared community directory and of your agency."""

    model = Organization
    serializer_class = OrganizationSerializer


@extend_schema(tags=["directory"])
@extend_schema_view(
    list=extend_schema(summary="Services in the directory"),
    retrieve=extend_schema(summary="A service"),
)
class ServiceViewSet(DirectoryViewSet):
    """Services of the shared community directory and of your agency, with their phones,
    languages, schedules, location ids and need categories."""

    model = Service
    serializer_class = ServiceSerializer

    def get_queryset(self):
        queryset = super().get_queryset()
        if getattr(self, "swagger_fake_view", False):
            return queryset
        return queryset.prefetch_related(
            Prefetch("phones", queryset=self.visible(Phone)),
            Prefetch("languages", queryset=self.visible(Language)),
            Prefetch("schedules", queryset=self.visible(Schedule)),
            Prefetch(
                "at_locations",
                queryset=self.visible(ServiceAtLocation).filter(
                    location__in=self.visible(Location)
                ),
            ),
        )

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        needs = finder.need_categories_for(request.user, [service.pk for service in page])
        context = {**self.get_serializer_context(), "needs": needs}
        data = self.get_serializer_class()(page, many=True, context=context).data
        return self.get_paginated_response(data)

    def retrieve(self, request, *args, **kwargs):
        service = self.get_object()
        needs = finder.need_categories_for(request.user, [service.pk])
        context = {**self.get_serializer_context(), "needs": needs}
        return Response(ServiceSerializer(service, context=context).data)


@extend_schema(tags=["directory"])
@extend_schema_view(
    list=extend_schema(summary="Locations in the directory"),
    retrieve=extend_schema(summary="A location"),
)
class LocationViewSet(DirectoryViewSet):
    """Places where services are offered, with addresses, phones and languages."""

    model = Location
    serializer_class = LocationSerializer

    def get_queryset(self):
        queryset = super().get_queryset()
        if getattr(self, "swagger_fake_view", False):
            return queryset
        return queryset.prefetch_related(
            Prefetch("addresses", queryset=self.visible(Address)),
            Prefetch("phones", queryset=self.visible(Phone)),
            Prefetch("languages", queryset=self.visible(Language)),
        )


@extend_schema(tags=["directory"])
class SearchViewSet(viewsets.GenericViewSet):
    """Search the directory as the search page does."""

    serializer_class = SearchResultSerializer
    parser_classes = PARSER_CLASSES
    filter_backends = []

    @extend_schema(
        summary="Search the directory",
        description=(
            "Service-at-location rows, nearest first when `lat`/`lng` or `address` is "
            "given, then services without a location. Only active services; temporarily "
            "closed ones come last. `open_now` keeps services open now by their "
            "schedules (a service without a schedule has unknown hours and is left out)."
        ),
        parameters=[SearchInputSerializer],
        responses=SearchResultSerializer(many=True),
    )
    def list(self, request):
        data = SearchInputSerializer(data=request.query_params)
        data.is_valid(raise_exception=True)
        params = data.params()
        address = (data.validated_data.get("address") or "").strip()
        if address and not params.near:
            try:
                params.lat, params.lng = geocode(address, request.user)
            except GeocodeError as exc:
                raise ValidationError({"address": [exc.message]}) from exc
        results = finder.search(request.user, params)
        page = self.paginate_queryset(results)
        case_id = data.validated_data.get("case")
        if (
            case_id is not None
            and not Case.objects.visible_to(request.user).filter(pk=case_id).exists()
        ):
            case_id = None
        finder.audit_search(
            request,
            params,
            page,
            page_number=self.paginator.page.number,
            case_id=case_id,
        )
        serializer = SearchResultSerializer(page, many=True)
        return self.get_paginated_response(serializer.data)
