"""Writing the audit trail. Every read and write of client data goes through `record`."""

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, NoReturn

from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import HttpRequest

from audit.models import Action, AuditEvent
from core.text import without_nul

if TYPE_CHECKING:
    # django-stubs' name for settings.AUTH_USER_MODEL: accounts.User, which sits a floor
    # above audit and so is not imported here.
    from django.contrib.auth.models import _User as Actor


def client_ip(request: HttpRequest | None) -> str | None:
    """The caller's address. Behind a proxy, set the proxy to pass REMOTE_ADDR through
    (gunicorn's --forwarded-allow-ips); we do not trust X-Forwarded-For blindly."""
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def record(
    *,
    request: HttpRequest | None = None,
    actor: "Actor | None" = None,
    action: str,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: object = "",
    client_id: int | None = None,
    agency: models.Model | None = None,
    agency_id: int | None = None,
    detail: dict[str, Any] | None = None,
    path: str | None = None,
) -> AuditEvent:
    """Append one audit event.

    `obj` may be any model instance; its type, id, agency and client are read from it
    where it has them. `path`, when given, is kept instead of the request's own (a path
    that holds a secret, such as a provider link's token, is kept without it). Written
    outside any view transaction on purpose: a denied request still leaves its trace.
    """
    if actor is None:
        actor = _signed_in_user(request)
    if agency is not None:
        agency_id = agency.pk
    if obj is not None:
        object_type = object_type or obj._meta.model_name or ""
        object_id = object_id or obj.pk
        if client_id is None:
            client_id = _client_id_of(obj)
        if agency_id is None:
            agency_id = getattr(obj, "agency_id", None)
    if agency_id is None and actor is not None:
        agency_id = actor.agency_id
    return AuditEvent.objects.create(
        actor=actor,
        actor_username=getattr(actor, "username", "") or "",
        agency_id=agency_id,
        action=action,
        object_type=object_type,
        object_id=_storable_id(object_id),
        client_id=client_id,
        ip_address=client_ip(request),
        path=path[:500] if path is not None else _request_path(request),
        detail=without_nul(detail or {}),
    )


def _signed_in_user(request: HttpRequest | None) -> "Actor | None":
    user = getattr(request, "user", None)
    return user if user is not None and user.is_authenticated else None


def _storable_id(object_id: object) -> str:
    # An id taken from a URL may be anything: keep what fits, and no NUL (PostgreSQL
    # text cannot hold it), so that recording a refusal never fails.
    return str(object_id or "").replace("\x00", "")[:40]


def _request_path(request: HttpRequest | None) -> str:
    return request.get_full_path()[:500] if request is not None else ""


def refuse(request: HttpRequest, page: str, message: str) -> NoReturn:
    """403 for a role that has no business on `page`, with its trace in the trail."""
    record(request=request, action=Action.DENIED, object_type=page, detail={"reason": "role"})
    raise PermissionDenied(message)


def record_list(
    *,
    request: HttpRequest,
    object_type: str,
    objects: Iterable[models.Model],
    client_ids: Iterable[int] | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """One event for a page or API list of client records, naming every id shown."""
    ids = [o.pk for o in objects]
    data = {"ids": ids, **(detail or {})}
    if client_ids is not None:
        data["client_ids"] = sorted(set(client_ids))
    return record(request=request, action=Action.LIST, object_type=object_type, detail=data)


def _client_id_of(obj: models.Model) -> int | None:
    if obj._meta.model_name == "client":
        pk: int = obj.pk
        return pk
    return getattr(obj, "client_id", None)
