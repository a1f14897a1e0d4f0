"""Likely existing clients, offered before a new one is created.

Candidates come from a few indexed queries within the agency, each bounded: the same date
of birth or phone (btree indexes), the same identifier (its upper-case index), and names.
On PostgreSQL names are looked up by trigram similarity of the whole name (`%`), a name
that is part of a stored one (word similarity, `%>`), and the sound of every word
(`name_phonetic LIKE '% CODE %'`), all three served by the GIN trigram indexes of
migration 0008 and ranked by similarity before the limit. On SQLite (the embedded
default) the same candidates come from LIKE on each word and each word's sound.
Candidates are then scored in Python (cases.names), so the answer is the same on both.

Outside one's caseload (`find_outside_clients`) the rule is strict, so that a search cannot
list another team's clients: the whole name must sound the same, word for word (Metaphone
on every word, a nickname standing for its formal name, no word missing or left over),
and a second identifier must be the same exactly: the full date of birth or the full
phone number. Fragments, a first name alone or a birth year find no one.
"""

from dataclasses import dataclass, field

from django.contrib.postgres.lookups import TrigramSimilar, TrigramWordSimilar
from django.contrib.postgres.search import TrigramSimilarity, TrigramWordSimilarity
from django.db import connection
from django.db.models import F, Q, Value
from django.db.models.functions import Greatest
from django.utils import dateformat
from django.utils.translation import gettext, ngettext

from cases.models import Case, CaseStatus, Client, ClientIdentifier, name_key, phone_digits
from cases.names import name_similarity, name_tokens, sound

NAME_SIMILARITY = 0.8
# With the same date of birth, one name word in common is enough (a first name misheard,
# a surname taken or dropped): cases.names.name_similarity gives that about 0.44.
SAME_BIRTH_DATE_NAME_SIMILARITY = 0.4
AGE_TOLERANCE_YEARS = 5
MAX_SUGGESTIONS = 5
# Rows each candidate query may return: the best by name similarity on PostgreSQL.
BRANCH_LIMIT = 100
# SQLite reads every row of the agency anyway; its LIKE candidates are only capped.
SQLITE_NAME_LIMIT = 500


@dataclass
class Suggestion:
    client: Client
    reasons: list[str] = field(default_factory=list)
    score: float = 0.0
    # Outside the user's scope: only named, with the case emergency access would open.
    in_scope: bool = True
    emergency_case_id: int | None = None


def find_likely_clients(
    *,
    agency,
    legal_name: str = "",
    preferred_name: str = "",
    date_of_birth=None,
    estimated_age=None,
    phone: str = "",
    identifiers: list[tuple[str, str]] | None = None,
    exclude_pk=None,
    within=None,
) -> list[Suggestion]:
    """Clients of `agency` who may be the person described, best first.

    Reasons: the same identifier; the same phone; the same date of birth with a name
    word in common; a similar name (misspelt, a nickname, in another order, or part of the other)
    whose age does not contradict the date of birth or estimated age given. Records merged
    into another, and `exclude_pk` (the client being edited), are never offered;
    `within`, a Client QuerySet, limits the candidates (a user's visible clients).
    Returns at most MAX_SUGGESTIONS, whatever the agency's size.
    """
    names = [tokens for tokens in (name_tokens(legal_name), name_tokens(preferred_name)) if tokens]
    digits = phone_digits(phone)
    wanted = {(kind, value.strip().lower()) for kind, value in identifiers or [] if value.strip()}
    base = _candidate_base(agency, exclude_pk, within)

    ids: set[int] = set()
    exact = Q()
    if date_of_birth:
        exact |= Q(date_of_birth=date_of_birth)
    if len(digits) >= 7:
        exact |= Q(phone_normalized=digits)
    if exact:
        ids.update(base.filter(exact).values_list("pk", flat=True)[:BRANCH_LIMIT])
    for kind, value in wanted:
        ids.update(
            ClientIdentifier.objects.filter(
                agency=agency, kind=kind, value__iexact=value
            ).values_list("client_id", flat=True)[:BRANCH_LIMIT]
        )
    if names:
        ids.update(_name_candidates(base, names))
    if not ids:
        return []

    today = agency.today()
    candidates = base.filter(pk__in=ids).select_related("agency").prefetch_related("identifiers")
    suggestions = []
    for client in candidates:
        suggestion = _score(
            client,
            names=names,
            date_of_birth=date_of_birth,
            estimated_age=estimated_age,
            digits=digits,
            wanted=wanted,
            today=today,
        )
        if suggestion.reasons:
            suggestions.append(suggestion)
    suggestions.sort(key=lambda s: (-s.score, s.client.pk))
    return suggestions[:MAX_SUGGESTIONS]


MIN_PHONE_DIGITS = 7


def _candidate_base(agency, exclude_pk, within):
    base = Client.objects.filter(agency=agency, merged_into__isnull=True)
    if exclude_pk is not None:
        base = base.exclude(pk=exclude_pk)
    if within is not None:
        base = base.filter(pk__in=within.values("pk"))
    return base


def can_look_outside(*, legal_name="", preferred_name="", date_of_birth=None, phone="") -> bool:
    """Whether what was given may find anyone outside one's scope: a name, and a full date
    of birth or phone number. Anything less is not looked up there at all."""
    named = bool(name_tokens(legal_name) or name_tokens(preferred_name))
    return named and bool(date_of_birth or len(phone_digits(phone)) >= MIN_PHONE_DIGITS)


def same_whole_name(given: list[str], known: list[str]) -> bool:
    """Every word of one name sounds like a word of the other, one for one, in any order,
    none left over (Metaphone; a nickname counts as its formal name)."""
    return bool(given) and sorted(map(sound, given)) == sorted(map(sound, known))


def find_outside_clients(
    *,
    user,
    legal_name="",
    preferred_name="",
    date_of_birth=None,
    phone="",
    exclude_pk=None,
    with_case_only=True,
) -> list[Suggestion]:
    """Clients of the user's agency outside their scope who are, near enough for certain,
    the person described (see the module's docstring), each with the case emergency
    access would open. Nothing when `can_look_outside` is false. Indexed: the same date
    of birth or phone within the agency, then names compared in Python. `with_case_only`
    False: also those with no case (a dispatcher naming the person a request is for)."""
    criteria = {"legal_name": legal_name, "preferred_name": preferred_name}
    if not can_look_outside(**criteria, date_of_birth=date_of_birth, phone=phone):
        return []
    names = [t for t in (name_tokens(legal_name), name_tokens(preferred_name)) if t]
    found = []
    for client in _outside_candidates(user, date_of_birth, phone_digits(phone), exclude_pk):
        if any(same_whole_name(g, k) for g in names for k in _stored_names(client)):
            same_birth = bool(date_of_birth) and client.date_of_birth == date_of_birth
            reason = (
                gettext("same name and date of birth")
                if same_birth
                else gettext("same name and phone number")
            )
            found.append(Suggestion(client=client, reasons=[reason], score=3, in_scope=False))
    cases = emergency_cases([s.client.pk for s in found])
    for suggestion in found:
        suggestion.emergency_case_id = cases.get(suggestion.client.pk)
    if with_case_only:
        # Emergency access opens a case: a client without one cannot be reached this way.
        found = [s for s in found if s.emergency_case_id is not None]
    return found[:MAX_SUGGESTIONS]


def _outside_candidates(user, date_of_birth, digits: str, exclude_pk):
    """The user's agency's clients outside their scope with this date of birth or phone
    (the btree indexes on each within the agency)."""
    same = Q(date_of_birth=date_of_birth) if date_of_birth else Q()
    if len(digits) >= MIN_PHONE_DIGITS:
        same |= Q(phone_normalized=digits)
    return (
        Client.objects.filter(same, agency_id=user.agency_id, merged_into__isnull=True)
        .exclude(pk__in=Client.objects.visible_to(user).values("pk"))
        .exclude(pk=exclude_pk)
        .only(
            "pk", "legal_name", "preferred_name", "description", "date_of_birth", "phone_normalized"
        )
        .order_by("pk")[:BRANCH_LIMIT]
    )


def emergency_cases(client_ids) -> dict[int, int]:
    """Client id -> the case emergency access would open for them: their open case, else
    their most recent one."""
    chosen: dict[int, tuple[int, str]] = {}
    rows = (
        Case.objects.filter(client_id__in=client_ids)
        .order_by("client_id", "-opened_at", "-pk")
        .values_list("client_id", "pk", "status")
    )
    for client_id, case_id, status in rows:
        best = chosen.get(client_id)
        if best is None or (status == CaseStatus.OPEN and best[1] != CaseStatus.OPEN):
            chosen[client_id] = (case_id, status)
    return {client_id: case_id for client_id, (case_id, _) in chosen.items()}


def _name_candidates(base, names: list[list[str]]) -> list[int]:
    """Ids of clients whose name may be one of `names` (each a list of words)."""
    keys = [" ".join(tokens) for tokens in names]
    if connection.vendor == "postgresql":
        match = Q()
        ranks = []
        for key, tokens in zip(keys, names, strict=True):
            sounds = Q()
            for code in {sound(token) for token in tokens}:
                sounds &= Q(name_phonetic__contains=f" {code} ")
            match |= Q(TrigramWordSimilar(F("name_key"), Value(key))) | sounds
            if len(tokens) > 1:
                # A whole name misspelt. For one word, word similarity is the test: the
                # similarity of "bell" to every "... Bell" is low, and there are many.
                match |= Q(TrigramSimilar(F("name_key"), Value(key)))
            ranks += [TrigramSimilarity("name_key", key), TrigramWordSimilarity(key, "name_key")]
        return list(
            base.filter(match)
            .annotate(rank=Greatest(*ranks))
            .order_by("-rank", "pk")
            .values_list("pk", flat=True)[:BRANCH_LIMIT]
        )
    match = Q()
    for tokens in names:
        for token in tokens:
            if len(token) > 1:
                match |= Q(name_key__contains=token)
            match |= Q(name_phonetic__contains=f" {sound(token)} ")
    return list(base.filter(match).values_list("pk", flat=True)[:SQLITE_NAME_LIMIT])


def _birth_year(client, today) -> float | None:
    """The client's year of birth, or its estimate (None: no age recorded)."""
    if client.date_of_birth:
        return client.date_of_birth.year
    if client.estimated_age is not None:
        on = client.estimated_age_on or today
        return on.year - client.estimated_age
    return None


def _age_match(client, *, date_of_birth, estimated_age, today) -> str:
    """ "same_dob", "close", "conflict" or "unknown": how the age given fits the client's."""
    if date_of_birth and client.date_of_birth:
        return "same_dob" if client.date_of_birth == date_of_birth else "conflict"
    if date_of_birth:
        given = date_of_birth.year
    elif estimated_age is not None:
        given = today.year - estimated_age
    else:
        return "unknown"
    year = _birth_year(client, today)
    if year is None:
        return "unknown"
    return "close" if abs(given - year) <= AGE_TOLERANCE_YEARS else "conflict"


def _score(client, *, names, date_of_birth, estimated_age, digits, wanted, today) -> Suggestion:
    similarity, same_name = _name_likeness(names, _stored_names(client))
    age = _age_match(client, date_of_birth=date_of_birth, estimated_age=estimated_age, today=today)
    suggestion = Suggestion(client=client)
    reasons = suggestion.reasons

    if age == "same_dob" and similarity >= SAME_BIRTH_DATE_NAME_SIMILARITY:
        reasons.append(gettext("same date of birth and a similar name"))
        suggestion.score += 2 + similarity
    if len(digits) >= 7 and client.phone_normalized == digits:
        reasons.append(gettext("same phone number"))
        suggestion.score += 1.5 + similarity
    if wanted & {(i.kind, i.value.lower()) for i in client.identifiers.all()}:
        reasons.append(gettext("same identifier"))
        suggestion.score += 3
    if age in ("close", "unknown") and similarity >= NAME_SIMILARITY:
        reasons.append(
            _name_reason(client, age=age, same_name=same_name, date_of_birth=date_of_birth)
        )
        suggestion.score += (1 if age == "close" else 0.5) + similarity
    return suggestion


def _stored_names(client) -> list[list[str]]:
    """The client's legal and preferred names as tokens, leaving out an empty one."""
    return [
        tokens
        for tokens in (name_tokens(client.legal_name), name_tokens(client.preferred_name))
        if tokens
    ]


def _name_likeness(names, stored) -> tuple[float, bool]:
    """The best similarity between a given name and a stored one, and whether any pair
    is the same name once normalised."""
    similarity = max(
        (name_similarity(given, known) for given in names for known in stored), default=0.0
    )
    same_name = any(
        name_key(" ".join(given)) == name_key(" ".join(known))
        for given in names
        for known in stored
    )
    return similarity, same_name


def _name_reason(client, *, age, same_name, date_of_birth) -> str:
    """Why a similar name, with an age that is close or unknown, is offered."""
    if same_name and not date_of_birth:
        return gettext("same name (no date of birth given)")
    if age == "close" and date_of_birth and client.date_of_birth is None:
        return gettext("similar name, age estimated close to this date of birth")
    if age == "close":
        return (
            gettext("same name, close in age")
            if same_name
            else gettext("similar name, close in age")
        )
    return gettext("same name") if same_name else gettext("similar name")


def likely_match_message(suggestions, *, how_to_confirm: str) -> str:
    """The message refusing a new person while a likely match is unanswered, naming it
    (one outside the user's scope by name only, with the way in)."""
    if not suggestions[0].in_scope:
        first = suggestions[0]
        return gettext(
            "This may be a client of your agency outside your caseload: "
            "%(name)s (%(reasons)s). Use emergency access "
            "to reach their case, or %(how_to_confirm)s if this is a new person."
        ) % {
            "name": first.client.display_name,
            "reasons": "; ".join(first.reasons),
            "how_to_confirm": how_to_confirm,
        }
    first = suggestions[0].client
    if first.date_of_birth:
        # "02 Mar 1990", the month named in the active language.
        born = dateformat.format(first.date_of_birth, "d M Y")
        client = gettext("client %(id)s, born %(date)s") % {"id": first.pk, "date": born}
    elif first.estimated_age is not None:
        client = gettext("client %(id)s, about %(age)s") % {"id": first.pk, "age": first.age}
    else:
        client = gettext("client %(id)s") % {"id": first.pk}
    others = len(suggestions) - 1
    more = (
        ngettext(" (and %(count)s other)", " (and %(count)s others)", others) % {"count": others}
        if others
        else ""
    )
    return gettext(
        "This may be an existing client: %(name)s (%(client)s; %(reasons)s)%(more)s. Choose "
        "the existing person, or %(how_to_confirm)s if this is a new person."
    ) % {
        "name": first.display_name,
        "client": client,
        "reasons": "; ".join(suggestions[0].reasons),
        "more": more,
        "how_to_confirm": how_to_confirm,
    }
