"""Writing the audit trail. Every read and write of client data goes through `record`."""

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, NoReturn
from urllib.parse import parse_qsl, urlsplit

from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import HttpRequest
from django.utils.crypto import salted_hmac

from audit.models import Action, AuditEvent
from core.http import client_address
from core.i18n import StrOrPromise
from core.text import without_nul

if TYPE_CHECKING:
    # django-stubs' name for settings.AUTH_USER_MODEL: accounts.User, which sits a floor
    # above audit and so is not imported here.
    from django.contrib.auth.models import _User as Actor


# The trail is read by agency admins and by the system admin, who sees no client data: it
# keeps routes and ids, never what was typed. Query parameters whose values name nobody
# (choices, ids, dates, paging): their values may be kept as filters.
FILTER_NAMES = frozenset(
    {
        "action", "assigned_to", "assigned_worker", "case", "client", "client_id", "date_from",
        "date_to", "deidentified", "disposition", "due_after", "due_before", "end", "followup",
        "format", "has_open_case", "kind", "metric", "need_category", "opened_after",
        "opened_before", "opened_from", "opened_to", "ordering", "organization", "outcome",
        "page", "page_size", "period", "received_after", "received_before", "risk",
        "risk_level", "sent_from", "sent_to", "service", "show", "source", "start", "status",
        "team", "teams", "today", "user", "weeks", "worker",
    }
)  # fmt: skip
# Parameters that carry what someone typed to find a person: their names say how a search
# was made, their values never reach the trail.
SEARCH_NAMES = frozenset(
    {
        "date_of_birth", "estimated_age", "identifier_kind", "identifier_value", "legal_name",
        "name", "phone", "preferred_name", "q", "query", "search",
    }
)  # fmt: skip


def client_ip(request: HttpRequest | None) -> str | None:
    """The caller's address (core/http.py: X-Forwarded-For only as far as
    TRUSTED_PROXY_COUNT trusts it)."""
    if request is None:
        return None
    return client_address(request)


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
    that holds a secret, such as a provider link's token, is kept without it); either is
    cut to its route (`route_of`), and search terms in `detail` to their digests
    (`without_search_text`). Written outside any view transaction on purpose: a denied
    request still leaves its trace.
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
        path=route_of(path if path is not None else _request_path(request)),
        detail=without_nul(without_search_text(detail or {})),
    )


def _signed_in_user(request: HttpRequest | None) -> "Actor | None":
    user = getattr(request, "user", None)
    return user if user is not None and user.is_authenticated else None


def _storable_id(object_id: object) -> str:
    # An id taken from a URL may be anything: keep what fits, and no NUL (PostgreSQL
    # text cannot hold it), so that recording a refusal never fails.
    return str(object_id or "").replace("\x00", "")[:40]


def _request_path(request: HttpRequest | None) -> str:
    return request.get_full_path() if request is not None else ""


def route_of(path: str) -> str:
    """`path` as the trail keeps it: the route, and of its query only the names of known
    parameters (`?legal_name&phone`), never a value."""
    parts = urlsplit(path)
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    names = sorted({name for name, _ in pairs if name in FILTER_NAMES | SEARCH_NAMES})
    route = parts.path + ("?" + "&".join(names) if names else "")
    return route[:500]


def search_digest(text: str) -> str:
    """What the trail keeps of a search term: a keyed digest (SECRET_KEY), so that an
    investigator who has the term can find the searches for it, and nobody can read the
    term back from the trail."""
    normalised = " ".join(text.split()).casefold()
    return "hmac:" + salted_hmac("audit.search", normalised, algorithm="sha256").hexdigest()[:32]


def without_search_text(detail: Mapping[str, Any]) -> dict[str, Any]:
    """`detail` with every typed search term replaced by its digest: a top-level key named
    in SEARCH_NAMES, and in a `filters` mapping any text value whose name is not one of
    FILTER_NAMES (a page's filters may carry whatever was in its query string)."""
    kept = {}
    for key, value in detail.items():
        if key in SEARCH_NAMES and isinstance(value, str):
            value = search_digest(value) if value else value
        elif key == "filters" and isinstance(value, Mapping):
            value = {
                name: search_digest(text)
                if isinstance(text, str) and text and name not in FILTER_NAMES
                else text
                for name, text in value.items()
            }
        kept[key] = value
    return kept


def refuse(request: HttpRequest, page: str, message: StrOrPromise) -> NoReturn:
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
