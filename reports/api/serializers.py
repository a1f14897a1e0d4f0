from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import serializers

from accounts.models import Role, Team, User
from core.api import ModelSerializer, UTCDateTimeField
from directory.models import NeedCategory, Organization, Service
from referrals.models import Outcome
from reports.forms import filters_from
from reports.models import ExportFormat, ExportJob, ExportStatus
from reports.report import REPORTED_STATUSES, validate_period_day


class ReferralFiltersSerializer(serializers.Serializer):
    """The report's filters, as query parameters or in an export request. Teams and
    workers of another agency, and directory rows the user cannot see, are refused as
    unknown ids."""

    sent_from = serializers.DateField(
        required=False,
        validators=[validate_period_day],
        help_text=gettext_lazy("Sent on or after (agency time)"),
    )
    sent_to = serializers.DateField(
        required=False,
        validators=[validate_period_day],
        help_text=gettext_lazy("Sent on or before (agency time)"),
    )
    team = serializers.PrimaryKeyRelatedField(
        queryset=Team.objects.none(), required=False, help_text=gettext_lazy("The case's team")
    )
    worker = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.none(),
        required=False,
        help_text=gettext_lazy("Who made the referral"),
    )
    need_category = serializers.ChoiceField(choices=NeedCategory.choices, required=False)
    organization = serializers.PrimaryKeyRelatedField(
        queryset=Organization.objects.none(), required=False, pk_field=serializers.UUIDField()
    )
    service = serializers.PrimaryKeyRelatedField(
        queryset=Service.objects.none(), required=False, pk_field=serializers.UUIDField()
    )
    status = serializers.ChoiceField(choices=REPORTED_STATUSES, required=False)
    outcome = serializers.ChoiceField(choices=Outcome.choices, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.agency_id:
            self.fields["team"].queryset = Team.objects.filter(agency_id=user.agency_id)
            self.fields["worker"].queryset = User.objects.filter(
                agency_id=user.agency_id, role__in=[Role.SOCIAL_WORKER, Role.SUPERVISOR]
            )
            self.fields["organization"].queryset = Organization.objects.visible_to(user)
            self.fields["service"].queryset = Service.objects.visible_to(user)

    def validate(self, data):
        start, end = data.get("sent_from"), data.get("sent_to")
        if start and end and start > end:
            raise serializers.ValidationError(
                {"sent_to": _("The end date is before the start date.")}
            )
        return data

    def filters(self) -> dict:
        return filters_from(self.validated_data)


class ReportQuerySerializer(ReferralFiltersSerializer):
    format = serializers.ChoiceField(
        choices=["json", "csv", "xlsx"],
        default="json",
        help_text=gettext_lazy("json: the summary; csv (streamed) or xlsx: the rows"),
    )
    deidentified = serializers.BooleanField(
        default=True,
        help_text=gettext_lazy(
            "For csv and xlsx: false adds names, birth dates and phone numbers "
            "(needs referrals.export_identified)"
        ),
    )


class RateSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    of = serializers.IntegerField(help_text=gettext_lazy("The denominator: referrals sent"))
    percent = serializers.FloatField(allow_null=True)


class StatusRateSerializer(RateSerializer):
    status = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]  # a declared field, not Field.label


class OutcomeRateSerializer(RateSerializer):
    outcome = serializers.CharField(help_text=gettext_lazy('"" for referrals with no outcome yet'))
    label = serializers.CharField()  # type: ignore[assignment]  # a declared field, not Field.label


class MedianSerializer(serializers.Serializer):
    days = serializers.FloatField(allow_null=True)
    of = serializers.IntegerField(help_text=gettext_lazy("How many referrals the median is over"))


class CategoryRowSerializer(serializers.Serializer):
    need_category = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]  # a declared field, not Field.label
    total = serializers.IntegerField()
    outcomes = serializers.DictField(
        child=serializers.IntegerField(),
        help_text=gettext_lazy('Count per outcome ("" for none yet)'),
    )


class ReportSummarySerializer(serializers.Serializer):
    """The report's numbers (documentation of Summary.as_dict)."""

    total_sent = serializers.IntegerField()
    by_status = StatusRateSerializer(many=True)
    by_outcome = OutcomeRateSerializer(many=True)
    connected = RateSerializer(help_text=gettext_lazy("Completed with a service date"))
    connection_rate = serializers.FloatField(
        allow_null=True, help_text=gettext_lazy("Percent of sent")
    )
    loops_closed = RateSerializer()
    accepted = RateSerializer()
    median_days_to_acceptance = MedianSerializer()
    median_days_to_first_service = MedianSerializer()
    median_days_to_closure = MedianSerializer()
    by_category = CategoryRowSerializer(many=True)


class ExportRequestSerializer(serializers.Serializer):
    format = serializers.ChoiceField(choices=ExportFormat.choices)
    deidentified = serializers.BooleanField(default=True)
    filters = serializers.DictField(required=False, default=dict)

    def validate_filters(self, value):
        nested = ReferralFiltersSerializer(data=value, context=self.context)
        nested.is_valid(raise_exception=True)
        return nested.filters()


class ExportJobSerializer(ModelSerializer):
    progress_percent = serializers.IntegerField(read_only=True)
    download_url = serializers.SerializerMethodField()
    created_at = UTCDateTimeField(read_only=True)

    class Meta:
        model = ExportJob
        fields = [
            "id",
            "kind",
            "format",
            "deidentified",
            "filters",
            "status",
            "rows_total",
            "rows_done",
            "progress_percent",
            "error",
            "created_at",
            "started_at",
            "finished_at",
            "download_url",
        ]
        read_only_fields = fields

    def get_download_url(self, job) -> str | None:
        if job.status != ExportStatus.DONE or not job.file_path:
            return None
        return reverse("api-report-export-download", args=[job.pk])
