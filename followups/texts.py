"""The product's own words that follow-up rows store in English and show later, in each
reader's language (core/i18n.py): a follow-up's title, the reasons the product writes for
a cancelled follow-up, an ended enrolment or a history event.

A stored text is translated when shown only when it is exactly one of these messages
(`shown`), so what a person typed in the same column is shown as they typed it. The
names of protocols and of their steps are the agency's data (seeded from
followups/protocols.py, then edited by its admins): they stay as written.
"""

import re

from django.utils.translation import gettext, gettext_noop

from core.i18n import label

# The title of a one-off follow-up added without one.
ONE_OFF_TITLE = gettext_noop("One-off follow-up")
# The title of a repeating step's occurrence out of a known number: "Caring Contacts:
# Monthly message 2 of 4" (`step`: the protocol's and the step's names).
OCCURRENCE_OF = gettext_noop("%(step)s %(n)s of %(total)s")
_OCCURRENCE_OF = re.compile(r"(?P<step>.+) (?P<n>\d+) of (?P<total>\d+)", re.S)

# Reasons written by the product: a follow-up's cancel reason, an enrolment's end reason.
CASE_CLOSED = gettext_noop("The case was closed")
STEPS_DONE = gettext_noop("Every step is done, missed or cancelled")
CLIENT_DECLINED = gettext_noop("The client declined further calls")
# Reasons of history events (FollowUpEvent.reason).
WINDOW_MOVED_LATER = gettext_noop("Its window was moved to later")
WINDOW_OPENED = gettext_noop("Its window opened")
DUE_TIME_PASSED = gettext_noop("Its due time passed")
WINDOW_CLOSED = gettext_noop("Its window closed without a completed contact")
COUNTED_FROM_DISCHARGE = gettext_noop("Counted from the discharge")
RELEASED = gettext_noop("Released for processing")
RESUMED_BY_SUPERVISOR = gettext_noop("Resumed by a supervisor")

FIXED = frozenset(
    {
        ONE_OFF_TITLE,
        CASE_CLOSED,
        STEPS_DONE,
        CLIENT_DECLINED,
        WINDOW_MOVED_LATER,
        WINDOW_OPENED,
        DUE_TIME_PASSED,
        WINDOW_CLOSED,
        COUNTED_FROM_DISCHARGE,
        RELEASED,
        RESUMED_BY_SUPERVISOR,
    }
)


def shown(text: str) -> str:
    """A stored text in the reader's language when it is one of the product's own (FIXED),
    else as stored."""
    return gettext(text) if text in FIXED else text


def argument(text: str):
    """A stored text as an argument of a stored_text message: translated when shown if it
    is one of the product's own (FIXED), else data."""
    return label(text) if text in FIXED else text


def occurrence_title(step: str, n: int, total: int) -> str:
    """ "Monthly message 2 of 4", in English (stored)."""
    return OCCURRENCE_OF % {"step": step, "n": n, "total": total}


def shown_title(title: str, *, from_step: bool, occurrence: int) -> str:
    """A follow-up's stored title in the reader's language: the default title of a
    one-off, and the "2 of 4" of a repeating step's occurrence; the names of the protocol
    and its step as stored."""
    if not from_step:
        return shown(title) if title == ONE_OFF_TITLE else title
    match = _OCCURRENCE_OF.fullmatch(title)
    if match is None or int(match["n"]) != occurrence:
        return title
    return gettext(OCCURRENCE_OF) % match.groupdict()
