"""The dispatch pages' forms: they validate, and the views hand cleaned_data to the
services (dispatch.services)."""

from typing import Any

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from accounts.models import Role, User
from cases.models import Client
from dispatch.models import (
    ActiveRescue,
    Credential,
    NotServedReason,
    Priority,
    RequestReason,
    RequestSource,
    Step,
    Unit,
)

UNKNOWN_YES_NO = [
    ("", gettext_lazy("Not known")),
    ("true", gettext_lazy("Yes")),
    ("false", gettext_lazy("No")),
]


def unknown_yes_no(label: Any) -> forms.TypedChoiceField:
    """A hazard or fact that may be not known (None), yes or no."""
    return forms.TypedChoiceField(
        label=label,
        choices=UNKNOWN_YES_NO,
        coerce=lambda value: value == "true",
        empty_value=None,
        required=False,
    )


class RequestForm(forms.Form):
    """A request for a mobile team, as the dispatcher takes it on the phone: what is
    needed to send a team first, the rest after."""

    priority = forms.ChoiceField(
        label=gettext_lazy("Priority"), choices=Priority.choices, widget=forms.RadioSelect
    )
    reason = forms.ChoiceField(label=gettext_lazy("Reason"), choices=RequestReason.choices)
    location_text = forms.CharField(
        label=gettext_lazy("Address or place"), max_length=300, required=False
    )
    latitude = forms.DecimalField(
        label=gettext_lazy("Latitude"), max_digits=9, decimal_places=6, required=False
    )
    longitude = forms.DecimalField(
        label=gettext_lazy("Longitude"), max_digits=9, decimal_places=6, required=False
    )
    source = forms.ChoiceField(label=gettext_lazy("Source"), choices=RequestSource.choices)
    callback_number = forms.CharField(
        label=gettext_lazy("Callback number"), max_length=40, required=False
    )
    reason_notes = forms.CharField(
        label=gettext_lazy("What the caller said"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    weapons = unknown_yes_no(gettext_lazy("Weapons at the scene"))
    violence_history = unknown_yes_no(gettext_lazy("History of violence"))
    animals = unknown_yes_no(gettext_lazy("Animals"))
    access_notes = forms.CharField(
        label=gettext_lazy("Access (gate code, stairs, where to park)"),
        max_length=1000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    hazard_notes = forms.CharField(
        label=gettext_lazy("Other hazards"),
        max_length=1000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    police_requested = unknown_yes_no(gettext_lazy("Police requested"))
    centre_name = forms.CharField(label=gettext_lazy("988 centre"), max_length=200, required=False)
    centre_call_id = forms.CharField(
        label=gettext_lazy("988 call id"), max_length=100, required=False
    )
    warm_transfer = unknown_yes_no(gettext_lazy("Warm transfer"))
    line_open_until_arrival = unknown_yes_no(gettext_lazy("Line kept open until the team arrived"))
    active_rescue = forms.ChoiceField(
        label=gettext_lazy("Active rescue"),
        choices=[("", "—"), *ActiveRescue.choices],
        required=False,
    )
    cad_incident_number = forms.CharField(
        label=gettext_lazy("CAD incident number"), max_length=64, required=False
    )
    # The person, when the agency knows them (chosen with the lookup: views.requests).
    client = forms.ModelChoiceField(
        queryset=Client.objects.none(),
        required=False,
        widget=forms.HiddenInput,
        error_messages={
            "invalid_choice": gettext_lazy("That client was not found in your agency.")
        },
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["client"].queryset = Client.objects.filter(
            agency_id=user.agency_id, merged_into__isnull=True
        )

    def clean(self):
        cleaned = super().clean()
        if (cleaned.get("latitude") is None) != (cleaned.get("longitude") is None):
            self.add_error("longitude", _("Give both latitude and longitude, or neither."))
        return cleaned


class AssignForm(forms.Form):
    unit = forms.ModelChoiceField(
        label=gettext_lazy("Unit"), queryset=Unit.objects.none(), empty_label=None
    )

    def __init__(self, *args, units, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = units


class ReasonForm(forms.Form):
    """Why a unit is released from a request."""

    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=300)


class NotServedForm(forms.Form):
    reason = forms.ChoiceField(label=gettext_lazy("Why"), choices=NotServedReason.choices)
    notes = forms.CharField(
        label=gettext_lazy("Notes"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class ResolveAlertForm(forms.Form):
    resolution = forms.CharField(label=gettext_lazy("How it was handled"), max_length=300)


class StepForm(forms.Form):
    """The one tap, and where the timeline forks the choice and its details."""

    to = forms.ChoiceField(
        label=pgettext_lazy("the step a unit records", "To"),
        choices=[("", ""), *Step.choices],
        required=False,
    )
    destination = forms.CharField(label=gettext_lazy("Destination"), max_length=300, required=False)
    involuntary_hold = unknown_yes_no(gettext_lazy("Involuntary hold"))
    involuntary_transport = unknown_yes_no(gettext_lazy("Involuntary transport"))
    latitude = forms.DecimalField(
        max_digits=9, decimal_places=6, required=False, widget=forms.HiddenInput
    )
    longitude = forms.DecimalField(
        max_digits=9, decimal_places=6, required=False, widget=forms.HiddenInput
    )


class PositionForm(forms.Form):
    latitude = forms.DecimalField(label=gettext_lazy("Latitude"), max_digits=12, decimal_places=9)
    longitude = forms.DecimalField(label=gettext_lazy("Longitude"), max_digits=12, decimal_places=9)
    accuracy_m = forms.FloatField(label=gettext_lazy("Accuracy m"), required=False, min_value=0)


class StartShiftForm(forms.Form):
    """A team going on shift: the unit, and its members with what each is."""

    unit = forms.ModelChoiceField(label=gettext_lazy("Unit"), queryset=Unit.objects.none())
    credential = forms.ChoiceField(label=gettext_lazy("You are"), choices=Credential.choices)
    partner = forms.ModelChoiceField(
        label=gettext_lazy("With"),
        queryset=User.objects.none(),
        required=False,
        empty_label=gettext_lazy("Nobody else"),
    )
    partner_credential = forms.ChoiceField(
        label=gettext_lazy("Who is"), choices=Credential.choices, required=False
    )
    shares_position = forms.BooleanField(
        label=gettext_lazy("Share our position with the dispatcher while on shift"),
        required=False,
        help_text=gettext_lazy("Only while the shift lasts; deleted when it ends."),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = Unit.objects.filter(
            agency_id=user.agency_id, status="off_shift"
        )
        self.fields["partner"].queryset = (
            User.objects.filter(
                agency_id=user.agency_id,
                is_active=True,
                role__in=[Role.SOCIAL_WORKER, Role.SUPERVISOR],
            )
            .exclude(pk=user.pk)
            .order_by("first_name", "last_name", "username")
        )
