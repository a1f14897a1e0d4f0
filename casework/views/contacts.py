"""Recording a crisis contact, and reading or correcting one."""

import json
import uuid
from datetime import timedelta
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from audit.access import get_for_user, record_denied
from audit.models import Action
from audit.services import record as audit
from cases import services
from cases.access import get_client_for_user
from cases.cssrs import RiskLevel
from cases.exceptions import OutsideScope
from cases.forms import ClientSectionForm, SuggestQueryForm
from cases.lookup import LIMITED_MESSAGE, Lookup, likely_clients_for
from cases.matching import emergency_cases
from cases.models import (
    Case,
    Client,
    Contact,
    ContactDraft,
    ContactSource,
    Disposition,
)
from cases.views.common import require_worker
from casework.forms import ContactForm
from core.exceptions import DomainError, NotPermitted
from core.forms import add_error
from core.ids import as_id
from core.offline import DUPLICATE, PROBLEM_HEADER, keep_offline
from dispatch import services as dispatch_services
from dispatch.access import get_request_for_user
from dispatch.models import RequestSource, ShiftMember
from followups import services as followup_services
from followups.models import FollowUp, Method
from plans.models import SafetyPlan

# A draft is what one person types into one form; anything larger is not a draft.
MAX_DRAFT_CHARS = 100_000
TIME_FIELDS = ("received_at", "dispatched_at", "on_scene_at", "cleared_at")
CHOICE_LABELS = {
    "source": dict(ContactSource.choices),
    "disposition": dict(Disposition.choices),
    "risk_level": dict(RiskLevel.choices),
}
# A contact recorded within this long of the worker's last is taken to be on the same
# shift, with the same crew (the new-contact form's default for who attended).
SAME_SHIFT = timedelta(hours=12)


@login_required
@require_http_methods(["GET", "POST"])
def contact_new(request):
    """New crisis contact: find or create the client, then the contact, on one page.
    Adds to the client's open case or opens one (services.record_contact)."""
    user = request.user
    require_worker(request, "contact_new")
    draft = None
    if request.method == "POST":
        done = _already_recorded(user, request.POST.get("submission_id"))
        if done is not None:
            # The same page sent twice (a double tap, a retry on a slow connection).
            messages.success(request, _("Contact saved"))
            return redirect("casework:case_detail", done.case_id)
        client_form, contact_form, valid = _posted_forms(request)
        contact = _save_contact(request, client_form, contact_form) if valid else None
        if contact is not None:
            return _saved(request, contact, contact_form.cleaned_data)
    else:
        client_form, contact_form, draft = _new_forms(request)
    response = render(
        request,
        "casework/contact_form.html",
        {
            "client_form": client_form,
            "form": contact_form,
            "chosen_client": _chosen_client(user, client_form["client"].value()),
            "chosen_followup": _chosen_followup(user, contact_form["followup"].value()),
            "suggestions": client_form.suggestions,
            "lookup_limited": LIMITED_MESSAGE if client_form.lookup_limited else "",
            "draft": draft,
            "time_fields": TIME_FIELDS,
            "opened": contact_form.opened(),
        },
    )
    if request.method == "GET" and not request.GET:
        # The phone keeps the empty form, to record contacts without a connection.
        keep_offline(response, user)
    elif client_form.has_error("confirm_new"):
        # Sent from the phone's outbox: a likely existing client, for the worker to choose.
        response[PROBLEM_HEADER] = DUPLICATE
    return response


def _posted_forms(request):
    """(client form, contact form, valid) for the posted page. Both forms are validated,
    so every error shows at once; a client or follow-up the user may not use is audited."""
    user = request.user
    client_form = ClientSectionForm(request.POST, user=user, request=request)
    contact_form = ContactForm(request.POST, user=user)
    valid = client_form.is_valid()
    valid = contact_form.is_valid() and valid
    if client_form.has_error("client", "invalid_choice"):
        _refuse_client(request, client_form)
    if contact_form.has_error("followup", "invalid_choice"):
        _refuse_followup(request, contact_form)
    if valid:
        contact_form.check_followup(client_form.cleaned_data["client"])
        valid = contact_form.is_valid()
    return client_form, contact_form, valid


def _save_contact(request, client_form, contact_form) -> Contact | None:
    """The contact recorded from two valid forms, or None with the refusal added to the
    form it concerns."""
    chosen = client_form.cleaned_data["client"]
    try:
        return services.record_contact(
            actor=request.user,
            client=chosen,
            new_client_data=None if chosen else client_form.client_data(),
            new_client_identifiers=() if chosen else client_form.identifiers(),
            contact_data=contact_form.contact_data(),
            submission_id=contact_form.cleaned_data["submission_id"],
            for_followup=contact_form.cleaned_data["followup"] is not None,
            request=request,
        )
    except ValidationError as exc:
        add_error(exc, client_form, contact_form)
    except OutsideScope as exc:
        client_form.add_error("client", _emergency_access_message(str(exc), exc.case_id))
    except NotPermitted as exc:
        contact_form.add_error(None, str(exc))
    return None


def _saved(request, contact, data):
    """To the case page, once the contact is saved, the follow-up it was recorded for
    (if any) completed, with the safety plan answers the form checked, and the request
    it answers (if any) linked to it."""
    messages.success(request, _("Contact saved"))
    if data["followup"] is not None:
        _complete_followup(
            request,
            data["followup"],
            contact,
            plan_reviewed=data.get("plan_reviewed"),
            plan_changed=data.get("plan_changed"),
        )
    if data["team_request"] is not None:
        _link_request(request, data["team_request"], contact)
    _point_to_the_plan(request, contact)
    return redirect("casework:case_detail", contact.case_id)


# The service on scene that is the safety plan written with the person (cases/migrations/
# 0002_reference_data.py).
SAFETY_PLANNING = "safety-planning"


def _point_to_the_plan(request, contact):
    """After a contact that gave safety planning, or a high-risk screen of a client with
    no plan, the case page offers to write the plan with the client, linked to the
    contact."""
    planned = contact.services_on_scene.filter(code=SAFETY_PLANNING).exists()
    if not planned and contact.risk_level != RiskLevel.HIGH:
        return
    has_plan = SafetyPlan.objects.filter(client_id=contact.client_id).exists()
    if has_plan and not planned:
        return
    if planned:
        words = _("Safety planning given:")
        action = _("Update the safety plan") if has_plan else _("Write the safety plan")
    else:
        words = _("High risk, and no safety plan yet.")
        action = _("Make one with the client")
    messages.info(
        request,
        format_html(
            '{} <a href="{}?contact={}" class="alert-link">{}</a>',
            words,
            reverse("plans:safety_plan_edit", args=[contact.case_id]),
            contact.pk,
            action,
        ),
    )


# The contact's source for a request's (dispatch.RequestSource -> cases.ContactSource).
CONTACT_SOURCE_OF_REQUEST: dict[str, str] = {
    RequestSource.TEAM_LINE: ContactSource.MOBILE_CRISIS,
    RequestSource.LIFELINE_988: ContactSource.LIFELINE_988,
    RequestSource.CAD_911: ContactSource.DIVERSION_911,
    RequestSource.POLICE: ContactSource.POLICE_REQUEST,
    RequestSource.SELF: ContactSource.SELF,
    RequestSource.OTHER: ContactSource.OTHER,
}


def _request_initial(request, pk) -> dict:
    """The new contact's fields from a request the team served (?request=): the times
    from its stamps, where, the source, police, who went, and the client when known."""
    found = get_request_for_user(request, pk)
    crew = found.assignments.filter(released_at__isnull=True).first() or (
        found.assignments.order_by("-assigned_at").first()
    )
    initial = {
        "team_request": found.pk,
        "received_at": found.received_at,
        "dispatched_at": found.dispatched_at,
        "on_scene_at": found.on_scene_at,
        "cleared_at": found.back_in_service_at or found.left_scene_at,
        "source": CONTACT_SOURCE_OF_REQUEST.get(found.source, ""),
        "location": found.location_text,
        "police_backup_requested": bool(found.police_requested),
    }
    if crew is not None:
        initial["attended_by"] = [m["user_id"] for m in crew.members] or [request.user.pk]
    if found.client_id is not None:
        initial["client"] = found.client_id
    return {name: value for name, value in initial.items() if value is not None}


def _link_request(request, pk, contact) -> None:
    """The saved contact answers the request; if that is refused (another contact was
    recorded for it meanwhile), the contact stays saved and the page says so."""
    try:
        found = get_request_for_user(request, pk, audit_read=False)
        dispatch_services.link_contact(request=found, contact=contact, actor=request.user)
    except (DomainError, Http404) as exc:
        messages.warning(
            request,
            _("The contact is saved, but not linked to the request: %(reason)s") % {"reason": exc},
        )


def _new_forms(request):
    """(client form, contact form, draft) for the empty page: filled from the user's draft,
    else from ?client=; ?followup= names the follow-up the contact is to complete. The
    one-time submission id is the draft's while nothing was recorded with it."""
    user = request.user
    draft = ContactDraft.objects.filter(user=user).first()
    initial = {}
    if draft and draft.data:
        initial = _draft_initial(draft.data, user)
        if request.GET.get("request"):
            messages.info(
                request,
                _(
                    "Your contact in progress is shown: save or discard it, then record the "
                    "contact for the request again."
                ),
            )
    else:
        draft = None
        if request.GET.get("client"):
            client = get_client_for_user(request, request.GET["client"])
            initial = {"client": client.pk}
        elif request.GET.get("request"):
            initial = _request_initial(request, request.GET["request"])
    followup = None
    if request.GET.get("followup"):
        followup = _followup_for(request, request.GET["followup"])
        initial["followup"] = followup.pk
        initial.setdefault("client", followup.case.client_id)
    if draft is None and "team_request" not in initial:
        initial = {**_usual_initial(user, followup), **initial}
    if not _fresh_submission_id(user, initial.get("submission_id")):
        initial["submission_id"] = uuid.uuid4()
    client_form = ClientSectionForm(initial=initial, user=user)
    if draft is None and "client" not in initial:
        # On a desktop the keyboard starts where the worker does: no Tab presses to reach it.
        client_form.fields["legal_name"].widget.attrs["autofocus"] = True
    contact_form = ContactForm(initial=initial, user=user)
    return client_form, contact_form, draft


def _usual_initial(user, followup) -> dict:
    """Defaults for a contact no request filled in. A follow-up is recorded as it was
    planned: a phone call by the worker, or a visit. Otherwise the source is that of the
    worker's last contact, and who attended is the worker's crew: their unit's shift now,
    else their last contact's if it was on this shift (SAME_SHIFT)."""
    if followup is not None and followup.method == Method.PHONE:
        return {"source": ContactSource.PHONE, "attended_by": [user.pk]}
    last = (
        Contact.objects.filter(recorded_by=user)
        .order_by("-received_at")
        .only("source", "received_at")
        .first()
    )
    initial: dict[str, object] = {}
    if followup is not None and followup.method == Method.VISIT:
        initial["source"] = ContactSource.OUTREACH
    elif last is not None:
        initial["source"] = last.source
    crew = set(
        ShiftMember.objects.filter(
            shift__ended_at__isnull=True, shift__members__user=user
        ).values_list("user_id", flat=True)
    )
    if not crew and last is not None and last.received_at >= timezone.now() - SAME_SHIFT:
        crew = set(last.attended_by.values_list("pk", flat=True))
    if crew:
        initial["attended_by"] = sorted(crew | {user.pk})
    return initial


def _followup_for(request, pk) -> FollowUp:
    """The follow-up a new contact is to complete (?followup=): 404 when invisible, 403
    when the user may see but not work it, each refusal audited."""
    user = request.user
    return get_for_user(
        request,
        FollowUp,
        FollowUp.objects.visible_to(user).select_related("case"),
        FollowUp.objects.filter(case__in=Case.objects.contactable_by(user)),
        pk,
        True,
        False,
    )


def _chosen_followup(user, value):
    pk = as_id(value)
    if pk is None:
        return None
    return (
        FollowUp.objects.filter(case__in=Case.objects.contactable_by(user), pk=pk)
        .with_plan_review()
        .select_related("enrolment__version__protocol")
        .first()
    )


def _refuse_followup(request, contact_form):
    """A posted follow-up the user may not work: audited as a refusal."""
    pk = as_id(contact_form["followup"].value())
    if pk is not None:
        record_denied(request, FollowUp, pk, "not workable", page="new contact")


def _complete_followup(request, followup, contact, *, plan_reviewed, plan_changed):
    """The saved contact completes the follow-up it was recorded for, with the safety
    plan answers (ContactForm checked them before the contact was saved). The contact
    stays saved even if the follow-up changed meanwhile; the page says so. A plan that
    changed is one link away from being updated."""
    try:
        followup_services.complete_followup(
            actor=request.user,
            followup=followup,
            contact=contact,
            plan_reviewed=plan_reviewed,
            plan_changed=plan_changed,
            request=request,
        )
    except DomainError as exc:
        messages.warning(
            request, _("The follow-up was not marked done: %(reason)s") % {"reason": exc}
        )
        return
    messages.success(request, _("Follow-up done: %(title)s") % {"title": followup.display_title})
    if plan_changed:
        messages.info(
            request,
            format_html(
                '{} <a href="{}?followup={}" class="alert-link">{}</a>',
                _("The safety plan changed on this call."),
                reverse("plans:safety_plan_edit", args=[followup.case_id]),
                followup.pk,
                _("Update the safety plan"),
            ),
        )


def _as_uuid(value):
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def _already_recorded(user, submission_id):
    """The contact this user already recorded from the page with this one-time id."""
    submission_id = _as_uuid(submission_id)
    if submission_id is None:
        return None
    return Contact.objects.filter(recorded_by=user, submission_id=submission_id).first()


def _fresh_submission_id(user, value) -> bool:
    """A draft's one-time id may be reused only while nothing was recorded with it."""
    return _as_uuid(value) is not None and _already_recorded(user, value) is None


def _chosen_client(user, value):
    pk = as_id(value)
    if pk is None:
        return None
    return Client.objects.visible_to(user).filter(pk=pk).first()


def _emergency_access_message(message, case_id):
    return format_html(
        '{} <a href="{}" class="alert-link">{}</a>',
        message,
        reverse("casework:emergency_access", args=[case_id]),
        _("Emergency access"),
    )


def _refuse_client(request, client_form):
    """A posted client the user cannot see: audited as a refusal, and, for a client of
    their own agency, the way in by emergency access."""
    pk = as_id(client_form["client"].value())
    if pk is None:
        return
    owner = Client.objects.filter(pk=pk).values_list("agency_id", flat=True).first()
    audit(
        request=request,
        action=Action.DENIED,
        object_type="client",
        object_id=pk,
        # The owning agency's trail shows the attempt.
        agency_id=owner,
        detail={"reason": "not visible", "page": "new contact"},
    )
    if owner is None or owner != request.user.agency_id:
        return
    case_id = emergency_cases([pk]).get(pk)
    if case_id is not None:
        client_form.errors["client"] = client_form.error_class(
            [_emergency_access_message(_("This client is outside your caseload."), case_id)]
        )


def _draft_forms(user):
    return ClientSectionForm(user=user), ContactForm(user=user)


def _draft_initial(data: dict, user) -> dict:
    """A saved draft ({field: [values]}) as the forms' initial values. A client the user
    can no longer see is left out."""
    initial = {}
    for form in _draft_forms(user):
        for name, field in form.fields.items():
            values = data.get(name)
            if not values:
                continue
            multiple = getattr(field.widget, "allow_multiple_selected", False)
            initial[name] = values if multiple else values[-1]
    if "client" in initial and _chosen_client(user, initial["client"]) is None:
        del initial["client"]
    return initial


@login_required
@require_GET
def client_suggest(request):
    """htmx partial: likely existing clients for what has been typed: the user's own, and
    outside their caseload only an exact whole name with a date of birth or phone
    (cases.lookup), named with the way to emergency access and nothing more."""
    require_worker(request, "client_suggest")
    criteria = SuggestQueryForm(request.GET).criteria()
    lookup = Lookup()
    if criteria:
        lookup = likely_clients_for(request, page="duplicate suggestions", **criteria)
        audit(
            request=request,
            action=Action.SEARCH,
            object_type="client",
            detail={
                "purpose": "duplicate suggestions",
                "ids": [s.client.pk for s in lookup.suggestions],
                "outside_scope_ids": [s.client.pk for s in lookup.suggestions if not s.in_scope],
            },
        )
    return render(
        request,
        "casework/_client_suggestions.html",
        {
            "suggestions": lookup.suggestions,
            "lookup_limited": LIMITED_MESSAGE if lookup.limited else "",
        },
    )


@login_required
@require_POST
def contact_draft(request):
    """htmx autosave of the new-contact form, so a long note outlives the idle logoff.
    With `discard`, deletes the draft and goes back to an empty form."""
    user = request.user
    require_worker(request, "contact_draft")
    if request.POST.get("discard"):
        ContactDraft.objects.filter(user=user).delete()
        messages.info(request, _("Draft discarded."))
        url = reverse("casework:contact_new")
        params = {
            name: request.POST.get(f"{name}_param", "")
            for name in ("client", "followup")
            if as_id(request.POST.get(f"{name}_param")) is not None
        }
        return redirect(f"{url}?{urlencode(params)}" if params else url)
    names = {name for form in _draft_forms(user) for name in form.fields}
    data = {name: request.POST.getlist(name) for name in request.POST if name in names}
    if not data:
        # The page always sends its fields: a body without any would wipe the draft.
        return HttpResponseBadRequest(_("Nothing to save."))
    if len(json.dumps(data)) > MAX_DRAFT_CHARS:
        return HttpResponseBadRequest(_("The draft is too large to keep."))
    draft = services.save_draft(actor=user, data=data)
    saved = formats.time_format(timezone.localtime(draft.updated_at), "H:i")
    return HttpResponse(_("Draft saved %(time)s") % {"time": saved})
