"""Refusals of the dispatch workflows. Each is a DomainError: the API answers 400 (403 for
NotAllowed) and pages show the message. `field`, when set, names the input the message
is about, so a form or serializer can put it beside that field."""

from core.exceptions import DomainError, NotPermitted


class DispatchError(DomainError):
    pass


class NotAllowed(NotPermitted):
    """The user may not do this to a dispatch record (not a dispatcher, not on the unit's
    shift, another agency's unit or client)."""


class InvalidTransition(DispatchError):
    """The status change is not in ALLOWED_TRANSITIONS (a request) or UNIT_TRANSITIONS (a
    unit), or a stamp of the timeline is already set."""

    code = "invalid_transition"


class UnitNotAvailable(DispatchError):
    """The unit is not available: off shift, out of service, or on another request."""

    code = "unit_not_available"


class NotOnShift(DispatchError):
    """The unit has no open shift, or the user is not one of its members."""

    code = "not_on_shift"


class PositionNotShared(DispatchError):
    """The unit does not share its position: nothing of where it is may be stored."""

    code = "position_not_shared"


class DispatchInvalid(DispatchError):
    """What was given breaks a rule (a time in the future or before the last stamp, a
    member already on another shift, a destination missing, ...)."""

    code = "dispatch_invalid"
