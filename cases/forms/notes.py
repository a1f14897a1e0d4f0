"""A note on a case."""

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cases.services import NOTE_MAX_CHARS


class CaseNoteForm(forms.Form):
    text = forms.CharField(
        label=_("Note"),
        max_length=NOTE_MAX_CHARS,
        strip=True,
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={"required": _("Write the note.")},
    )
    # The page's one-time id: a second submit of the same note (a retry from the phone's
    # outbox) records nothing new.
    submission_id = forms.UUIDField(
        required=False,
        widget=forms.HiddenInput,
        error_messages={"invalid": _("This form is damaged: open the case again.")},
    )
    # When the worker saved it, set by the phone's outbox for a note kept while offline.
    saved_at = forms.DateTimeField(required=False, widget=forms.HiddenInput)

    def clean_saved_at(self):
        # A phone's clock may run ahead: never later than the server's now.
        saved_at = self.cleaned_data["saved_at"]
        return min(saved_at, timezone.now()) if saved_at else None

    def clean_text(self):
        return self.cleaned_data["text"].replace("\x00", "")
