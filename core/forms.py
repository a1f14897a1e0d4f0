"""What every app's forms share: the phone's date-and-time picker, and one way to put a
service's refusal on the form."""

from typing import Any

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils.translation import gettext as _


class DateTimeLocalInput(forms.DateTimeInput):
    """A phone's native date-and-time picker. Values are wall-clock times in the agency's
    time zone (the middleware activates it; the field makes them aware)."""

    input_type = "datetime-local"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs, format="%Y-%m-%dT%H:%M")


def add_error(exc: Exception, *forms: forms.BaseForm) -> None:
    """Show a service's refusal on the input it names, on the first of `forms` that has
    that field, else at the top of the last form. A ValidationError names its fields in
    its error_dict (one it cannot place is labelled with the field's name); a DomainError
    in its `field`."""
    last = forms[-1]
    for name, messages, labelled in _refusals(exc):
        target = next((form for form in forms if name in form.fields), None)
        for message in messages:
            if target is not None:
                target.add_error(name, message)
            elif labelled and name != NON_FIELD_ERRORS:
                field = name.replace("_", " ").capitalize()
                last.add_error(
                    None, _("%(field)s: %(message)s") % {"field": field, "message": message}
                )
            else:
                last.add_error(None, message)


def _refusals(exc: Exception) -> list[tuple[str, list[str], bool]]:
    """(field, messages, whether an unplaced message is labelled) for each field `exc`
    names."""
    if not isinstance(exc, ValidationError):
        return [(getattr(exc, "field", None) or NON_FIELD_ERRORS, [str(exc)], False)]
    errors = exc.error_dict if hasattr(exc, "error_dict") else {NON_FIELD_ERRORS: exc.messages}
    return [(name, ValidationError(messages).messages, True) for name, messages in errors.items()]
