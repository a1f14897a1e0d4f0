"""Forms of the follow-up pages. They validate and hand `cleaned_data` to a service in
followups/services/; none of them saves anything. Date-times are wall-clock times in
the agency's time zone (AgencyTimezoneMiddleware activates it; the fields make them
aware)."""

from django import forms

from core.forms import DateTimeLocalInput
from followups.models import AttemptOutcome, Method, VisitKind, VisitReason

REASON_MAX = 300


def _time_field(label, *, required=True, help_text=""):
    return forms.DateTimeField(
        label=label, required=required, widget=DateTimeLocalInput(), help_text=help_text
    )


def _reason_field(label="Reason", *, required=True, help_text=""):
    return forms.CharField(
        label=label,
        max_length=REASON_MAX,
        required=required,
        help_text=help_text,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
        error_messages={"required": "Give a reason."},
    )


class NoNulCharField(forms.CharField):
    """Text typed or pasted by anyone: a NUL is dropped (PostgreSQL text cannot hold it)."""

    def to_python(self, value):
        return super().to_python(value).replace("\x00", "")


class AttemptForm(forms.Form):
    outcome = forms.ChoiceField(
        choices=AttemptOutcome.choices, error_messages={"required": "Choose what happened."}
    )
    method = forms.ChoiceField(choices=Method.choices, required=False)
    note = NoNulCharField(max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2}))


class CompleteForm(forms.Form):
    note = NoNulCharField(
        label="Note", max_length=REASON_MAX, required=False, help_text="What was done (optional)."
    )
    # Sent by the page's button: a POST without it (an empty one) changes nothing.
    confirm = forms.BooleanField(
        widget=forms.HiddenInput,
        initial=True,
        error_messages={"required": "Use the Mark done button."},
    )

    def __init__(self, *args, note_required=False, **kwargs):
        """`note_required`: the follow-up needs a note to be done (models.NOTE_REQUIRED;
        the service refuses it without one)."""
        super().__init__(*args, **kwargs)
        if note_required:
            self.fields["note"].required = True
            self.fields["note"].help_text = (
                "Required for this call (high risk or safety planning): how the client is, "
                "the risk now, the safety plan."
            )


class MoveForm(forms.Form):
    due_at = _time_field("New due date and time")
    reason = _reason_field(help_text="Kept in the follow-up's history, with your name.")


class CancelForm(forms.Form):
    reason = _reason_field(help_text="Why this follow-up is no longer needed.")


class OneOffForm(forms.Form):
    """A one-off follow-up added by hand on the case page."""

    due_at = _time_field("Due")
    method = forms.ChoiceField(choices=Method.choices, initial=Method.PHONE)
    reason = _reason_field(help_text="Why this follow-up is needed.")
    title = forms.CharField(label="Title (optional)", max_length=200, required=False)


class VisitForm(forms.Form):
    """An ER visit or admission recorded on the case page."""

    kind = forms.ChoiceField(label="Kind", choices=VisitKind.choices, initial=VisitKind.ED)
    reason = forms.ChoiceField(
        label="Reason for the visit", choices=[("", "—")] + list(VisitReason.choices)
    )
    arrived_at = _time_field("Arrived")
    discharged_at = _time_field(
        "Discharged", required=False, help_text="Leave empty while the client is still there."
    )
    admitted = forms.BooleanField(label="Admitted as an inpatient", required=False)
    facility = forms.CharField(label="Hospital", max_length=200, required=False)

    def clean(self):
        cleaned = super().clean()
        arrived, discharged = cleaned.get("arrived_at"), cleaned.get("discharged_at")
        if arrived and discharged and discharged < arrived:
            self.add_error("discharged_at", "The discharge cannot be before the arrival.")
        return cleaned


class DischargeForm(forms.Form):
    discharged_at = _time_field("Discharged")


class EndEnrolmentForm(forms.Form):
    reason = _reason_field(
        help_text="For example: attended a mental health appointment; declined further calls."
    )


class ProtocolActiveForm(forms.Form):
    """Switch a protocol on or off. The choice must be sent: a request without it (an
    empty POST, a form that lost its field) changes nothing rather than meaning "off"."""

    active = forms.TypedChoiceField(
        choices=[("1", "On"), ("0", "Off")],
        coerce=lambda value: value == "1",
        error_messages={"required": "Say whether to switch the protocol on or off."},
    )
