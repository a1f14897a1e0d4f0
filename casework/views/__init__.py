"""The caseload, the case page and its forms, and the new crisis contact form."""

from casework.views.case_followups import add, enrolment_end, visit_add, visit_discharge
from casework.views.case_notes import case_note
from casework.views.case_pages import case_close, case_concerns, case_detail, emergency_access
from casework.views.caseload import caseload
from casework.views.contacts import client_suggest, contact_draft, contact_new

__all__ = [
    "add",
    "case_close",
    "case_concerns",
    "case_note",
    "case_detail",
    "caseload",
    "client_suggest",
    "contact_draft",
    "contact_new",
    "emergency_access",
    "enrolment_end",
    "visit_add",
    "visit_discharge",
]
