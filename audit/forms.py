from datetime import timedelta

from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from audit.models import Action
from core.dates import start_of_day


class TrailFilterForm(forms.Form):
    """Filters of the audit trail page. Every field is optional."""

    user = forms.CharField(max_length=150, required=False, label=gettext_lazy("User (username)"))
    action = forms.ChoiceField(
        label=gettext_lazy("Action"),
        choices=[("", gettext_lazy("Any action")), *Action.choices],
        required=False,
    )
    object_type = forms.CharField(max_length=40, required=False, label=gettext_lazy("Object type"))
    client_id = forms.IntegerField(required=False, min_value=1, label=gettext_lazy("Client id"))
    date_from = forms.DateField(
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        label=pgettext_lazy("date range", "From"),
    )
    date_to = forms.DateField(
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        label=pgettext_lazy("date range", "To"),
    )

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", _("The end date is before the start date."))
        return data

    def filter(self, queryset):
        """Apply the valid filters to an AuditEvent queryset. Call after is_valid()."""
        data = self.cleaned_data
        if data.get("user"):
            # Through the user's id, so the trail's (actor, at) index serves it.
            users = get_user_model().objects.filter(username__iexact=data["user"].strip())
            queryset = queryset.filter(actor_id__in=users.values("pk"))
        if data.get("action"):
            queryset = queryset.filter(action=data["action"])
        if data.get("object_type"):
            queryset = queryset.filter(object_type__iexact=data["object_type"].strip())
        if data.get("client_id") is not None:
            queryset = queryset.filter(client_id=data["client_id"])
        # Days in the active time zone (the agency's), as bounds the (agency, at) index
        # serves: from the start of the first day to the start of the day after the last.
        if data.get("date_from"):
            queryset = queryset.filter(at__gte=start_of_day(data["date_from"]))
        if data.get("date_to"):
            queryset = queryset.filter(at__lt=start_of_day(data["date_to"] + timedelta(days=1)))
        return queryset
