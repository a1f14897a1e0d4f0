"""The safety plan's pages: writing it on a case, reading it and its versions, printing
it and its PDF."""

import uuid
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import F, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from audit.access import record_denied
from audit.models import Action
from audit.services import record as audit
from cases.models import Case
from core.forms import add_error
from core.i18n import client_language, supported
from core.ids import as_id
from directory.models import Service, ServiceStatus
from plans import pdf
from plans.access import get_case_for_plan, get_safety_plan_for_user, made_during
from plans.exceptions import NotPermitted, PlanInvalid
from plans.forms.safety import SafetyPlanForm
from plans.models import (
    LIFELINE,
    LINE_SECTIONS,
    PROMPTS,
    MeansKind,
    SafetyPlan,
    SafetyPlanVersion,
    Section,
)
from plans.services.safety import MAX_ITEMS, MAX_MEANS, PlanContent, save_safety_plan
from plans.views.links import links_context

# Directory services offered to pick from at a time (the search narrows them).
SERVICE_CHOICES = 12
FIND_SERVICES = "find_services"


# --- Writing it -----------------------------------------------------------------------


@dataclass(frozen=True)
class ServiceChoice:
    pk: str
    name: str
    organization: str
    phone: str
    # Chosen for the plan, but no longer an active service of the directory.
    gone: bool = False


def _choice(service: Service) -> ServiceChoice:
    phones = sorted(service.phones.all(), key=lambda p: str(p.pk))
    return ServiceChoice(
        pk=str(service.pk),
        name=service.name,
        organization=service.organization.name,
        phone=phones[0].number if phones else "",
        gone=service.status != ServiceStatus.ACTIVE,
    )


def _service_choices(
    user: Any, chosen: list[str], before: dict[str, dict[str, str]], query: str
) -> tuple[list[ServiceChoice], list[ServiceChoice]]:
    """The services chosen (as the directory has them now; one it no longer shows, as
    the plan named it), and up to SERVICE_CHOICES active ones to add: the agency's own
    first, matching `query` by name or organization. Two queries each."""
    ids = []
    for value in dict.fromkeys(chosen):
        try:
            ids.append(str(uuid.UUID(str(value))))
        except ValueError:
            continue
    visible = Service.objects.visible_to(user).select_related("organization")
    found = (
        {str(s.pk): s for s in visible.filter(pk__in=ids).prefetch_related("phones")} if ids else {}
    )
    picked = [
        _choice(found[pk])
        if pk in found
        else ServiceChoice(
            pk=pk,
            name=before.get(pk, {}).get("name", "") or _("A service no longer in the directory"),
            organization="",
            phone=before.get(pk, {}).get("phone", ""),
            gone=True,
        )
        for pk in ids
    ]
    offered = visible.filter(status=ServiceStatus.ACTIVE).exclude(pk__in=ids)
    if query:
        offered = offered.filter(
            Q(name__icontains=query)
            | Q(alternate_name__icontains=query)
            | Q(organization__name__icontains=query)
        )
    offered = offered.order_by(F("agency_id").desc(nulls_last=True), "name", "pk")
    return picked, [_choice(s) for s in offered.prefetch_related("phones")[:SERVICE_CHOICES]]


def _form_steps(form: SafetyPlanForm) -> list[dict[str, Any]]:
    """Each step as the form draws it: its title, prompt, rows and errors."""
    steps = []
    for number, section in enumerate(Section, start=1):
        name = section.value
        if section == Section.MEANS:
            shape = "means"
        elif section == Section.PROFESSIONALS:
            shape = "professionals"
        elif section in LINE_SECTIONS:
            shape = "lines"
        else:
            shape = "people"
        steps.append(
            {
                "name": name,
                "number": number,
                "title": section.label,
                "prompt": PROMPTS[section],
                "shape": shape,
                "rows": form.rows(name),
                "errors": form[name].errors,
                "optional": section == Section.REASONS,
                "max_rows": MAX_MEANS if section == Section.MEANS else MAX_ITEMS,
            }
        )
    return steps


@login_required
@require_http_methods(["GET", "POST"])
def safety_plan_edit(request, case_id):
    """Write the client's safety plan on one of their cases, as a new version. Made
    during a contact (`?contact=`) or a follow-up call (`?followup=`) of this case when
    the page is opened from one. "Find" (and the search box, by htmx) looks up directory
    services without saving anything."""
    case = get_case_for_plan(request, case_id, audit_read=request.method == "GET")
    contact, followup = made_during(request, case)
    plan = (
        SafetyPlan.objects.filter(client_id=case.client_id)
        .select_related("current", "current__created_by")
        .first()
    )
    current = plan.current if plan is not None else None
    searching = request.method == "POST" and request.POST.get("action") == FIND_SERVICES
    if request.method == "POST":
        form = SafetyPlanForm(request.POST)
        if not searching and form.is_valid():
            try:
                version = save_safety_plan(
                    actor=request.user,
                    case=case,
                    content=form.content(),
                    contact=contact,
                    followup=followup,
                    change_note=form.cleaned_data["change_note"],
                    request=request,
                )
            except PlanInvalid as exc:
                add_error(exc, form)
            except NotPermitted as exc:
                raise PermissionDenied(str(exc)) from exc
            else:
                messages.success(
                    request,
                    _("Safety plan saved: version %(number)s.") % {"number": version.number},
                )
                return redirect("casework:case_detail", case.pk)
    else:
        initial = SafetyPlanForm.initial_of(PlanContent.of(current)) if current else None
        form = SafetyPlanForm(initial=initial)

    query = (request.POST.get("service_q") or "").strip()[:100]
    before = {s["service_id"]: s for s in current.services} if current else {}
    chosen, offered = _service_choices(
        request.user, [str(v) for v in form["services"].value() or []], before, query
    )
    return render(
        request,
        "plans/safety_plan_form.html",
        {
            "case": case,
            "client": case.client,
            "current": current,
            "form": form,
            "steps": _form_steps(form),
            "chosen_services": chosen,
            "offered_services": offered,
            "service_q": query,
            "means_kinds": MeansKind.choices,
            "contact": contact,
            "followup": followup,
            "agency_name": case.agency.name,
            "agency_line": case.agency.crisis_line,
            "lifeline": LIFELINE,
            "form_action": request.get_full_path(),
        },
    )


# --- Reading it -----------------------------------------------------------------------


def _open_case_to_write(request: HttpRequest, plan: SafetyPlan) -> Case | None:
    """The client's open case the user may write the plan on, if any."""
    return (
        Case.objects.contactable_by(request.user)
        .open()
        .filter(client_id=plan.client_id)
        .order_by("-opened_at", "-pk")
        .first()
    )


def _language(request: HttpRequest, plan: SafetyPlan) -> str:
    """The language asked for (`?lang=`), else the client's."""
    return supported(request.GET.get("lang")) or client_language(plan.client)


@login_required
@require_GET
def safety_plan_detail(request, client_id):
    """The current version, who wrote it and when, the earlier versions, the ways to
    print it and the client's links to it."""
    plan = get_safety_plan_for_user(request, client_id)
    version = plan.current
    if version is None:
        raise Http404(_("No safety plan found."))
    return render(
        request,
        "plans/safety_plan_detail.html",
        {
            "plan": plan,
            "client": plan.client,
            "version": version,
            "means": list(version.means.all()),
            "versions": list(plan.versions.select_related("created_by", "contact", "followup")),
            "agency_name": plan.agency.name,
            "lifeline": LIFELINE,
            "edit_case": _open_case_to_write(request, plan),
            "client_language": client_language(plan.client),
            "languages": pdf.languages(),
            **links_context(request, plan),
        },
    )


def _changed_steps(
    before: SafetyPlanVersion | None, after: SafetyPlanVersion, means: dict[int, list[Any]]
) -> list[str]:
    """The steps of `after` that differ from `before` (none for a first version)."""
    if before is None:
        return []

    def holds(version: SafetyPlanVersion, section: Section) -> Any:
        if section == Section.MEANS:
            return [(m.kind, m.step, m.who, m.is_confirmed) for m in means[version.pk]]
        if section == Section.PROFESSIONALS:
            return (version.professionals, version.services, version.agency_line)
        return getattr(version, section.value)

    return [s.value for s in Section if holds(before, s) != holds(after, s)]


@login_required
@require_GET
def safety_plan_version(request, client_id, number):
    """One version, read only, with the steps that changed since the one before."""
    plan = get_safety_plan_for_user(request, client_id, audit_read=False)
    wanted = as_id(number) or 0
    versions = list(
        plan.versions.filter(number__in=(wanted, wanted - 1))
        .select_related("created_by", "contact", "followup")
        .prefetch_related("means")
    )
    version = next((v for v in versions if v.number == wanted), None)
    if version is None:
        record_denied(request, SafetyPlan, plan.pk, "no such version", version=str(number)[:20])
        raise Http404(_("No such version of the safety plan."))
    audit(request=request, action=Action.VIEW, obj=plan, detail={"version": version.number})
    before = next((v for v in versions if v.number == wanted - 1), None)
    means = {v.pk: list(v.means.all()) for v in versions}
    return render(
        request,
        "plans/safety_plan_version.html",
        {
            "plan": plan,
            "client": plan.client,
            "version": version,
            "before": before,
            "means": means[version.pk],
            "changed": _changed_steps(before, version, means),
            "agency_name": plan.agency.name,
            "lifeline": LIFELINE,
        },
    )


# --- On paper -------------------------------------------------------------------------


def _printed(request: HttpRequest, client_id: object) -> tuple[SafetyPlan, SafetyPlanVersion, str]:
    plan = get_safety_plan_for_user(request, client_id, audit_read=False)
    version = plan.current
    if version is None:
        raise Http404(_("No safety plan found."))
    version.plan = plan
    return plan, version, _language(request, plan)


def _print_page(
    request: HttpRequest, plan: SafetyPlan, version: SafetyPlanVersion, language: str, **extra: Any
) -> HttpResponse:
    """The print page in `language` and the agency's zone, whoever reads it."""
    status = 503 if extra.get("pdf_unavailable") else 200
    with translation.override(language), timezone.override(plan.agency.zone):
        response = render(
            request,
            "plans/safety_plan_print.html",
            {**pdf.print_context(plan, version), **extra},
            status=status,
        )
    response["Content-Language"] = language
    return response


def _audit_export(
    request: HttpRequest, plan: SafetyPlan, version: SafetyPlanVersion, **detail: Any
) -> None:
    audit(
        request=request,
        action=Action.EXPORT,
        obj=plan,
        detail={"version": version.number, **detail},
    )


@login_required
@require_GET
def safety_plan_print(request, client_id):
    """The plan for the browser's print: the client's name, the lines to call, the
    steps; no navigation. `?lang=en|es`, the client's language by default."""
    plan, version, language = _printed(request, client_id)
    _audit_export(request, plan, version, format="print", language=language)
    return _print_page(request, plan, version, language)


@login_required
@require_GET
def safety_plan_pdf(request, client_id):
    """The print page as a PDF (plans/pdf.py); where the PDF cannot be made here, the
    print page itself, with a 503 that says so."""
    plan, version, language = _printed(request, client_id)
    try:
        data = pdf.safety_plan_pdf(version, language)
    except pdf.PdfUnavailable:
        _audit_export(request, plan, version, format="print", language=language, pdf=False)
        return _print_page(request, plan, version, language, pdf_unavailable=True)
    _audit_export(request, plan, version, format="pdf", language=language)
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = 'inline; filename="safety-plan.pdf"'
    response["Cache-Control"] = "no-store"
    response["Content-Language"] = language
    return response
