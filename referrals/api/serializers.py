"""Input and output shapes of the referrals and consents API.

Output serializers read; input serializers only validate and hand `validated_data` to a
service in referrals/services/. References (case, client, consent, service, location,
organization) resolve only within what the requesting user may see, so another agency's
ids answer "does not exist" exactly like ids that do not exist.
"""

from collections.abc import Callable
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from cases.api.serializers import ClientSummarySerializer, UserSummarySerializer
from cases.models import Case, Client
from core.api import IdField, ModelSerializer, UTCDateTimeField
from directory.models import HsdsModel, Location, NeedCategory, Organization, Service
from referrals.access import consents_visible_to
from referrals.models import (
    Consent,
    ConsentMethod,
    EventVia,
    Outcome,
    Party,
    ProviderLink,
    Referral,
    ReferralEvent,
    ShareItem,
    Status,
    Urgency,
)
from referrals.staleness import stale_reason


def _user(serializer):
    return serializer.context["request"].user


class _VisibleIdField(serializers.PrimaryKeyRelatedField):
    """A database id among the rows `visible(user)` returns."""

    visible: Callable[[Any], QuerySet[Any]] | None = None

    def __init__(self, **kwargs):
        kwargs.setdefault("pk_field", IdField())
        super().__init__(**kwargs)

    def get_queryset(self):
        return type(self).visible(_user(self))


class VisibleCaseField(_VisibleIdField):
    visible = staticmethod(lambda user: Case.objects.visible_to(user))


class VisibleClientField(_VisibleIdField):
    visible = staticmethod(lambda user: Client.objects.visible_to(user))


class VisibleConsentField(_VisibleIdField):
    visible = staticmethod(consents_visible_to)


class _DirectoryField(serializers.PrimaryKeyRelatedField):
    """A directory row (UUID) of the shared directory or the user's agency."""

    model: type[HsdsModel] | None = None
    default_error_messages = {"incorrect_type": _("Give the row's id (a UUID).")}

    def __init__(self, **kwargs):
        kwargs.setdefault("pk_field", serializers.UUIDField())
        super().__init__(**kwargs)

    def get_queryset(self):
        return type(self).model.objects.visible_to(_user(self))


class DirectoryServiceField(_DirectoryField):
    model = Service


class DirectoryLocationField(_DirectoryField):
    model = Location


class DirectoryOrganizationField(_DirectoryField):
    model = Organization


def _share_items_field(**kwargs):
    return serializers.ListField(
        child=serializers.ChoiceField(choices=ShareItem.choices),
        allow_empty=False,
        max_length=len(ShareItem.values),
        **kwargs,
    )


# --- Output ------------------------------------------------------------------------------


class AllowedNextSerializer(serializers.Serializer):
    requester = serializers.ListField(child=serializers.ChoiceField(choices=Status.choices))
    performer = serializers.ListField(child=serializers.ChoiceField(choices=Status.choices))


class ReferralSerializer(ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api-referral-detail")
    client = ClientSummarySerializer(read_only=True)
    created_by = UserSummarySerializer(read_only=True)
    service = serializers.UUIDField(source="service_id", read_only=True, allow_null=True)
    location = serializers.UUIDField(source="location_id", read_only=True, allow_null=True)
    shared_items = serializers.ListField(
        child=serializers.ChoiceField(choices=ShareItem.choices), read_only=True
    )
    outcome = serializers.ChoiceField(
        choices=Outcome.choices,
        allow_blank=True,
        read_only=True,
        help_text=_("Blank until it ends."),
    )
    is_part2 = serializers.BooleanField(
        read_only=True, help_text=_("42 CFR Part 2 applies (substance use).")
    )
    loop_closed = serializers.BooleanField(
        read_only=True, help_text=_("The client was seen, or a final outcome was recorded.")
    )
    stale = serializers.SerializerMethodField(
        help_text=_("Why the referral is flagged as stale; blank when it is not.")
    )
    allowed_next = serializers.SerializerMethodField(
        help_text=_("The statuses each side may move it to now.")
    )

    class Meta:
        model = Referral
        fields = [
            "id",
            "url",
            "case",
            "client",
            "service",
            "location",
            "provider_name",
            "provider_email",
            "provider_phone",
            "need_category",
            "urgency",
            "reason",
            "shared_items",
            "consent",
            "status",
            "outcome",
            "appointment_at",
            "service_date",
            "is_part2",
            "loop_closed",
            "stale",
            "allowed_next",
            "created_by",
            "created_at",
            "sent_at",
            "accepted_at",
            "closed_at",
            "last_activity_at",
        ]
        read_only_fields = fields

    def get_stale(self, obj) -> str:
        return stale_reason(obj, timezone.now())

    @extend_schema_field(AllowedNextSerializer)
    def get_allowed_next(self, obj):
        return {
            "requester": obj.allowed_next(Party.REQUESTER),
            "performer": obj.allowed_next(Party.PERFORMER),
        }


class ReferralEventSerializer(ModelSerializer):
    actor = UserSummarySerializer(read_only=True, allow_null=True)
    from_status = serializers.ChoiceField(choices=Status.choices, allow_blank=True)
    to_status = serializers.ChoiceField(choices=Status.choices, allow_blank=True)
    outcome = serializers.ChoiceField(choices=Outcome.choices, allow_blank=True)
    detail = serializers.JSONField(read_only=True)

    class Meta:
        model = ReferralEvent
        fields = [
            "id",
            "at",
            "kind",
            "actor",
            "via",
            "from_status",
            "to_status",
            "outcome",
            "note",
            "detail",
        ]
        read_only_fields = fields


class ProviderLinkSerializer(ModelSerializer):
    """A provider link, without its token: the token goes only to the provider's email.
    `emailed_at` and `email_error` say what became of that email (its notification)."""

    usable = serializers.SerializerMethodField()
    emailed_at = UTCDateTimeField(read_only=True, allow_null=True)
    email_error = serializers.CharField(read_only=True)

    class Meta:
        model = ProviderLink
        fields = [
            "id",
            "public_id",
            "sent_to",
            "created_at",
            "expires_at",
            "revoked_at",
            "emailed_at",
            "email_error",
            "use_count",
            "last_used_at",
            "usable",
        ]
        read_only_fields = fields

    def get_usable(self, obj) -> bool:
        return obj.is_usable()


class ConsentSerializer(ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api-consent-detail")
    client = ClientSummarySerializer(read_only=True)
    obtained_by = UserSummarySerializer(read_only=True)
    revoked_by = UserSummarySerializer(read_only=True, allow_null=True)
    scope = serializers.ListField(
        child=serializers.ChoiceField(choices=ShareItem.choices), read_only=True
    )
    recipient_organization = serializers.UUIDField(
        source="recipient_organization_id", read_only=True, allow_null=True
    )
    active = serializers.SerializerMethodField()
    part2_missing = serializers.SerializerMethodField(
        help_text=_("The §2.31 elements a Part 2 consent lacks (always empty once recorded).")
    )

    class Meta:
        model = Consent
        fields = [
            "id",
            "url",
            "client",
            "case",
            "method",
            "obtained_by",
            "obtained_at",
            "scope",
            "recipient_organization",
            "recipients",
            "purpose",
            "expires_on",
            "expiry_event",
            "is_part2",
            "discloser",
            "information_description",
            "right_to_revoke_explained",
            "signed_by",
            "signed_on",
            "note",
            "active",
            "part2_missing",
            "revoked_at",
            "revoked_by",
            "revocation_note",
            "created_at",
        ]
        read_only_fields = fields

    def get_active(self, obj) -> bool:
        return obj.is_active()

    def get_part2_missing(self, obj) -> list[str]:
        return obj.part2_missing() if obj.is_part2 else []


# --- Input -------------------------------------------------------------------------------


class ReferralCreateSerializer(serializers.Serializer):
    case = VisibleCaseField()
    service = DirectoryServiceField(
        required=False, allow_null=True, default=None, help_text=_("A directory service.")
    )
    location = DirectoryLocationField(
        required=False, allow_null=True, default=None, help_text=_("Where the service is given.")
    )
    provider_name = serializers.CharField(
        max_length=300,
        required=False,
        allow_blank=True,
        default="",
        help_text=_("An outside provider, when there is no directory service."),
    )
    provider_email = serializers.EmailField(
        max_length=254,
        required=False,
        allow_blank=True,
        default="",
        help_text=_("Defaults from the directory for a service."),
    )
    provider_phone = serializers.CharField(
        max_length=60, required=False, allow_blank=True, default=""
    )
    need_category = serializers.ChoiceField(choices=NeedCategory.choices)
    urgency = serializers.ChoiceField(
        choices=Urgency.choices, required=False, default=Urgency.ROUTINE
    )
    reason = serializers.CharField(max_length=2000)
    shared_items = _share_items_field(help_text=_("What the client agreed to share."))
    consent = VisibleConsentField(
        required=False,
        allow_null=True,
        default=None,
        help_text=_(
            "The consent it goes under; when empty, sending takes the newest active "
            "consent of the client that covers it."
        ),
    )
    send = serializers.BooleanField(
        required=False, default=False, help_text=_("Send at once (the consent gate applies).")
    )


class TransitionSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Status.choices)
    via = serializers.ChoiceField(
        choices=[
            (EventVia.STAFF, _("As the referring agency")),
            (EventVia.STAFF_FOR_PROVIDER, _("Recording what the provider reported")),
        ],
        help_text=_(
            "`staff`: the referring side (cancel, entered in error); "
            "`staff_for_provider`: what the provider reported (accept, reject, complete, ...), "
            "with a note saying how."
        ),
    )
    outcome = serializers.ChoiceField(
        choices=Outcome.choices,
        required=False,
        allow_blank=True,
        default="",
        help_text=_("Required when the referral ends (rejected, failed, cancelled)."),
    )
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    service_date = serializers.DateField(
        required=False,
        allow_null=True,
        default=None,
        help_text=_("The day the client was seen; required to complete."),
    )
    seen_early_confirmed = serializers.BooleanField(
        required=False,
        default=False,
        help_text=_(
            "Confirms a service date before the day of the booked appointment (refused without it)."
        ),
    )


class AppointmentSerializer(serializers.Serializer):
    appointment_at = UTCDateTimeField()
    via = serializers.ChoiceField(
        choices=[
            (EventVia.STAFF, _("Booked by the referring agency")),
            (EventVia.STAFF_FOR_PROVIDER, _("Reported by the provider")),
        ],
        required=False,
        default=EventVia.STAFF,
    )
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class ProviderLinkInputSerializer(serializers.Serializer):
    email = serializers.EmailField(
        max_length=254,
        required=False,
        allow_blank=True,
        default="",
        help_text=_("Where to send it; the referral's provider email when empty."),
    )


class ProviderLinkRevokeSerializer(serializers.Serializer):
    link = IdField(help_text=_("The id of one of this referral's links."))


class ConsentCreateSerializer(serializers.Serializer):
    client = VisibleClientField()
    case = VisibleCaseField(
        required=False,
        allow_null=True,
        default=None,
        help_text=_("Defaults to the client's open case."),
    )
    method = serializers.ChoiceField(choices=ConsentMethod.choices)
    scope = _share_items_field(help_text=_("What the client agrees to share."))
    recipients = serializers.CharField(max_length=1000)
    purpose = serializers.CharField(max_length=1000)
    recipient_organization = DirectoryOrganizationField(
        required=False,
        allow_null=True,
        default=None,
        help_text=_("Empty: any provider the client is referred to (not for Part 2)."),
    )
    expires_on = serializers.DateField(required=False, allow_null=True, default=None)
    expiry_event = serializers.CharField(
        max_length=300, required=False, allow_blank=True, default=""
    )
    is_part2 = serializers.BooleanField(required=False, default=False)
    discloser = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
    information_description = serializers.CharField(
        max_length=2000, required=False, allow_blank=True, default=""
    )
    right_to_revoke_explained = serializers.BooleanField(required=False, default=False)
    signed_by = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    signed_on = serializers.DateField(required=False, allow_null=True, default=None)
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    obtained_at = UTCDateTimeField(required=False, allow_null=True, default=None)


class RevokeConsentSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=1000, required=False, allow_blank=True, default="")
