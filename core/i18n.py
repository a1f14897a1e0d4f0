"""Languages: whose language a text is written in, and texts stored once and read in many.

A page speaks its reader's language (`User.language`, else the browser's before sign-in);
an e-mail to a member of staff speaks theirs; a text to a client speaks the client's
preferred language, and a page for a provider the language of the client it concerns.

A text stored in a row and read later by people who speak different languages (a case
timeline entry) is stored twice: in English, as the row's own text (exports, search, the
audit trail), and as its message and arguments (`stored_text`), so that each reader sees
it in their own language (`render_stored`). Mark the message with `gettext_noop` so that
`makemessages` finds it, and pass any argument that is itself an English label (a choice's
label) through `label()`.
"""

import contextlib
import datetime
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext

from core.dates import day_label

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise
else:
    StrOrPromise = str  # a text, or a lazy translation of one (gettext_lazy)

# What people type into a free-text "preferred language" field, for the languages the
# product speaks (lower case, accents removed before the comparison).
_SPOKEN_AS = {
    "es": ("es", "spa", "spanish", "espanol", "castellano"),
    "en": ("en", "eng", "english", "ingles"),
}
_PLAIN = str.maketrans("áéíóúñ", "aeioun")


def supported(code: str | None) -> str | None:
    """The product's language code for a code such as "es-MX", or None."""
    if not code:
        return None
    base = code.lower().split("-")[0].split("_")[0]
    return base if base in dict(settings.LANGUAGES) else None


def default_language() -> str:
    return supported(settings.LANGUAGE_CODE) or "en"


def user_language(user: Any) -> str:
    """The language a member of staff reads: their own setting, else the default."""
    return supported(getattr(user, "language", "")) or default_language()


def language_from_text(text: str | None) -> str | None:
    """A language code for what someone typed as a preferred language, or None when the
    product does not speak it ("Spanish", "español", "es-MX" -> "es")."""
    if not text:
        return None
    word = text.strip().lower().translate(_PLAIN)
    word = word.split("(")[0].split(",")[0].split("/")[0].strip()
    for code, names in _SPOKEN_AS.items():
        if word in names or word.split("-")[0] in names:
            return supported(code)
    return None


def client_language(client: Any) -> str:
    """The language of a text to a client (or about them, to a provider): the client's
    preferred language when the product speaks it, else the default."""
    return language_from_text(getattr(client, "preferred_language", "")) or default_language()


# --- Texts stored once, read in each reader's language --------------------------------


def english(text: Any) -> str:
    """A (lazy) translatable text in English, as stored rows keep it, whoever's language
    the change was made in."""
    with translation.override("en"):
        return str(text)


def label(text: Any) -> dict[str, str]:
    """An argument that is itself a translatable English text (a choice's label): stored
    in English, shown in the reader's language."""
    return {"t": english(text)}


def label_list(texts: Any) -> dict[str, list[str]]:
    """An argument that is a list of translatable English texts ("name, phone number"),
    each shown in the reader's language, joined by commas."""
    with translation.override("en"):
        return {"ts": [str(text) for text in texts]}


def day(value: datetime.date) -> dict[str, str]:
    """An argument that is a calendar date, written as the reader's language writes
    dates ("Sun 6 Dec 2026", "dom 6 dic 2026"); a datetime's own calendar date."""
    if isinstance(value, datetime.datetime):
        value = value.date()
    return {"day": value.isoformat()}


@dataclass(frozen=True)
class StoredText:
    english: str
    data: dict[str, Any]


def _arguments(args: dict[str, Any], translate: bool) -> dict[str, Any]:
    """The arguments as text: a label (`label()`) and a stored text's data (`.data`, an
    argument that is itself a message) in the reader's language, or in English."""
    out = {}
    for key, value in args.items():
        if isinstance(value, dict) and "t" in value:
            value = gettext(value["t"]) if translate else value["t"]
        elif isinstance(value, dict) and "day" in value:
            date = datetime.date.fromisoformat(value["day"])
            with contextlib.nullcontext() if translate else translation.override("en"):
                value = day_label(date)
        elif isinstance(value, dict) and "ts" in value:
            value = ", ".join(gettext(t) if translate else t for t in value["ts"])
        elif isinstance(value, dict) and "m" in value:
            english = _render(value, translate=False)
            value = _render(value, translate=True) if translate else english
        out[key] = value
    return out


def _render(data: dict[str, Any], translate: bool) -> str:
    message = gettext(data["m"]) if translate else data["m"]
    args = data.get("a") or {}
    return message % _arguments(args, translate) if args else message


def stored_text(message: str, /, **args: Any) -> StoredText:
    """A message (marked with gettext_noop) and its arguments, as English text and as data
    to store beside it for `render_stored`. An argument may be a `label()`, a
    `label_list()`, a `day()` or another stored text's `.data`."""
    text = message % _arguments(args, translate=False) if args else message
    return StoredText(english=text, data={"m": message, "a": args})


def render_stored(data: Any, fallback: str) -> str:
    """A stored text in the active language; `fallback` (the English text stored with it)
    for a row written before its message was stored, or one that no longer reads."""
    if not isinstance(data, dict) or "m" not in data:
        return fallback
    try:
        return _render(data, translate=True)
    except (KeyError, TypeError, ValueError):
        return fallback
