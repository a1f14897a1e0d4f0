"""Forms for the worker's pages. They validate and hand `cleaned_data` to a service;
none of them saves anything."""

from cases.forms.case_pages import CloseCaseForm, ConcernsForm, EmergencyAccessForm
from cases.forms.clients import (
    DUPLICATE_MESSAGE,
    ClientDetailsForm,
    ClientEditForm,
    ClientSearchForm,
    ClientSectionForm,
    MergeConfirmForm,
    OutsideSearchForm,
    SuggestQueryForm,
)
from cases.forms.contacts import ContactAmendForm, ContactFieldsForm

__all__ = [
    "DUPLICATE_MESSAGE",
    "ClientDetailsForm",
    "ClientEditForm",
    "ClientSearchForm",
    "ClientSectionForm",
    "CloseCaseForm",
    "ConcernsForm",
    "ContactAmendForm",
    "ContactFieldsForm",
    "EmergencyAccessForm",
    "MergeConfirmForm",
    "OutsideSearchForm",
    "SuggestQueryForm",
]
