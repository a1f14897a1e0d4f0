"""Forms of the protocol pages: the protocol's description and end rule with a change
note, and one form per step (a formset). They validate and hand their values to
followups.services.save_protocol_version, which checks them again."""

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from followups.models import EndRule, Method, Performer, Unit
from followups.services import MAX_OFFSET

# The largest offset of any unit: the per-unit bound is checked in StepForm.clean.
LARGEST_OFFSET = max(MAX_OFFSET.values())


class ProtocolVersionForm(forms.Form):
    description = forms.CharField(
        label=_("Description"),
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("What the protocol is for and the evidence it follows."),
        error_messages={"required": _("Describe the protocol and its evidence.")},
    )
    end_rule = forms.ChoiceField(label=_("Ends"), choices=EndRule.choices)
    change_note = forms.CharField(
        label=_("What changed and why"),
        max_length=300,
        help_text=_("Kept with the new version, with your name."),
        error_messages={"required": _("Say what changed and why.")},
    )

    def clean_description(self):
        return self.cleaned_data["description"].replace("\x00", "")

    def clean_change_note(self):
        return self.cleaned_data["change_note"].replace("\x00", "")


def _at_most(most: int, unit: str) -> str:
    """ "Keep it to at most 1830 days." """
    if unit == Unit.HOURS:
        return gettext("Keep it to at most %(n)s hours.") % {"n": most}
    return gettext("Keep it to at most %(n)s days.") % {"n": most}


class StepForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    unit = forms.ChoiceField(label=_("Unit"), choices=Unit.choices, initial=Unit.DAYS)
    start = forms.IntegerField(min_value=0, max_value=LARGEST_OFFSET, label=_("Opens at"))
    due = forms.IntegerField(min_value=0, max_value=LARGEST_OFFSET, label=_("Due by"))
    end = forms.IntegerField(min_value=0, max_value=LARGEST_OFFSET, label=_("Closes after"))
    method = forms.ChoiceField(label=_("Method"), choices=Method.choices, initial=Method.PHONE)
    performer = forms.ChoiceField(
        label=_("Who"), choices=Performer.choices, initial=Performer.ASSIGNED_WORKER
    )
    repeat_every = forms.IntegerField(
        label=_("Repeat every"),
        min_value=1,
        max_value=LARGEST_OFFSET,
        required=False,
        help_text=_("Units between repeats (blank: no repeat)."),
    )
    repeat_times = forms.IntegerField(
        label=_("Repeat times"),
        min_value=2,
        max_value=100,
        required=False,
        help_text=_("Times in all (blank with a repeat: until the protocol ends)."),
    )

    def clean_name(self):
        return " ".join(self.cleaned_data["name"].replace("\x00", "").split())

    def clean(self):
        data = super().clean()
        start, due, end = data.get("start"), data.get("due"), data.get("end")
        if None not in (start, due, end) and not start <= due <= end:
            raise forms.ValidationError(
                gettext(
                    "The window must open, fall due and close in that order "
                    "(opens <= due <= closes)."
                )
            )
        most = MAX_OFFSET.get(data.get("unit"))
        if most is not None:
            # A repeat or an offset past this would overflow the dates of a schedule.
            for name in ("start", "due", "end", "repeat_every"):
                if (data.get(name) or 0) > most:
                    self.add_error(name, _at_most(most, data["unit"]))
                    data.pop(name, None)
            start, due, end = data.get("start"), data.get("due"), data.get("end")
        every, times = data.get("repeat_every"), data.get("repeat_times")
        if times and not every:
            self.add_error("repeat_every", gettext("Say how often it repeats."))
        if every and None not in (start, end) and every <= end - start:
            self.add_error(
                "repeat_every",
                gettext("It would repeat before its window closes: repeat less often."),
            )
        return data


class BaseStepFormSet(forms.BaseFormSet):
    def steps(self) -> list[dict]:
        """The kept steps, in order, as save_protocol_version takes them."""
        return [
            {k: v for k, v in form.cleaned_data.items() if k != "DELETE"}
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]


StepFormSet = forms.formset_factory(
    StepForm,
    formset=BaseStepFormSet,
    extra=1,
    can_delete=True,
    min_num=1,
    validate_min=True,
    max_num=40,
    validate_max=True,
    # A posted TOTAL_FORMS past the limit is refused, not built and rendered form by form.
    absolute_max=40,
)
