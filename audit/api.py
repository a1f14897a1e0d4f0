"""The viewset mixin every client-record API is built on: detail routes fetch through
the app's access helper, lists are audited with the ids they show."""

from collections.abc import Callable, Sequence
from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import permissions
from rest_framework.parsers import BaseParser

from audit.services import record_list, refuse
from core.api import PARSER_CLASSES

WORKERS_ONLY = _("Only social workers and supervisors record clients and contacts.")


class AccessHelperMixin:
    """Detail routes fetch through the access helper (404 and a DENIED audit row when
    invisible, 403 when read-only, a VIEW row on a read); lists are audited with the ids
    they show."""

    # The app's access helper: (request, pk, *, write, audit_read) -> the record.
    access_helper: Callable[..., Any] | None = None
    audit_object_type = ""
    parser_classes: Sequence[type[BaseParser]] = PARSER_CLASSES
    # Any id segment reaches the access helper, which answers a JSON 404 for one that
    # cannot be an id; the router's default leaves "1.5" to Django's HTML page.
    lookup_value_regex = "[^/]+"
    # Actions that only answer 405 with a pointer to the right route: Allow leaves them out.
    refused_actions: tuple[str, ...] = ()

    @property
    def allowed_methods(self):
        action_map = getattr(self, "action_map", {})
        refused = {m.upper() for m, name in action_map.items() if name in self.refused_actions}
        return [method for method in super().allowed_methods if method not in refused]

    def get_object(self):
        write = self.request.method not in permissions.SAFE_METHODS
        obj = type(self).access_helper(
            self.request, self.kwargs[self.lookup_field], write=write, audit_read=not write
        )
        self.check_object_permissions(self.request, obj)
        return obj

    def list(self, request, *args, **kwargs):
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        record_list(
            request=request,
            object_type=self.audit_object_type,
            objects=page,
            client_ids=[self.client_id_of(obj) for obj in page],
        )
        serializer = self.get_serializer(page, many=True)
        return self.get_paginated_response(serializer.data)

    def client_id_of(self, obj):
        return obj.client_id

    def paginated(self, queryset, serializer_class):
        page = self.paginate_queryset(queryset)
        serializer = serializer_class(page, many=True, context=self.get_serializer_context())
        return self.get_paginated_response(serializer.data)

    @staticmethod
    def require_case_worker(request):
        if not request.user.works_cases:
            page = "api:" + request.path.strip("/").split("/")[2]
            refuse(request, page, WORKERS_ONLY)
