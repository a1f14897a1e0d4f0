from casebook.exceptions import DomainError


class CaseClosed(DomainError):
    code = "case_closed"


class InvalidAmendment(DomainError):
    code = "invalid_amendment"


class InvalidReassignment(DomainError):
    code = "invalid_reassignment"


class EmergencyAccessRefused(DomainError):
    code = "emergency_access_refused"


class NotPermitted(DomainError):
    code = "not_permitted"
