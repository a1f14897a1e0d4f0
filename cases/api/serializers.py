"""Input and output shapes of the clients, cases and contacts API.

Output serializers read; input serializers only validate and hand `validated_data` to a
service in cases/services.py. References to other records (client, users, reference
data) resolve only within what the requesting user may see, so another agency's ids
answer "does not exist" exactly like ids that do not exist.
"""

import datetime

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.reverse import reverse

from accounts.models import Team, User
from cases.lookup import likely_clients_for
from cases.matching import likely_match_message
from cases.models import (
    AMENDABLE_FIELDS,
    FUTURE_TOLERANCE,
    LATE_ENTRY_DAYS,
    OLDEST_CALL_TIME,
    OLDEST_ENTRY_YEARS,
    TIME_ORDER,
    CallNature,
    Case,
    CaseEvent,
    Client,
    ClientIdentifier,
    CloseReason,
    Concern,
    Contact,
    ContactAmendment,
    ContactSource,
    Disposition,
    IdentifierKind,
    OnSceneService,
    ReminderChannel,
    contact_time_errors,
    late_entry_error,
)
from cases.services import compute_screen
from core.api import IdField, ModelSerializer, UTCDateTimeField
from core.ids import MAX_ID

# A call logged a little ahead of the server's clock is a clock difference, not an error.
OLDEST_BIRTH_DATE = datetime.date(1900, 1, 1)
# An earlier call time is a typing error. Pages show times in the agency's time zone, which
# a time at the very start of the calendar cannot be moved into.


def _request_user(serializer):
    return serializer.context["request"].user


# --- Reference fields --------------------------------------------------------------------


class CodeField(serializers.SlugRelatedField):
    """An active reference item (concern, call nature, service) named by its stable code.
    Anything that cannot be a code is refused before it reaches the database."""

    default_error_messages = {"invalid": _("Give a code, such as 'other'.")}

    def __init__(self, model, **kwargs):
        super().__init__(slug_field="code", queryset=model.objects.active(), **kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str) or "\x00" in data:
            self.fail("invalid")
        if len(data) > 40:
            self.fail("does_not_exist", slug_name=self.slug_field, value=data[:40] + "…")
        return super().to_internal_value(data)


def _code_field(model, **kwargs):
    return CodeField(model, **kwargs)


def _codes_field(model, **kwargs):
    return CodeField(model, many=True, **kwargs)


@extend_schema_field(
    {
        "oneOf": [{"type": "integer"}, {"type": "string"}],
        "description": _("The id or username of a user of your agency."),
    }
)
class AgencyUserField(serializers.RelatedField):
    """An active user of the requester's agency, given by id or username."""

    default_error_messages = {
        "does_not_exist": _("No user {value} in your agency."),
        "incorrect_type": _("Give a user's id or username, not {data_type}."),
    }

    def get_queryset(self):
        user = _request_user(self)
        return User.objects.filter(agency_id=user.agency_id, is_active=True)

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, (int, str)):
            self.fail("incorrect_type", data_type=type(data).__name__)
        queryset = self.get_queryset()
        if isinstance(data, int) or (data.isascii() and data.isdigit()):
            user = queryset.filter(pk=int(data)).first() if 0 < int(data) <= MAX_ID else None
        elif "\x00" in data or len(data) > 150:
            user = None  # cannot be a username
        else:
            user = queryset.filter(username=data).first()
        if user is None:
            plain = len(str(data)) <= 60 and "\x00" not in str(data)
            self.fail(
                "does_not_exist",
                value=repr(data) if plain else gettext("with that id or username"),
            )
        return user

    def to_representation(self, value):
        return value.pk


class VisibleClientField(serializers.PrimaryKeyRelatedField):
    """A client the requester may see."""

    def __init__(self, **kwargs):
        kwargs.setdefault("pk_field", IdField())
        super().__init__(**kwargs)

    def get_queryset(self):
        return Client.objects.visible_to(_request_user(self))


class CallTimeField(UTCDateTimeField):
    """A time of a call: ISO 8601 (without an offset, UTC), since 1990 and at most a day
    ahead (the rule of cases.models.contact_time_errors)."""

    default_error_messages = {
        "too_old": _("Check the year of this time."),
        "future": _("This time is more than a day in the future."),
    }

    def to_internal_value(self, value):
        value = super().to_internal_value(value)
        if value < OLDEST_CALL_TIME:
            self.fail("too_old")
        if value > timezone.now() + FUTURE_TOLERANCE:
            self.fail("future")
        return value


# --- Small nested shapes -----------------------------------------------------------------


class UserSummarySerializer(ModelSerializer):
    name = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = ["id", "username", "name"]

    def get_name(self, obj) -> str:
        return str(obj)


class TeamSummarySerializer(ModelSerializer):
    class Meta:
        model = Team
        fields = ["id", "name"]


class IdentifierSerializer(ModelSerializer):
    class Meta:
        model = ClientIdentifier
        fields = ["kind", "value"]


class ClientSummarySerializer(ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api-client-detail")
    # Model properties, typed here so that the schema knows them.
    display_name = serializers.CharField(read_only=True)
    age = serializers.IntegerField(read_only=True, allow_null=True)
    age_is_estimated = serializers.BooleanField(read_only=True)

    class Meta:
        model = Client
        fields = [
            "id",
            "url",
            "legal_name",
            "preferred_name",
            "display_name",
            "is_unidentified",
            "date_of_birth",
            "age",
            "age_is_estimated",
        ]


# --- Clients -----------------------------------------------------------------------------


class ClientSerializer(ClientSummarySerializer):
    identifiers = IdentifierSerializer(many=True, read_only=True)
    open_case = serializers.SerializerMethodField()

    class Meta(ClientSummarySerializer.Meta):
        fields = [
            *ClientSummarySerializer.Meta.fields,
            "estimated_age",
            "estimated_age_on",
            "pronouns",
            "preferred_language",
            "phone",
            "email",
            "reminder_channel",
            "where_to_find",
            "description",
            "merged_into",
            "identifiers",
            "open_case",
            "created_at",
            "updated_at",
        ]

    def get_open_case(self, obj) -> int | None:
        """The id of the client's open case, when the requester may see it."""
        if hasattr(obj, "open_case_id"):
            return obj.open_case_id
        cases = Case.objects.visible_to(_request_user(self)).open().filter(client=obj)
        return cases.values_list("pk", flat=True).first()


class IdentifierInputSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=IdentifierKind.choices)
    value = serializers.CharField(max_length=100)

    def validate(self, attrs):
        # DRF skips missing fields of nested input in a partial change (PATCH), but each
        # identifier given is always given whole.
        missing = {
            name: [field.error_messages["required"]]
            for name, field in self.fields.items()
            if name not in attrs
        }
        if missing:
            raise serializers.ValidationError(missing)
        return attrs


class ClientInputSerializer(serializers.Serializer):
    """A client's details, as create_client and update_client take them.

    Pass the client being changed as `instance` so that a partial change is checked
    against what is already recorded.
    """

    legal_name = serializers.CharField(
        max_length=200,
        required=False,
        allow_blank=True,
        help_text=_("Required unless `is_unidentified` is true."),
    )
    preferred_name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    is_unidentified = serializers.BooleanField(
        required=False,
        help_text=_(
            "An unidentified person (not found, or gave no name): `description` "
            "instead of a name. Identified later by giving the name, or merged into a known "
            "client by an agency admin."
        ),
    )
    description = serializers.CharField(
        max_length=300,
        required=False,
        allow_blank=True,
        help_text=_("How to recognise an unidentified person, e.g. man, about 40, red jacket."),
    )
    date_of_birth = serializers.DateField(required=False, allow_null=True)
    estimated_age = serializers.IntegerField(
        min_value=0,
        max_value=120,
        required=False,
        allow_null=True,
        help_text=_("Years, when the date of birth is not known."),
    )
    pronouns = serializers.CharField(max_length=40, required=False, allow_blank=True)
    preferred_language = serializers.CharField(max_length=60, required=False, allow_blank=True)
    phone = serializers.CharField(max_length=40, required=False, allow_blank=True)
    email = serializers.EmailField(max_length=254, required=False, allow_blank=True)
    reminder_channel = serializers.ChoiceField(
        choices=ReminderChannel.choices,
        required=False,
        allow_blank=True,
        help_text=_(
            "How the client agreed to get reminders (blank: none). `email` needs the "
            "email address, `text` the phone number. Reminders never name the programme or "
            "anything clinical."
        ),
    )
    where_to_find = serializers.CharField(max_length=1000, required=False, allow_blank=True)

    def validate_date_of_birth(self, value):
        if value is not None and value > timezone.localdate():
            raise serializers.ValidationError(gettext("The date of birth cannot be in the future."))
        if value is not None and value < OLDEST_BIRTH_DATE:
            raise serializers.ValidationError(gettext("Check the year of the date of birth."))
        return value

    def validate(self, attrs):
        instance = self.instance
        dob = attrs.get("date_of_birth", instance.date_of_birth if instance else None)
        age = attrs.get("estimated_age", instance.estimated_age if instance else None)
        if dob is not None and age is not None:
            field = "estimated_age" if "estimated_age" in attrs else "date_of_birth"
            raise serializers.ValidationError(
                {field: gettext("Give a date of birth or an estimated age, not both.")}
            )
        self.check_reminder_channel(attrs)
        self.check_identity(attrs)
        return attrs

    def check_identity(self, attrs):
        """A name, or an unidentified person with a description (as it will be after this
        change)."""
        # A full update (PUT) gives every detail again; a partial one keeps the rest.
        instance = self.instance if self.partial else None

        def value(name, default):
            return attrs.get(name, getattr(instance, name) if instance else default)

        named = bool((value("legal_name", "") or "").strip())
        if not value("is_unidentified", False):
            if not named:
                raise serializers.ValidationError(
                    {
                        "legal_name": gettext(
                            "Give the client's legal name, or send "
                            '"is_unidentified": true with a description.'
                        )
                    }
                )
        elif not named and not (value("description", "") or "").strip():
            raise serializers.ValidationError(
                {"description": gettext("Describe the unidentified person (e.g. man, about 40).")}
            )

    def check_reminder_channel(self, attrs):
        """The model's rule (Client.clean_reminder_channel) on the details as they will be
        after this change: a 400 naming the missing field."""
        instance = self.instance
        client = Client(
            **{
                name: attrs.get(name, getattr(instance, name) if instance else "")
                for name in ("reminder_channel", "email", "phone")
            }
        )
        try:
            client.clean_reminder_channel()
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict) from exc


class ClientCreateSerializer(ClientInputSerializer):
    identifiers = IdentifierInputSerializer(many=True, required=False)
    confirm_new = serializers.BooleanField(
        required=False,
        default=False,
        write_only=True,
        help_text=_(
            "A new person although the agency has a likely match: without it, a likely "
            "match answers 400 on `confirm_new`, naming the client."
        ),
    )

    def validate(self, attrs):
        attrs = super().validate(attrs)
        confirmed = attrs.pop("confirm_new", False)
        if confirmed or not (attrs.get("legal_name") or "").strip():
            return attrs
        suggestions = likely_clients_for(
            self.context["request"],
            page="api new client",
            legal_name=attrs.get("legal_name") or "",
            preferred_name=attrs.get("preferred_name") or "",
            date_of_birth=attrs.get("date_of_birth"),
            estimated_age=attrs.get("estimated_age"),
            phone=attrs.get("phone") or "",
            identifiers=[(i["kind"], i["value"]) for i in attrs.get("identifiers", [])],
        ).suggestions
        if suggestions:
            raise serializers.ValidationError(
                {
                    "confirm_new": likely_match_message(
                        suggestions, how_to_confirm=self.how_to_confirm
                    )
                }
            )
        return attrs

    @property
    def how_to_confirm(self):
        if self.parent is not None:
            return gettext('send "confirm_new": true in "new_client"')
        return gettext('send "confirm_new": true')

    def validate_identifiers(self, value):
        seen = set()
        for item in value:
            key = (item["kind"], item["value"].strip())
            if key in seen:
                raise serializers.ValidationError(gettext("The same identifier is given twice."))
            seen.add(key)
        if seen:
            agency_id = _request_user(self).agency_id
            for kind, text in seen:
                taken = ClientIdentifier.objects.filter(agency_id=agency_id, kind=kind, value=text)
                if taken.exists():
                    label = IdentifierKind(kind).label
                    raise serializers.ValidationError(
                        gettext("%(kind)s %(value)s already belongs to a client of your agency.")
                        % {"kind": label, "value": text}
                    )
        return value


class ClientUpdateSerializer(ClientInputSerializer):
    identifiers = IdentifierInputSerializer(
        many=True,
        required=False,
        help_text=_("When given, the client's whole set of identifiers: any left out are removed."),
    )

    def validate_identifiers(self, value):
        pairs = [(item["kind"], item["value"].strip()) for item in value]
        if len(set(pairs)) != len(pairs):
            raise serializers.ValidationError(gettext("The same identifier is given twice."))
        return value


# --- Cases -------------------------------------------------------------------------------


class CaseLinksSerializer(serializers.Serializer):
    self = serializers.URLField()
    client = serializers.URLField()
    contacts = serializers.URLField()
    timeline = serializers.URLField()


class CaseSerializer(ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api-case-detail")
    client = ClientSummarySerializer(read_only=True)
    assigned_worker = UserSummarySerializer(read_only=True)
    team = TeamSummarySerializer(read_only=True, allow_null=True)
    presenting_concerns: "serializers.SlugRelatedField[Concern]" = serializers.SlugRelatedField(
        slug_field="code", many=True, read_only=True
    )
    close_reason = serializers.ChoiceField(
        choices=CloseReason.choices,
        allow_blank=True,
        read_only=True,
        help_text=_("Blank while open."),
    )
    links = serializers.SerializerMethodField()

    class Meta:
        model = Case
        fields = [
            "id",
            "url",
            "status",
            "client",
            "assigned_worker",
            "team",
            "risk_level",
            "risk_assessed_at",
            "presenting_concerns",
            "opened_at",
            "opened_by",
            "last_contact_at",
            "closed_at",
            "closed_by",
            "close_reason",
            "close_note",
            "links",
        ]
        read_only_fields = fields

    @extend_schema_field(CaseLinksSerializer)
    def get_links(self, obj):
        request = self.context["request"]
        contacts = reverse("api-contact-list", request=request)
        return {
            "self": reverse("api-case-detail", args=[obj.pk], request=request),
            "client": reverse("api-client-detail", args=[obj.client_id], request=request),
            "contacts": f"{contacts}?case={obj.pk}",
            "timeline": reverse("api-case-timeline", args=[obj.pk], request=request),
        }


class CaseEventSerializer(ModelSerializer):
    actor = UserSummarySerializer(read_only=True, allow_null=True)
    detail = serializers.JSONField(read_only=True)

    class Meta:
        model = CaseEvent
        fields = ["id", "at", "kind", "summary", "actor", "contact", "detail"]
        read_only_fields = fields


class CaseConcernsSerializer(serializers.Serializer):
    presenting_concerns = _codes_field(Concern, help_text=_("Concern codes; replaces the list."))


class CloseCaseSerializer(serializers.Serializer):
    reason = serializers.ChoiceField(choices=CloseReason.choices)
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class ReassignCaseSerializer(serializers.Serializer):
    assigned_worker = AgencyUserField()


# --- Contacts ----------------------------------------------------------------------------


def _answer_field(help_text):
    return serializers.BooleanField(
        required=False, allow_null=True, default=None, help_text=help_text
    )


class ContactFieldsSerializer(serializers.Serializer):
    """The contact fields that can be recorded and later amended (AMENDABLE_FIELDS)."""

    # A declared field, which the serializer's metaclass takes out of the class: not the
    # Field.source attribute the stubs see.
    source = serializers.ChoiceField(choices=ContactSource.choices)  # type: ignore[assignment]
    received_at = CallTimeField(
        help_text=_(
            "ISO 8601; without an offset, UTC. Since 1990 and at most a day ahead, as "
            "are the other times; each is not before the ones it follows."
        )
    )
    dispatched_at = CallTimeField(required=False, allow_null=True, default=None)
    on_scene_at = CallTimeField(required=False, allow_null=True, default=None)
    cleared_at = CallTimeField(required=False, allow_null=True, default=None)
    call_nature = _code_field(CallNature)
    location = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
    others_present = serializers.CharField(
        max_length=300, required=False, allow_blank=True, default=""
    )
    police_backup_requested = serializers.BooleanField(required=False, default=False)
    arrest = serializers.BooleanField(required=False, default=False)
    injury = serializers.BooleanField(required=False, default=False)
    disposition = serializers.ChoiceField(choices=Disposition.choices)
    narrative = serializers.CharField(
        max_length=20000, required=False, allow_blank=True, default="", trim_whitespace=False
    )
    cssrs_performed = serializers.BooleanField(required=False, default=False)
    cssrs_wish_dead = _answer_field(_("C-SSRS 1: wished to be dead (null: not asked)."))
    cssrs_suicidal_thoughts = _answer_field(_("C-SSRS 2: thoughts of killing yourself."))
    cssrs_method = _answer_field(_("C-SSRS 3: thought about how; asked only when 2 is yes."))
    cssrs_intent = _answer_field(_("C-SSRS 4: some intention of acting; only when 2 is yes."))
    cssrs_plan = _answer_field(_("C-SSRS 5: details of a plan, intends to carry it out."))
    cssrs_behavior = _answer_field(_("C-SSRS 6: ever done anything to end your life."))
    cssrs_behavior_recent = _answer_field(_("C-SSRS 6b: within the past 3 months; if 6 is yes."))


class ContactInputSerializer(ContactFieldsSerializer):
    """A new crisis contact, for an existing client (`client`) or a new one (`new_client`)."""

    client = VisibleClientField(required=False, allow_null=True, default=None)
    new_client = ClientCreateSerializer(required=False, allow_null=True, default=None)
    attended_by = AgencyUserField(many=True, required=False, default=list)
    presenting_concerns = _codes_field(Concern, required=False, default=list)
    services_on_scene = _codes_field(OnSceneService, required=False, default=list)
    late_entry = serializers.BooleanField(
        required=False,
        default=False,
        help_text=format_lazy(
            _(
                "Confirms a late entry: a call received more than {days} days "
                "before the agency's today (its calendar date) is refused with a 400 on "
                "`received_at` unless this is true. More than {years} years back is "
                "refused either way."
            ),
            days=LATE_ENTRY_DAYS,
            years=OLDEST_ENTRY_YEARS,
        ),
    )

    def validate(self, attrs):
        confirmed = attrs.pop("late_entry", False)
        if attrs.get("client") is None and attrs.get("new_client") is None:
            raise serializers.ValidationError(
                {"client": gettext("Give the id of an existing client, or a new_client.")}
            )
        if attrs.get("client") is not None and attrs.get("new_client") is not None:
            raise serializers.ValidationError(
                {"new_client": gettext("Give either an existing client or a new_client, not both.")}
            )
        errors = contact_time_errors(attrs)
        if "received_at" not in errors:
            late = late_entry_error(
                attrs["received_at"],
                _request_user(self).agency,
                confirmed=confirmed,
                how_to_confirm=gettext('send "late_entry": true'),
            )
            if late:
                errors["received_at"] = late
        try:
            compute_screen(attrs)
        except DjangoValidationError as exc:
            errors.update({key: messages for key, messages in exc.message_dict.items()})
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


@extend_schema_field({"type": "object", "additionalProperties": {}, "minProperties": 1})
class ChangesField(serializers.DictField):
    """Field name -> new value, for one field at least."""


class AmendContactSerializer(serializers.Serializer):
    """A correction. The contact being amended is passed in the context as `contact`."""

    reason = serializers.CharField(max_length=500)
    changes = ChangesField(
        help_text=format_lazy(
            _("Field -> new value. Amendable: {fields}."), fields=", ".join(AMENDABLE_FIELDS)
        )
    )

    def validate_changes(self, value):
        unknown = sorted(set(value) - set(AMENDABLE_FIELDS))
        if unknown:
            shown = ", ".join(name[:40] for name in unknown[:10])
            raise serializers.ValidationError(
                gettext("These fields cannot be amended: %(fields)s.") % {"fields": shown}
            )
        if not value:
            raise serializers.ValidationError(gettext("Name at least one field to correct."))
        fields = ContactFieldsSerializer(data=value, partial=True, context=self.context)
        fields.is_valid(raise_exception=True)
        changes = dict(fields.validated_data)
        contact = self.context["contact"]
        times = {name: changes.get(name, getattr(contact, name)) for name in TIME_ORDER}
        errors = {}
        for name, message in contact_time_errors(times).items():
            if name in changes:
                errors[name] = message
                continue
            # An unchanged time is out of order because an earlier time was moved past it.
            moved = [m for m in TIME_ORDER[: TIME_ORDER.index(name)] if m in changes]
            errors[moved[0] if moved else name] = gettext(
                "%(message)s Correct that time as well."
            ) % {"message": message}
        if "received_at" in changes and "received_at" not in errors:
            # The amendment's reason stands for the late-entry confirmation; the bound on
            # the year still applies.
            late = late_entry_error(
                changes["received_at"], contact.agency, confirmed=True, how_to_confirm=""
            )
            if late:
                errors["received_at"] = late
        if errors:
            raise serializers.ValidationError(errors)
        return changes


class ContactSerializer(ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api-contact-detail")
    recorded_by = UserSummarySerializer(read_only=True)
    attended_by = UserSummarySerializer(many=True, read_only=True)
    call_nature: "serializers.SlugRelatedField[CallNature]" = serializers.SlugRelatedField(
        slug_field="code", read_only=True
    )
    presenting_concerns: "serializers.SlugRelatedField[Concern]" = serializers.SlugRelatedField(
        slug_field="code", many=True, read_only=True
    )
    services_on_scene: "serializers.SlugRelatedField[OnSceneService]" = (
        serializers.SlugRelatedField(slug_field="code", many=True, read_only=True)
    )
    response_minutes = serializers.IntegerField(
        read_only=True, allow_null=True, help_text=_("On scene minus received, in minutes.")
    )

    class Meta:
        model = Contact
        fields = [
            "id",
            "url",
            "case",
            "client",
            "recorded_by",
            "created_at",
            "source",
            "received_at",
            "dispatched_at",
            "on_scene_at",
            "cleared_at",
            "response_minutes",
            "call_nature",
            "location",
            "attended_by",
            "others_present",
            "presenting_concerns",
            "cssrs_performed",
            "cssrs_wish_dead",
            "cssrs_suicidal_thoughts",
            "cssrs_method",
            "cssrs_intent",
            "cssrs_plan",
            "cssrs_behavior",
            "cssrs_behavior_recent",
            "risk_level",
            "services_on_scene",
            "police_backup_requested",
            "arrest",
            "injury",
            "disposition",
            "narrative",
            "amendment_count",
        ]
        read_only_fields = fields


class ContactAmendmentSerializer(ModelSerializer):
    amended_by = UserSummarySerializer(read_only=True)
    changes = serializers.JSONField(
        read_only=True, help_text=_('Field -> {"from": old value, "to": new value}.')
    )

    class Meta:
        model = ContactAmendment
        fields = ["id", "contact", "amended_by", "amended_at", "reason", "changes"]
        read_only_fields = fields
