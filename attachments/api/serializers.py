from typing import Any

from django.db.models import QuerySet
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import serializers

from attachments.models import LABEL_MAX, Attachment, AttachmentKind
from attachments.services import REASON_MAX
from cases.api.serializers import UserSummarySerializer
from cases.models import Case, Client, Contact
from core.api import IdField, ModelSerializer
from referrals.access import consents_visible_to


class AttachmentSerializer(ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api-attachment-detail")
    file_url = serializers.SerializerMethodField(
        help_text=gettext_lazy("Where to download the file (access-checked and audited).")
    )
    uploaded_by = UserSummarySerializer(read_only=True)
    entered_in_error_by = UserSummarySerializer(read_only=True, allow_null=True)

    class Meta:
        model = Attachment
        fields = [
            "id",
            "url",
            "file_url",
            "client",
            "case",
            "contact",
            "consent",
            "kind",
            "label",
            "content_type",
            "size",
            "sha256",
            "original_name",
            "uploaded_by",
            "uploaded_at",
            "entered_in_error_at",
            "entered_in_error_by",
            "entered_in_error_reason",
        ]
        read_only_fields = fields

    def get_file_url(self, obj: Attachment) -> str:
        request = self.context.get("request")
        path = reverse("api-attachment-file", args=[obj.pk])
        return request.build_absolute_uri(path) if request is not None else path


class _VisibleIdField(serializers.PrimaryKeyRelatedField):
    """A database id among the rows `visible(user)` returns; another agency's or team's
    id reads as one that does not exist."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("pk_field", IdField())
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_null", True)
        kwargs.setdefault("default", None)
        super().__init__(**kwargs)

    def visible(self, user: Any) -> QuerySet[Any]:
        raise NotImplementedError

    def get_queryset(self) -> QuerySet[Any]:
        return self.visible(self.context["request"].user)


class _VisibleClient(_VisibleIdField):
    def visible(self, user: Any) -> QuerySet[Any]:
        return Client.objects.visible_to(user)


class _VisibleCase(_VisibleIdField):
    def visible(self, user: Any) -> QuerySet[Any]:
        return Case.objects.visible_to(user).select_related("client")


class _VisibleContact(_VisibleIdField):
    def visible(self, user: Any) -> QuerySet[Any]:
        return Contact.objects.visible_to(user).select_related("case")


class _VisibleConsent(_VisibleIdField):
    def visible(self, user: Any) -> QuerySet[Any]:
        return consents_visible_to(user).select_related("case")


class AttachmentCreateSerializer(serializers.Serializer):
    """A multipart/form-data body: the file, what it is, and the record it belongs to (the
    client is taken from the case, contact or consent when it is not given)."""

    client = _VisibleClient(
        help_text=gettext_lazy("The client; taken from the others if left out.")
    )
    case = _VisibleCase()
    contact = _VisibleContact(help_text=gettext_lazy("Attached from a contact (on its case)."))
    consent = _VisibleConsent(
        help_text=gettext_lazy("Attached to a consent, e.g. its signed form.")
    )
    kind = serializers.ChoiceField(choices=AttachmentKind.choices)
    # A field named like Field.label: DRF's metaclass takes it out of the class attributes.
    label = serializers.CharField(max_length=LABEL_MAX)  # type: ignore[assignment]
    file = serializers.FileField(
        help_text=gettext_lazy(
            "A photo (JPEG, PNG, WebP or GIF: re-encoded without metadata) or a PDF (kept as "
            "sent), up to ATTACHMENT_MAX_MB; the type is read from the content."
        )
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        owner = attrs.get("contact") or attrs.get("consent") or attrs.get("case")
        client = attrs.get("client") or (owner.client if owner is not None else None)
        if client is None:
            raise serializers.ValidationError(
                {"client": [_("Name the client, case, contact or consent it belongs to.")]}
            )
        return {**attrs, "client": client}


class InErrorSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=REASON_MAX)
