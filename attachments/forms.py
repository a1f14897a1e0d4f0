"""The attach form and the entered-in-error form: they validate what was typed; the
services check the file itself (attachments.files) and who may attach."""

from typing import Any

from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from attachments.files import too_large_message
from attachments.models import LABEL_MAX, AttachmentKind
from attachments.services import REASON_MAX

# Phones offer their camera and their files for this; `capture` would force the camera.
ACCEPT = "image/*,application/pdf"


class AttachmentForm(forms.Form):
    kind = forms.ChoiceField(
        label=gettext_lazy("What is it?"),
        choices=AttachmentKind.choices,
        widget=forms.RadioSelect,
        error_messages={"required": gettext_lazy("Choose what kind of document it is.")},
    )
    label = forms.CharField(
        label=gettext_lazy("Label"),
        max_length=LABEL_MAX,
        help_text=gettext_lazy("A few words that say what it is, e.g. Signed consent."),
        error_messages={"required": gettext_lazy("Give it a label, e.g. Signed consent.")},
    )
    file = forms.FileField(
        label=gettext_lazy("Photo or PDF"),
        widget=forms.FileInput(attrs={"accept": ACCEPT}),
        error_messages={
            "required": gettext_lazy("Choose a photo or a PDF to attach."),
            "empty": gettext_lazy("The file is empty. Choose the photo or PDF again."),
        },
    )

    def __init__(self, *args: Any, dropped_as_too_large: bool = False, **kwargs: Any) -> None:
        """`dropped_as_too_large`: the upload handler dropped the file for its size
        (attachments.uploads), so the form says that rather than that none was chosen."""
        super().__init__(*args, **kwargs)
        self.dropped_as_too_large = dropped_as_too_large
        self.fields["file"].help_text = _(
            "Take a photo or choose one (JPEG, PNG, WebP or GIF), or choose a PDF; up to "
            "%(limit)s MB."
        ) % {"limit": settings.ATTACHMENT_MAX_MB}
        if dropped_as_too_large:
            self.fields["file"].required = False

    def clean_file(self) -> UploadedFile | None:
        if self.dropped_as_too_large:
            raise forms.ValidationError(too_large_message(), code="too_large")
        upload: UploadedFile | None = self.cleaned_data.get("file")
        return upload


class InErrorForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Why was it entered in error?"),
        max_length=REASON_MAX,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=gettext_lazy(
            "It is hidden from the lists and kept in the record, with your name and this reason."
        ),
        error_messages={"required": gettext_lazy("Say why it was entered in error.")},
    )
