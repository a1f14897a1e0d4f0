"""Writing the audit trail. Every read and write of client data goes through `record`."""

from django.core.exceptions import PermissionDenied

from audit.models import Action, AuditEvent
from casebook.text import without_nul


def client_ip(request):
    """The caller's address. Behind a proxy, set the proxy to pass REMOTE_ADDR through
    (gunicorn's --forwarded-allow-ips); we do not trust X-Forwarded-For blindly."""
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def record(
    *,
    request=None,
    actor=None,
    action: str,
    obj=None,
    object_type: str = "",
    object_id="",
    client_id=None,
    agency=None,
    agency_id=None,
    detail: dict | None = None,
    path: str | None = None,
) -> AuditEvent:
    """Append one audit event.

    `obj` may be any model instance; its type, id, agency and client are read from it
    where it has them. `path`, when given, is kept instead of the request's own (a path
    that holds a secret, such as a provider link's token, is kept without it). Written
    outside any view transaction on purpose: a denied request still leaves its trace.
    """
    user = getattr(request, "user", None)
    if actor is None and user is not None and user.is_authenticated:
        actor = user
    if agency is not None:
        agency_id = agency.pk
    if obj is not None:
        object_type = object_type or obj._meta.model_name
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
        # An id taken from a URL may be anything: keep what fits, and no NUL (PostgreSQL
        # text cannot hold it), so that recording a refusal never fails.
        object_id=str(object_id or "").replace("\x00", "")[:40],
        client_id=client_id,
        ip_address=client_ip(request),
        path=path[:500] if path is not None else _request_path(request),
        detail=without_nul(detail or {}),
    )


def _request_path(request) -> str:
    return request.get_full_path()[:500] if request is not None else ""


def refuse(request, page: str, message: str):
    """403 for a role that has no business on `page`, with its trace in the trail."""
    record(request=request, action=Action.DENIED, object_type=page, detail={"reason": "role"})
    raise PermissionDenied(message)


def record_list(*, request, object_type: str, objects, client_ids=None, detail=None):
    """One event for a page or API list of client records, naming every id shown."""
    ids = [o.pk for o in objects]
    data = {"ids": ids, **(detail or {})}
    if client_ids is not None:
        data["client_ids"] = sorted(set(client_ids))
    return record(request=request, action=Action.LIST, object_type=object_type, detail=data)


def _client_id_of(obj):
    if obj._meta.model_name == "client":
        return obj.pk
    return getattr(obj, "client_id", None)
