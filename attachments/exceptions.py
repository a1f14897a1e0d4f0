from core.exceptions import DomainError, NotPermitted

__all__ = ["AttachmentRefused", "NotPermitted"]


class AttachmentRefused(DomainError):
    """The file, its label or its kind cannot be attached (the message says why and what
    is accepted); `field` names the input."""

    code = "attachment_refused"
