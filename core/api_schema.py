"""The OpenAPI schema class of the API (DEFAULT_SCHEMA_CLASS).

drf-spectacular documents only the answer an operation gives when it succeeds; clients
generated from the schema also need to know the refusals they will meet, and that bodies
are JSON. Kept apart from core.api, which DRF imports while it is still loading.
"""

from typing import Any

from drf_spectacular import openapi
from drf_spectacular.plumbing import ResolvedComponent
from drf_spectacular.utils import Direction

WRITE_METHODS = ("POST", "PUT", "PATCH")

ERROR_SCHEMA = {
    "type": "object",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}
VALIDATION_ERROR_SCHEMA = {
    "type": "object",
    "description": "Field name -> list of messages (nested like the field, for nested "
    "input); `non_field_errors` for the body as a whole; `detail`, with a `code` when a "
    "rule of the record refuses the change, when the request as a whole is refused.",
    "additionalProperties": {},
    "minProperties": 1,
}


class AutoSchema(openapi.AutoSchema):
    """Documents every refusal an operation can answer with its body, and JSON request
    bodies only: a form cannot carry the nulls, lists and nested objects the API takes.
    A view whose body a form can carry sets `document_form_bodies = True`."""

    def map_parsers(self) -> list[Any]:
        media_types = super().map_parsers()
        if getattr(self.view, "document_form_bodies", False):
            return media_types
        return [media_type for media_type in media_types if media_type == "application/json"]

    def _get_response_bodies(self, direction: Direction = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        for code, (component, description) in self.refusals().items():
            responses.setdefault(
                code,
                {
                    "content": {"application/json": {"schema": component}},
                    "description": description,
                },
            )
        return responses

    def refusals(self) -> dict[str, tuple[dict[str, Any], str]]:
        """Status code -> (schema, description) of the 4xx answers of this operation."""
        error = self._component("Error", ERROR_SCHEMA)
        refusals: dict[str, tuple[dict[str, Any], str]] = {}
        writes = self.method in WRITE_METHODS
        paginated = self._is_list_view() and self._get_paginator() is not None
        filtered = self._is_list_view() and getattr(self.view, "filterset_class", None)
        if writes or paginated or filtered:
            invalid = self._component("ValidationError", VALIDATION_ERROR_SCHEMA)
            refusals["400"] = (invalid, "The request is not valid; the body says why.")
        if self.get_auth():
            refusals["401"] = (error, "No valid token: send `Authorization: Token <token>`.")
            if writes:
                refusals["403"] = (
                    error,
                    "You may not make this change: your role, or read-only access to the record.",
                )
        missing = []
        if "{" in self.path:
            missing.append("No such record, or one you may not see (both answer alike).")
        if paginated:
            missing.append("No such page.")
        if missing:
            refusals["404"] = (error, " ".join(missing))
        if writes:
            refusals["413"] = (error, "The request body is too large.")
            refusals["415"] = (error, "The request body is not in a format the API reads.")
        if getattr(self.view, "throttle_classes", None):
            refusals["429"] = (error, "Too many attempts; try again later.")
        return refusals

    def _component(self, name: str, schema: dict[str, Any]) -> dict[str, Any]:
        component = ResolvedComponent(
            name=name, type=ResolvedComponent.SCHEMA, schema=schema, object=name
        )
        self.registry.register_on_missing(component)
        return component.ref
