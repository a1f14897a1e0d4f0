"""The client pages: search, the client's record, its edit and merge; a
recorded contact and its amendment."""

from cases.views.clients import (
    client_detail,
    client_edit,
    client_merge,
    client_merge_confirm,
    client_search,
)
from cases.views.contacts import contact_amend, contact_detail

__all__ = [
    "client_detail",
    "client_edit",
    "client_merge",
    "client_merge_confirm",
    "client_search",
    "contact_amend",
    "contact_detail",
]
