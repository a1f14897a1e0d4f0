"""Refusals of the follow-up workflows: DomainErrors (400 in the API, a message on pages).
`field`, when set, names the input the message is about."""

from core.exceptions import DomainError


class FollowUpError(DomainError):
    pass


class FollowUpClosed(FollowUpError):
    """The follow-up is completed, missed or cancelled: it cannot change like that."""

    code = "followup_closed"


class FollowUpInvalid(FollowUpError):
    """The input breaks a rule (a due date out of range, no reason given, ...)."""

    code = "followup_invalid"


class NotPermitted(FollowUpError):
    code = "not_permitted"


class CannotUndo(FollowUpError):
    """The attempt can no longer be undone (too late, not the last, not the author's)."""

    code = "cannot_undo"
