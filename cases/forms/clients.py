"""The client's details: new, chosen from the suggestions, edited, searched for."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from cases.lookup import likely_clients_for
from cases.matching import can_look_outside, likely_match_message
from cases.models import Client, ClientIdentifier, IdentifierKind, ReminderChannel
from cases.services import CLIENT_FIELDS

DUPLICATE_MESSAGE = _(
    "This may be an existing client: choose one of the suggestions or tick 'This is a new person'."
)


class ClientDetailsForm(forms.Form):
    """A client's own details, as `services.create_client` and `update_client` take them."""

    legal_name = forms.CharField(label=_("Legal name"), max_length=200, required=False)
    preferred_name = forms.CharField(label=_("Preferred name"), max_length=200, required=False)
    is_unidentified = forms.BooleanField(
        label=_("Unidentified person (no name given or known)"),
        required=False,
        help_text=_("Not found, or would not give a name: describe them instead."),
    )
    description = forms.CharField(
        label=_("Description"),
        max_length=300,
        required=False,
        help_text=_("How to recognise them, e.g. man, about 40, red jacket."),
    )
    date_of_birth = forms.DateField(
        label=_("Date of birth"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    estimated_age = forms.IntegerField(
        label=_("Estimated age"),
        required=False,
        min_value=0,
        max_value=120,
        help_text=_("Only when the date of birth is not known."),
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    pronouns = forms.CharField(label=_("Pronouns"), max_length=40, required=False)
    preferred_language = forms.CharField(
        label=_("Preferred language"), max_length=60, required=False
    )
    phone = forms.CharField(
        label=_("Phone"),
        max_length=40,
        required=False,
        widget=forms.TextInput(attrs={"type": "tel"}),
    )
    where_to_find = forms.CharField(
        label=_("Where to find them"),
        max_length=1000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def clean_date_of_birth(self):
        value = self.cleaned_data.get("date_of_birth")
        if value and value > timezone.localdate():
            raise ValidationError(gettext("The date of birth is in the future."))
        return value

    def check_details(self, cleaned):
        """The rules a client's details follow, wherever they are entered: a name, or for
        an unidentified person a description instead; the age may be unknown."""
        named = bool((cleaned.get("legal_name") or "").strip())
        if cleaned.get("is_unidentified"):
            if not named and not (cleaned.get("description") or "").strip():
                self.add_error(
                    "description", gettext("Describe the unidentified person (e.g. man, about 40).")
                )
            if cleaned.get("date_of_birth"):
                cleaned["estimated_age"] = None
            return
        if not named and "legal_name" not in self.errors:
            self.add_error(
                "legal_name",
                gettext(
                    "Give the client's legal name (or the name they give), or tick "
                    "'Unidentified person' and describe them."
                ),
            )
        if cleaned.get("date_of_birth"):
            # A known date of birth supersedes an estimate. Neither is required: a person
            # in crisis may not say, and a guess is worse than "unknown" (the API agrees).
            cleaned["estimated_age"] = None

    def client_data(self) -> dict:
        return {name: self.cleaned_data.get(name) for name in CLIENT_FIELDS}


REMINDER_FIELDS = ("email", "reminder_channel")


class ClientEditForm(ClientDetailsForm):
    """A client's details, how they agreed to get reminders, and their identifiers (one
    per kind; a blank one is removed)."""

    email = forms.EmailField(label=_("Email"), max_length=254, required=False)
    reminder_channel = forms.ChoiceField(
        label=_("Reminders"),
        choices=ReminderChannel.choices,
        required=False,
        help_text=_(
            "Only if the client agreed. Reminders give a time to expect a call, never the "
            "programme's name or anything clinical."
        ),
    )

    confirm_distinct = forms.BooleanField(
        label=_("A different person (none of the suggested clients)"), required=False
    )
    # A change of these is checked against the agency's other clients.
    IDENTITY_FIELDS = ("legal_name", "preferred_name", "date_of_birth", "estimated_age")

    def __init__(self, *args, client=None, request, **kwargs):
        super().__init__(*args, **kwargs)
        self.client = client
        self.request = request
        self.suggestions = []
        self.lookup_limited = False
        # Shown only with the likely matches it answers.
        self.fields["confirm_distinct"].widget = forms.HiddenInput()
        if client is not None:
            for name in REMINDER_FIELDS:
                self.fields[name].initial = getattr(client, name)
        current = dict(client.identifiers.values_list("kind", "value")) if client else {}
        for kind, label in IdentifierKind.choices:
            self.fields[f"identifier_{kind}"] = forms.CharField(
                label=label, max_length=100, required=False, initial=current.get(kind, "")
            )

    def clean(self):
        cleaned = super().clean()
        self.check_details(cleaned)
        self.check_reminder_channel(cleaned)
        if not self.errors and self._identity_changed(cleaned):
            # Identifying an unidentified person, or correcting a name, may show that the
            # agency already knows them.
            lookup = likely_clients_for(
                self.request,
                page="client edit",
                legal_name=cleaned.get("legal_name") or "",
                preferred_name=cleaned.get("preferred_name") or "",
                date_of_birth=cleaned.get("date_of_birth"),
                estimated_age=cleaned.get("estimated_age"),
                phone=cleaned.get("phone") or "",
                identifiers=self.identifiers(),
                exclude_pk=self.client.pk,
            )
            self.suggestions, self.lookup_limited = lookup.suggestions, lookup.limited
            if self.suggestions:
                self.fields["confirm_distinct"].widget = forms.CheckboxInput()
            if self.suggestions and not cleaned.get("confirm_distinct"):
                self.add_error(
                    "confirm_distinct",
                    gettext(
                        "%(message)s If it is the same person, ask an agency admin to merge the "
                        "records."
                    )
                    % {
                        "message": likely_match_message(
                            self.suggestions, how_to_confirm=gettext("tick 'A different person'")
                        )
                    },
                )
        return cleaned

    def check_reminder_channel(self, cleaned):
        """The model's rule (Client.clean_reminder_channel) on the details as entered. A
        field already refused (an email address that is not one) keeps only its error."""
        entered = Client(
            **{name: cleaned.get(name) or "" for name in ("reminder_channel", "email", "phone")}
        )
        try:
            entered.clean_reminder_channel()
        except ValidationError as exc:
            for name, messages in exc.message_dict.items():
                if not self.has_error(name):
                    self.add_error(name, messages)

    def _identity_changed(self, cleaned) -> bool:
        if self.client is None:
            return False
        return any(cleaned.get(name) != getattr(self.client, name) for name in self.IDENTITY_FIELDS)

    def client_data(self) -> dict:
        data = super().client_data()
        for name in REMINDER_FIELDS:
            data[name] = self.cleaned_data.get(name) or ""
        return data

    def identifiers(self) -> list[tuple[str, str]]:
        return [
            (kind, self.cleaned_data[f"identifier_{kind}"])
            for kind in IdentifierKind.values
            if self.cleaned_data.get(f"identifier_{kind}")
        ]


class ClientSectionForm(ClientDetailsForm):
    """The new-contact page's client section: an existing client chosen from the
    suggestions (the hidden `client` id), or a new client's details.

    Suggestions span the whole agency, so that nobody is entered twice, but `client` may
    only be a client the user can see: a client outside their caseload is reached through
    emergency access first. record_contact adds the contact to the client's open case.
    """

    client = forms.ModelChoiceField(
        queryset=Client.objects.none(),
        required=False,
        widget=forms.HiddenInput,
        error_messages={"invalid_choice": _("That client was not found: search again.")},
    )
    identifier_kind = forms.ChoiceField(
        label=_("Identifier"),
        choices=[("", "—")] + list(IdentifierKind.choices),
        required=False,
    )
    identifier_value = forms.CharField(label=_("Identifier value"), max_length=100, required=False)
    confirm_new = forms.BooleanField(
        label=_("This is a new person (none of the suggestions)"), required=False
    )

    def __init__(self, *args, user, request=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        # Needed to validate a new client: duplicates are looked up as this request's user.
        self.request = request
        self.suggestions = []
        self.lookup_limited = False
        self.fields["client"].queryset = Client.objects.visible_to(user)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("client") or self.has_error("client"):
            # The new-client fields are hidden and ignored once a client is chosen.
            return cleaned
        self.check_details(cleaned)
        self.check_identifier(cleaned)
        if self.errors:
            return cleaned
        if cleaned.get("is_unidentified") and not (cleaned.get("legal_name") or "").strip():
            # Nothing to recognise a person by.
            return cleaned
        self.suggestions = self.find_suggestions()
        if self.suggestions and not cleaned.get("confirm_new"):
            self.add_error(
                "confirm_new",
                likely_match_message(
                    self.suggestions, how_to_confirm=gettext("tick 'This is a new person'")
                ),
            )
        return cleaned

    def check_identifier(self, cleaned):
        """A new client's identifier comes as a kind and a value together, and belongs to
        no other client of the agency. Strips the value in `cleaned`."""
        kind = cleaned.get("identifier_kind") or ""
        value = (cleaned.get("identifier_value") or "").strip()
        cleaned["identifier_value"] = value
        if value and not kind:
            self.add_error("identifier_kind", gettext("Say what kind of identifier this is."))
        elif kind and not value:
            self.add_error(
                "identifier_value", gettext("Give the identifier, or leave its kind blank.")
            )
        elif value and self._identifier_taken(kind, value):
            self.add_error(
                "identifier_value",
                gettext(
                    "This identifier already belongs to a client of your agency: "
                    "choose them from the suggestions."
                ),
            )

    def _identifier_taken(self, kind, value):
        return ClientIdentifier.objects.filter(
            agency_id=self.user.agency_id, kind=kind, value__iexact=value
        ).exists()

    def find_suggestions(self):
        cleaned = self.cleaned_data
        lookup = likely_clients_for(
            self.request,
            page="new contact",
            legal_name=cleaned.get("legal_name") or "",
            preferred_name=cleaned.get("preferred_name") or "",
            date_of_birth=cleaned.get("date_of_birth"),
            estimated_age=cleaned.get("estimated_age"),
            phone=cleaned.get("phone") or "",
            identifiers=self.identifiers(),
        )
        self.lookup_limited = lookup.limited
        return lookup.suggestions

    def identifiers(self) -> list[tuple[str, str]]:
        """(kind, value) pairs, as create_client and find_likely_clients take them."""
        kind = self.cleaned_data.get("identifier_kind")
        value = self.cleaned_data.get("identifier_value")
        return [(kind, value)] if kind and value else []


class SuggestQueryForm(forms.Form):
    """What the duplicate suggestions are looked up by, as typed so far. Lenient: a
    half-typed date is ignored rather than reported."""

    legal_name = forms.CharField(max_length=200, required=False)
    preferred_name = forms.CharField(max_length=200, required=False)
    date_of_birth = forms.DateField(required=False)
    estimated_age = forms.IntegerField(min_value=0, max_value=120, required=False)
    phone = forms.CharField(max_length=40, required=False)
    identifier_kind = forms.ChoiceField(
        choices=[("", "")] + list(IdentifierKind.choices), required=False
    )
    identifier_value = forms.CharField(max_length=100, required=False)

    def criteria(self) -> dict:
        """find_likely_clients' keyword arguments for what has been typed (none: nothing)."""
        data = {}
        for name in self.fields:
            try:
                data[name] = self.fields[name].clean(self.data.get(name, ""))
            except ValidationError:
                data[name] = None
        kind, value = data.pop("identifier_kind"), (data.pop("identifier_value") or "").strip()
        data["identifiers"] = [(kind, value)] if kind and value else []
        return {name: value for name, value in data.items() if value}


class ClientSearchForm(forms.Form):
    q = forms.CharField(
        label=_("Name, phone or identifier"),
        max_length=100,
        required=False,
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
    )


class OutsideSearchForm(forms.Form):
    """Looking for a client outside one's caseload, for emergency access: the whole name
    and a second identifier, exactly (cases.matching.find_outside_clients)."""

    name = forms.CharField(
        label=_("Full name"),
        max_length=200,
        widget=forms.TextInput(attrs={"class": "form-control", "autocomplete": "off"}),
    )
    date_of_birth = forms.DateField(
        label=_("Date of birth"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date", "class": "form-control"}),
    )
    phone = forms.CharField(
        label=_("Phone"),
        max_length=40,
        required=False,
        widget=forms.TextInput(attrs={"type": "tel", "class": "form-control"}),
    )

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        if not can_look_outside(
            legal_name=cleaned.get("name") or "",
            date_of_birth=cleaned.get("date_of_birth"),
            phone=cleaned.get("phone") or "",
        ):
            raise ValidationError(
                gettext(
                    "Give the full name and the full date of birth or phone number: outside "
                    "your caseload only an exact match is shown."
                )
            )
        return cleaned


class MergeConfirmForm(forms.Form):
    confirmed = forms.BooleanField(
        label=_("These two records are the same person"),
        help_text=_(
            "The record on the right is kept as merged and points to the one on the "
            "left; nothing is deleted."
        ),
    )
