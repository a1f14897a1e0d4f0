"""The worker-facing need categories and the "casebook needs" taxonomy that carries them.

The taxonomy and its terms are created by migration 0002 with the fixed ids below (the
migration keeps its own copy: migrations import no app code; a test checks they agree).
Agency admins tag services with these terms through Attribute rows (link_entity
"service"); imported terms of other taxonomies get a category from their words.
"""

import re
import uuid

from directory.models import NeedCategory

NEEDS_TAXONOMY_ID = uuid.UUID("6a1f1c2e-3b0d-4c39-9d0e-5b7f0c2a9e01")
NEEDS_TAXONOMY_NAME = "casebook needs"

NEED_TERM_IDS: dict[str, uuid.UUID] = {
    NeedCategory.HOUSING: uuid.UUID("6a1f1c2e-3b0d-4c39-9d0e-5b7f0c2a9e10"),
    NeedCategory.MENTAL_HEALTH: uuid.UUID("6a1f1c2e-3b0d-4c39-9d0e-5b7f0c2a9e11"),
    NeedCategory.SUBSTANCE_USE: uuid.UUID("6a1f1c2e-3b0d-4c39-9d0e-5b7f0c2a9e12"),
    NeedCategory.EMPLOYMENT: uuid.UUID("6a1f1c2e-3b0d-4c39-9d0e-5b7f0c2a9e13"),
    NeedCategory.FINANCIAL: uuid.UUID("6a1f1c2e-3b0d-4c39-9d0e-5b7f0c2a9e14"),
    NeedCategory.MEDICAL: uuid.UUID("6a1f1c2e-3b0d-4c39-9d0e-5b7f0c2a9e15"),
    NeedCategory.FOOD: uuid.UUID("6a1f1c2e-3b0d-4c39-9d0e-5b7f0c2a9e16"),
    NeedCategory.LEGAL: uuid.UUID("6a1f1c2e-3b0d-4c39-9d0e-5b7f0c2a9e17"),
    NeedCategory.TRANSPORTATION: uuid.UUID("6a1f1c2e-3b0d-4c39-9d0e-5b7f0c2a9e18"),
    NeedCategory.DOMESTIC_VIOLENCE: uuid.UUID("6a1f1c2e-3b0d-4c39-9d0e-5b7f0c2a9e19"),
    NeedCategory.OTHER: uuid.UUID("6a1f1c2e-3b0d-4c39-9d0e-5b7f0c2a9e1a"),
}

# Checked in this order, so that the more specific need wins: "substance abuse" is
# substance use, not abuse; "domestic violence shelter" is domestic violence, not housing;
# "legal counsel" is legal, not counselling; "mental health care" is not medical.
_KEYWORDS = [
    (NeedCategory.SUBSTANCE_USE, r"substance|addict|detox|alcohol|drug"),
    (NeedCategory.DOMESTIC_VIOLENCE, r"domestic violence|abuse"),
    (NeedCategory.LEGAL, r"legal"),
    (NeedCategory.MENTAL_HEALTH, r"mental health|counsel"),
    (NeedCategory.HOUSING, r"housing|shelter"),
    (NeedCategory.MEDICAL, r"medical|health ?care|clinic"),
    (NeedCategory.FOOD, r"food|meal|pantr"),
    (NeedCategory.EMPLOYMENT, r"employ|jobs?\b"),
    (NeedCategory.FINANCIAL, r"benefit|financ|cash"),
    (NeedCategory.TRANSPORTATION, r"transport"),
]
_PATTERNS = [
    (category, re.compile(rf"\b(?:{words})", re.IGNORECASE)) for category, words in _KEYWORDS
]


def guess_need_category(term) -> str:
    """The NeedCategory a taxonomy term's words point to, or "" when none does.

    `term` is anything with `name`, `code` and `description` attributes. The name decides
    first, then the code, then the description, so a passing word in a long description
    does not outweigh the name.
    """
    for text in (term.name, term.code, term.description):
        for category, pattern in _PATTERNS:
            if text and pattern.search(text):
                return category.value
    return ""
