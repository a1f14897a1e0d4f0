"""Shapes of the directory API: HSDS rows as they are stored, and search results."""

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.api import IdField, ModelSerializer
from directory import schedules as hours
from directory.geocode import valid_coordinates
from directory.models import (
    Address,
    Language,
    Location,
    NeedCategory,
    Organization,
    Phone,
    Schedule,
    Service,
)
from directory.search import SearchParams


class PhoneSerializer(ModelSerializer):
    class Meta:
        model = Phone
        fields = ["id", "number", "extension", "type", "description"]


class LanguageSerializer(ModelSerializer):
    class Meta:
        model = Language
        fields = ["id", "name", "code", "note"]


class AddressSerializer(ModelSerializer):
    class Meta:
        model = Address
        fields = [
            "id",
            "attention",
            "address_1",
            "address_2",
            "city",
            "region",
            "state_province",
            "postal_code",
            "country",
            "address_type",
        ]


@extend_schema_field(
    {
        "type": "string",
        "pattern": r"^\d{2}:\d{2}(:\d{2}(\.\d+)?)?$",
        "example": "09:00:00",
        "description": "A time of day in the schedule's time zone, without an offset.",
    }
)
class TimeOfDayField(serializers.TimeField):
    """HSDS opening hours are local times of day ("09:00:00"); OpenAPI's `time` format is
    RFC 3339's, which needs an offset, so the schema says what the value really is."""


class ScheduleSerializer(ModelSerializer):
    in_words = serializers.SerializerMethodField(help_text=gettext_lazy("The schedule in words."))
    opens_at = TimeOfDayField(allow_null=True, read_only=True)
    closes_at = TimeOfDayField(allow_null=True, read_only=True)

    class Meta:
        model = Schedule
        fields = [
            "id",
            "freq",
            "byday",
            "bymonthday",
            "interval",
            "dtstart",
            "until",
            "valid_from",
            "valid_to",
            "opens_at",
            "closes_at",
            "timezone",
            "description",
            "in_words",
        ]

    def get_in_words(self, obj) -> str:
        return hours.describe(obj)


class OrganizationSerializer(ModelSerializer):
    shared = serializers.SerializerMethodField(
        help_text=gettext_lazy(
            "True for the shared community directory, false for your agency's own."
        )
    )

    class Meta:
        model = Organization
        fields = [
            "id",
            "name",
            "alternate_name",
            "description",
            "email",
            "website",
            "uri",
            "parent_organization",
            "shared",
        ]

    def get_shared(self, obj) -> bool:
        return obj.agency_id is None


NEEDS_FIELD = serializers.ListField(child=serializers.ChoiceField(choices=NeedCategory.choices))


class ServiceSerializer(ModelSerializer):
    shared = serializers.SerializerMethodField()
    phones = PhoneSerializer(many=True, read_only=True)
    languages = LanguageSerializer(many=True, read_only=True)
    schedules = ScheduleSerializer(many=True, read_only=True)
    locations = serializers.SerializerMethodField(
        help_text=gettext_lazy("Ids of the service's locations.")
    )
    need_categories = serializers.SerializerMethodField()

    class Meta:
        model = Service
        fields = [
            "id",
            "organization",
            "name",
            "alternate_name",
            "description",
            "url",
            "email",
            "status",
            "interpretation_services",
            "application_process",
            "fees_description",
            "wait_time",
            "eligibility_description",
            "minimum_age",
            "maximum_age",
            "alert",
            "shared",
            "phones",
            "languages",
            "schedules",
            "locations",
            "need_categories",
        ]

    def get_shared(self, obj) -> bool:
        return obj.agency_id is None

    @extend_schema_field(serializers.ListField(child=serializers.UUIDField()))
    def get_locations(self, obj):
        return [row.location_id for row in obj.at_locations.all()]

    @extend_schema_field(NEEDS_FIELD)
    def get_need_categories(self, obj):
        return self.context.get("needs", {}).get(obj.pk, [])


class LocationSerializer(ModelSerializer):
    shared = serializers.SerializerMethodField()
    addresses = AddressSerializer(many=True, read_only=True)
    phones = PhoneSerializer(many=True, read_only=True)
    languages = LanguageSerializer(many=True, read_only=True)

    class Meta:
        model = Location
        fields = [
            "id",
            "organization",
            "location_type",
            "name",
            "alternate_name",
            "description",
            "transportation",
            "latitude",
            "longitude",
            "url",
            "shared",
            "addresses",
            "phones",
            "languages",
        ]

    def get_shared(self, obj) -> bool:
        return obj.agency_id is None


# --- Search ------------------------------------------------------------------------------


class SearchInputSerializer(serializers.Serializer):
    """The search's query parameters; a bad one answers 400 naming it."""

    need = serializers.ChoiceField(
        choices=NeedCategory.choices,
        required=False,
        allow_blank=True,
        help_text=gettext_lazy("A need."),
    )
    q = serializers.CharField(
        max_length=200,
        required=False,
        allow_blank=True,
        help_text=gettext_lazy("Words in the service's or organization's name or description."),
    )
    language = serializers.CharField(
        max_length=60,
        required=False,
        allow_blank=True,
        help_text=gettext_lazy("A language the service or location offers: ISO 639 code or name."),
    )
    age = serializers.IntegerField(
        min_value=0, max_value=130, required=False, help_text=gettext_lazy("The client's age.")
    )
    open_now = serializers.BooleanField(
        required=False,
        default=False,
        help_text=gettext_lazy("Only services open now by their schedules."),
    )
    lat = serializers.FloatField(
        min_value=-90,
        max_value=90,
        required=False,
        help_text=gettext_lazy("Latitude, for nearest first."),
    )
    lng = serializers.FloatField(
        min_value=-180,
        max_value=180,
        required=False,
        help_text=gettext_lazy("Longitude, with lat."),
    )
    address = serializers.CharField(
        max_length=300,
        required=False,
        allow_blank=True,
        help_text=gettext_lazy(
            'An address, postal code or city (or "lat,lng"), for nearest first.'
        ),
    )
    case = IdField(
        required=False,
        help_text=gettext_lazy("The case you are referring from (noted in the audit trail)."),
    )
    page = serializers.IntegerField(
        min_value=1, required=False, help_text=gettext_lazy("Page number.")
    )

    def validate(self, attrs):
        if ("lat" in attrs) != ("lng" in attrs):
            missing = "lng" if "lat" in attrs else "lat"
            raise serializers.ValidationError({missing: [_("Give both lat and lng.")]})
        if "lat" in attrs and not valid_coordinates(attrs["lat"], attrs["lng"]):
            raise serializers.ValidationError({"lat": [_("These coordinates are out of range.")]})
        return attrs

    def params(self) -> SearchParams:
        data = self.validated_data
        return SearchParams(
            need=data.get("need") or "",
            q=(data.get("q") or "").strip(),
            language=(data.get("language") or "").strip(),
            age=data.get("age"),
            open_now=data.get("open_now", False),
            lat=data.get("lat"),
            lng=data.get("lng"),
        )


class OrganizationSummarySerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()


class ServiceSummarySerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    alternate_name = serializers.CharField()
    description = serializers.CharField()
    status = serializers.CharField()
    email = serializers.CharField()
    url = serializers.CharField()
    eligibility_description = serializers.CharField()
    minimum_age = serializers.FloatField(allow_null=True)
    maximum_age = serializers.FloatField(allow_null=True)
    organization = OrganizationSummarySerializer()


class LocationSummarySerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    latitude = serializers.FloatField(allow_null=True)
    longitude = serializers.FloatField(allow_null=True)


class SearchResultSerializer(serializers.Serializer):
    service = ServiceSummarySerializer()
    location = LocationSummarySerializer(allow_null=True)
    address = AddressSerializer(allow_null=True)
    distance_km = serializers.SerializerMethodField(
        help_text=gettext_lazy("Kilometres from the given place, to one decimal; null without one.")
    )
    open_now = serializers.BooleanField(
        allow_null=True, help_text=gettext_lazy("Null when the hours are unknown (no schedule).")
    )
    open_status = serializers.ChoiceField(choices=[hours.OPEN, hours.CLOSED, hours.UNKNOWN])
    temporarily_closed = serializers.BooleanField()
    phones = PhoneSerializer(many=True)
    languages = LanguageSerializer(many=True)
    need_categories = NEEDS_FIELD

    @extend_schema_field(serializers.FloatField(allow_null=True))
    def get_distance_km(self, obj):
        return None if obj.distance_km is None else round(obj.distance_km, 1)
