"""How names are compared when looking for a person the agency may already know.

Pure functions, no models: the client model stores `phonetic_key(...)` beside its
`name_key`, and cases/matching.py compares names with `name_similarity`.
"""

import re
import unicodedata

import jellyfish

# First names that are the same name to a crisis worker: a nickname and its formal name,
# and spellings of one name across languages. Hand-made and deliberately small; names in
# two groups join them (see _canonical_names). Accents are already removed by name_key,
# so "José" and "Jose" need no entry.
NICKNAME_GROUPS = (
    ("william", "bill", "billy", "will", "willy", "guillermo", "memo"),
    ("robert", "bob", "bobby", "rob", "robbie", "roberto"),
    ("richard", "rick", "ricky", "rich", "dick", "ricardo"),
    ("elizabeth", "liz", "lizzie", "beth", "betty", "betsy", "eliza", "isabel", "isabella"),
    ("margaret", "maggie", "peggy", "meg", "margarita", "marge"),
    ("katherine", "catherine", "kathryn", "kate", "katie", "kathy", "cathy", "catalina"),
    ("james", "jim", "jimmy", "jamie"),
    ("john", "johnny", "jack", "jon", "juan"),
    ("joseph", "joe", "joey", "jose", "pepe"),
    ("michael", "mike", "mikey", "mick", "miguel"),
    ("thomas", "tom", "tommy", "tomas"),
    ("charles", "charlie", "chuck", "carlos"),
    ("edward", "ed", "eddie", "ted", "teddy", "eduardo", "lalo"),
    ("anthony", "tony", "antonio", "toni"),
    ("daniel", "dan", "danny"),
    ("david", "dave", "davey"),
    ("steven", "stephen", "steve", "esteban"),
    ("christopher", "chris", "topher", "cristobal"),
    ("christina", "christine", "kristina", "kristen", "chris", "cristina"),
    ("alexander", "alex", "al", "alejandro", "sasha", "xander"),
    ("alexandra", "alex", "alexa", "alejandra"),
    ("samuel", "sam", "sammy"),
    ("samantha", "sam", "sammy"),
    ("patrick", "pat", "paddy", "patricio"),
    ("patricia", "pat", "patty", "trish"),
    ("jennifer", "jen", "jenny"),
    ("rebecca", "becky", "becca"),
    ("susan", "sue", "susie", "suzanne"),
    ("deborah", "debra", "deb", "debbie"),
    ("nicholas", "nick", "nicky", "nicolas"),
    ("benjamin", "ben", "benny"),
    ("matthew", "matt", "mateo"),
    ("andrew", "andy", "drew", "andres"),
    ("jessica", "jess", "jessie"),
    ("francisco", "frank", "frankie", "paco", "pancho", "francis"),
    ("guadalupe", "lupe", "lupita"),
    ("jesus", "chuy"),
    ("alberto", "albert", "beto"),
    ("gregory", "greg"),
    ("jeffrey", "jeff", "geoffrey"),
    ("kenneth", "ken", "kenny"),
    ("ronald", "ron", "ronnie"),
    ("donald", "don", "donnie"),
    ("timothy", "tim", "timmy"),
    ("zachary", "zach", "zack"),
    ("victoria", "vicky", "tori"),
    ("dorothy", "dot", "dottie"),
    ("abigail", "abby"),
)


def _canonical_names(groups) -> dict[str, str]:
    """Name -> the first name of its group, groups sharing a name being one group
    ("alex" makes Alexander and Alexandra one name: a suggestion too many is cheap, a
    person entered twice is not)."""
    parent: dict[str, str] = {}

    def root(name):
        while parent[name] != name:
            name = parent[name]
        return name

    for group in groups:
        for name in group:
            parent.setdefault(name, name)
            parent[root(name)] = root(group[0])
    return {name: root(name) for name in parent}


CANONICAL = _canonical_names(NICKNAME_GROUPS)


def plain(text: str) -> str:
    """Lower-case and accent-free ("José" -> "jose")."""
    text = unicodedata.normalize("NFKD", text or "")
    return "".join(c for c in text if not unicodedata.combining(c)).lower()


def name_tokens(*names: str) -> list[str]:
    """The words of names, plain, in order: "O'Brien-Lopez, Ana" -> obrien, lopez, ana."""
    text = plain(" ".join(n for n in names if n)).replace("'", "").replace("’", "")
    return re.findall(r"\w+", text)


def canonical(token: str) -> str:
    return CANONICAL.get(token, token)


def sound(token: str) -> str:
    """The Metaphone code of a word, its nickname group's formal name standing for it.
    A word Metaphone cannot code (another script, digits) stands for itself."""
    return jellyfish.metaphone(canonical(token)) or token.upper()


def phonetic_key(*names: str) -> str:
    """Each distinct word's sound, sorted and space-padded (" BL MRKS "), so that one word
    is found with LIKE '% BL %' whatever the order of the names."""
    codes = sorted({sound(token) for token in name_tokens(*names)})
    return f" {' '.join(codes)} " if codes else ""


TOKEN_MATCH = 0.8
PHONETIC_FLOOR = 0.75


def token_similarity(a: str, b: str) -> float:
    """How alike two name words are, 0 to 1; below TOKEN_MATCH they are different words."""
    if a == b:
        return 1.0
    if canonical(a) == canonical(b):
        return 0.95
    if len(a) == 1 or len(b) == 1:
        # An initial: "K. Park" for Kim Park.
        return TOKEN_MATCH if a[0] == b[0] else 0.0
    best = jellyfish.jaro_winkler_similarity(a, b)
    if best > PHONETIC_FLOOR and sound(a) == sound(b):
        # Same sound, and not merely the same consonants (John and Jane sound alike).
        best = max(best, 0.9)
    return best if best >= TOKEN_MATCH else 0.0


def name_similarity(query: list[str], stored: list[str]) -> float:
    """How alike two names are, 0 to 1, in any word order. A name that is part of the
    other ("Marcus" and "Marcus Bell") scores 0.875 when the words it has all match; a
    name sharing one word of two with the other ("Marcus Jones", "Marcus Bell") about 0.4.
    """
    if not query or not stored:
        return 0.0
    pairs = sorted(
        ((token_similarity(q, s), i, j) for i, q in enumerate(query) for j, s in enumerate(stored)),
        reverse=True,
    )
    used_q, used_s, matched = set(), set(), []
    for score, i, j in pairs:
        if score and i not in used_q and j not in used_s:
            used_q.add(i)
            used_s.add(j)
            matched.append(score)
    if not matched:
        return 0.0
    quality = sum(matched) / len(matched)
    shorter, longer = sorted((len(query), len(stored)))
    return quality * (len(matched) / shorter) * (0.75 + 0.25 * len(matched) / longer)
