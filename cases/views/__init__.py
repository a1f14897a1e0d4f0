"""The social worker's pages."""

from cases.views.case_pages import case_close, case_concerns, case_detail, emergency_access
from cases.views.caseload import caseload
from cases.views.clients import (
    client_detail,
    client_edit,
    client_merge,
    client_merge_confirm,
    client_search,
)
from cases.views.contacts import (
    client_suggest,
    contact_amend,
    contact_detail,
    contact_draft,
    contact_new,
)

__all__ = [
    "case_close",
    "case_concerns",
    "case_detail",
    "caseload",
    "client_detail",
    "client_edit",
    "client_merge",
    "client_merge_confirm",
    "client_search",
    "client_suggest",
    "contact_amend",
    "contact_detail",
    "contact_draft",
    "contact_new",
    "emergency_access",
]
