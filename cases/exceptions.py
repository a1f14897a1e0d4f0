from core.exceptions import DomainError


class CaseClosed(DomainError):
    code = "case_closed"


class InvalidAmendment(DomainError):
    code = "invalid_amendment"


class InvalidReassignment(DomainError):
    code = "invalid_reassignment"


class EmergencyAccessRefused(DomainError):
    code = "emergency_access_refused"


class OutsideScope(DomainError):
    """The client's open case is outside the user's caseload: emergency access first."""

    code = "outside_scope"

    def __init__(self, message, *, case_id):
        super().__init__(message)
        self.case_id = case_id


class MergeRefused(DomainError):
    code = "merge_refused"
