"""A recorded contact: its page and its amendment."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.forms.utils import pretty_name
from django.shortcuts import redirect, render
from django.utils import formats, timezone
from django.utils.dateparse import parse_datetime
from django.utils.text import format_lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods

from cases import services
from cases.access import get_contact_for_user
from cases.cssrs import QUESTIONS, RiskLevel
from cases.exceptions import InvalidAmendment
from cases.forms import (
    ContactAmendForm,
    ContactFieldsForm,
)
from cases.models import (
    AMENDABLE_FIELDS,
    CallNature,
    Case,
    ContactSource,
    Disposition,
)
from core.forms import add_error

# A draft is what one person types into one form; anything larger is not a draft.
MAX_DRAFT_CHARS = 100_000
TIME_FIELDS = ("received_at", "dispatched_at", "on_scene_at", "cleared_at")
CHOICE_LABELS = {
    "source": dict(ContactSource.choices),
    "disposition": dict(Disposition.choices),
    "risk_level": dict(RiskLevel.choices),
}


@login_required
@require_GET
def contact_detail(request, pk):
    contact = get_contact_for_user(request, pk)
    can_amend = Case.objects.writable_by(request.user).filter(pk=contact.case_id).exists()
    amendments = contact.amendments.select_related("amended_by")
    return render(
        request,
        "cases/contact_detail.html",
        {
            "contact": contact,
            "case": contact.case,
            "client": contact.client,
            "attended_by": contact.attended_by.all(),
            "concerns": contact.presenting_concerns.all(),
            "services_on_scene": contact.services_on_scene.all(),
            "cssrs": [(text, getattr(contact, key)) for key, text in QUESTIONS.items()],
            "amendments": _amendment_rows(amendments),
            "can_amend": can_amend,
        },
    )


FIELD_LABELS = {
    **{
        name: field.label or pretty_name(name)
        for name, field in ContactFieldsForm.base_fields.items()
    },
    **{key: format_lazy("C-SSRS {}", text) for key, text in QUESTIONS.items()},
    # Worked out again by amend_contact when a screen is corrected.
    "risk_level": _("Risk level"),
}
# Amended fields in the order the contact page lists them.
FIELD_ORDER = {name: index for index, name in enumerate((*AMENDABLE_FIELDS, "risk_level"))}


def _amendment_rows(amendments):
    amendments = list(amendments)
    nature_ids = {
        change[side]
        for amendment in amendments
        for name, change in amendment.changes.items()
        if name == "call_nature"
        for side in ("from", "to")
    }
    natures = {
        pk: gettext(label)  # as CallNature.__str__ shows it
        for pk, label in CallNature.objects.filter(pk__in=nature_ids).values_list("pk", "label")
    }
    return [
        {
            "amendment": amendment,
            "changes": [
                {
                    "label": FIELD_LABELS.get(name, pretty_name(name)),
                    "from": _shown(name, change.get("from"), natures),
                    "to": _shown(name, change.get("to"), natures),
                }
                for name, change in sorted(
                    amendment.changes.items(), key=lambda item: FIELD_ORDER.get(item[0], 99)
                )
            ],
        }
        for amendment in amendments
    ]


def _shown(name, value, natures):
    """An amended value as the page shows it (times in the agency's time zone)."""
    if value is None and name in QUESTIONS:
        return gettext("Not asked")
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return gettext("Yes") if value else gettext("No")
    if name in TIME_FIELDS:
        moment = parse_datetime(value)
        if moment is None:
            return value
        return formats.date_format(timezone.localtime(moment), "DATETIME_FORMAT")
    if name == "call_nature":
        return natures.get(value, value)
    return CHOICE_LABELS.get(name, {}).get(value, str(value))


@login_required
@require_http_methods(["GET", "POST"])
def contact_amend(request, pk):
    """Correct a saved contact; the original values stay on record in the amendment."""
    contact = get_contact_for_user(request, pk, write=True)
    if request.method == "POST":
        form = ContactAmendForm(request.POST, contact=contact)
        if form.is_valid():
            try:
                services.amend_contact(
                    actor=request.user,
                    contact=contact,
                    changes=form.changes(),
                    reason=form.cleaned_data["reason"],
                    request=request,
                )
            except InvalidAmendment as exc:
                form.add_error(None, str(exc))
            except ValidationError as exc:
                add_error(exc, form)
            else:
                messages.success(request, gettext("Contact amended. The original values are kept."))
                return redirect("cases:contact_detail", contact.pk)
    else:
        form = ContactAmendForm(contact=contact)
    return render(
        request,
        "cases/contact_amend.html",
        {
            "form": form,
            "contact": contact,
            "case": contact.case,
            "screen_fields": ("cssrs_performed", *QUESTIONS),
        },
    )
