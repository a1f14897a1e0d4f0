"""The product's own words that follow-up rows store in English and show later, in each
reader's language (core/i18n.py): a follow-up's title, the reasons the product writes for
a cancelled follow-up, an ended enrolment or a history event.

A stored text is translated when shown only when it is exactly one of these messages
(`shown`), so what a person typed in the same column is shown as they typed it.

The names of protocols and of their steps, and their descriptions, are the agency's data,
installed from followups/protocols.py and then edited by its admins. A text installed as
shipped is in the catalogue and shows in the reader's language; a text the agency wrote is
not, and shows as written (`shipped`, as cases.models.ReferenceItem shows its labels).
"""

import re
from typing import Any

from django.utils.translation import gettext, gettext_noop

from core.i18n import label, render_stored

# The title of a one-off follow-up added without one.
ONE_OFF_TITLE = gettext_noop("One-off follow-up")
# The title of a repeating step's occurrence out of a known number: "Caring Contacts:
# Monthly message 2 of 4" (`step`: the protocol's and the step's names).
OCCURRENCE_OF = gettext_noop("%(step)s %(n)s of %(total)s")
_OCCURRENCE_OF = re.compile(r"(?P<step>.+) (?P<n>\d+) of (?P<total>\d+)", re.S)
# The title of a repeating step's occurrence without an end: "Weekly call 3".
NUMBERED = gettext_noop("%(step)s %(n)s")
# The title of a protocol's follow-up, as followups.services.enrolment writes it in
# English: "Post-crisis check: Check-in at 48 hours".
STEP_TITLE = gettext_noop("%(protocol)s: %(step)s")

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


def shipped(text: str) -> str:
    """A protocol's name, a step's name or a version's description in the reader's
    language when the product shipped it (followups/protocols.py); a text the agency wrote
    is not in the catalogue and comes back as written."""
    # gettext("") is the catalogue's header.
    return gettext(text) if text else text


def occurrence_title(step: str, n: int, total: int) -> str:
    """ "Monthly message 2 of 4", in English (stored)."""
    return OCCURRENCE_OF % {"step": step, "n": n, "total": total}


def _step_argument(text: str, occurrence: int) -> dict[str, Any]:
    """The step's part of a stored title ("Monthly message 2 of 4", "Weekly call 3",
    "Check-in at 48 hours") as a stored text's argument."""
    match = _OCCURRENCE_OF.fullmatch(text)
    if match is not None and int(match["n"]) == occurrence:
        return {
            "m": OCCURRENCE_OF,
            "a": {"step": label(match["step"]), "n": match["n"], "total": match["total"]},
        }
    name, _space, n = text.rpartition(" ")
    if name and n == str(occurrence):
        return {"m": NUMBERED, "a": {"step": label(name), "n": n}}
    return label(text)


def title_argument(title: str, *, from_step: bool, occurrence: int) -> Any:
    """A follow-up's stored title as an argument of a stored text (core.i18n), shown in the
    reader's language: a one-off's default title, and in a protocol's follow-up the "2 of
    4" and the names the product shipped; a name or title a person wrote as written.

    The title is read back into the parts followups.services.enrolment made it of, at its
    first ": ". A protocol's name with ": " in it then splits in the wrong place, but a
    part that is not a shipped name shows as written, so the title still reads as stored.
    """
    if not from_step:
        return argument(title)
    protocol, colon, step = title.partition(": ")
    if not (protocol and colon and step):
        return _step_argument(title, occurrence)
    return {
        "m": STEP_TITLE,
        "a": {"protocol": label(protocol), "step": _step_argument(step, occurrence)},
    }


def shown_title(title: str, *, from_step: bool, occurrence: int) -> str:
    """A follow-up's stored title in the reader's language (`title_argument`)."""
    if not from_step:
        return shown(title) if title == ONE_OFF_TITLE else title
    data = title_argument(title, from_step=True, occurrence=occurrence)
    return render_stored(data, title) if "m" in data else shipped(title)
