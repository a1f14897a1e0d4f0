from django import forms

from notifications.models import Channel, DeliveryStatus


class DeliveryFilterForm(forms.Form):
    """The deliveries page's filters. Anything unrecognised shows an error and no filter."""

    status = forms.ChoiceField(
        choices=[("", "Any status"), *DeliveryStatus.choices], required=False
    )
    channel = forms.ChoiceField(
        choices=[("", "Email and text"), (Channel.EMAIL, "Email"), (Channel.TEXT, "Text")],
        required=False,
    )
    to = forms.ChoiceField(
        label="To",
        choices=[("", "Clients and staff"), ("client", "Clients"), ("staff", "Staff")],
        required=False,
    )
