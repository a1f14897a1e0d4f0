"""Input and output shapes of the follow-ups, protocols and hospital visits API.

Output serializers read; input serializers only validate and hand `validated_data` to a
service in followups/services/, which holds the rules (a due date in range, a reason
given, the follow-up still open). References resolve only within what the requesting
user may see, so another agency's ids answer "does not exist" like ids that do not exist.
"""

import datetime

from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from cases.api.serializers import (
    AgencyUserField,
    CallTimeField,
    ClientSummarySerializer,
    UserSummarySerializer,
)
from cases.models import OLDEST_CALL_TIME, Case, Contact
from core.api import IdField, ModelSerializer, UTCDateTimeField
from followups.models import (
    Attempt,
    AttemptOutcome,
    FollowUp,
    FollowUpEvent,
    HospitalVisit,
    Method,
    Protocol,
    ProtocolStep,
    ProtocolVersion,
    VisitKind,
    VisitReason,
)
from followups.services import MAX_DUE_AHEAD, REASON_MAX


def _user(serializer):
    return serializer.context["request"].user


class VisibleCaseField(serializers.PrimaryKeyRelatedField):
    """A case the requester may see."""

    def __init__(self, **kwargs):
        kwargs.setdefault("pk_field", IdField())
        super().__init__(**kwargs)

    def get_queryset(self):
        return Case.objects.visible_to(_user(self))


class CaseContactField(serializers.PrimaryKeyRelatedField):
    """A contact the requester may see, on the case given in the context as `case_id`."""

    default_error_messages = {
        "does_not_exist": _("No contact {pk_value} on this follow-up's case."),
    }

    def __init__(self, **kwargs):
        kwargs.setdefault("pk_field", IdField())
        super().__init__(**kwargs)

    def get_queryset(self):
        case_id = self.context["case_id"]
        return Contact.objects.visible_to(_user(self)).filter(case_id=case_id)


class PlannedTimeField(UTCDateTimeField):
    """A time a follow-up is planned for: ISO 8601 (without an offset, UTC), since 1990 and
    at most `max_ahead` from now. The service holds the finer rules (not in the past)."""

    default_error_messages = {
        "too_old": _("Check the year of this time."),
        "too_far": _("Check the date: that is more than five years ahead."),
    }

    def __init__(self, *, max_ahead=MAX_DUE_AHEAD, **kwargs):
        self.max_ahead = max_ahead
        super().__init__(**kwargs)

    def to_internal_value(self, value):
        value = super().to_internal_value(value)
        if value < OLDEST_CALL_TIME:
            self.fail("too_old")
        if value > timezone.now() + self.max_ahead:
            self.fail("too_far")
        return value


def _reason_field(**kwargs):
    return serializers.CharField(max_length=REASON_MAX, **kwargs)


def _plan_answer_field(help_text):
    return serializers.BooleanField(
        required=False, allow_null=True, default=None, help_text=help_text
    )


PLAN_REVIEWED_HELP = _(
    "Whether the safety plan was reviewed with the client: required when the follow-up "
    "asks (`plan_asked`), refused when it does not."
)
PLAN_CHANGED_HELP = _(
    "Whether the safety plan changed: required when it was reviewed; it cannot have "
    "changed when it was not."
)


def _note_field(max_length=2000, **kwargs):
    return serializers.CharField(
        max_length=max_length, required=False, allow_blank=True, default="", **kwargs
    )


# --- Output ------------------------------------------------------------------------------


class ProtocolRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    key = serializers.CharField()
    name = serializers.CharField()
    version = serializers.IntegerField()


class StepRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    position = serializers.IntegerField()


class FollowUpSerializer(ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api-followup-detail")
    client = ClientSummarySerializer(source="case.client", read_only=True)
    risk_level = serializers.CharField(
        source="case.risk_level", read_only=True, help_text=_("The case's C-SSRS risk level.")
    )
    assigned_to = UserSummarySerializer(read_only=True)
    protocol = serializers.SerializerMethodField(
        help_text=_("The protocol (and version) it belongs to; null for a one-off follow-up.")
    )
    step = serializers.SerializerMethodField(help_text=_("The protocol step; null for a one-off."))
    reason = serializers.CharField(read_only=True, help_text=_("Why this follow-up exists."))
    cancel_reason = serializers.CharField(read_only=True, help_text=_("Blank unless cancelled."))
    done_within_window = serializers.BooleanField(read_only=True)
    plan_asked = serializers.BooleanField(
        read_only=True,
        help_text=_(
            "Whether completing it asks `plan_reviewed` and `plan_changed`: a Safety "
            "Planning call, or a client with a safety plan."
        ),
    )
    plan_reviewed = serializers.BooleanField(
        read_only=True,
        allow_null=True,
        help_text=_("Whether the safety plan was reviewed with the client; null when not asked."),
    )
    plan_changed = serializers.BooleanField(
        read_only=True,
        allow_null=True,
        help_text=_("Whether the safety plan changed; null when not asked or not reviewed."),
    )

    class Meta:
        model = FollowUp
        fields = [
            "id",
            "url",
            "case",
            "client",
            "risk_level",
            "title",
            "reason",
            "protocol",
            "step",
            "occurrence",
            "method",
            "assigned_to",
            "status",
            "window_start",
            "due_at",
            "window_end",
            "completed_at",
            "completed_by",
            "completed_contact",
            "done_within_window",
            "plan_asked",
            "plan_reviewed",
            "plan_changed",
            "cancel_reason",
            "created_at",
            "created_by",
        ]
        read_only_fields = fields

    @extend_schema_field(ProtocolRefSerializer(allow_null=True))
    def get_protocol(self, obj):
        if obj.enrolment_id is None:
            return None
        version = obj.enrolment.version
        protocol = version.protocol
        return {
            "id": protocol.pk,
            "key": protocol.key,
            "name": protocol.name,
            "version": version.number,
        }

    @extend_schema_field(StepRefSerializer(allow_null=True))
    def get_step(self, obj):
        if obj.step_id is None:
            return None
        return {"id": obj.step.pk, "name": obj.step.name, "position": obj.step.position}


class AttemptSerializer(ModelSerializer):
    by = UserSummarySerializer(read_only=True)

    class Meta:
        model = Attempt
        fields = ["id", "at", "method", "outcome", "note", "by", "contact"]
        read_only_fields = fields


class FollowUpEventSerializer(ModelSerializer):
    actor = UserSummarySerializer(read_only=True, allow_null=True)
    detail = serializers.JSONField(
        read_only=True,
        help_text=_("For a moved due date: the window before (`from`) and after (`to`)."),
    )

    class Meta:
        model = FollowUpEvent
        fields = ["id", "at", "kind", "actor", "from_status", "to_status", "reason", "detail"]
        read_only_fields = fields


class FollowUpDetailSerializer(FollowUpSerializer):
    attempts = AttemptSerializer(many=True, read_only=True)
    history = FollowUpEventSerializer(source="events", many=True, read_only=True)

    class Meta(FollowUpSerializer.Meta):
        fields = [*FollowUpSerializer.Meta.fields, "attempts", "history"]
        read_only_fields = fields


class ProtocolStepSerializer(ModelSerializer):
    class Meta:
        model = ProtocolStep
        fields = [
            "id",
            "position",
            "name",
            "unit",
            "start",
            "due",
            "end",
            "method",
            "performer",
            "repeat_every",
            "repeat_times",
        ]
        read_only_fields = fields


class ProtocolVersionSerializer(ModelSerializer):
    steps = ProtocolStepSerializer(many=True, read_only=True)

    class Meta:
        model = ProtocolVersion
        fields = ["id", "number", "description", "end_rule", "created_at", "change_note", "steps"]
        read_only_fields = fields


class ProtocolSerializer(ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api-protocol-detail")
    current_version = serializers.SerializerMethodField(
        help_text=_("The version new enrolments follow; null when it has none yet.")
    )

    class Meta:
        model = Protocol
        fields = [
            "id",
            "url",
            "key",
            "name",
            "trigger",
            "intensive",
            "is_active",
            "created_at",
            "current_version",
        ]
        read_only_fields = fields

    @extend_schema_field(ProtocolVersionSerializer(allow_null=True))
    def get_current_version(self, obj):
        # The views prefetch `versions` newest first, with their steps.
        versions = list(obj.versions.all())
        if not versions:
            return None
        newest = max(versions, key=lambda v: v.number)
        return ProtocolVersionSerializer(newest, context=self.context).data


class HospitalVisitSerializer(ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api-hospital-visit-detail")
    client = ClientSummarySerializer(read_only=True)
    recorded_by = UserSummarySerializer(read_only=True)
    anchor_at = UTCDateTimeField(
        read_only=True,
        help_text=_("What follow-up protocols count from: the discharge when known."),
    )

    class Meta:
        model = HospitalVisit
        fields = [
            "id",
            "url",
            "case",
            "client",
            "kind",
            "reason",
            "arrived_at",
            "discharged_at",
            "admitted",
            "facility",
            "anchor_at",
            "source_contact",
            "recorded_by",
            "created_at",
        ]
        read_only_fields = fields


# --- Input -------------------------------------------------------------------------------


class FollowUpCreateSerializer(serializers.Serializer):
    case = VisibleCaseField()
    due_at = PlannedTimeField(help_text=_("When it is due (UTC when no offset is given)."))
    reason = _reason_field(help_text=_("Why it is needed; shown to whoever does it."))
    method = serializers.ChoiceField(choices=Method.choices, required=False, default=Method.PHONE)
    title = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    window_end = PlannedTimeField(
        max_ahead=MAX_DUE_AHEAD + datetime.timedelta(days=366),
        required=False,
        allow_null=True,
        default=None,
        help_text=_(
            "When it counts as missed; by default the end of the due day in the agency's time zone."
        ),
    )
    assigned_to = AgencyUserField(
        required=False,
        allow_null=True,
        default=None,
        help_text=_(
            "By default the case's assigned worker; else a worker who may work the "
            "case (its worker, its team, its team's supervisor)."
        ),
    )

    def validate(self, data):
        # Someone outside the case's scope could neither see nor work the follow-up, yet
        # would be notified of it (with the client's name): refused as an unknown user.
        assignee, case = data.get("assigned_to"), data.get("case")
        if (
            assignee is not None
            and case is not None
            and not Case.objects.writable_by(assignee).filter(pk=case.pk).exists()
        ):
            raise serializers.ValidationError(
                {"assigned_to": [gettext("Assign it to a worker who may work this case.")]}
            )
        return data


class AttemptInputSerializer(serializers.Serializer):
    """One try. The follow-up's case is given in the context as `case_id`."""

    outcome = serializers.ChoiceField(
        choices=AttemptOutcome.choices, help_text=_("`reached` completes the follow-up.")
    )
    method = serializers.ChoiceField(
        choices=Method.choices,
        required=False,
        allow_null=True,
        default=None,
        help_text=_("By default the follow-up's own method."),
    )
    note = _note_field()
    at = CallTimeField(
        required=False, allow_null=True, default=None, help_text=_("When; by default now.")
    )
    contact = CaseContactField(
        required=False,
        allow_null=True,
        default=None,
        help_text=_("The contact recorded for it, on the follow-up's case."),
    )
    plan_reviewed = _plan_answer_field(PLAN_REVIEWED_HELP)
    plan_changed = _plan_answer_field(PLAN_CHANGED_HELP)


class CompleteInputSerializer(serializers.Serializer):
    """Marking done. The follow-up's case is given in the context as `case_id`."""

    note = _note_field(max_length=REASON_MAX)
    contact = CaseContactField(
        required=False,
        allow_null=True,
        default=None,
        help_text=_("The contact that completed it, on the follow-up's case."),
    )
    at = CallTimeField(
        required=False,
        allow_null=True,
        default=None,
        help_text=_("When it was done; by default the contact's time, else now."),
    )
    plan_reviewed = _plan_answer_field(PLAN_REVIEWED_HELP)
    plan_changed = _plan_answer_field(PLAN_CHANGED_HELP)


class MoveInputSerializer(serializers.Serializer):
    due_at = PlannedTimeField(help_text=_("The new due time; the window moves with it."))
    reason = _reason_field(help_text=_("Why it moves; kept in its history."))


class CancelInputSerializer(serializers.Serializer):
    reason = _reason_field()


class HospitalVisitCreateSerializer(serializers.Serializer):
    case = VisibleCaseField()
    kind = serializers.ChoiceField(choices=VisitKind.choices, required=False, default=VisitKind.ED)
    reason = serializers.ChoiceField(
        choices=VisitReason.choices, help_text=_("The principal reason (HEDIS FUM or FUA).")
    )
    arrived_at = CallTimeField()
    discharged_at = CallTimeField(required=False, allow_null=True, default=None)
    admitted = serializers.BooleanField(
        required=False, default=False, help_text=_("The ER visit led to an inpatient stay.")
    )
    facility = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class DischargeInputSerializer(serializers.Serializer):
    discharged_at = CallTimeField()
    admitted = serializers.BooleanField(
        required=False,
        allow_null=True,
        default=None,
        help_text=_("Whether it led to an inpatient stay; unchanged when not given."),
    )
