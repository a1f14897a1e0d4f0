"""Query-string filters every list endpoint shares: a bad value is a 400 with the
parameter's message, never a database error nor a silently ignored filter."""

import datetime
from typing import Any

import django_filters
from django import forms
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema_field

from core.ids import MAX_ID


@extend_schema_field({"type": "integer", "minimum": 1, "maximum": MAX_ID})
class IdFilter(django_filters.NumberFilter):
    """An exact id; out-of-range numbers are a 400, never a database error."""

    # django-filter builds whatever form field a filter names; the stubs pin NumberFilter to
    # DecimalField.
    field_class = forms.IntegerField  # type: ignore[assignment]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


class UTCIsoDateTimeField(forms.DateTimeField):
    """ISO 8601; without an offset, UTC (as the API writes its times)."""

    def to_python(self, value: object) -> datetime.datetime | None:
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

    # NullBooleanField answers None as well as a bool; its stub ignores the same override.
    def to_python(self, value: object) -> bool | None:  # type: ignore[override]
        if value in self.empty_values:
            return None
        answer = {"true": True, "1": True, "false": False, "0": False}.get(str(value).lower())
        if answer is None:
            raise forms.ValidationError(_("Give true or false."), code="invalid")
        return answer


class StrictBooleanFilter(django_filters.BooleanFilter):
    field_class = StrictBooleanField
