"""Input and output shapes of the safety plan and crisis response plan API.

Output serializers read; input serializers only check the shape of what is sent (types,
lengths, counts) and hand it to a service in plans/services/, which holds the rules (the
steps a plan needs, the directory's services, who may write). References resolve only
within what the requesting user may see, so another agency's ids answer "does not exist"
exactly like ids that do not exist. No link's token is ever in the API: a link shows only
the masked address it went to.
"""

from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from cases.api.serializers import ClientSummarySerializer, UserSummarySerializer
from cases.models import Case, Contact
from core.api import IdField, ModelSerializer, UTCDateTimeField
from notifications.client_reminders import mask_address
from notifications.models import DeliveryStatus
from plans.models import (
    CrisisPlan,
    LinkChannel,
    MeansKind,
    SafetyPlan,
    SafetyPlanLink,
    SafetyPlanMeans,
    SafetyPlanVersion,
)
from plans.services.crisis import MAX_CONTACTS
from plans.services.safety import MAX_ITEMS, MAX_LINE, MAX_MEANS, MAX_PHONE


def _user(serializer):
    return serializer.context["request"].user


def followup_model() -> type[models.Model]:
    """The follow-up model, named through the version's foreign key: `plans` sits below
    `followups` and never imports it."""
    # Resolved by the time any request is served (not the string "followups.FollowUp").
    return SafetyPlanVersion._meta.get_field("followup").related_model


class _VisibleIdField(serializers.PrimaryKeyRelatedField):
    """A database id among the rows the requester may see."""

    def __init__(self, **kwargs):
        kwargs.setdefault("pk_field", IdField())
        super().__init__(**kwargs)

    def visible(self, user) -> models.QuerySet[Any]:
        raise NotImplementedError

    def get_queryset(self):
        return self.visible(_user(self))


class VisibleCaseField(_VisibleIdField):
    def visible(self, user):
        return Case.objects.visible_to(user).select_related("client")


class VisibleContactField(_VisibleIdField):
    def visible(self, user):
        return Contact.objects.visible_to(user)


class VisibleFollowUpField(_VisibleIdField):
    def visible(self, user):
        return followup_model()._default_manager.visible_to(user)


# --- Output ------------------------------------------------------------------------------


class PersonSerializer(serializers.Serializer):
    """Someone (or somewhere) on the plan, with a phone number when there is one."""

    name = serializers.CharField()
    phone = serializers.CharField()


class PlanServiceSerializer(serializers.Serializer):
    """A directory service on the plan, as it read when the version was saved."""

    service_id = serializers.UUIDField()
    name = serializers.CharField()
    phone = serializers.CharField()


class MeansSerializer(ModelSerializer):
    confirmed = serializers.BooleanField(source="is_confirmed", read_only=True)
    confirmed_by = UserSummarySerializer(read_only=True, allow_null=True)

    class Meta:
        model = SafetyPlanMeans
        fields = ["kind", "step", "who", "confirmed", "confirmed_at", "confirmed_by"]
        read_only_fields = fields


class SafetyPlanVersionSerializer(ModelSerializer):
    created_by = UserSummarySerializer(read_only=True)
    warning_signs = serializers.ListField(child=serializers.CharField(), read_only=True)
    coping = serializers.ListField(child=serializers.CharField(), read_only=True)
    distractions = PersonSerializer(many=True, read_only=True)
    help_people = PersonSerializer(many=True, read_only=True)
    professionals = PersonSerializer(many=True, read_only=True)
    services = PlanServiceSerializer(many=True, read_only=True)
    means = MeansSerializer(many=True, read_only=True)
    reasons = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = SafetyPlanVersion
        fields = [
            "number",
            "created_at",
            "created_by",
            "contact",
            "followup",
            "change_note",
            "warning_signs",
            "coping",
            "distractions",
            "help_people",
            "professionals",
            "services",
            "agency_line",
            "means",
            "reasons",
        ]
        read_only_fields = fields


class SafetyPlanSerializer(ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api-safety-plan-detail")
    client = ClientSummarySerializer(read_only=True)
    created_by = UserSummarySerializer(read_only=True)
    current = SafetyPlanVersionSerializer(read_only=True)

    class Meta:
        model = SafetyPlan
        fields = [
            "id",
            "url",
            "client",
            "case",
            "current",
            "created_at",
            "created_by",
            "updated_at",
        ]
        read_only_fields = fields


class SafetyPlanLinkSerializer(ModelSerializer):
    """A link sent to the client, without its token: the token goes only in the message.
    `sent_to` is masked as staff lists show a client's number or email."""

    sent_to = serializers.SerializerMethodField()
    created_by = UserSummarySerializer(read_only=True)
    revoked_by = UserSummarySerializer(read_only=True, allow_null=True)
    delivery = serializers.ChoiceField(
        source="notification.status",
        choices=DeliveryStatus.choices,
        read_only=True,
        allow_null=True,
        help_text=_("What became of the message carrying the link; null when none was sent."),
    )
    delivered_at = UTCDateTimeField(source="notification.sent_at", read_only=True, allow_null=True)
    usable = serializers.SerializerMethodField()

    class Meta:
        model = SafetyPlanLink
        fields = [
            "id",
            "plan",
            "channel",
            "sent_to",
            "created_at",
            "created_by",
            "expires_at",
            "revoked_at",
            "revoked_by",
            "delivery",
            "delivered_at",
            "use_count",
            "last_used_at",
            "usable",
        ]
        read_only_fields = fields

    def get_sent_to(self, obj) -> str:
        return mask_address(obj.channel, obj.sent_to)

    def get_usable(self, obj) -> bool:
        return obj.is_usable()


class CrisisContactSerializer(serializers.Serializer):
    name = serializers.CharField()
    relation = serializers.CharField()
    phone = serializers.CharField()


class CrisisPlanSerializer(ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api-crisis-plan-detail")
    client = ClientSummarySerializer(read_only=True)
    contacts = CrisisContactSerializer(many=True, read_only=True)
    author = UserSummarySerializer(read_only=True)
    approved_by = UserSummarySerializer(read_only=True, allow_null=True)
    reviewed_by = UserSummarySerializer(read_only=True, allow_null=True)
    ended_by = UserSummarySerializer(read_only=True, allow_null=True)
    review_overdue = serializers.SerializerMethodField()

    class Meta:
        model = CrisisPlan
        fields = [
            "id",
            "url",
            "client",
            "case",
            "number",
            "status",
            "triggers",
            "helps",
            "avoid",
            "contacts",
            "preferred_care",
            "hazards",
            "author",
            "created_at",
            "updated_at",
            "submitted_at",
            "returned_note",
            "approved_by",
            "approved_at",
            "review_due_at",
            "review_overdue",
            "reviewed_at",
            "reviewed_by",
            "ended_at",
            "ended_by",
        ]
        read_only_fields = fields

    def get_review_overdue(self, obj) -> bool:
        return obj.is_review_overdue()


# --- Input -------------------------------------------------------------------------------


def _lines_field(**kwargs):
    return serializers.ListField(
        child=serializers.CharField(max_length=MAX_LINE, allow_blank=True),
        max_length=MAX_ITEMS,
        **kwargs,
    )


class PersonInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=MAX_LINE, allow_blank=True)
    phone = serializers.CharField(
        max_length=MAX_PHONE, required=False, allow_blank=True, default=""
    )


def _people_field(**kwargs):
    return serializers.ListField(
        child=PersonInputSerializer(),
        max_length=MAX_ITEMS,
        required=False,
        default=list,
        **kwargs,
    )


class MeansInputSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=MeansKind.choices)
    step = serializers.CharField(max_length=300, allow_blank=True)
    who = serializers.CharField(max_length=200, allow_blank=True)
    confirmed = serializers.BooleanField(required=False, default=False)


class SafetyPlanInputSerializer(serializers.Serializer):
    """A whole version of the plan: every step as it should now read."""

    case = VisibleCaseField(help_text=_("The open case it is written on."))
    contact = VisibleContactField(
        required=False,
        allow_null=True,
        default=None,
        help_text=_("The contact it was written during, on the same case."),
    )
    followup = VisibleFollowUpField(
        required=False,
        allow_null=True,
        default=None,
        help_text=_("The follow-up call it was written on, on the same case."),
    )
    change_note = serializers.CharField(
        max_length=300, required=False, allow_blank=True, default=""
    )
    warning_signs = _lines_field()
    coping = _lines_field()
    distractions = _people_field()
    help_people = _people_field()
    professionals = _people_field()
    services = serializers.ListField(
        child=serializers.UUIDField(),
        max_length=MAX_ITEMS,
        required=False,
        default=list,
        help_text=_("Directory services (their ids) for the step of services to call."),
    )
    means = serializers.ListField(
        child=MeansInputSerializer(),
        max_length=MAX_MEANS,
        required=False,
        default=list,
    )
    reasons = _lines_field(required=False, default=list)


class SafetyPlanLinkInputSerializer(serializers.Serializer):
    channel = serializers.ChoiceField(choices=LinkChannel.choices)
    address = serializers.CharField(
        max_length=254,
        required=False,
        allow_blank=True,
        default="",
        help_text=_("Where to send it; by default the client's phone number or email."),
    )


class CrisisContactInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, allow_blank=True)
    relation = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    phone = serializers.CharField(
        max_length=MAX_PHONE, required=False, allow_blank=True, default=""
    )


class CrisisPlanContentSerializer(serializers.Serializer):
    triggers = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    helps = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    avoid = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    contacts = serializers.ListField(
        child=CrisisContactInputSerializer(),
        max_length=MAX_CONTACTS,
        required=False,
    )
    preferred_care = serializers.CharField(max_length=300, required=False, allow_blank=True)
    hazards = serializers.CharField(max_length=2000, required=False, allow_blank=True)


class CrisisPlanInputSerializer(CrisisPlanContentSerializer):
    case = VisibleCaseField(help_text=_("The open case it is written on."))


class ReturnCrisisPlanSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=300, help_text=_("What should change."))
