"""Likely existing clients, offered before a new one is created.

Candidates come from indexed lookups within the agency (same date of birth, same phone,
same identifier, or exactly the same name when no date of birth is given); names are then compared in Python,
so the rule is the same on SQLite and PostgreSQL.
"""

from dataclasses import dataclass, field
from difflib import SequenceMatcher

from django.db.models import ExpressionWrapper, F, IntegerField, Q
from django.db.models.functions import Coalesce, ExtractYear

from cases.models import Client, name_key, phone_digits

NAME_SIMILARITY = 0.72
AGE_TOLERANCE_YEARS = 5
MAX_SUGGESTIONS = 5


@dataclass
class Suggestion:
    client: Client
    reasons: list[str] = field(default_factory=list)
    score: float = 0.0


def _similar(a: str, b: str) -> float:
    """Best similarity of two names, also comparing tokens in any order
    ("Maria Lopez" and "Lopez, Maria")."""
    if not a or not b:
        return 0.0
    ratio = SequenceMatcher(None, a, b).ratio()
    sorted_ratio = SequenceMatcher(
        None,
        " ".join(sorted(a.replace(",", " ").split())),
        " ".join(sorted(b.replace(",", " ").split())),
    ).ratio()
    return max(ratio, sorted_ratio)


def find_likely_clients(
    *,
    agency,
    legal_name: str = "",
    preferred_name: str = "",
    date_of_birth=None,
    phone: str = "",
    identifiers: list[tuple[str, str]] | None = None,
) -> list[Suggestion]:
    """Clients of `agency` who may be the person described, best first.

    Reasons: same date of birth with a similar name; same phone; same identifier; the
    same legal or preferred name when no date of birth is given; a similar name of a
    client whose age was estimated close to the date of birth given.
    Returns at most MAX_SUGGESTIONS, whatever the agency's size (one indexed query).
    """
    names = [n for n in (name_key(legal_name), name_key(preferred_name)) if n]
    digits = phone_digits(phone)
    query = Q()
    if date_of_birth:
        query |= Q(date_of_birth=date_of_birth)
    if len(digits) >= 7:
        query |= Q(phone_normalized=digits)
    if not date_of_birth:
        # Unknown birth date (often the case in the field): offer the same name exactly,
        # legal or preferred (name_key holds "legal preferred").
        for key in names:
            query |= (
                Q(name_key=key)
                | Q(name_key__startswith=key + " ")
                | Q(name_key__endswith=" " + key)
            )
    elif names:
        # A client known only by an estimated age, born within a few years of the date
        # given, may be the same person: their names are compared below.
        year = date_of_birth.year
        query |= Q(
            date_of_birth__isnull=True,
            estimated_age__isnull=False,
            estimated_birth_year__range=(year - AGE_TOLERANCE_YEARS, year + AGE_TOLERANCE_YEARS),
        )
    for kind, value in identifiers or []:
        if value:
            query |= Q(identifiers__kind=kind, identifiers__value__iexact=value.strip())
    if not query:
        return []
    candidates = (
        Client.objects.filter(agency=agency)
        .annotate(
            estimated_birth_year=ExpressionWrapper(
                ExtractYear(Coalesce("estimated_age_on", "created_at__date")) - F("estimated_age"),
                output_field=IntegerField(),
            )
        )
        .filter(query)
        .distinct()
        .prefetch_related("identifiers")[:200]
    )

    suggestions = []
    for client in candidates:
        reasons = []
        score = 0.0
        similarity = max((_similar(n, client.name_key) for n in names), default=0.0)
        # Also compare against each stored name alone (legal or preferred).
        for stored in (name_key(client.legal_name), name_key(client.preferred_name)):
            similarity = max([similarity] + [_similar(n, stored) for n in names])
        if (
            date_of_birth
            and client.date_of_birth == date_of_birth
            and similarity >= NAME_SIMILARITY
        ):
            reasons.append("same date of birth and a similar name")
            score += 2 + similarity
        if len(digits) >= 7 and client.phone_normalized == digits:
            reasons.append("same phone number")
            score += 1.5 + similarity
        stored_names = {name_key(client.legal_name), name_key(client.preferred_name)} - {""}
        if not date_of_birth and stored_names & set(names):
            reasons.append("same name (no date of birth given)")
            score += 1 + similarity
        if (
            date_of_birth
            and client.date_of_birth is None
            and client.estimated_age is not None
            and similarity >= NAME_SIMILARITY
        ):
            reasons.append("similar name, age estimated close to this date of birth")
            score += 1 + similarity
        wanted = {(k, v.strip().lower()) for k, v in identifiers or [] if v}
        have = {(i.kind, i.value.lower()) for i in client.identifiers.all()}
        if wanted & have:
            reasons.append("same identifier")
            score += 3
        if reasons:
            suggestions.append(Suggestion(client=client, reasons=reasons, score=score))
    suggestions.sort(key=lambda s: -s.score)
    return suggestions[:MAX_SUGGESTIONS]
