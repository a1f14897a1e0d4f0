"""The crisis response plan's forms: writing a version (its parts, and the people to call
as rows), and a supervisor's note when returning one."""

from typing import Any

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from plans.services.crisis import MAX_CONTACTS, TEXT_FIELDS, CrisisPlanContent

# Blank rows offered below the people already on the plan (no script adds rows: a worker
# who needs more saves and edits again).
BLANK_CONTACT_ROWS = 2


def _text(label: Any, help_text: Any = "", rows: int = 3, max_length: int = 2000) -> forms.Field:
    return forms.CharField(
        label=label,
        help_text=help_text,
        required=False,
        max_length=max_length,
        widget=forms.Textarea(attrs={"rows": rows}) if rows else forms.TextInput(),
    )


class ContactRowForm(forms.Form):
    """One person to call: a name, and how they are related and reached."""

    name = forms.CharField(label=gettext_lazy("Name"), max_length=200, required=False)
    relation = forms.CharField(
        label=gettext_lazy("Relation"),
        max_length=100,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": gettext_lazy("sister, case manager")}),
    )
    phone = forms.CharField(
        label=gettext_lazy("Phone"),
        max_length=40,
        required=False,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "off"}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if (data.get("relation") or data.get("phone")) and not data.get("name"):
            self.add_error("name", _("Give the name of each person to call."))
        return data


ContactFormSet = forms.formset_factory(
    ContactRowForm,
    extra=0,
    max_num=MAX_CONTACTS,
    validate_max=True,
    absolute_max=MAX_CONTACTS,
)


class CrisisPlanForm(forms.Form):
    """What the team should know, part by part; the people to call are its `contacts`
    formset (prefix "contacts"), validated with it."""

    triggers = _text(
        gettext_lazy("What sets a crisis off"),
        gettext_lazy("Situations, dates or words that have set off a crisis before."),
    )
    helps = _text(
        gettext_lazy("What helps"),
        gettext_lazy("What has calmed the person before: how to speak, what to offer."),
    )
    avoid = _text(
        gettext_lazy("What to avoid"),
        gettext_lazy("What has made things worse: words, actions, people."),
    )
    preferred_care = _text(
        gettext_lazy("Preferred hospital or provider"),
        gettext_lazy("Where the person prefers to be taken, or who treats them."),
        rows=0,
        max_length=300,
    )
    hazards = _text(
        gettext_lazy("Hazards for the team"),
        gettext_lazy("Weapons, animals, people or places to be careful of. Shown first."),
    )

    def __init__(self, *args: Any, contacts: list[dict[str, str]] | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        initial = contacts or []
        self.contacts = ContactFormSet(
            self.data if self.is_bound else None,
            prefix="contacts",
            initial=initial,
        )
        if not self.is_bound:
            # Blank rows to add people, up to the most a plan keeps.
            self.contacts.extra = max(0, min(BLANK_CONTACT_ROWS, MAX_CONTACTS - len(initial)))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not self.contacts.is_valid():
            # The rows show their own errors; the form is not valid without them.
            self.add_error(None, _("Check the people to call below."))
            return data
        wrote = any((data.get(name) or "").strip() for name in TEXT_FIELDS)
        if not wrote and not self.content_contacts():
            raise forms.ValidationError(_("Write at least one part of the plan."))
        return data

    def content_contacts(self) -> list[dict[str, str]]:
        return [
            {key: row.get(key, "") for key in ("name", "relation", "phone")}
            for row in self.contacts.cleaned_data
            if row.get("name")
        ]

    def content(self) -> CrisisPlanContent:
        """The validated form as the service takes it."""
        return CrisisPlanContent(
            **{name: self.cleaned_data[name] for name in TEXT_FIELDS},
            contacts=self.content_contacts(),
        )


class ReturnPlanForm(forms.Form):
    note = forms.CharField(
        label=gettext_lazy("What should change"),
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
