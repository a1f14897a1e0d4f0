"""A crisis contact: recorded on the new-contact page, corrected by an amendment."""

from datetime import timedelta

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from cases import services
from cases.cssrs import QUESTIONS
from cases.models import (
    AMENDABLE_FIELDS,
    TIME_ORDER,
    CallNature,
    ContactSource,
    Disposition,
    contact_time_errors,
    late_entry_error,
)
from core.forms import DateTimeLocalInput

# A phone's clock and the server's may disagree a little; a call is not received later.
FUTURE_TOLERANCE = timedelta(minutes=5)


def _time_field(label, *, required=False):
    return forms.DateTimeField(label=label, required=required, widget=DateTimeLocalInput())


_YES_NO = {True: "yes", False: "no"}


def _yes_no_field(label):
    """True, False, or None when the question was not asked."""
    return forms.TypedChoiceField(
        label=label,
        choices=[("yes", _("Yes")), ("no", _("No"))],
        coerce=lambda value: value == "yes",
        empty_value=None,
        required=False,
        widget=forms.RadioSelect,
    )


def now_to_the_minute():
    return timezone.now().replace(second=0, microsecond=0)


class ContactFieldsForm(forms.Form):
    """The fields of a contact an amendment may correct (AMENDABLE_FIELDS), with the
    rules they follow wherever they are entered: call times in order, and the C-SSRS
    screener's skip logic."""

    source = forms.ChoiceField(label=_("Source"), choices=[("", "—")] + list(ContactSource.choices))
    received_at = _time_field(_("Call received"), required=True)
    dispatched_at = _time_field(_("Dispatched"))
    on_scene_at = _time_field(_("On scene"))
    cleared_at = _time_field(_("Cleared"))
    call_nature = forms.ModelChoiceField(
        label=_("Call nature"), queryset=CallNature.objects.none(), empty_label="—"
    )
    location = forms.CharField(label=_("Location"), max_length=300, required=False)
    others_present = forms.CharField(
        label=_("Others present"),
        max_length=300,
        required=False,
        help_text=_("Police, EMS, family, ..."),
    )
    police_backup_requested = forms.BooleanField(label=_("Police backup requested"), required=False)
    arrest = forms.BooleanField(label=_("Arrest"), required=False)
    injury = forms.BooleanField(label=_("Injury"), required=False)
    disposition = forms.ChoiceField(
        label=_("Disposition"), choices=[("", "—")] + list(Disposition.choices)
    )
    narrative = forms.CharField(
        label=_("Narrative"),
        max_length=20000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
    )
    cssrs_performed = forms.BooleanField(label=_("C-SSRS screen done"), required=False)
    cssrs_wish_dead = _yes_no_field(QUESTIONS["cssrs_wish_dead"])
    cssrs_suicidal_thoughts = _yes_no_field(QUESTIONS["cssrs_suicidal_thoughts"])
    cssrs_method = _yes_no_field(QUESTIONS["cssrs_method"])
    cssrs_intent = _yes_no_field(QUESTIONS["cssrs_intent"])
    cssrs_plan = _yes_no_field(QUESTIONS["cssrs_plan"])
    cssrs_behavior = _yes_no_field(QUESTIONS["cssrs_behavior"])
    cssrs_behavior_recent = _yes_no_field(QUESTIONS["cssrs_behavior_recent"])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["call_nature"].queryset = CallNature.objects.active()

    def cssrs_questions(self):
        """The screener's questions in order, for the page's Yes/No buttons."""
        return [{"key": key, "field": self[key]} for key in QUESTIONS]

    def clean(self):
        cleaned = super().clean()
        received = cleaned.get("received_at")
        if received and received > timezone.now() + FUTURE_TOLERANCE:
            self.add_error("received_at", gettext("The call cannot be received in the future."))
        times = {name: cleaned.get(name) for name in TIME_ORDER if not self.has_error(name)}
        for name, message in contact_time_errors(times).items():
            self.add_error(name, message)
        if not any(self.has_error(key) for key in ("cssrs_performed", *QUESTIONS)):
            try:
                services.compute_screen(cleaned)
            except ValidationError as exc:
                self.add_error(None, exc)
        return cleaned


class ContactAmendForm(ContactFieldsForm):
    """Corrections to a saved contact, with the reason. Prefilled with its current values."""

    reason = forms.CharField(
        label=_("Reason for the correction"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": _("Say why the contact is being corrected.")},
    )

    def __init__(self, *args, contact, **kwargs):
        self.contact = contact
        kwargs.setdefault("initial", self.current_values(contact))
        super().__init__(*args, **kwargs)

    def clean(self):
        cleaned = super().clean()
        received = cleaned.get("received_at")
        moved = received and received != self.contact.received_at.replace(second=0, microsecond=0)
        if moved and not self.has_error("received_at"):
            # The reason for the correction stands for the late-entry confirmation; the
            # bound on the year still applies.
            message = late_entry_error(
                received, self.contact.agency, confirmed=True, how_to_confirm=""
            )
            if message:
                self.add_error("received_at", message)
        return cleaned

    @staticmethod
    def current_values(contact) -> dict:
        values = {
            name: getattr(contact, name) for name in AMENDABLE_FIELDS if name != "call_nature"
        }
        values["call_nature"] = contact.call_nature_id
        for key in QUESTIONS:
            values[key] = _YES_NO.get(values[key])
        return values

    def changes(self) -> dict:
        """The fields whose value differs from the contact's, as amend_contact takes them.
        Times are compared to the minute, as the time inputs show them."""
        changed = {}
        for name in AMENDABLE_FIELDS:
            new = self.cleaned_data.get(name)
            old = getattr(self.contact, name)
            if name in TIME_ORDER:
                same = (old and old.replace(second=0, microsecond=0)) == new
            elif isinstance(old, str):
                same = _normalise_text(old) == _normalise_text(new)
            else:
                same = old == new
            if not same:
                changed[name] = new
        return changed


def _normalise_text(value):
    return (value or "").replace("\r\n", "\n").strip()
