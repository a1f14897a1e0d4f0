"""Password rules beyond Django's own validators (settings.AUTH_PASSWORD_VALIDATORS)."""

import re
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

# A season or a month and a year: the password people choose when made to change it
# ("Summer2026!", "September2026"). Django's list of common passwords has none of them.
_CALENDAR_WORD = (
    r"(?:spring|summer|autumn|fall|winter|january|february|march|april|may|june|july"
    r"|august|september|october|november|december)"
)
# Side by side only, so that "maybe" in a passphrase with a year in it is not refused.
_CALENDAR_AND_YEAR = re.compile(rf"{_CALENDAR_WORD}(?:19|20)?\d\d|(?:19|20)\d\d{_CALENDAR_WORD}")


def _letters_and_digits(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.casefold())


class GuessablePasswordValidator:
    """Refuses a season or month with a year, and the user's agency's name, in a password
    (case, spaces and punctuation aside)."""

    def validate(self, password: str, user: Any = None) -> None:
        plain = _letters_and_digits(password)
        if _CALENDAR_AND_YEAR.search(plain):
            raise ValidationError(
                _(
                    "This password is a season or a month with a year, among the first to "
                    "be guessed."
                ),
                code="password_calendar",
            )
        agency = getattr(user, "agency", None) if user is not None else None
        name = _letters_and_digits(getattr(agency, "name", "") or "")
        if len(name) >= 4 and name in plain:
            raise ValidationError(
                _("This password contains your agency's name."), code="password_agency_name"
            )

    def get_help_text(self) -> str:
        return _("Your password can't be a season or month with a year, or your agency's name.")
