"""Project-wide API plumbing: pagination, parsers, field types and the one exception
handler. Imported by DRF's settings, so it imports no views."""

import datetime
import io

from django.conf import settings
from django.core.exceptions import (
    NON_FIELD_ERRORS,
    PermissionDenied,
    RequestDataTooBig,
    SuspiciousOperation,
    ValidationError,
)
from django.db import models
from rest_framework import exceptions, parsers, serializers, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from casebook.exceptions import DomainError

# The largest value of a PostgreSQL bigint: larger ids cannot exist, and must not reach
# the database as a query parameter.
MAX_ID = 2**63 - 1


class Pagination(PageNumberPagination):
    page_size = 25
    page_size_query_param = "page_size"
    max_page_size = 100


class RequestTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "request_too_large"


def _read_limited(stream):
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

    def parse(self, stream, media_type=None, parser_context=None):
        body = _read_limited(stream)
        try:
            return super().parse(io.BytesIO(body), media_type, parser_context)
        except RecursionError as exc:
            raise exceptions.ParseError("JSON parse error - nested too deeply.") from exc


class FormParser(parsers.FormParser):
    """URL-encoded forms, with the same size limit as JSONParser."""

    def parse(self, stream, media_type=None, parser_context=None):
        body = _read_limited(stream)
        return super().parse(io.BytesIO(body), media_type, parser_context)


# What every API view accepts: JSON, and the plain form the token endpoint is often sent.
PARSER_CLASSES = [JSONParser, FormParser]


class UTCDateTimeField(serializers.DateTimeField):
    """ISO 8601 in UTC both ways, whatever time zone the request runs in (pages activate
    the agency's). A time given without an offset is taken as UTC."""

    def __init__(self, **kwargs):
        kwargs.setdefault("default_timezone", datetime.UTC)
        super().__init__(**kwargs)


class IdField(serializers.IntegerField):
    """A positive database id. Out-of-range numbers are refused before any query."""

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(**kwargs)


class ModelSerializer(serializers.ModelSerializer):
    """ModelSerializer whose datetimes are UTC."""

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.DateTimeField: UTCDateTimeField,
    }


def exception_handler(exc, context):
    """Turn domain and Django validation errors into 400s with per-field messages."""
    if isinstance(exc, DomainError):
        return Response({"detail": str(exc), "code": exc.code}, status=status.HTTP_400_BAD_REQUEST)
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
        exc = exceptions.ParseError("The request could not be read.")
    if isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    return drf_exception_handler(exc, context)
