"""How a notification leaves the building: text messages through the backend named by
settings.SMS_BACKEND (a dotted path), email through django.core.mail (EMAIL_BACKEND).

A text backend is a class with `send(to: str, text: str) -> None` that raises
DeliveryError when the message did not go (PermanentDeliveryError when trying again
cannot help, such as a missing or malformed number). The embedded default,
ConsoleSMSBackend, prints the message to stdout the way Django's console email backend
prints emails.
"""

import sys
import threading
from typing import Any, Self

from django.conf import settings
from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext_noop

from cases.models import phone_digits
from core.i18n import StoredText, stored_text


class DeliveryError(Exception):
    """The message did not go; a later try may succeed. Its message is in English; `text`
    is the same in the product's words (core.i18n.stored_text), to be read in each reader's
    language, when it was raised with `because` (a backend's own words have none)."""

    text: StoredText | None = None

    @classmethod
    def because(cls, message: str, /, **args: Any) -> Self:
        """The error saying why in the product's words: `message` marked with gettext_noop,
        and its arguments (as core.i18n.stored_text takes them)."""
        text = stored_text(message, **args)
        error = cls(text.english)
        error.text = text
        return error


class PermanentDeliveryError(DeliveryError):
    """The message cannot go as it is (no address, a malformed one): do not try again."""


class ConsoleSMSBackend:
    """Writes each text to a stream (stdout by default) instead of sending it."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stdout
        self._lock = threading.RLock()

    def send(self, to: str, text: str) -> None:
        if not phone_digits(to):
            raise PermanentDeliveryError.because(gettext_noop("no phone number to text"))
        rule = "-" * 79
        with self._lock:
            self.stream.write(
                f"Text message\nTo: {to}\nDate: {timezone.now().isoformat()}\n\n{text}\n{rule}\n"
            )
            self.stream.flush()


class LocmemSMSBackend:
    """Keeps texts in `LocmemSMSBackend.outbox` (for tests), like the locmem email backend."""

    outbox: list[tuple[str, str]] = []

    def send(self, to: str, text: str) -> None:
        if not phone_digits(to):
            raise PermanentDeliveryError.because(gettext_noop("no phone number to text"))
        self.outbox.append((to, text))


def sms_backend():
    """An instance of the configured text backend."""
    return import_string(settings.SMS_BACKEND)()


def send_text(to: str, text: str) -> None:
    sms_backend().send(to, text)


def send_email(to: str, subject: str, body: str, html: str = "") -> None:
    """Email `body` to `to`, with `html` as its HTML alternative when given."""
    if not to or "@" not in to:
        raise PermanentDeliveryError.because(gettext_noop("no email address to write to"))
    message: EmailMessage
    if html:
        message = EmailMultiAlternatives(subject=subject, body=body, to=[to])
        message.attach_alternative(html, "text/html")
    else:
        message = EmailMessage(subject=subject, body=body, to=[to])
    try:
        sent = message.send()
    except (OSError, ValueError) as exc:
        # smtplib's errors are OSErrors; a bad header is a ValueError.
        raise DeliveryError(f"{type(exc).__name__}: {exc}") from exc
    if not sent:
        raise DeliveryError.because(gettext_noop("the email backend accepted nothing"))
