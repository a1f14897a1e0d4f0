"""The new crisis contact form, which may also complete a follow-up."""

from django import forms
from django.utils.functional import lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Role, User
from cases.cssrs import QUESTIONS
from cases.forms.contacts import ContactFieldsForm, late_entry_error, now_to_the_minute
from cases.models import LATE_ENTRY_DAYS, Case, Concern, OnSceneService
from core.forms import add_error
from followups.exceptions import FollowUpInvalid
from followups.forms import PLAN_CHANGED_LABEL, PLAN_REVIEWED_LABEL, plan_question
from followups.models import FollowUp, Status
from followups.services import check_plan_answers


def late_entry_help() -> str:
    return _("Needed when the call was received more than %(days)d days ago.") % {
        "days": LATE_ENTRY_DAYS
    }


# Chosen with one tap on a button each, rather than from a list to open and scroll.
CHOICE_BUTTONS = ("source", "call_nature", "disposition", "plan_reviewed", "plan_changed")

# The page's parts folded away until tapped: the essentials (client, source, call nature,
# disposition, narrative) come first, the rest is one tap away. A part opens by itself
# when one of its fields has an error.
FOLDED = {
    "times": ("received_at", "dispatched_at", "on_scene_at", "cleared_at", "late_entry"),
    "scene": ("location", "attended_by", "others_present", "presenting_concerns"),
    "services": ("services_on_scene", "police_backup_requested", "arrest", "injury"),
    "cssrs": ("cssrs_performed", *QUESTIONS),
}


class ChoiceButtons(forms.RadioSelect):
    """Radio inputs shown as buttons (casework/_choice_buttons.html). A reference item's
    button carries its code, for the page's script (a suicidal call opens the C-SSRS)."""

    def create_option(self, name, value, *args, **kwargs):
        option = super().create_option(name, value, *args, **kwargs)
        instance = getattr(value, "instance", None)
        if instance is not None:
            option["attrs"]["data-code"] = instance.code
        return option


class ContactForm(ContactFieldsForm):
    """The contact part of the new-contact page."""

    attended_by = forms.ModelMultipleChoiceField(
        label=gettext_lazy("Who attended"),
        queryset=User.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    presenting_concerns = forms.ModelMultipleChoiceField(
        label=gettext_lazy("Presenting concerns"),
        queryset=Concern.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    services_on_scene = forms.ModelMultipleChoiceField(
        label=gettext_lazy("Services on scene"),
        queryset=OnSceneService.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    # The request for a mobile team this contact answers (the team phone's "Record the
    # contact"): its stamps filled the times in; the saved contact is linked to it.
    team_request = forms.IntegerField(required=False, widget=forms.HiddenInput, min_value=1)
    # The page's one-time id (made when the page is served, kept in re-renders and
    # drafts): a second submit of the same page records nothing new.
    submission_id = forms.UUIDField(
        required=False,
        widget=forms.HiddenInput,
        error_messages={"invalid": gettext_lazy("This form is damaged: open a new contact form.")},
    )
    late_entry = forms.BooleanField(
        label=gettext_lazy("Yes, this is a late entry"),
        required=False,
        help_text=lazy(late_entry_help, str)(),
    )
    # The follow-up this contact completes (the Today list's "Record contact"): one the
    # user may work, on the chosen client's case (checked by the page against the client).
    followup = forms.ModelChoiceField(
        queryset=FollowUp.objects.none(),
        required=False,
        widget=forms.HiddenInput,
        error_messages={
            "invalid_choice": gettext_lazy(
                "That follow-up was not found among those you can work: "
                "open it again from your Today list."
            )
        },
    )

    # The safety plan questions of that follow-up, when it asks them
    # (followups.models.plan_review_asked): shown and checked only then (check_followup),
    # and passed to its completion.
    plan_reviewed = plan_question(PLAN_REVIEWED_LABEL)
    plan_changed = plan_question(PLAN_CHANGED_LABEL)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["received_at"].initial = now_to_the_minute
        self.fields["attended_by"].queryset = User.objects.filter(
            agency_id=user.agency_id,
            is_active=True,
            role__in=[Role.SOCIAL_WORKER, Role.SUPERVISOR],
        ).order_by("first_name", "last_name", "username")
        self.fields["attended_by"].initial = [user.pk]
        self.fields["presenting_concerns"].queryset = Concern.objects.active()
        self.fields["services_on_scene"].queryset = OnSceneService.objects.active()
        self.fields["followup"].queryset = (
            FollowUp.objects.filter(case__in=Case.objects.contactable_by(user))
            .select_related("case")
            .with_plan_review()
        )
        for name in CHOICE_BUTTONS:
            field = self.fields[name]
            field.widget = ChoiceButtons(attrs={"class": "btn-check"})
            if isinstance(field, forms.ModelChoiceField):
                field.empty_label = None
                field.widget.choices = field.choices
            else:
                field.choices = [choice for choice in field.choices if choice[0]]

    def opened(self) -> set[str]:
        """The folded parts (FOLDED) shown open: those with an error, and the C-SSRS
        screen once it is marked done, so that its answers are in sight."""
        opened = {part for part, names in FOLDED.items() if any(n in self.errors for n in names)}
        if self["cssrs_performed"].value():
            opened.add("cssrs")
        return opened

    # True when the page must show the late-entry confirmation.
    asks_late_entry = False

    def clean(self):
        cleaned = super().clean()
        received = cleaned.get("received_at")
        if received and not self.has_error("received_at"):
            agency = self.user.agency
            message = late_entry_error(
                received,
                agency,
                confirmed=cleaned.get("late_entry", False),
                how_to_confirm=_('tick "Yes, this is a late entry" below the times'),
            )
            if message:
                self.add_error("received_at", message)
                refused = late_entry_error(received, agency, confirmed=True, how_to_confirm="")
                self.asks_late_entry = refused is None
        return cleaned

    def check_followup(self, client):
        """The chosen follow-up must still be open to completion and be on `client`'s
        open case (the case record_contact adds the contact to)."""
        followup = self.cleaned_data.get("followup")
        if followup is None:
            return
        if followup.status in (Status.COMPLETED, Status.CANCELLED):
            self.add_error(
                "followup",
                _("That follow-up is already %(status)s.")
                % {"status": followup.get_status_display().lower()},
            )
        elif client is None or followup.case.client_id != client.pk:
            self.add_error("followup", _("That follow-up is for another client."))
        elif not followup.case.is_open:
            self.add_error("followup", _("That follow-up's case is closed."))
        else:
            self._check_plan_answers(followup)

    def _check_plan_answers(self, followup):
        """The safety plan answers its completion needs, checked before the contact is
        saved (a refusal after it would leave the follow-up undone). Answers to questions
        the page did not show, for a follow-up that does not ask them, are dropped."""
        if not followup.plan_asked:
            self.cleaned_data["plan_reviewed"] = self.cleaned_data["plan_changed"] = None
            return
        try:
            check_plan_answers(
                asked=True,
                reviewed=self.cleaned_data.get("plan_reviewed"),
                changed=self.cleaned_data.get("plan_changed"),
            )
        except FollowUpInvalid as exc:
            add_error(exc, self)

    def contact_data(self) -> dict:
        """The contact's fields, as record_contact takes them."""
        data = dict(self.cleaned_data)
        data.pop("submission_id", None)
        data.pop("followup", None)
        data.pop("late_entry", None)
        data.pop("plan_reviewed", None)
        data.pop("plan_changed", None)
        data["attended_by"] = list(data.get("attended_by") or [])
        data["presenting_concerns"] = list(data.get("presenting_concerns") or [])
        data["services_on_scene"] = list(data.get("services_on_scene") or [])
        return data
