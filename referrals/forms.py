"""Forms for the referral, consent and provider-link pages. They validate and hand
`cleaned_data` to a service in referrals.services; none of them saves anything."""

from typing import cast

from django import forms
from django.core.exceptions import ValidationError
from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.forms import DateTimeLocalInput
from directory.models import Location, NeedCategory, Organization, Service
from referrals.models import (
    OUTCOMES_FOR_STATUS,
    Consent,
    ConsentMethod,
    Outcome,
    ShareItem,
    Status,
    Urgency,
)

DATE_INPUT = forms.DateInput(attrs={"type": "date"})
PART2_SHARE_NOTE = _(
    "Substance use information is protected by 42 CFR Part 2: it needs a written, signed "
    "Part 2 consent, and the redisclosure notice travels with it."
)


def part2_applies(need_category, shared_items) -> bool:
    """The same rule as Referral.is_part2, for a form not yet saved."""
    return need_category == NeedCategory.SUBSTANCE_USE or ShareItem.SUBSTANCE_USE in (
        shared_items or []
    )


class ReferralForm(forms.Form):
    """The referral itself. The consent is chosen here (`consent`) or recorded with the
    inline ConsentForm when `consent_choice` is "new"."""

    service = forms.ModelChoiceField(
        queryset=Service.objects.none(), required=False, widget=forms.HiddenInput
    )
    location = forms.ModelChoiceField(
        queryset=Location.objects.none(), required=False, widget=forms.HiddenInput
    )
    provider_name = forms.CharField(label=_("Provider name"), max_length=300, required=False)
    provider_email = forms.EmailField(
        label=_("Provider email"),
        required=False,
        help_text=_("The provider gets a secure link to accept and update the referral."),
    )
    provider_phone = forms.CharField(
        label=_("Provider phone"),
        max_length=60,
        required=False,
        widget=forms.TextInput(attrs={"type": "tel"}),
    )
    need_category = forms.ChoiceField(
        label=_("Need"), choices=[("", "—")] + list(NeedCategory.choices)
    )
    urgency = forms.ChoiceField(
        label=_("Urgency"), choices=Urgency.choices, initial=Urgency.ROUTINE
    )
    reason = forms.CharField(
        label=_("Reason for referral"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )
    shared_items = forms.MultipleChoiceField(
        label=_("What to share"),
        choices=ShareItem.choices,
        required=False,
        # Rendered one by one in the template, to put the Part 2 note beside its item.
        widget=forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"}),
        help_text=PART2_SHARE_NOTE,
    )
    consent_choice = forms.ChoiceField(
        label=_("Consent"),
        choices=[
            ("existing", _("Use a consent on file")),
            ("new", _("Record a new consent now")),
        ],
        initial="existing",
        widget=forms.RadioSelect(attrs={"class": "form-check-input"}),
    )
    consent = forms.ModelChoiceField(
        label=_("Consent on file"),
        queryset=Consent.objects.none(),
        required=False,
        empty_label="—",
        widget=forms.RadioSelect,
    )

    def __init__(self, *args, user, client, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["service"].queryset = Service.objects.visible_to(user).select_related(
            "organization"
        )
        self.fields["location"].queryset = Location.objects.visible_to(user)
        self.fields["consent"].queryset = (
            Consent.objects.filter(client=client)
            .active(client.agency)
            .select_related("recipient_organization")
        )

    def clean(self):
        cleaned = super().clean()
        service = cleaned.get("service")
        named = cleaned.get("provider_name", "").strip()
        untouched = "service" not in self.errors and "provider_name" not in self.errors
        if service is None and not named and untouched:
            self.add_error(
                "provider_name",
                gettext("Choose a service from the directory or name the provider."),
            )
        if service is not None:
            # The directory's provider is the recipient; typed-in details are for others.
            cleaned["provider_name"] = ""
        location = cleaned.get("location")
        if location is not None and (service is None or not _offered_at(service, location)):
            cleaned["location"] = None
        return cleaned

    @property
    def is_part2(self) -> bool:
        data = getattr(self, "cleaned_data", None) or {}
        if not data and self.is_bound:
            # Bound from request.POST (a QueryDict), which holds the list.
            posted = cast(QueryDict, self.data)
            return part2_applies(posted.get("need_category"), posted.getlist("shared_items"))
        return part2_applies(data.get("need_category"), data.get("shared_items"))

    def referral_data(self) -> dict:
        """Keyword arguments for services.create_referral (without actor, case, consent)."""
        data = self.cleaned_data
        return {
            "service": data["service"],
            "location": data["location"],
            "provider_name": data["provider_name"].strip(),
            "provider_email": data["provider_email"],
            "provider_phone": data["provider_phone"].strip(),
            "need_category": data["need_category"],
            "urgency": data["urgency"],
            "reason": data["reason"].strip(),
            "shared_items": list(data["shared_items"]),
        }


def _offered_at(service, location) -> bool:
    return service.at_locations.filter(location=location).exists()


class ConsentForm(forms.Form):
    """A consent as the client gives it. The §2.31 (Part 2) elements are asked for when
    `part2` is true; services.record_consent refuses a Part 2 consent lacking any."""

    method = forms.ChoiceField(
        label=_("Method"),
        choices=ConsentMethod.choices,
        initial=ConsentMethod.VERBAL,
        widget=forms.RadioSelect,
    )
    scope = forms.MultipleChoiceField(
        label=_("The client agrees to share"),
        choices=ShareItem.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text=PART2_SHARE_NOTE,
    )
    recipients = forms.CharField(
        label=_("With whom"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("In the words the client agreed to."),
    )
    recipient_organization = forms.ModelChoiceField(
        label=_("Only this organization"),
        queryset=Organization.objects.none(),
        required=False,
        empty_label=_("Any provider the client is referred to"),
    )
    purpose = forms.CharField(
        label=_("Purpose"), max_length=1000, widget=forms.Textarea(attrs={"rows": 2})
    )
    expires_on = forms.DateField(label=_("Expires on"), required=False, widget=DATE_INPUT)
    expiry_event = forms.CharField(
        label=_("Or expires when"),
        max_length=300,
        required=False,
        help_text=_("An event, e.g. 'when treatment ends'."),
    )
    is_part2 = forms.BooleanField(
        label=_("42 CFR Part 2 consent (substance use disorder information)"), required=False
    )
    discloser = forms.CharField(
        label=_("Who may disclose"),
        max_length=300,
        required=False,
        help_text=_("The programme."),
    )
    information_description = forms.CharField(
        label=_("Description of the information"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    right_to_revoke_explained = forms.BooleanField(
        label=_("The right to revoke, and how, was explained"), required=False
    )
    signed_by = forms.CharField(label=_("Signed by"), max_length=200, required=False)
    signed_on = forms.DateField(label=_("Signed on"), required=False, widget=DATE_INPUT)
    note = forms.CharField(
        label=_("Note"), max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    PART2_FIELDS = (
        "discloser",
        "information_description",
        "right_to_revoke_explained",
        "signed_by",
        "signed_on",
    )

    def __init__(self, *args, user, part2=None, organization=None, inline=False, **kwargs):
        """`part2`: the caller knows whether Part 2 applies (the referral form); None lets
        the user say so (the consent page). `inline`: recorded with a referral, whose
        directory service's `organization` (if any) is the one recipient it may be
        limited to."""
        super().__init__(*args, **kwargs)
        self.agency = user.agency
        self.part2 = part2
        if part2 is not None:
            del self.fields["is_part2"]
        if inline:
            # Hidden while a consent on file is chosen: the browser must not insist.
            self.use_required_attribute = False
        if inline and organization is None:
            # An outside provider is named in `recipients`.
            del self.fields["recipient_organization"]
        elif organization is not None:
            self.fields["recipient_organization"].queryset = Organization.objects.filter(
                pk=organization.pk
            )
            self.fields["recipient_organization"].initial = organization.pk
        else:
            self.fields["recipient_organization"].queryset = Organization.objects.visible_to(user)

    def clean_expires_on(self):
        value = self.cleaned_data.get("expires_on")
        today = self.agency.today()
        if value and value < today:
            raise ValidationError(
                gettext("The expiry date has passed: today is %(today)s.")
                % {"today": self.agency.describe_day(today)}
            )
        return value

    def clean_signed_on(self):
        value = self.cleaned_data.get("signed_on")
        today = self.agency.today()
        if value and value > today:
            raise ValidationError(
                gettext("The date signed is after today, %(today)s.")
                % {"today": self.agency.describe_day(today)}
            )
        return value

    @property
    def wants_part2(self) -> bool:
        if self.part2 is not None:
            return self.part2
        if hasattr(self, "cleaned_data"):
            return bool(self.cleaned_data.get("is_part2"))
        return bool(self["is_part2"].value())

    def consent_data(self) -> dict:
        """Keyword arguments for services.record_consent (without actor, client, case)."""
        data = self.cleaned_data
        part2 = self.wants_part2
        return {
            "method": data["method"],
            "scope": list(data["scope"]),
            "recipients": data["recipients"].strip(),
            "recipient_organization": data.get("recipient_organization"),
            "purpose": data["purpose"].strip(),
            "expires_on": data["expires_on"],
            "expiry_event": data["expiry_event"].strip(),
            "is_part2": part2,
            "discloser": data["discloser"].strip() if part2 else "",
            "information_description": data["information_description"].strip() if part2 else "",
            "right_to_revoke_explained": data["right_to_revoke_explained"] if part2 else False,
            "signed_by": data["signed_by"].strip() if part2 else "",
            "signed_on": data["signed_on"] if part2 else None,
            "note": data["note"].strip(),
        }


class RevokeConsentForm(forms.Form):
    note = forms.CharField(
        label=_("Note"), max_length=1000, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    # Sent by the page's button: a POST without it (an empty one) changes nothing.
    confirm = forms.BooleanField(
        widget=forms.HiddenInput,
        initial=True,
        error_messages={"required": _("Use the Revoke consent button.")},
    )


# --- Status changes --------------------------------------------------------------------

# What each status change is called on a button, for the side that makes it.
ACTION_LABELS = {
    Status.ACCEPTED: _("Accept"),
    Status.REJECTED: _("Decline"),
    Status.IN_PROGRESS: _("Started"),
    Status.ON_HOLD: _("On hold"),
    Status.COMPLETED: _("Client seen"),
    Status.FAILED: _("Client not seen"),
    Status.CANCELLED: _("Cancel referral"),
    Status.ENTERED_IN_ERROR: _("Entered in error"),
}


class StatusForm(forms.Form):
    """One status change: an outcome when the ending calls for one, a service date when
    the client was seen, and a note."""

    to_status = forms.ChoiceField(choices=Status.choices, widget=forms.HiddenInput)
    outcome = forms.ChoiceField(label=_("Outcome"), choices=(), required=False)
    service_date = forms.DateField(label=_("Date seen"), required=False, widget=DATE_INPUT)
    # Shown once the service refused a date seen before the booked appointment.
    seen_early_confirmed = forms.BooleanField(
        label=_("The date is right: the client was seen before the booked appointment"),
        required=False,
    )
    note = forms.CharField(
        label=_("Note"), max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, to_status, reported=False, **kwargs):
        """`reported`: a worker records what the provider reported, and says how."""
        super().__init__(*args, initial={"to_status": to_status}, **kwargs)
        self.to_status = to_status
        self.label = ACTION_LABELS.get(to_status, Status(to_status).label)
        # For templates, where `form.to_status` is the hidden field.
        self.target = to_status
        self.ends_badly = to_status in (
            Status.REJECTED,
            Status.FAILED,
            Status.CANCELLED,
            Status.ENTERED_IN_ERROR,
        )
        outcomes = OUTCOMES_FOR_STATUS.get(to_status, ())
        if to_status == Status.COMPLETED or not outcomes:
            # Completed means the client got help; nothing to choose.
            del self.fields["outcome"]
        else:
            field = self.fields["outcome"]
            field.choices = [("", "—")] + [(o.value, o.label) for o in outcomes]
            field.required = to_status in (Status.REJECTED, Status.FAILED)
            field.label = _("Reason") if to_status == Status.REJECTED else _("Outcome")
        if to_status == Status.COMPLETED:
            self.fields["service_date"].required = True
            self.fields["service_date"].initial = timezone.localdate()
        else:
            del self.fields["service_date"]
            del self.fields["seen_early_confirmed"]
        if to_status == Status.ENTERED_IN_ERROR:
            self.fields["note"].required = True
            self.fields["note"].label = _("What was wrong")
        elif reported:
            self.fields["note"].required = True
            self.fields["note"].label = _("How the provider reported it")
            self.fields["note"].widget.attrs["placeholder"] = _(
                "Phone call with intake, email, ..."
            )

    def clean_to_status(self):
        value = self.cleaned_data["to_status"]
        if value != self.to_status:
            raise ValidationError(gettext("The form does not match the action."))
        return value

    @property
    def asks_early_confirmation(self) -> bool:
        """Whether to show `seen_early_confirmed`: the date seen was refused as before the
        appointment, or the box was ticked."""
        if "seen_early_confirmed" not in self.fields:
            return False
        return "seen_early_confirmed" in self.errors or bool(self["seen_early_confirmed"].value())

    def transition_data(self) -> dict:
        data = self.cleaned_data
        outcome = data.get("outcome", "")
        # self.to_status is the str __init__ sets; the stubs see the declared form field,
        # which the form's metaclass takes out of the class.
        if self.to_status == Status.COMPLETED:  # type: ignore[comparison-overlap]
            outcome = Outcome.GOT_HELP
        return {
            "to_status": self.to_status,
            "outcome": outcome,
            "note": data["note"].strip(),
            "service_date": data.get("service_date"),
            "seen_early_confirmed": bool(data.get("seen_early_confirmed")),
        }


class AppointmentForm(forms.Form):
    appointment_at = forms.DateTimeField(label=_("Appointment"), widget=DateTimeLocalInput())
    note = forms.CharField(
        label=_("Note"), max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class ProviderLinkForm(forms.Form):
    email = forms.EmailField(label=_("Send a new link to"), required=False)
    # Sent by the page's button: a POST without it (an empty one) changes nothing.
    confirm = forms.BooleanField(
        widget=forms.HiddenInput,
        initial=True,
        error_messages={"required": _("Use the Send a new link button.")},
    )


def status_auto_id(party, to_status) -> str:
    """Several status forms share a page: keep their element ids apart."""
    return f"id_{party}_{to_status}_%s".replace("-", "_")


def status_forms(referral, party, failed=None, reported=False) -> list[StatusForm]:
    """A form per status the party may move the referral to; `failed` is the one just
    posted, shown again with its errors."""
    result = []
    for to_status in referral.allowed_next(party):
        if to_status == Status.REQUESTED:
            continue  # Sending is its own action (services.send_referral).
        if failed is not None and failed.to_status == to_status:
            result.append(failed)
        else:
            result.append(
                StatusForm(
                    to_status=to_status,
                    reported=reported,
                    auto_id=status_auto_id(party, to_status),
                )
            )
    return result
