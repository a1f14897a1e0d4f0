"""Forms of the directory pages. They validate and hand `cleaned_data` to
directory/search.py or directory/services.py; none saves anything."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from directory.geocode import parse_coordinates, valid_coordinates
from directory.models import NeedCategory, Organization, Service, ServiceStatus
from directory.schedules import DAY_NAMES
from directory.search import SearchParams
from directory.services import parse_languages


class SearchForm(forms.Form):
    need = forms.ChoiceField(
        choices=[("", _("Any need")), *NeedCategory.choices], required=False, label=_("Need")
    )
    q = forms.CharField(max_length=200, required=False, label=_("Words"))
    language = forms.CharField(
        label=_("Language"),
        max_length=60,
        required=False,
        help_text=_("A language name or code, e.g. Spanish or es."),
    )
    age = forms.IntegerField(
        min_value=0,
        max_value=130,
        required=False,
        label=_("Client's age"),
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    open_now = forms.BooleanField(required=False, label=_("Open now"))
    near = forms.CharField(
        max_length=300,
        required=False,
        label=_("Near"),
        help_text=_("An address, postal code or city."),
    )
    lat = forms.FloatField(required=False, min_value=-90, max_value=90, widget=forms.HiddenInput)
    lng = forms.FloatField(required=False, min_value=-180, max_value=180, widget=forms.HiddenInput)

    def clean(self):
        cleaned = super().clean()
        lat, lng = cleaned.get("lat"), cleaned.get("lng")
        if (lat is None) != (lng is None) and not self.errors:
            raise ValidationError(gettext("Give both latitude and longitude."))
        coordinates = parse_coordinates(cleaned.get("near") or "")
        if lat is None and coordinates:
            cleaned["lat"], cleaned["lng"] = coordinates
        return cleaned

    def params(self) -> SearchParams:
        data = self.cleaned_data
        return SearchParams(
            need=data.get("need") or "",
            q=(data.get("q") or "").strip(),
            language=(data.get("language") or "").strip(),
            age=data.get("age"),
            open_now=bool(data.get("open_now")),
            lat=data.get("lat"),
            lng=data.get("lng"),
        )


class OrganizationForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=300)
    alternate_name = forms.CharField(label=_("Alternate name"), max_length=300, required=False)
    description = forms.CharField(
        label=_("Description"), max_length=5000, widget=forms.Textarea(attrs={"rows": 3})
    )
    email = forms.EmailField(label=_("Email"), required=False)
    website = forms.URLField(label=_("Website"), required=False, assume_scheme="https")


DAY_CHOICES = list(DAY_NAMES.items())


class ServiceForm(forms.Form):
    organization = forms.ModelChoiceField(
        label=_("Organization"), queryset=Organization.objects.none()
    )
    name = forms.CharField(label=_("Name"), max_length=300)
    alternate_name = forms.CharField(label=_("Alternate name"), max_length=300, required=False)
    description = forms.CharField(
        label=_("Description"),
        max_length=5000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    status = forms.ChoiceField(
        label=_("Status"), choices=ServiceStatus.choices, initial=ServiceStatus.ACTIVE
    )
    email = forms.EmailField(label=_("Email"), required=False)
    url = forms.URLField(required=False, label=_("Web page"), assume_scheme="https")
    eligibility_description = forms.CharField(
        max_length=2000,
        required=False,
        label=_("Eligibility"),
        widget=forms.Textarea({"rows": 2}),
    )
    minimum_age = forms.IntegerField(
        label=_("Minimum age"), min_value=0, max_value=130, required=False
    )
    maximum_age = forms.IntegerField(
        label=_("Maximum age"), min_value=0, max_value=130, required=False
    )
    application_process = forms.CharField(
        label=_("Application process"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    fees_description = forms.CharField(max_length=1000, required=False, label=_("Fees"))
    need_categories = forms.MultipleChoiceField(
        choices=NeedCategory.choices,
        required=False,
        label=_("Needs"),
        widget=forms.CheckboxSelectMultiple,
    )
    languages = forms.CharField(
        label=_("Languages"),
        max_length=500,
        required=False,
        help_text=_("Comma-separated, e.g. en, es, Vietnamese."),
    )
    phone = forms.CharField(
        label=_("Phone"),
        max_length=60,
        required=False,
        widget=forms.TextInput(attrs={"type": "tel"}),
    )
    schedule_days = forms.MultipleChoiceField(
        choices=DAY_CHOICES,
        required=False,
        label=_("Open on"),
        widget=forms.CheckboxSelectMultiple,
    )
    opens_at = forms.TimeField(
        required=False, label=_("Opens"), widget=forms.TimeInput(attrs={"type": "time"})
    )
    closes_at = forms.TimeField(
        required=False, label=_("Closes"), widget=forms.TimeInput(attrs={"type": "time"})
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organization"].queryset = Organization.objects.editable_by(user)

    def clean(self):
        cleaned = super().clean()
        minimum, maximum = cleaned.get("minimum_age"), cleaned.get("maximum_age")
        if minimum is not None and maximum is not None and minimum > maximum:
            self.add_error("maximum_age", gettext("The maximum age is below the minimum age."))
        days = cleaned.get("schedule_days")
        opens, closes = cleaned.get("opens_at"), cleaned.get("closes_at")
        if days and (opens is None or closes is None) and not self.has_error("opens_at"):
            self.add_error(
                "opens_at", gettext("Give the opening and closing times for those days.")
            )
        if not days and (opens or closes):
            self.add_error("schedule_days", gettext("Choose the days these hours apply to."))
        return cleaned

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        return {
            "data": {name: data.get(name) for name in self.base_fields if name in SERVICE_DATA},
            "need_categories": data.get("need_categories") or [],
            "languages": parse_languages(data.get("languages") or ""),
            "phone": data.get("phone") or "",
            "schedule_days": data.get("schedule_days") or [],
            "opens_at": data.get("opens_at"),
            "closes_at": data.get("closes_at"),
        }


SERVICE_DATA = {
    "organization",
    "name",
    "alternate_name",
    "description",
    "status",
    "email",
    "url",
    "eligibility_description",
    "minimum_age",
    "maximum_age",
    "application_process",
    "fees_description",
}


class LocationForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=300)
    organization = forms.ModelChoiceField(
        label=_("Organization"), queryset=Organization.objects.none(), required=False
    )
    description = forms.CharField(
        label=_("Description"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    address_1 = forms.CharField(max_length=300, required=False, label=_("Address"))
    city = forms.CharField(label=_("City"), max_length=100, required=False)
    state_province = forms.CharField(max_length=100, required=False, label=_("State"))
    postal_code = forms.CharField(label=_("Postal code"), max_length=20, required=False)
    country = forms.CharField(
        label=_("Country"), max_length=2, required=False, initial="US", help_text=_("e.g. US")
    )
    latitude = forms.FloatField(label=_("Latitude"), min_value=-90, max_value=90, required=False)
    longitude = forms.FloatField(
        label=_("Longitude"), min_value=-180, max_value=180, required=False
    )
    services = forms.ModelMultipleChoiceField(
        queryset=Service.objects.none(),
        required=False,
        label=_("Services offered here"),
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organization"].queryset = Organization.objects.editable_by(user)
        self.fields["services"].queryset = Service.objects.editable_by(user).order_by("name")

    def clean(self):
        cleaned = super().clean()
        lat, lng = cleaned.get("latitude"), cleaned.get("longitude")
        if (lat is None) != (lng is None) and not self.errors:
            self.add_error("longitude", gettext("Give both latitude and longitude, or neither."))
        if lat is not None and lng is not None and not valid_coordinates(lat, lng):
            self.add_error("latitude", gettext("These coordinates are out of range."))
        if cleaned.get("address_1") and not (cleaned.get("city") or cleaned.get("postal_code")):
            self.add_error("city", gettext("Give the city or the postal code of the address."))
        return cleaned

    def location_kwargs(self) -> dict:
        data = self.cleaned_data
        return {
            "data": {
                name: data.get(name)
                for name in ("organization", "name", "description", "latitude", "longitude")
            },
            "address": {
                name: data.get(name) or ""
                for name in ("address_1", "city", "state_province", "postal_code", "country")
            },
            "services": list(data.get("services") or []),
        }
