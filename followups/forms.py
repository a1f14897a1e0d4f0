"""Forms of the follow-up pages. They validate and hand `cleaned_data` to a service in
followups/services/; none of them saves anything. Date-times are wall-clock times in
the agency's time zone (AgencyTimezoneMiddleware activates it; the fields make them
aware)."""

from django import forms
from django.utils import timezone
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from core.forms import DateTimeLocalInput
from followups.models import AttemptOutcome, Method, VisitKind, VisitReason

REASON_MAX = 300


def _time_field(label, *, required=True, help_text=""):
    return forms.DateTimeField(
        label=label, required=required, widget=DateTimeLocalInput(), help_text=help_text
    )


def _reason_field(label=None, *, required=True, help_text=""):
    return forms.CharField(
        label=label or _("Reason"),
        max_length=REASON_MAX,
        required=required,
        help_text=help_text,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
        error_messages={"required": _("Give a reason.")},
    )


def plan_question(label):
    """A safety plan question (FollowUp.plan_reviewed, plan_changed): Yes, No, or None
    when not answered. The service says which answers a follow-up needs
    (services.complete_followup). Its choices are buttons, one tap each
    (templates/followups/_form_fields.html)."""
    return forms.TypedChoiceField(
        label=label,
        choices=[("yes", _("Yes")), ("no", _("No"))],
        coerce=lambda value: value == "yes",
        empty_value=None,
        required=False,
        widget=forms.RadioSelect(attrs={"class": "btn-check"}),
    )


PLAN_REVIEWED_LABEL = _("Did you review the safety plan with the client?")
PLAN_CHANGED_LABEL = _("Did the safety plan change?")


def add_plan_questions(form: forms.BaseForm, *, asked: bool) -> None:
    """Give `form` the safety plan questions when the follow-up asks them
    (models.plan_review_asked). A form that did not show them passes no answers."""
    if asked:
        form.fields["plan_reviewed"] = plan_question(PLAN_REVIEWED_LABEL)
        form.fields["plan_changed"] = plan_question(PLAN_CHANGED_LABEL)
        form.fields["plan_changed"].help_text = _("Answer when the plan was reviewed.")


class NoNulCharField(forms.CharField):
    """Text typed or pasted by anyone: a NUL is dropped (PostgreSQL text cannot hold it)."""

    def to_python(self, value):
        return super().to_python(value).replace("\x00", "")


class AttemptForm(forms.Form):
    outcome = forms.ChoiceField(
        label=_("Outcome"),
        choices=AttemptOutcome.choices,
        error_messages={"required": _("Choose what happened.")},
    )
    method = forms.ChoiceField(label=_("Method"), choices=Method.choices, required=False)
    note = NoNulCharField(
        label=_("Note"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    # The form's one-time id (given by the page script): a retry logs the attempt once.
    submission_id = forms.UUIDField(required=False, widget=forms.HiddenInput)
    # When the worker tapped it, set by the phone's outbox for an attempt kept offline.
    saved_at = forms.DateTimeField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, plan_asked=False, **kwargs):
        """`plan_asked`: a reached attempt completes a follow-up that asks about the
        safety plan (models.plan_review_asked)."""
        super().__init__(*args, **kwargs)
        add_plan_questions(self, asked=plan_asked)
        if plan_asked:
            self.fields["plan_reviewed"].help_text = _("When the client was reached.")

    def clean_saved_at(self):
        # A phone's clock may run ahead: never later than the server's now.
        saved_at = self.cleaned_data["saved_at"]
        return min(saved_at, timezone.now()) if saved_at else None


class CompleteForm(forms.Form):
    note = NoNulCharField(
        label=_("Note"),
        max_length=REASON_MAX,
        required=False,
        help_text=_("What was done (optional)."),
    )
    # Sent by the page's button: a POST without it (an empty one) changes nothing.
    confirm = forms.BooleanField(
        widget=forms.HiddenInput,
        initial=True,
        error_messages={"required": _("Use the Mark done button.")},
    )

    def __init__(self, *args, note_required=False, plan_asked=False, **kwargs):
        """`note_required`: the follow-up needs a note to be done (models.NOTE_REQUIRED;
        the service refuses it without one); `plan_asked`: it asks about the safety plan
        (models.plan_review_asked)."""
        super().__init__(*args, **kwargs)
        add_plan_questions(self, asked=plan_asked)
        if note_required:
            self.fields["note"].required = True
            self.fields["note"].help_text = _(
                "Required for this call (high risk or safety planning): how the client is, "
                "the risk now, the safety plan."
            )


class MoveForm(forms.Form):
    due_at = _time_field(_("New due date and time"))
    reason = _reason_field(help_text=_("Kept in the follow-up's history, with your name."))


class CancelForm(forms.Form):
    reason = _reason_field(help_text=_("Why this follow-up is no longer needed."))


class OneOffForm(forms.Form):
    """A one-off follow-up added by hand on the case page."""

    due_at = _time_field(pgettext_lazy("when a follow-up is due", "Due"))
    method = forms.ChoiceField(label=_("Method"), choices=Method.choices, initial=Method.PHONE)
    reason = _reason_field(help_text=_("Why this follow-up is needed."))
    title = forms.CharField(label=_("Title (optional)"), max_length=200, required=False)


class VisitForm(forms.Form):
    """An ER visit or admission recorded on the case page."""

    kind = forms.ChoiceField(label=_("Kind"), choices=VisitKind.choices, initial=VisitKind.ED)
    reason = forms.ChoiceField(
        label=_("Reason for the visit"), choices=[("", "—")] + list(VisitReason.choices)
    )
    arrived_at = _time_field(_("Arrived"))
    discharged_at = _time_field(
        _("Discharged"),
        required=False,
        help_text=_("Leave empty while the client is still there."),
    )
    admitted = forms.BooleanField(label=_("Admitted as an inpatient"), required=False)
    facility = forms.CharField(label=_("Hospital"), max_length=200, required=False)

    def clean(self):
        cleaned = super().clean()
        arrived, discharged = cleaned.get("arrived_at"), cleaned.get("discharged_at")
        if arrived and discharged and discharged < arrived:
            self.add_error("discharged_at", gettext("The discharge cannot be before the arrival."))
        return cleaned


class DischargeForm(forms.Form):
    discharged_at = _time_field(_("Discharged"))


class EndEnrolmentForm(forms.Form):
    reason = _reason_field(
        help_text=_("For example: attended a mental health appointment; declined further calls.")
    )


class ProtocolActiveForm(forms.Form):
    """Switch a protocol on or off. The choice must be sent: a request without it (an
    empty POST, a form that lost its field) changes nothing rather than meaning "off"."""

    active = forms.TypedChoiceField(
        choices=[("1", _("On")), ("0", _("Off"))],
        coerce=lambda value: value == "1",
        error_messages={"required": _("Say whether to switch the protocol on or off.")},
    )
