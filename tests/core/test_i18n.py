"""Whose language a text speaks, and texts stored once and read in each reader's language
(core/i18n.py), against the compiled Spanish catalogue."""

import datetime
from types import SimpleNamespace

import pytest
from django.utils import translation
from django.utils.translation import gettext_noop

from core.i18n import (
    client_language,
    day,
    label,
    label_list,
    language_from_text,
    render_stored,
    stored_text,
    supported,
    user_language,
)
from referrals.models import ITEM_WORDS, ShareItem
from referrals.models import Status as ReferralStatus


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("Spanish", "es"),
        ("español", "es"),
        ("Espanol (Mexico)", "es"),
        ("es-MX", "es"),
        ("English", "en"),
        ("Tigrinya", None),
        ("", None),
        (None, None),
    ],
)
def test_a_typed_preferred_language_maps_to_a_language_spoken(typed, code):
    assert language_from_text(typed) == code


def test_whose_language(settings):
    settings.LANGUAGE_CODE = "en"
    assert supported("es-419") == "es"
    assert supported("fr") is None
    assert user_language(SimpleNamespace(language="es")) == "es"
    assert user_language(SimpleNamespace(language="")) == "en"
    assert client_language(SimpleNamespace(preferred_language="Spanish")) == "es"
    # A language the product does not speak: the installation's default.
    assert client_language(SimpleNamespace(preferred_language="Vietnamese")) == "en"


def test_a_stored_text_reads_in_each_readers_language():
    with translation.override("es"):
        # Written by a Spanish speaker: the English text is still English.
        text = stored_text(
            gettext_noop("Referral to %(provider)s: %(from)s → %(to)s"),
            provider="Eugene Mission",
            **{
                "from": label(ReferralStatus.REQUESTED.label),
                "to": label(ReferralStatus.ACCEPTED.label),
            },
        )
    assert text.english == "Referral to Eugene Mission: Sent → Accepted"

    with translation.override("es"):
        spanish = render_stored(text.data, text.english)
    with translation.override("en"):
        english = render_stored(text.data, text.english)

    assert english == text.english
    assert spanish.startswith("Derivación a Eugene Mission: ")
    assert "Sent" not in spanish and "Accepted" not in spanish


def test_lists_days_and_nested_texts_follow_the_reader():
    inner = stored_text(gettext_noop("Referral sent to %(provider)s"), provider="Eugene Mission")
    with translation.override("es"):
        text = stored_text(
            gettext_noop("Consent (%(method)s) to share %(items)s with %(recipients)s"),
            method=label("verbal"),
            items=label_list(ITEM_WORDS[v] for v in (ShareItem.NAME, ShareItem.PHONE)),
            recipients=day(datetime.date(2026, 12, 6)),
        )
    assert text.english == "Consent (verbal) to share name, phone number with Sun 6 Dec 2026"
    with translation.override("es"):
        shown = render_stored(text.data, text.english)
    assert "nombre" in shown and "dic" in shown and "phone" not in shown

    nested = stored_text(gettext_noop("Why: %(reason)s"), reason=inner.data)
    assert nested.english == "Why: Referral sent to Eugene Mission"


def test_a_row_without_its_message_shows_its_english_text():
    assert render_stored(None, "Case opened") == "Case opened"
    assert render_stored({"m": "%(gone)s left", "a": {}}, "fallback") == "%(gone)s left"
    assert render_stored({"m": "%(gone)s left", "a": {"other": 1}}, "fallback") == "fallback"
