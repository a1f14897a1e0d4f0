"""Sending the client a link to their safety plan: by which channel, and to which address."""

from typing import Any, cast

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cases.models import Client
from notifications.client_reminders import mask_address
from plans.models import LinkChannel


class SafetyPlanLinkForm(forms.Form):
    """The channel, offered with the client's own number and address as staff lists show
    them (masked); `address`, when typed, is used instead. The service checks it."""

    channel = forms.ChoiceField(
        label=gettext_lazy("Send by"), choices=LinkChannel.choices, widget=forms.RadioSelect
    )
    address = forms.CharField(
        label=gettext_lazy("To another number or address"),
        max_length=254,
        required=False,
        help_text=gettext_lazy("Leave empty to use the client's own, shown above."),
    )

    def __init__(self, *args: Any, client: Client, **kwargs: Any) -> None:
        if not args and "initial" not in kwargs:
            kwargs["initial"] = {
                "channel": LinkChannel.EMAIL
                if client.email and not client.phone
                else LinkChannel.TEXT
            }
        super().__init__(*args, **kwargs)
        channel = cast(forms.ChoiceField, self.fields["channel"])
        channel.choices = [
            (
                LinkChannel.TEXT,
                _("Text message to %(phone)s")
                % {"phone": mask_address(LinkChannel.TEXT, client.phone)},
            ),
            (
                LinkChannel.EMAIL,
                _("Email to %(email)s") % {"email": mask_address(LinkChannel.EMAIL, client.email)},
            ),
        ]
