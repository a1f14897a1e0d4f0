"""Input and output shapes of the dispatch API.

Output serializers read; input serializers only validate and hand `validated_data` to a
service in dispatch/services/. References (a unit, a client, a crew member) resolve only
within what the requesting user may see, so another agency's ids answer "does not exist"
exactly like ids that do not exist. A unit's last position is shown only while it shares
it, and units are only ever shown inside their agency (Unit.objects.visible_to).
"""

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import User
from cases.api.serializers import (
    ClientSummarySerializer,
    TeamSummarySerializer,
    UserSummarySerializer,
)
from cases.models import Client
from core.api import IdField, ModelSerializer, UTCDateTimeField
from dispatch.models import (
    ActiveRescue,
    Assignment,
    Credential,
    NotServedReason,
    Priority,
    RequestEvent,
    RequestReason,
    RequestSource,
    Step,
    TeamRequest,
    Unit,
    UnitPosition,
)


def _user(serializer: serializers.Field) -> Any:
    return serializer.context["request"].user


class _VisibleIdField(serializers.PrimaryKeyRelatedField):
    """A database id among the rows the requesting user may see (get_queryset)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("pk_field", IdField())
        super().__init__(**kwargs)


class VisibleUnitField(_VisibleIdField):
    def get_queryset(self) -> Any:
        return Unit.objects.visible_to(_user(self))


class VisibleClientField(_VisibleIdField):
    def get_queryset(self) -> Any:
        return Client.objects.visible_to(_user(self))


class AgencyUserField(_VisibleIdField):
    """An active user of the requesting user's agency (start_shift checks the rest)."""

    def get_queryset(self) -> Any:
        user = _user(self)
        return User.objects.filter(agency_id=user.agency_id, is_active=True)


def _text(max_length: int, **kwargs: Any) -> serializers.CharField:
    return serializers.CharField(
        max_length=max_length, required=False, allow_blank=True, default="", **kwargs
    )


def _maybe(help_text: Any = "") -> serializers.BooleanField:
    """Yes, no, or null for "not known"."""
    return serializers.BooleanField(
        required=False, allow_null=True, default=None, help_text=help_text
    )


def _degrees(limit: int, *, required: bool = False) -> serializers.DecimalField:
    """Degrees within ±`limit`, to any number of places (stored to 6: as_degrees)."""
    optional: dict[str, Any] = {} if required else {"allow_null": True, "default": None}
    return serializers.DecimalField(
        max_digits=None,
        decimal_places=None,
        min_value=-limit,
        max_value=limit,
        required=required,
        coerce_to_string=False,
        **optional,
    )


# --- Output ------------------------------------------------------------------------------


def _coordinate(**kwargs: Any) -> serializers.DecimalField:
    """Degrees as a JSON number (6 places), as the input takes them."""
    return serializers.DecimalField(
        max_digits=9, decimal_places=6, coerce_to_string=False, read_only=True, **kwargs
    )


class PositionSerializer(serializers.Serializer):
    latitude = _coordinate()
    longitude = _coordinate()
    at = UTCDateTimeField(read_only=True)


class CrewMemberSerializer(serializers.Serializer):
    user = UserSummarySerializer()
    credential = serializers.ChoiceField(choices=Credential.choices)


class UnitSummarySerializer(ModelSerializer):
    class Meta:
        model = Unit
        fields = ["id", "call_sign", "status"]
        read_only_fields = fields


class UnitSerializer(ModelSerializer):
    """A unit as its agency sees it. Expects the rows of UnitViewSet.get_queryset (their
    open shift's members and live assignment joined in)."""

    url = serializers.HyperlinkedIdentityField(view_name="api-dispatch-unit-detail")
    team = TeamSummarySerializer(read_only=True, allow_null=True)
    base_latitude = _coordinate(allow_null=True)
    base_longitude = _coordinate(allow_null=True)
    last_position = serializers.SerializerMethodField(
        help_text=gettext_lazy("Where the unit last was: only while it shares its position.")
    )
    crew = serializers.SerializerMethodField(
        help_text=gettext_lazy("The members of its open shift.")
    )
    live_request = serializers.SerializerMethodField(
        help_text=gettext_lazy("The id of the request the unit is on, if any.")
    )

    class Meta:
        model = Unit
        fields = [
            "id",
            "url",
            "call_sign",
            "team",
            "base_address",
            "base_latitude",
            "base_longitude",
            "status",
            "status_changed_at",
            "shares_position",
            "last_position",
            "crew",
            "live_request",
        ]
        read_only_fields = fields

    @extend_schema_field(PositionSerializer(allow_null=True))
    def get_last_position(self, unit: Unit) -> dict[str, Any] | None:
        if not unit.shares_position or unit.last_position_at is None:
            return None
        position = {
            "latitude": unit.last_latitude,
            "longitude": unit.last_longitude,
            "at": unit.last_position_at,
        }
        return PositionSerializer(position).data

    @extend_schema_field(CrewMemberSerializer(many=True))
    def get_crew(self, unit: Unit) -> Any:
        shifts = getattr(unit, "open_shifts", [])
        members = [member for shift in shifts for member in shift.members.all()]
        return CrewMemberSerializer(members, many=True).data

    def get_live_request(self, unit: Unit) -> int | None:
        live = getattr(unit, "live_assignments", [])
        return live[0].request_id if live else None


class UnitPositionSerializer(ModelSerializer):
    latitude = _coordinate()
    longitude = _coordinate()

    class Meta:
        model = UnitPosition
        fields = ["id", "unit", "at", "latitude", "longitude", "accuracy_m"]
        read_only_fields = fields


class RequestEventSerializer(ModelSerializer):
    actor = UserSummarySerializer(read_only=True, allow_null=True)
    unit = UnitSummarySerializer(read_only=True, allow_null=True)
    latitude = _coordinate(allow_null=True)
    longitude = _coordinate(allow_null=True)
    detail = serializers.JSONField(read_only=True)

    class Meta:
        model = RequestEvent
        fields = ["id", "kind", "at", "actor", "unit", "latitude", "longitude", "detail"]
        read_only_fields = fields


class AssignmentSerializer(ModelSerializer):
    unit = UnitSummarySerializer(read_only=True)
    assigned_by = UserSummarySerializer(read_only=True)
    acknowledged_by = UserSummarySerializer(read_only=True, allow_null=True)
    released_by = UserSummarySerializer(read_only=True, allow_null=True)
    members = serializers.JSONField(
        read_only=True,
        help_text=gettext_lazy("The team's make-up when sent: user_id, name, credential."),
    )
    is_live = serializers.BooleanField(read_only=True)

    class Meta:
        model = Assignment
        fields = [
            "id",
            "unit",
            "assigned_at",
            "assigned_by",
            "acknowledge_by",
            "acknowledged_at",
            "acknowledged_by",
            "released_at",
            "released_by",
            "release_reason",
            "members",
            "is_live",
        ]
        read_only_fields = fields


REQUEST_OUTPUT_FIELDS = [
    "id",
    "url",
    "status",
    "priority",
    "reason",
    "reason_notes",
    "source",
    "received_at",
    "callback_number",
    "location_text",
    "latitude",
    "longitude",
    "client",
    "weapons",
    "violence_history",
    "animals",
    "access_notes",
    "hazard_notes",
    "centre_name",
    "centre_call_id",
    "warm_transfer",
    "line_open_until_arrival",
    "active_rescue",
    "cad_incident_number",
    "police_requested",
    "police_present",
    "involuntary_hold",
    "involuntary_transport",
    "destination",
    "dispatched_at",
    "acknowledged_at",
    "en_route_at",
    "on_scene_at",
    "left_scene_at",
    "at_destination_at",
    "transfer_of_care_at",
    "back_in_service_at",
    "closed_at",
    "not_served_reason",
    "not_served_notes",
    "live_unit",
    "created_by",
    "created_at",
]


class TeamRequestSerializer(ModelSerializer):
    """A request as the list shows it. Expects the rows of RequestViewSet.get_queryset
    (client, creator and live assignment's unit joined in)."""

    url = serializers.HyperlinkedIdentityField(view_name="api-dispatch-request-detail")
    client = ClientSummarySerializer(read_only=True, allow_null=True)
    created_by = UserSummarySerializer(read_only=True)
    latitude = _coordinate(allow_null=True)
    longitude = _coordinate(allow_null=True)
    live_unit = serializers.SerializerMethodField(
        help_text=gettext_lazy("The unit on the request now.")
    )

    class Meta:
        model = TeamRequest
        fields = REQUEST_OUTPUT_FIELDS
        read_only_fields = fields

    @extend_schema_field(UnitSummarySerializer(allow_null=True))
    def get_live_unit(self, request: TeamRequest) -> dict[str, Any] | None:
        live = getattr(request, "live_assignments", [])
        return UnitSummarySerializer(live[0].unit).data if live else None


class TeamRequestDetailSerializer(TeamRequestSerializer):
    """A request with its timeline and every unit sent to it, oldest first."""

    allowed_steps = serializers.ListField(
        child=serializers.ChoiceField(choices=Step.choices),
        read_only=True,
        help_text=gettext_lazy("The steps its unit may record now."),
    )
    events = RequestEventSerializer(many=True, read_only=True)
    assignments = AssignmentSerializer(many=True, read_only=True)

    class Meta(TeamRequestSerializer.Meta):
        fields = [*REQUEST_OUTPUT_FIELDS, "allowed_steps", "events", "assignments"]
        read_only_fields = fields


class SuggestionSerializer(serializers.Serializer):
    unit = UnitSummarySerializer()
    distance_km = serializers.FloatField(
        allow_null=True,
        help_text=gettext_lazy("Great-circle distance; null when a place is not known."),
    )
    measured_from = serializers.ChoiceField(
        choices=[
            ("position", gettext_lazy("Shared position")),
            ("base", gettext_lazy("Base")),
            ("", gettext_lazy("Not known")),
        ],
        allow_blank=True,
    )


# --- Input: requests ---------------------------------------------------------------------


class _RequestFieldsSerializer(serializers.Serializer):
    """What a request is recorded with and may be corrected afterwards."""

    callback_number = _text(40)
    location_text = _text(300)
    latitude = _degrees(90)
    longitude = _degrees(180)
    reason = serializers.ChoiceField(choices=RequestReason.choices)
    reason_notes = _text(2000)
    client = VisibleClientField(
        required=False,
        allow_null=True,
        default=None,
        help_text=gettext_lazy("A client you can see."),
    )
    weapons = _maybe()
    violence_history = _maybe()
    animals = _maybe()
    access_notes = _text(1000)
    hazard_notes = _text(1000)
    priority = serializers.ChoiceField(choices=Priority.choices)
    centre_name = _text(200, help_text=gettext_lazy("988 hand-off only."))
    centre_call_id = _text(100, help_text=gettext_lazy("988 hand-off only."))
    warm_transfer = _maybe(gettext_lazy("988 hand-off only."))
    line_open_until_arrival = _maybe(gettext_lazy("988 hand-off only."))
    active_rescue = serializers.ChoiceField(
        choices=ActiveRescue.choices,
        required=False,
        allow_blank=True,
        default="",
        help_text=gettext_lazy("988 hand-off only."),
    )
    police_requested = _maybe()
    police_present = _maybe()


class RequestEditSerializer(_RequestFieldsSerializer):
    """What may be corrected afterwards (services.intake.EDITABLE_FIELDS), with the
    outcome; only the fields given are changed."""

    involuntary_hold = _maybe(gettext_lazy("Whether the person was held against their will."))
    involuntary_transport = _maybe(
        gettext_lazy("Whether the person was taken somewhere against their will.")
    )


class RequestCreateSerializer(_RequestFieldsSerializer):
    received_at = UTCDateTimeField(
        required=False, help_text=gettext_lazy("When the call came in; now when not given.")
    )
    source = serializers.ChoiceField(choices=RequestSource.choices)  # type: ignore[assignment]
    cad_incident_number = _text(
        64, help_text=gettext_lazy("The 911 CAD's incident, on a CAD hand-off.")
    )

    def validate_cad_incident_number(self, value: str) -> str:
        value = value.strip()
        user = _user(self)
        taken = TeamRequest.objects.filter(agency_id=user.agency_id, cad_incident_number=value)
        if value and taken.exists():
            raise serializers.ValidationError(_("A request is already recorded for this incident."))
        return value


class AssignSerializer(serializers.Serializer):
    unit = VisibleUnitField(help_text=gettext_lazy("An available unit of your agency."))


class ReassignSerializer(AssignSerializer):
    reason = serializers.CharField(
        max_length=300, help_text=gettext_lazy("Why the unit on it is released.")
    )


class ReleaseSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=300)


class AdvanceSerializer(serializers.Serializer):
    to = serializers.ChoiceField(
        choices=Step.choices,
        required=False,
        allow_null=True,
        default=None,
        help_text=gettext_lazy(
            "The step; the next one when not given (on scene it must be given)."
        ),
    )
    at = UTCDateTimeField(
        required=False,
        allow_null=True,
        default=None,
        help_text=gettext_lazy("When; now when not given."),
    )
    latitude = _degrees(90)
    longitude = _degrees(180)
    destination = _text(
        300, help_text=gettext_lazy("Where the team takes the person (transporting).")
    )


class NotServedSerializer(serializers.Serializer):
    reason = serializers.ChoiceField(choices=NotServedReason.choices)
    notes = _text(2000)
    at = UTCDateTimeField(required=False, allow_null=True, default=None)


# --- Input: units ------------------------------------------------------------------------


class ShiftMemberInputSerializer(serializers.Serializer):
    user = AgencyUserField(help_text=gettext_lazy("A worker of your agency."))
    credential = serializers.ChoiceField(choices=Credential.choices)


class StartShiftSerializer(serializers.Serializer):
    members = ShiftMemberInputSerializer(many=True, allow_empty=False)
    shares_position = serializers.BooleanField(required=False, default=False)


class OutOfServiceSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=300)


class SharingSerializer(serializers.Serializer):
    shares_position = serializers.BooleanField()


class PositionInputSerializer(serializers.Serializer):
    latitude = _degrees(90, required=True)
    longitude = _degrees(180, required=True)
    accuracy_m = serializers.FloatField(
        required=False, allow_null=True, default=None, min_value=0, max_value=999_999
    )
    at = UTCDateTimeField(required=False, allow_null=True, default=None)


# --- The CAD ------------------------------------------------------------------------------


class CadIncidentSerializer(serializers.Serializer):
    """An incident a 911 CAD hands to the team, recorded with source `cad_911`. The
    agency is the key's, never the body's."""

    incident_number = serializers.CharField(max_length=64)
    received_at = UTCDateTimeField(
        required=False, help_text=gettext_lazy("When 911 took the call.")
    )
    location_text = _text(300)
    latitude = _degrees(90)
    longitude = _degrees(180)
    reason = serializers.ChoiceField(choices=RequestReason.choices)
    priority = serializers.ChoiceField(choices=Priority.choices)
    weapons = _maybe()
    violence_history = _maybe()
    animals = _maybe()
    hazard_notes = _text(1000)
    access_notes = _text(1000)
    callback_number = _text(40)
    notes = _text(2000, help_text=gettext_lazy("The call-taker's notes."))
    police_requested = _maybe()

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs.get("location_text", "").strip() and attrs.get("latitude") is None:
            raise serializers.ValidationError(
                {"location_text": _("Give the address or place, or the coordinates.")}
            )
        return attrs


class CadIncidentResultSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text=gettext_lazy("The request's id."))
    incident_number = serializers.CharField()
    status = serializers.CharField()
    created = serializers.BooleanField(
        help_text=gettext_lazy("False when the incident was already recorded.")
    )
