from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from notifications.models import Channel, DeliveryStatus


class DeliveryFilterForm(forms.Form):
    """The deliveries page's filters. Anything unrecognised shows an error and no filter."""

    status = forms.ChoiceField(
        label=_("Status"),
        choices=[("", _("Any status")), *DeliveryStatus.choices],
        required=False,
    )
    channel = forms.ChoiceField(
        label=_("Channel"),
        choices=[("", _("Email and text")), (Channel.EMAIL, _("Email")), (Channel.TEXT, _("Text"))],
        required=False,
    )
    to = forms.ChoiceField(
        label=pgettext_lazy("recipients", "To"),
        choices=[("", _("Clients and staff")), ("client", _("Clients")), ("staff", _("Staff"))],
        required=False,
    )
