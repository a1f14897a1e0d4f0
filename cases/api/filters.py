"""List filters of the clients, cases and contacts API. They narrow a queryset that is
already scoped by visible_to(user): an id of another agency's record matches nothing."""

import datetime

import django_filters
from django import forms
from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import extend_schema_field

from casebook.api import MAX_ID
from cases.cssrs import RiskLevel
from cases.models import Case, CaseStatus, Client, Contact, ContactSource, Disposition


@extend_schema_field({"type": "integer", "minimum": 1, "maximum": MAX_ID})
class IdFilter(django_filters.NumberFilter):
    """An exact id; out-of-range numbers are a 400, never a database error."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


class UTCIsoDateTimeField(forms.DateTimeField):
    """ISO 8601; without an offset, UTC (as the API writes its times)."""

    def to_python(self, value):
        if value in self.empty_values:
            return None
        try:
            parsed = parse_datetime(str(value).strip())
        except ValueError:
            parsed = None
        if parsed is None:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        if parsed.tzinfo is None:
            return parsed.replace(tzinfo=datetime.UTC)
        # In UTC: PostgreSQL refuses offsets past 15:59, which Python reads.
        try:
            return parsed.astimezone(datetime.UTC)
        except OverflowError:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from None


class UTCIsoDateTimeFilter(django_filters.DateTimeFilter):
    field_class = UTCIsoDateTimeField


class StrictBooleanField(forms.NullBooleanField):
    """true or false (1 or 0); anything else is an error rather than no filter at all."""

    widget = forms.TextInput

    def to_python(self, value):
        if value in self.empty_values:
            return None
        answer = {"true": True, "1": True, "false": False, "0": False}.get(str(value).lower())
        if answer is None:
            raise forms.ValidationError("Give true or false.", code="invalid")
        return answer


class StrictBooleanFilter(django_filters.BooleanFilter):
    field_class = StrictBooleanField


class ClientFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        method="filter_search", max_length=200, label="Name, phone or identifier"
    )
    has_open_case = StrictBooleanFilter(
        method="filter_has_open_case", label="Has an open case you can see"
    )

    def filter_search(self, queryset, name, value):
        return queryset.search(value)

    def filter_has_open_case(self, queryset, name, value):
        # `open_case_id` is annotated by the view: the open case the user may see.
        return queryset.filter(open_case_id__isnull=not value)

    class Meta:
        model = Client
        fields = []


class CaseFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=CaseStatus.choices)
    risk_level = django_filters.ChoiceFilter(choices=RiskLevel.choices)
    assigned_worker = IdFilter(field_name="assigned_worker_id")
    team = IdFilter(field_name="team_id")
    client = IdFilter(field_name="client_id")
    opened_after = UTCIsoDateTimeFilter(field_name="opened_at", lookup_expr="gte")
    opened_before = UTCIsoDateTimeFilter(field_name="opened_at", lookup_expr="lt")

    class Meta:
        model = Case
        fields = []


class ContactFilter(django_filters.FilterSet):
    case = IdFilter(field_name="case_id")
    client = IdFilter(field_name="client_id")
    source = django_filters.ChoiceFilter(choices=ContactSource.choices)
    disposition = django_filters.ChoiceFilter(choices=Disposition.choices)
    risk_level = django_filters.ChoiceFilter(choices=RiskLevel.choices)
    received_after = UTCIsoDateTimeFilter(field_name="received_at", lookup_expr="gte")
    received_before = UTCIsoDateTimeFilter(field_name="received_at", lookup_expr="lt")

    class Meta:
        model = Contact
        fields = []
