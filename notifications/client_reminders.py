"""Reminders to clients that a follow-up is coming, by the one channel the client agreed
to (Client.reminder_channel), and never anything else.

A text or an email may be read by anyone holding the phone or the mailbox, so the
message is one fixed, neutral sentence: it names no programme, no agency, no diagnosis,
no protocol, nothing of why the follow-up exists and nothing from the record. Under
42 CFR Part 2 even naming a substance use programme discloses that the person is in it
(see DOMAIN.md). Nothing from the follow-up or the case is interpolated into the text on
purpose; tests/notifications/test_client_reminders.py holds the list of words that must
never appear.

Reminders go out in the daytime of the agency's time zone: a follow-up whose window opens
at midnight is reminded at QUIET_HOURS_END that morning, not at midnight.

The texts are in the active language: the caller composes them in the client's
(notifications.services.reminder_content). Their translations must stay as neutral as the
English.
"""

import datetime

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Agency
from cases.models import ReminderChannel

REMINDER_SUBJECT = gettext_lazy("A reminder")
# "STOP" is the carrier's opt-out keyword: it stays as it is in every language.
REMINDER_TEXT = gettext_lazy(
    "Hi, this is a reminder that someone will check in with you soon. Reply STOP to opt out."
)
REMINDER_EMAIL = gettext_lazy(
    "Hi,\n\nThis is a reminder that someone will check in with you soon.\n\n"
    "If you would rather not get these reminders, reply to say so.\n"
)
# Reminders go between these local hours (9:00 to 20:00).
QUIET_HOURS_END = 9
QUIET_HOURS_START = 20


def reminder_text() -> str:
    """The text message body: the same for every client and every follow-up (in the active
    language)."""
    return str(REMINDER_TEXT)


def reminder_email() -> tuple[str, str]:
    """(subject, body) of the email reminder: the same for everyone (in the active
    language)."""
    return str(REMINDER_SUBJECT), str(REMINDER_EMAIL)


def reminder_address(client) -> tuple[str, str] | None:
    """(channel, address) the client agreed to be reminded by, or None for no reminder.
    The address may be blank (a text channel with no phone recorded): the reminder is
    then queued and fails visibly rather than vanishing."""
    if client.reminder_channel == ReminderChannel.TEXT:
        return ReminderChannel.TEXT, client.phone
    if client.reminder_channel == ReminderChannel.EMAIL:
        return ReminderChannel.EMAIL, client.email
    return None


def reminder_send_time(now: datetime.datetime, agency: Agency) -> datetime.datetime:
    """`now` when it is daytime for the agency, otherwise QUIET_HOURS_END (agency time)
    the next morning, in UTC."""
    local = agency.local(now)
    if QUIET_HOURS_END <= local.hour < QUIET_HOURS_START:
        return now
    day = local.date()
    if local.hour >= QUIET_HOURS_START:
        day += datetime.timedelta(days=1)
    return agency.at(day, datetime.time(QUIET_HOURS_END)).astimezone(datetime.UTC)


def mask_address(channel: str, address: str) -> str:
    """A client's number or email as staff lists show it: the last two digits, or the
    first letter of the email."""
    if not address:
        return _("(none recorded)")
    if channel == ReminderChannel.TEXT:
        digits = "".join(c for c in address if c.isdigit())
        return f"••• ••{digits[-2:]}" if len(digits) >= 2 else "•••"
    return f"{address[0]}•••@•••"
