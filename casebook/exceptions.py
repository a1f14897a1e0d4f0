class DomainError(Exception):
    """A business rule refused the request. The API answers 400; pages show a message."""

    code = "invalid"
