"""The whole product speaks Spanish: every page, rendered for users whose language is
Spanish, shows no English text of the product's own.

Three nets, because no single one catches everything:
- the templates: every piece of text in them sits inside a translation tag;
- the scripts: every sentence they put on a page goes through gettext();
- every page, rendered in Spanish for each persona: no text on it is an English message
  of the catalogue (a text translated too early, at import time, shows in English), nor a
  piece of English written in the code and never marked for translation.
Data (names, notes, directory entries) is the users', in whatever language they typed it,
and is not the product's: the last net looks only for English that the code itself holds.
"""

import ast
import html.parser
import re
from functools import cache
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.template import base as template_base
from django.urls import reverse

from cases.models import Client
from tests.test_empty_posts import PERSONAS, routes, url_of, world

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

__all__ = ["world"]  # a fixture, used by name

ROOT = Path(settings.BASE_DIR)
CATALOGUE = ROOT / "locale" / "es" / "LC_MESSAGES" / "django.po"
# Words that read the same in both languages, or are names: the product's, a standard's,
# a format's.
SAME_IN_SPANISH = {
    "casebook", "988", "911", "C-SSRS", "CSV", "XLSX", "JSON", "API", "HSDS", "PDF", "CAD",
    "OK", "ID", "SMS", "Email", "E-mail", "MFA", "QR", "URL", "HTML", "ASQ", "PHQ", "PHQ-9",
    "OpenAPI", "Swagger", "ReDoc", "TOTP", "HEDIS", "FHIR", "Leaflet", "OpenStreetMap",
}  # fmt: skip
# Python files whose texts are data the product installs, or are not shown on pages. The
# standard follow-up protocols (followups/protocols.py) are not among them: installed in
# English, they are shown in the reader's language as long as the agency keeps them as
# shipped, like the reference labels (cases.models.SEEDED_LABELS), so a shipped text left
# untranslated is English on a page.
NOT_PAGE_TEXT = (
    "migrations",
    "management",
    "tests",
    "bench",
    "settings",
    "admin.py",
)


# --- The templates ---------------------------------------------------------------------


class _Text(html.parser.HTMLParser):
    """The text a reader sees in an HTML fragment: element text, and the attributes read
    aloud or shown (title, placeholder, aria-label, alt, a button's value)."""

    SHOWN_ATTRIBUTES = {"title", "placeholder", "aria-label", "alt", "aria-description"}

    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.pieces: list[str] = []
        # The open elements whose text is not the product's to translate: scripts, styles,
        # what the page marks translate="no" (a code) or lang="en" (a legal text quoted
        # word for word).
        self._skipping: list[str] = []

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        if tag in self.VOID:
            if not self._skipping:
                self._attributes(tag, attrs, values)
            return
        quoted = values.get("translate") == "no" or (values.get("lang") or "").startswith("en")
        if self._skipping or tag in ("script", "style") or quoted:
            self._skipping.append(tag)
            return
        self._attributes(tag, attrs, values)

    def _attributes(self, tag, attrs, values):
        for name, value in attrs:
            shown = name in self.SHOWN_ATTRIBUTES or (
                tag == "input" and name == "value" and values.get("type") in ("submit", "button")
            )
            if shown and value:
                self.pieces.append(value)

    def handle_endtag(self, tag):
        if self._skipping and self._skipping[-1] == tag:
            self._skipping.pop()

    def handle_data(self, data):
        if not self._skipping and data.strip():
            self.pieces.append(data)


def shown_text(markup: str) -> list[str]:
    parser = _Text()
    parser.feed(markup)
    parser.close()
    return [" ".join(piece.split()) for piece in parser.pieces]


WORD = re.compile(r"[A-Za-z]{2,}")
PLACEHOLDER = " "


def is_english_text(text: str) -> bool:
    words = [w for w in WORD.findall(text.replace(PLACEHOLDER, " ")) if w not in SAME_IN_SPANISH]
    return bool(words)


def untranslated_template_text(source: str) -> list[str]:
    """The text of a template that is outside every translation tag: variables and tags
    become a placeholder, and what is between {% blocktranslate %} and its end, or in a
    {% comment %}, is left out."""
    skeleton, inside = [], None
    for token in template_base.Lexer(source).tokenize():
        if token.token_type == template_base.TokenType.BLOCK:
            command = token.contents.split()[0] if token.contents else ""
            if command in ("blocktranslate", "blocktrans", "comment"):
                inside = command
            elif command in ("endblocktranslate", "endblocktrans", "endcomment"):
                inside = None
            skeleton.append(PLACEHOLDER)
        elif inside is None and token.token_type == template_base.TokenType.TEXT:
            skeleton.append(token.contents)
        elif inside is None:
            skeleton.append(PLACEHOLDER)
    return [text for text in shown_text("".join(skeleton)) if is_english_text(text)]


def templates():
    return sorted((ROOT / "templates").rglob("*.html")) + sorted(
        (ROOT / "templates").rglob("*.txt")
    )


def test_every_text_in_the_templates_is_marked_for_translation():
    found = {
        str(path.relative_to(ROOT)): texts
        for path in templates()
        if (texts := untranslated_template_text(path.read_text()))
    }
    assert found == {}


def test_the_template_check_sees_text_outside_the_tags():
    source = (
        "{% load i18n %}<h1>{% translate 'Today' %}</h1><p>Due now</p>"
        '<input type="submit" value="Save">{% blocktranslate %}Hi {{ x }}{% endblocktranslate %}'
        '<a title="Open the case">{{ case }}</a><span>{{ n }} · 988</span>'
    )
    assert untranslated_template_text(source) == ["Due now", "Save", "Open the case"]


# --- The scripts -------------------------------------------------------------------------

# A sentence in a script: a quoted string starting with a capital, holding a space.
JS_SENTENCE = re.compile(r"""(?P<q>["'`])(?P<text>[A-Z][a-z]+ [^"'`\n]*)(?P=q)""")
JS_COMMENT = re.compile(r"/\*.*?\*/|^\s*//.*?$", re.DOTALL | re.MULTILINE)
# Right before a message: gettext( or ngettext( or ngettext's first message and a comma.
JS_MARKED = re.compile(r"""\bn?gettext\(\s*$|\bngettext\(\s*(["'`])[^"'`]*\1\s*,\s*$""")
# The service worker has no catalogue and puts no text on a page (the pages do).
NO_TEXT_SCRIPTS = {"sw.js"}


def untranslated_script_text(source: str) -> list[str]:
    """Sentences not passed straight to gettext() or ngettext(): the names makemessages
    looks for, so a wrapper of another name hides the text from the catalogue."""
    code = JS_COMMENT.sub("", source)
    return [
        match["text"]
        for match in JS_SENTENCE.finditer(code)
        if not JS_MARKED.search(code, max(0, match.start() - 300), match.start())
    ]


def test_every_sentence_in_the_scripts_goes_through_gettext():
    found = {
        path.name: texts
        for path in sorted((ROOT / "static" / "js").rglob("*.js"))
        if path.name not in NO_TEXT_SCRIPTS
        and (texts := untranslated_script_text(path.read_text()))
    }
    assert found == {}


def test_the_script_check_sees_a_bare_sentence():
    source = (
        'el.textContent = "Draft not saved"; x = gettext("Draft saved"); q("#a b");\n'
        '// "Use my location" in a comment\n'
        'y = ngettext("One item", "Many items", n); z = t("Send now");'
    )
    assert untranslated_script_text(source) == ["Draft not saved", "Send now"]


# --- Every page, in Spanish ---------------------------------------------------------------


@cache
def catalogue_english() -> frozenset[str]:
    """The catalogue's English messages whose Spanish differs from them."""
    return frozenset(
        " ".join(entry.msgid.split())
        for entry in polib.pofile(str(CATALOGUE))
        if entry.msgstr and entry.msgstr != entry.msgid and "%" not in entry.msgid
    )


def _docstrings(tree) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


@cache
def english_in_the_code() -> tuple[str, ...]:
    """Pieces of English sentences written in the product's Python code (not its tests,
    migrations, commands or demo data): at least two words and ten letters between
    placeholders."""
    apps = [
        path.parent for path in ROOT.glob("*/apps.py") if not path.parent.name.startswith(".")
    ] + [ROOT / "casebook"]
    pieces = set()
    for app in apps:
        for path in app.rglob("*.py"):
            if any(part in NOT_PAGE_TEXT for part in path.relative_to(ROOT).parts):
                continue
            tree = ast.parse(path.read_text())
            skip = _docstrings(tree)
            for node in ast.walk(tree):
                text = node.value if isinstance(node, ast.Constant) else None
                if isinstance(text, str) and id(node) not in skip:
                    pieces.update(_sentence_pieces(text))
    return tuple(sorted(pieces))


def _sentence_pieces(text: str) -> list[str]:
    out = []
    for piece in re.split(r"%\(\w+\)[sdf]|%[sdf]|\{[^}]*\}|\n", text):
        piece = " ".join(piece.split()).strip(" ,.:;()")
        sentence_like = " " in piece and sum(c.isalpha() for c in piece) >= 10
        if sentence_like and not re.search(r"[_/=<>\[\]]", piece):
            out.append(piece)
    return out


def english_on(texts: set[str]) -> set[str]:
    marked = catalogue_english()
    code = english_in_the_code()
    found = {text for text in texts if text in marked}
    for text in texts:
        found.update(f"{piece!r} in {text!r}" for piece in code if piece in text)
    return found


@pytest.fixture
def spanish_speakers(request):
    """Every persona reads Spanish (before the world is made: the notices it sends them
    are written in their language), and so does every client (the provider's page speaks
    the client's language)."""
    users = {}
    for persona in PERSONAS:
        user = request.getfixturevalue(persona)
        user.language = "es"
        user.save(update_fields=["language"])
        users[persona] = user
    return users


ACCOUNT_PAGES = [
    "accounts:password_change",
    "accounts:language",
    "accounts:api_tokens",
    "accounts:agency_api_tokens",
    "accounts:mfa_enrol",
]


def read_in_spanish(client, users, pages):
    """(every text shown, the pages shown, each page's answers) for each user's GET of
    each page; the pages must answer in Spanish."""
    seen: set[str] = set()
    shown: set[str] = set()
    answers: dict[str, set[int]] = {}
    for user in users:
        client.force_login(user)
        for name, url in pages:
            response = client.get(url) if url else None
            if response is None:
                continue
            answers.setdefault(name, set()).add(response.status_code)
            if response.status_code == 200 and "html" in response.get("Content-Type", ""):
                assert response["Content-Language"] == "es", name
                shown.add(name)
                seen.update(shown_text(response.content.decode()))
    return seen, shown, answers


def test_every_page_shows_no_english_to_a_spanish_speaker(client, spanish_speakers, world):
    Client.objects.update(preferred_language="español")
    pages = [(name, url_of(name, arguments, world)) for name, _route, arguments in routes()]
    pages += [(name, reverse(name)) for name in ACCOUNT_PAGES]
    pages += [(name, reverse(name) + query(world)) for name, query in PAGES_WITH_A_QUERY.items()]

    seen, shown, answers = read_in_spanish(client, spanish_speakers.values(), pages)
    client.logout()
    login = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="es")
    seen.update(shown_text(login.content.decode()))

    found = english_on(seen)
    assert not found, "English on the pages in Spanish:\n" + "\n".join(sorted(found))
    # Every page that a GET shows was seen by someone; an action answers every GET 405.
    unseen = {
        name
        for name, _url in pages
        if name not in shown and name not in NOT_A_PAGE and answers.get(name) != {405}
    }
    assert not unseen, f"Pages no persona saw: { {n: answers.get(n) for n in sorted(unseen)} }"


# The pages that take what they are about in the query.
PAGES_WITH_A_QUERY = {
    "referrals:new": lambda ids: f"?case={ids['casework:case_detail']}",
    "referrals:consent_new": lambda ids: f"?client={ids['cases:client_detail']}",
}
# Routes that answer no page to a GET: files and data (a photo, a CSV, the scripts'
# catalogue, the app's manifest and service worker, the outbox's session checks), the
# language switcher's redirect, and actions whose object the world has none of.
NOT_A_PAGE = {
    "attachments:file",
    # A PDF (tests/plans/test_pdf.py reads its text in both languages).
    "plans:safety_plan_pdf",
    "reports:referral_csv",
    "reports:export_download",
    "javascript-catalog",
    "manifest",
    "service_worker",
    "offline_recorded",
    "offline_session",
    "set_language",
    "notifications:mark_read",
}
