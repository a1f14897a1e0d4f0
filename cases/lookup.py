"""Likely clients as a user may be shown them: their own scope as always, and outside it
only the strict matches of cases.matching.find_outside_clients.

A lookup outside one's scope is counted against a per-user rate limit
(settings.OUTSIDE_SCOPE_LOOKUP_RATE) and audited: who, when, where, whether anyone was
found and whom, never what was typed. Past the limit nothing outside is looked up, and
one audit row says the limit was hit in that window.
"""

from dataclasses import dataclass, field

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from audit.models import Action
from audit.services import record as audit
from cases.matching import (
    Suggestion,
    can_look_outside,
    find_likely_clients,
    find_outside_clients,
)
from cases.models import Client
from core.ratelimit import count

OUTSIDE_GROUP = "cases.outside_scope_lookup"
LIMITED_MESSAGE = _(
    "You have looked for clients outside your caseload too often: only your own clients "
    "are searched for now. Try again later, or ask your supervisor."
)


@dataclass
class Lookup:
    suggestions: list[Suggestion] = field(default_factory=list)
    # The outside lookup was refused: past the user's rate limit.
    limited: bool = False


def outside_lookup_allowed(request, *, page: str) -> bool:
    """Count one lookup outside the user's scope; False past the limit (the first refusal
    of the window audited)."""
    user = request.user
    usage = count(
        request, group=OUTSIDE_GROUP, who=str(user.pk), rate=settings.OUTSIDE_SCOPE_LOOKUP_RATE
    )
    if usage.first_refusal:
        audit(
            request=request,
            action=Action.DENIED,
            object_type="client",
            detail={"reason": "rate limit", "scope": "outside", "page": page},
            path=request.path,
        )
    return not usage.limited


def record_outside_lookup(request, *, page: str, found: list[Suggestion]) -> None:
    audit(
        request=request,
        action=Action.SEARCH,
        object_type="client",
        detail={
            "scope": "outside",
            "page": page,
            "matched": bool(found),
            "ids": [s.client.pk for s in found],
        },
        # Without the query string: it holds what was typed.
        path=request.path,
    )


def search_outside(
    request,
    *,
    page: str,
    legal_name: str = "",
    preferred_name: str = "",
    date_of_birth=None,
    phone: str = "",
    exclude_pk=None,
) -> Lookup:
    """Clients outside the user's scope for a whole name and a full date of birth or phone
    (find_outside_clients), counted against the limit and audited. Criteria too thin to
    look outside at all are neither."""
    names = {"legal_name": legal_name, "preferred_name": preferred_name}
    if not can_look_outside(**names, date_of_birth=date_of_birth, phone=phone):
        return Lookup()
    if not outside_lookup_allowed(request, page=page):
        return Lookup(limited=True)
    found = find_outside_clients(
        user=request.user, **names, date_of_birth=date_of_birth, phone=phone, exclude_pk=exclude_pk
    )
    record_outside_lookup(request, page=page, found=found)
    return Lookup(suggestions=found)


def likely_clients_for(
    request,
    *,
    page: str,
    legal_name: str = "",
    preferred_name: str = "",
    date_of_birth=None,
    estimated_age=None,
    phone: str = "",
    identifiers: list[tuple[str, str]] | None = None,
    exclude_pk=None,
) -> Lookup:
    """find_likely_clients among the user's visible clients, then the strict matches
    outside their scope (named by name only, with the way to emergency access)."""
    user = request.user
    mine = find_likely_clients(
        agency=user.agency,
        legal_name=legal_name,
        preferred_name=preferred_name,
        date_of_birth=date_of_birth,
        estimated_age=estimated_age,
        phone=phone,
        identifiers=identifiers,
        exclude_pk=exclude_pk,
        within=Client.objects.visible_to(user),
    )
    if not user.works_cases:
        # Nobody else is outside an agency admin's scope.
        return Lookup(suggestions=mine)
    outside = search_outside(
        request,
        page=page,
        legal_name=legal_name,
        preferred_name=preferred_name,
        date_of_birth=date_of_birth,
        phone=phone,
        exclude_pk=exclude_pk,
    )
    return Lookup(suggestions=mine + outside.suggestions, limited=outside.limited)
