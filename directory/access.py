"""The one way pages and API endpoints fetch a directory row.

Another agency's own rows answer 404 exactly as rows that do not exist, with a DENIED
audit row in the trail of the agency that owns them; a visible row the user may not edit
answers 403 (also audited).
"""

import uuid
from typing import TypeVar, cast

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from audit.models import Action
from audit.services import record as audit
from directory.models import DirectoryQuerySet, HsdsModel

_Row = TypeVar("_Row", bound=HsdsModel)

# The refusals for the rows pages and the API fetch, as whole sentences (a model's
# verbose_name is not translated): (not found, read only) by model name.
REFUSALS = {
    "organization": (
        gettext_lazy("No organization found."),
        gettext_lazy("You may view this organization but not change it."),
    ),
    "service": (
        gettext_lazy("No service found."),
        gettext_lazy("You may view this service but not change it."),
    ),
    "location": (
        gettext_lazy("No location found."),
        gettext_lazy("You may view this location but not change it."),
    ),
}


def _refusal(model: type[HsdsModel], which: int) -> str:
    words = REFUSALS.get(model._meta.model_name or "")
    if words is not None:
        return str(words[which])
    kind = {"kind": model._meta.verbose_name}
    if which == 0:
        return _("No %(kind)s found.") % kind
    return _("You may view this %(kind)s but not change it.") % kind


def parse_uuid(pk: object) -> uuid.UUID | None:
    """`pk` as a UUID, or None when it cannot be one."""
    try:
        return uuid.UUID(str(pk))
    except (TypeError, ValueError, AttributeError):
        return None


def get_directory_row_for_user(
    request: HttpRequest,
    model: type[_Row],
    pk: object,
    *,
    write: bool = False,
    queryset: DirectoryQuerySet[_Row] | None = None,
) -> _Row:
    """The `model` row `pk` as `request.user` may see it (`queryset` for joins)."""
    user = request.user
    key = parse_uuid(pk)
    base = queryset if queryset is not None else model.objects.all()
    # `model.objects` types as the base model's manager; its rows are `model`'s.
    obj = cast(_Row | None, base.visible_to(user).filter(pk=key).first() if key else None)
    if obj is None:
        owner = model.objects.filter(pk=key).values("agency_id").first() if key else None
        audit(
            request=request,
            action=Action.DENIED,
            object_type=model._meta.model_name or "",
            object_id=str(pk),
            agency_id=owner["agency_id"] if owner else None,
            detail={"reason": "not visible"},
        )
        raise Http404(_refusal(model, 0))
    if write and not model.objects.editable_by(user).filter(pk=obj.pk).exists():
        audit(
            request=request,
            action=Action.DENIED,
            obj=obj,
            detail={"reason": "read only"},
        )
        raise PermissionDenied(_refusal(model, 1))
    return obj
