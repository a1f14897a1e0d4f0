"""The referrals and consents API.

As the cases API: lists are scoped by visible_to(user) and audited with the ids shown;
detail routes fetch through referrals/access.py (another agency's id: 404 and a DENIED
audit row; a record the user may only read: 403 on a write). Every write validates an
input serializer and calls one service; a refusal of the service is a 400 naming the
field it is about where there is one.
"""

import django_filters
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from audit.api import AccessHelperMixin
from audit.services import refuse
from cases.models import Case, Client
from core.api_filters import IdFilter
from directory.models import NeedCategory
from referrals import services
from referrals.access import consents_visible_to, get_consent_for_user, get_referral_for_user
from referrals.api.serializers import (
    AppointmentSerializer,
    ConsentCreateSerializer,
    ConsentSerializer,
    ProviderLinkInputSerializer,
    ProviderLinkRevokeSerializer,
    ProviderLinkSerializer,
    ReferralCreateSerializer,
    ReferralEventSerializer,
    ReferralSerializer,
    RevokeConsentSerializer,
    TransitionSerializer,
)
from referrals.models import Consent, Referral, Status


class ReferralFilter(django_filters.FilterSet):
    case = IdFilter(field_name="case_id")
    client = IdFilter(field_name="client_id")
    status = django_filters.ChoiceFilter(choices=Status.choices)
    need_category = django_filters.ChoiceFilter(choices=NeedCategory.choices)

    class Meta:
        model = Referral
        fields: list[str] = []


class ConsentFilter(django_filters.FilterSet):
    client = IdFilter(field_name="client_id")
    case = IdFilter(field_name="case_id")

    class Meta:
        model = Consent
        fields: list[str] = []


@extend_schema(tags=["referrals"])
@extend_schema_view(
    list=extend_schema(summary="Referrals of the cases you can see"),
    retrieve=extend_schema(summary="A referral"),
)
class ReferralViewSet(
    AccessHelperMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Referrals that close the loop. The status follows the HL7 FHIR SDOH referral task:
    the referring agency drafts, sends (through the consent gate), cancels or marks
    entered-in-error; the receiving provider accepts, rejects, starts, holds, completes
    or fails it, through its link or as a worker records what it reported. Agency admins
    read every referral of the agency and change none (403)."""

    serializer_class = ReferralSerializer
    filterset_class = ReferralFilter
    access_helper = staticmethod(get_referral_for_user)
    audit_object_type = "referral"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Referral.objects.none()
        return Referral.objects.visible_to(self.request.user).for_list()

    def referral_response(self, referral, code=status.HTTP_200_OK):
        referral = self.get_queryset().get(pk=referral.pk)
        return Response(
            ReferralSerializer(referral, context=self.get_serializer_context()).data, status=code
        )

    @extend_schema(
        summary="Refer a client (a draft, or sent at once with `send`)",
        request=ReferralCreateSerializer,
        responses={201: ReferralSerializer},
    )
    def create(self, request):
        self.require_case_worker(request)
        serializer = ReferralCreateSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        case = data.pop("case")
        if not Case.objects.writable_by(request.user).filter(pk=case.pk).exists():
            refuse(request, "api:referrals", _("You may view this case but not refer from it."))
        referral = services.create_referral(actor=request.user, case=case, request=request, **data)
        return self.referral_response(referral, status.HTTP_201_CREATED)

    @extend_schema(
        summary="Send a draft referral (the consent gate)",
        request=None,
        responses=ReferralSerializer,
    )
    @action(detail=True, methods=["post"])
    def send(self, request, pk=None):
        referral = self.get_object()
        referral = services.send_referral(actor=request.user, referral=referral, request=request)
        return self.referral_response(referral)

    @extend_schema(
        summary="Change a referral's status",
        request=TransitionSerializer,
        responses=ReferralSerializer,
    )
    @action(detail=True, methods=["post"])
    def transition(self, request, pk=None):
        referral = self.get_object()
        serializer = TransitionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        referral = services.transition_referral(
            actor=request.user,
            referral=referral,
            to_status=data["status"],
            via=data["via"],
            outcome=data["outcome"],
            note=data["note"],
            service_date=data["service_date"],
            seen_early_confirmed=data["seen_early_confirmed"],
            request=request,
        )
        return self.referral_response(referral)

    @extend_schema(
        summary="Record the client's appointment",
        request=AppointmentSerializer,
        responses=ReferralSerializer,
    )
    @action(detail=True, methods=["post"])
    def appointment(self, request, pk=None):
        referral = self.get_object()
        serializer = AppointmentSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        referral = services.record_appointment(
            actor=request.user, referral=referral, request=request, **serializer.validated_data
        )
        return self.referral_response(referral)

    @extend_schema(
        summary="A referral's history, oldest first",
        responses=ReferralEventSerializer(many=True),
    )
    @action(detail=True, methods=["get"], filterset_class=None)
    def events(self, request, pk=None):
        referral = self.get_object()
        return self.paginated(referral.events.select_related("actor"), ReferralEventSerializer)

    @extend_schema(
        methods=["GET"],
        summary="A referral's provider links, newest first (never their tokens)",
        responses=ProviderLinkSerializer(many=True),
    )
    @extend_schema(
        methods=["POST"],
        summary="Send the provider a new link (the earlier ones stop working)",
        request=ProviderLinkInputSerializer,
        responses={201: ProviderLinkSerializer},
    )
    @action(detail=True, methods=["get", "post"], url_path="provider-links", filterset_class=None)
    def provider_links(self, request, pk=None):
        referral = self.get_object()
        if request.method == "GET":
            return self.paginated(
                referral.links.select_related("notification"), ProviderLinkSerializer
            )
        serializer = ProviderLinkInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        link = services.issue_provider_link(
            actor=request.user,
            referral=referral,
            email=serializer.validated_data["email"] or None,
            request=request,
        )
        return Response(ProviderLinkSerializer(link).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Revoke one of the referral's provider links",
        request=ProviderLinkRevokeSerializer,
        responses=ProviderLinkSerializer,
    )
    @action(detail=True, methods=["post"], url_path="revoke-link")
    def revoke_link(self, request, pk=None):
        referral = self.get_object()
        serializer = ProviderLinkRevokeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        link = referral.links.filter(pk=serializer.validated_data["link"]).first()
        if link is None:
            return Response(
                {"link": [_("This referral has no such link.")]}, status=status.HTTP_400_BAD_REQUEST
            )
        link = services.revoke_provider_link(actor=request.user, link=link, request=request)
        return Response(ProviderLinkSerializer(link).data)


@extend_schema(tags=["consents"])
@extend_schema_view(
    list=extend_schema(summary="Consents of the clients you can see"),
    retrieve=extend_schema(summary="A consent"),
)
class ConsentViewSet(
    AccessHelperMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Clients' consents to share information with referral recipients: verbal or
    written, by whom, when, what, with whom, until when. A 42 CFR Part 2 consent carries
    every §2.31 element. Consents are never edited or deleted: a client withdraws one by
    revocation, which stops any further disclosure under it."""

    serializer_class = ConsentSerializer
    filterset_class = ConsentFilter
    access_helper = staticmethod(get_consent_for_user)
    audit_object_type = "consent"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return consents_visible_to(self.request.user).none()
        return consents_visible_to(self.request.user).select_related(
            "agency", "client", "obtained_by", "revoked_by"
        )

    def consent_response(self, consent, code=status.HTTP_200_OK):
        consent = self.get_queryset().get(pk=consent.pk)
        return Response(
            ConsentSerializer(consent, context=self.get_serializer_context()).data, status=code
        )

    @extend_schema(
        summary="Record a client's consent",
        request=ConsentCreateSerializer,
        responses={201: ConsentSerializer},
    )
    def create(self, request):
        self.require_case_worker(request)
        serializer = ConsentCreateSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        client = data.pop("client")
        if not Client.objects.writable_by(request.user).filter(pk=client.pk).exists():
            refuse(request, "api:consents", _("You may view this client but not record consent."))
        consent = services.record_consent(
            actor=request.user, client=client, request=request, **data
        )
        return self.consent_response(consent, status.HTTP_201_CREATED)

    @extend_schema(
        summary="Revoke a consent (nothing more is disclosed under it)",
        request=RevokeConsentSerializer,
        responses=ConsentSerializer,
    )
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None):
        consent = self.get_object()
        serializer = RevokeConsentSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        consent = services.revoke_consent(
            actor=request.user,
            consent=consent,
            note=serializer.validated_data["note"],
            request=request,
        )
        return self.consent_response(consent)
