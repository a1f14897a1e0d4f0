"""The case page's changes and emergency access."""

from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from cases.models import CloseReason, Concern


class CloseCaseForm(forms.Form):
    reason = forms.ChoiceField(
        label=_("Reason for closing"), choices=[("", "—")] + list(CloseReason.choices)
    )
    note = forms.CharField(
        label=_("Note"), max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class ConcernsForm(forms.Form):
    concerns = forms.ModelMultipleChoiceField(
        label=_("Presenting concerns"),
        queryset=Concern.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args, case, **kwargs):
        super().__init__(*args, **kwargs)
        # Retired concerns stay selectable while the case still carries them: this case's
        # ids, not a join through every case's concerns.
        self.fields["concerns"].queryset = Concern.objects.filter(
            Q(is_active=True) | Q(pk__any_of=case.presenting_concerns.values("pk"))
        )


class EmergencyAccessForm(forms.Form):
    reason = forms.CharField(
        label=_("Why do you need this case now?"),
        min_length=10,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Your supervisor reviews every emergency access."),
    )
