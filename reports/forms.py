import datetime

from django import forms
from django.forms.utils import pretty_name
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Role, Team, User
from directory.models import NeedCategory, Organization, Service
from referrals.models import Outcome, Referral
from reports.models import ExportFormat
from reports.report import FILTER_KEYS, REPORTED_STATUSES, validate_period_day

DATE_INPUT = forms.DateInput(attrs={"type": "date"})


class NameChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.name


class PersonChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return _person(obj)


def referred_organizations(user):
    """Directory organisations the user may see that the agency has referred to."""
    referred = Referral.objects.filter(agency_id=user.agency_id, service__isnull=False)
    return Organization.objects.visible_to(user).filter(
        pk__in=referred.values("service__organization_id")
    )


def referred_services(user):
    referred = Referral.objects.filter(agency_id=user.agency_id, service__isnull=False)
    return Service.objects.visible_to(user).filter(pk__in=referred.values("service_id"))


class ReferralFilterForm(forms.Form):
    """The report's filters (GET). Every field is optional; filters() gives them in the
    JSON shape that report.referral_rows and export jobs take."""

    sent_from = forms.DateField(
        required=False,
        widget=DATE_INPUT,
        label=gettext_lazy("Sent from"),
        validators=[validate_period_day],
    )
    sent_to = forms.DateField(
        required=False,
        widget=DATE_INPUT,
        label=gettext_lazy("Sent to"),
        validators=[validate_period_day],
    )
    team = NameChoiceField(
        label=gettext_lazy("Team"),
        queryset=Team.objects.none(),
        required=False,
        empty_label=gettext_lazy("Any team"),
    )
    worker = PersonChoiceField(
        label=gettext_lazy("Worker"),
        queryset=User.objects.none(),
        required=False,
        empty_label=gettext_lazy("Any worker"),
    )
    need_category = forms.ChoiceField(
        choices=[("", gettext_lazy("Any need")), *NeedCategory.choices],
        required=False,
        label=gettext_lazy("Need"),
    )
    organization = NameChoiceField(
        label=gettext_lazy("Organization"),
        queryset=Organization.objects.none(),
        required=False,
        empty_label=gettext_lazy("Any organization"),
    )
    service = NameChoiceField(
        label=gettext_lazy("Service"),
        queryset=Service.objects.none(),
        required=False,
        empty_label=gettext_lazy("Any service"),
    )
    status = forms.ChoiceField(
        label=gettext_lazy("Status"),
        choices=[("", gettext_lazy("Any status")), *REPORTED_STATUSES],
        required=False,
    )
    outcome = forms.ChoiceField(
        label=gettext_lazy("Outcome"),
        choices=[("", gettext_lazy("Any outcome")), *Outcome.choices],
        required=False,
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = Team.objects.filter(agency_id=user.agency_id).order_by(
            "name"
        )
        self.fields["worker"].queryset = User.objects.filter(
            agency_id=user.agency_id, role__in=[Role.SOCIAL_WORKER, Role.SUPERVISOR]
        ).order_by("first_name", "last_name", "username")
        self.fields["organization"].queryset = referred_organizations(user).order_by("name")
        self.fields["service"].queryset = referred_services(user).order_by("name")

    def clean(self):
        data = super().clean()
        start, end = data.get("sent_from"), data.get("sent_to")
        if start and end and start > end:
            self.add_error("sent_to", _("The end date is before the start date."))
        return data

    def filters(self) -> dict:
        """The valid filters, JSON-shaped (ids and ISO dates), empty ones left out."""
        return filters_from(self.cleaned_data)


def filters_from(data: dict) -> dict:
    out = {}
    for key in FILTER_KEYS:
        value = data.get(key)
        if value in (None, ""):
            continue
        if hasattr(value, "isoformat"):
            value = value.isoformat()
        elif hasattr(value, "pk"):
            value = str(value.pk) if key in ("organization", "service") else value.pk
        out[key] = value
    return out


# The filters that hold an id, and what it is the id of (the name people know it by).
NAMED_FILTERS = {
    "team": (Team, "name"),
    "worker": (User, None),
    "organization": (Organization, "name"),
    "service": (Service, "name"),
}


def label_filters(jobs) -> None:
    """Give each export job `filter_labels`: its filters as people read them, in the
    report's order, e.g. [("Team", "Mobile crisis 1"), ("Sent from", "Sat 5 Dec 2026")].
    The names are looked up once for all the jobs (a query per kind of id at most)."""
    names = {}
    for key, (model, attribute) in NAMED_FILTERS.items():
        ids = {str(job.filters[key]) for job in jobs if job.filters.get(key) not in (None, "")}
        if ids:
            rows = model._default_manager.filter(pk__in=ids)
            names[key] = {
                str(row.pk): getattr(row, attribute) if attribute else _person(row) for row in rows
            }
    choices = {
        "need_category": dict(NeedCategory.choices),
        "status": dict(REPORTED_STATUSES),
        "outcome": dict(Outcome.choices),
    }
    fields = ReferralFilterForm.base_fields
    for job in jobs:
        job.filter_labels = []
        for key in FILTER_KEYS:
            value = job.filters.get(key)
            if value in (None, ""):
                continue
            if key in names:
                shown = names[key].get(str(value), _("(no longer there)"))
            elif key in choices:
                shown = choices[key].get(value, value)
            else:
                shown = _day(value)
            job.filter_labels.append((fields[key].label or pretty_name(key), shown))


def _person(user):
    return user.get_full_name() or user.username


def _day(value):
    try:
        return date_format(datetime.date.fromisoformat(value))
    except (TypeError, ValueError):
        return value


class ExportRequestForm(forms.Form):
    format = forms.ChoiceField(label=gettext_lazy("Format"), choices=ExportFormat.choices)
    deidentified = forms.TypedChoiceField(
        label=gettext_lazy("Deidentified"),
        choices=[("1", gettext_lazy("De-identified")), ("0", gettext_lazy("With names"))],
        coerce=lambda value: value == "1",
    )
