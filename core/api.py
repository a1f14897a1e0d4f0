"""Project-wide API plumbing: pagination, parsers, field types and the one exception
handler. Imported by DRF's settings, so it imports no views."""

import datetime
import io
from collections.abc import Mapping
from typing import IO, TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import (
    NON_FIELD_ERRORS,
    PermissionDenied,
    RequestDataTooBig,
    SuspiciousOperation,
    ValidationError,
)
from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import exceptions, parsers, serializers, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

from core.exceptions import DomainError
from core.ids import MAX_ID
from core.pagination import DeferredJoinPaginator

if TYPE_CHECKING:
    from django.http.request import _ImmutableQueryDict


class Pagination(PageNumberPagination):
    """Pages of 25. `page_size` asks for more or fewer (more than 100 gives 100); one that
    is not a whole number from 1 is a 400 rather than quietly the default."""

    django_paginator_class = DeferredJoinPaginator
    page_size = 25
    page_size_query_param = "page_size"
    max_page_size = 100

    def get_page_size(self, request: Request) -> int | None:
        value = request.query_params.get(self.page_size_query_param, "")
        if value == "":
            return self.page_size
        digits = value.lstrip("0") if value.isascii() and value.isdigit() else ""
        if not digits:
            raise exceptions.ValidationError(
                {self.page_size_query_param: [_("Give a whole number from 1.")]}
            )
        return min(int(digits) if len(digits) < 10 else self.max_page_size, self.max_page_size)

    def get_schema_operation_parameters(self, view: APIView) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["schema"]["minimum"] = 1
            if parameter["name"] == self.page_size_query_param:
                parameter["description"] = (
                    f"Results per page, {self.page_size} unless given; "
                    f"more than {self.max_page_size} gives {self.max_page_size}."
                )
        return parameters


class RequestTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = gettext_lazy("The request body is too large.")
    default_code = "request_too_large"


def _read_limited(stream: IO[bytes] | None) -> bytes:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    if stream is None:
        return b""
    body = stream.read() if limit is None else stream.read(limit + 1)
    if limit is not None and len(body) > limit:
        raise RequestTooLarge()
    return body


class JSONParser(parsers.JSONParser):
    """JSON bodies, refused past DATA_UPLOAD_MAX_MEMORY_SIZE as Django refuses large forms.

    DRF reads a body straight from the request stream, which skips Django's own size check.
    """

    def parse(
        self,
        stream: IO[Any],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        body = _read_limited(stream)
        try:
            data = super().parse(io.BytesIO(body), media_type, parser_context)
        except RecursionError as exc:
            raise exceptions.ParseError(_("JSON parse error - nested too deeply.")) from exc
        field = _lone_surrogate_field(data)
        if field is not None:
            # JSON can escape half of a UTF-16 pair ("\ud800"): not text, and nothing that
            # stores, logs or answers it in UTF-8 can encode it.
            message = _("Text cannot hold a lone surrogate (half of a UTF-16 pair).")
            raise exceptions.ParseError({field: [message]} if field else message)
        return data


def _lone_surrogate_field(data: object) -> str | None:
    """The top-level field whose value holds a lone surrogate; "" when the body itself or
    a top-level name does; None when there is none."""
    if isinstance(data, dict):
        fields: dict[str, object] = data  # a JSON object's names are strings
        for key, value in fields.items():
            if _has_lone_surrogate(key):
                return ""
            if _has_lone_surrogate(value):
                return key
        return None
    return "" if _has_lone_surrogate(data) else None


def _has_lone_surrogate(data: object) -> bool:
    pending = [data]
    while pending:
        item = pending.pop()
        if isinstance(item, str) and not item.isascii():
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return True
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


class FormParser(parsers.FormParser):
    """URL-encoded forms, with the same size limit as JSONParser."""

    def parse(
        self,
        stream: IO[Any],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> "_ImmutableQueryDict":
        body = _read_limited(stream)
        return super().parse(io.BytesIO(body), media_type, parser_context)


# What every API view accepts: JSON, and the plain form the token endpoint is often sent.
PARSER_CLASSES: list[type[parsers.BaseParser]] = [JSONParser, FormParser]


class UTCDateTimeField(serializers.DateTimeField):
    """ISO 8601 in UTC both ways, whatever time zone the request runs in (pages activate
    the agency's). A time given without an offset is taken as UTC."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("default_timezone", datetime.UTC)
        super().__init__(**kwargs)


class IdField(serializers.IntegerField):
    """A positive database id. Out-of-range numbers are refused before any query."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(**kwargs)


class ModelSerializer(serializers.ModelSerializer):
    """ModelSerializer whose datetimes are UTC."""

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.DateTimeField: UTCDateTimeField,
    }


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Turn domain and Django validation errors into 400s with per-field messages (a
    DomainError naming a `field` answers under it too); a refusal of the kind
    "not permitted" answers 403."""
    if isinstance(exc, DomainError) and exc.code == "not_permitted":
        exc = PermissionDenied(str(exc))
    elif isinstance(exc, DomainError):
        data: dict[str, str | list[str]] = {"detail": str(exc), "code": exc.code}
        field = getattr(exc, "field", None)
        if field:
            data[field] = [str(exc)]
        return Response(data, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, ValidationError):
        if hasattr(exc, "error_dict"):
            data = {
                ("non_field_errors" if field == NON_FIELD_ERRORS else field): messages
                for field, messages in exc.message_dict.items()
            }
        else:
            data = {"detail": exc.messages}
        return Response(data, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, RequestDataTooBig):
        exc = RequestTooLarge()
    elif isinstance(exc, SuspiciousOperation):
        exc = exceptions.ParseError(_("The request could not be read."))
    if isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    return drf_exception_handler(exc, context)
