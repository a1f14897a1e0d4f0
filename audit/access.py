"""The audited fetch every app's access helper is built on (cases/access.py,
followups/access.py, referrals/access.py) and the audit row of a refused request.

Invisible records answer 404 exactly as if they did not exist (another agency's data must
not even be confirmed to exist); a visible record the user may not change answers 403.
Every refusal and every read is written to the audit trail.
"""

from typing import TypeVar

from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import Http404, HttpRequest
from django.utils.translation import gettext as _

from audit.models import Action
from audit.services import record as audit
from core.ids import as_id

_M = TypeVar("_M", bound=models.Model)


def record_denied(
    request: HttpRequest, model: type[models.Model], pk: object, reason: str, **detail: object
) -> None:
    """Audit a refused request for a record (404 or 403), in the trail of the agency
    that owns the record, else the actor's own."""
    pk_id = as_id(pk)
    target = model._default_manager.filter(pk=pk_id).values("agency_id").first() if pk_id else None
    audit(
        request=request,
        action=Action.DENIED,
        object_type=model._meta.model_name or "",
        object_id=pk,
        agency_id=target["agency_id"] if target else None,
        detail={"reason": reason, **detail},
    )


def get_for_user(
    request: HttpRequest,
    model: type[_M],
    queryset: models.QuerySet[_M],
    writable_queryset: models.QuerySet[_M],
    pk: object,
    write: bool,
    audit_read: bool,
) -> _M:
    """The `model` row `pk` from `queryset` (what the user may see), checked against
    `writable_queryset` when `write`; the shared core of every client-record helper."""
    pk_id = as_id(pk)
    obj = queryset.filter(pk=pk_id).first() if pk_id else None
    if obj is None:
        record_denied(request, model, pk, "not visible")
        raise Http404(_("No %(thing)s found.") % {"thing": model._meta.verbose_name})
    if write and not writable_queryset.filter(pk=obj.pk).exists():
        record_denied(request, model, pk, "read only")
        raise PermissionDenied(
            _("You may view this %(thing)s but not change it.")
            % {"thing": model._meta.verbose_name}
        )
    if audit_read:
        audit(request=request, action=Action.VIEW, obj=obj)
    return obj
