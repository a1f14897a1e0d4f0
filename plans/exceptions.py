"""Refusals of the safety plan and crisis response plan workflows. Each is a DomainError:
the API answers 400 (403 for NotPermitted) and pages show the message."""

from core.exceptions import DomainError, NotPermitted

__all__ = ["LinkUnusable", "NotPermitted", "PlanError", "PlanInvalid", "InvalidTransition"]


class PlanError(DomainError):
    pass


class PlanInvalid(PlanError):
    """What was given cannot make a plan (an empty step, a missing address)."""


class InvalidTransition(PlanError):
    """The crisis plan's status does not allow this (approving a draft, editing an
    approved version in place)."""

    code = "invalid_transition"


class LinkUnusable(PlanError):
    """The client's link is revoked or expired."""
