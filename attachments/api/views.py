"""The attachments API: list (scoped by Attachment.objects.visible_to, audited with the ids
shown), upload (multipart/form-data, through attachments.services.attach_file), metadata,
the file itself, and entered in error. Detail routes fetch through
attachments.access.get_attachment_for_user: another team's or agency's id answers 404, with
a DENIED audit row, as one that does not exist."""

import django_filters
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from attachments import services
from attachments.access import get_attachment_for_user
from attachments.api.serializers import (
    AttachmentCreateSerializer,
    AttachmentSerializer,
    InErrorSerializer,
)
from attachments.files import too_large_message
from attachments.models import Attachment, AttachmentKind
from attachments.uploads import dropped_as_too_large
from attachments.views import file_response
from audit.api import AccessHelperMixin
from audit.models import Action
from audit.services import record as audit
from audit.services import refuse
from core.api import PARSER_CLASSES, RequestTooLarge
from core.api_filters import IdFilter, StrictBooleanFilter


class AttachmentFilter(django_filters.FilterSet):
    client = IdFilter(field_name="client_id")
    case = IdFilter(field_name="case_id")
    contact = IdFilter(field_name="contact_id")
    consent = IdFilter(field_name="consent_id")
    kind = django_filters.ChoiceFilter(choices=AttachmentKind.choices)
    entered_in_error = StrictBooleanFilter(
        method="filter_entered_in_error",
        help_text=gettext_lazy(
            "true: only those entered in error. Left out or false: the others, as the pages "
            "list them."
        ),
    )

    class Meta:
        model = Attachment
        fields: list[str] = []

    def filter_entered_in_error(self, queryset, name, value):
        return queryset.filter(entered_in_error_at__isnull=not value)

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        if self.form.cleaned_data.get("entered_in_error") is None:
            queryset = queryset.shown()
        return queryset


@extend_schema(tags=["attachments"])
@extend_schema_view(
    list=extend_schema(summary=gettext_lazy("Photos and documents you can see")),
    retrieve=extend_schema(summary=gettext_lazy("A photo or document's details")),
)
class AttachmentViewSet(
    AccessHelperMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Photos and documents attached to a client, a case, a contact or a consent (a signed
    consent, an ID, discharge papers). The type is read from the content: photos are
    re-encoded without metadata (no location), PDFs kept as sent. Files are never at a
    public URL: `file/` streams one, access-checked and audited. Nothing is deleted: one
    attached by mistake is marked entered in error, which hides it from the list."""

    serializer_class = AttachmentSerializer
    filterset_class = AttachmentFilter
    access_helper = staticmethod(get_attachment_for_user)
    audit_object_type = "attachment"

    @property
    def document_form_bodies(self) -> bool:
        # The upload is a multipart form (core.api_schema documents JSON bodies only).
        return getattr(self, "action", None) == "create"

    def get_parsers(self):
        # A request's parsers are chosen before its action is known: every route reads
        # JSON, forms and multipart; the schema (which knows the action) documents
        # multipart for the upload only.
        action_name = getattr(self, "action", None)
        if action_name == "create":
            return [MultiPartParser()]
        if action_name is not None:
            return [parser() for parser in PARSER_CLASSES]
        return [*super().get_parsers(), MultiPartParser()]

    def perform_content_negotiation(self, request, force=False):
        # `file/` answers in the file's own type whatever Accept asks; refusals are JSON.
        if getattr(self, "action", None) == "file":
            renderer = JSONRenderer()
            return renderer, renderer.media_type
        return super().perform_content_negotiation(request, force)

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Attachment.objects.none()
        return (
            Attachment.objects.visible_to(self.request.user)
            .for_list()
            .select_related("entered_in_error_by")
        )

    def attachment_response(self, attachment, code=status.HTTP_200_OK):
        attachment = (
            Attachment.objects.select_related("uploaded_by", "entered_in_error_by")
            .filter(pk=attachment.pk)
            .get()
        )
        return Response(
            AttachmentSerializer(attachment, context=self.get_serializer_context()).data,
            status=code,
        )

    @extend_schema(
        summary=gettext_lazy("Attach a photo or a PDF"),
        request=AttachmentCreateSerializer,
        responses={201: AttachmentSerializer},
    )
    def create(self, request):
        self.require_case_worker(request)
        serializer = AttachmentCreateSerializer(data=request.data, context={"request": request})
        # Reading the body is what lets the upload handler drop a file past the limit.
        if dropped_as_too_large(request, "file"):
            raise RequestTooLarge(too_large_message())
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        case = services.attached_case(
            client=data["client"],
            case=data["case"],
            contact=data["contact"],
            consent=data["consent"],
        )
        if not services.can_attach(request.user, client=data["client"], case=case):
            refuse(
                request,
                "api:attachments",
                _("You may view this record but not attach photos or documents to it."),
            )
        attachment = services.attach_file(
            actor=request.user, upload=data.pop("file"), request=request, **data
        )
        return self.attachment_response(attachment, status.HTTP_201_CREATED)

    @extend_schema(
        summary=gettext_lazy("Download the file (an image is shown inline, a PDF downloaded)"),
        responses={
            (200, "image/jpeg"): OpenApiTypes.BINARY,
            (200, "image/png"): OpenApiTypes.BINARY,
            (200, "application/pdf"): OpenApiTypes.BINARY,
        },
    )
    @action(detail=True, methods=["get"])
    def file(self, request, pk=None):
        attachment = get_attachment_for_user(request, pk, audit_read=False)
        audit(
            request=request,
            action=Action.VIEW,
            obj=attachment,
            detail={"file": "original", **attachment.where()},
        )
        return file_response(attachment)

    @extend_schema(
        summary=gettext_lazy("Mark it entered in error (kept, and left out of the list)"),
        request=InErrorSerializer,
        responses=AttachmentSerializer,
    )
    @action(detail=True, methods=["post"], url_path="entered-in-error")
    def entered_in_error(self, request, pk=None):
        attachment = self.get_object()
        serializer = InErrorSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        attachment = services.mark_attachment_in_error(
            actor=request.user,
            attachment=attachment,
            reason=serializer.validated_data["reason"],
            request=request,
        )
        return self.attachment_response(attachment)
