"""List filters of the clients, cases and contacts API. They narrow a queryset that is
already scoped by visible_to(user): an id of another agency's record matches nothing."""

import django_filters
from django.utils.translation import gettext_lazy as _

from cases.cssrs import RiskLevel
from cases.models import Case, CaseStatus, Client, Contact, ContactSource, Disposition
from core.api_filters import IdFilter, StrictBooleanFilter, UTCIsoDateTimeFilter


class ClientFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        method="filter_search", max_length=200, label=_("Name, phone or identifier")
    )
    has_open_case = StrictBooleanFilter(
        method="filter_has_open_case", label=_("Has an open case you can see")
    )

    def filter_search(self, queryset, name, value):
        return queryset.search(value)

    def filter_has_open_case(self, queryset, name, value):
        # `open_case_id` is annotated by the view: the open case the user may see.
        return queryset.filter(open_case_id__isnull=not value)

    class Meta:
        model = Client
        fields: list[str] = []


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
        fields: list[str] = []


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
        fields: list[str] = []
