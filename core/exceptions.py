"""The base of every app's domain errors."""


class DomainError(Exception):
    """A business rule refused the request. The API answers 400 (403 for NotPermitted);
    pages show the message. `field`, when set, names the input the message is about, so a
    form (core.forms.add_error) or the API's answer can put it beside that input."""

    code = "invalid"

    def __init__(self, message: str = "", *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class NotPermitted(DomainError):
    """The user may see the record but not do this to it: the API answers 403."""

    code = "not_permitted"
