"""Directory pages: search from a phone, a service's page, and agency-admin editing."""

from urllib.parse import urlencode, urlsplit

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from audit.services import refuse
from cases.models import Case
from core.forms import add_error
from core.ids import as_id
from directory import schedules as hours
from directory import search as finder
from directory import services
from directory.access import get_directory_row_for_user
from directory.forms import LocationForm, OrganizationForm, SearchForm, ServiceForm
from directory.geocode import GeocodeError, geocode
from directory.models import (
    Address,
    Attribute,
    Contact,
    Language,
    Location,
    NeedCategory,
    Organization,
    Phone,
    Schedule,
    Service,
    ServiceArea,
    ServiceAtLocation,
)

EDITORS_ONLY = gettext_lazy("Only agency admins and the system admin edit the directory.")
# The editing page's titles, by the kind of row: (new, edit).
ROW_TITLES = {
    "organization": (gettext_lazy("New organization"), gettext_lazy("Edit organization")),
    "service": (gettext_lazy("New service"), gettext_lazy("Edit service")),
    "location": (gettext_lazy("New location"), gettext_lazy("Edit location")),
}


def referral_case(request) -> Case | None:
    """The case a worker is referring from (?case=<id>), with its client, when it is one
    they may see."""
    case_id = as_id(request.GET.get("case", ""))
    if case_id is None or not request.user.works_cases:
        return None
    return Case.objects.visible_to(request.user).select_related("client").filter(pk=case_id).first()


def referral_case_id(request) -> int | None:
    """The id of referral_case(request), or None."""
    case = referral_case(request)
    return case.pk if case is not None else None


def with_client_filters(query, case):
    """The search's GET parameters, with the client's language and age filled in when the
    directory is opened from their case: a filter the worker cleared (sent empty) stays
    cleared."""
    if case is None:
        return query
    client = case.client
    given = {"language": client.preferred_language.strip(), "age": client.age}
    missing = {key: value for key, value in given.items() if key not in query and value}
    if not missing:
        return query
    query = query.copy()
    for key, value in missing.items():
        query[key] = str(value)
    return query


def referral_need(request, service_needs=()) -> str:
    """The need a referral from a service's page is for: the one searched for (?need=),
    else the service's only need, else "" (the worker chooses on the referral form)."""
    need = request.GET.get("need", "")
    if need in NeedCategory.values:
        return need
    return service_needs[0] if len(service_needs) == 1 else ""


def web_link(url: str) -> str:
    """`url` when it is an http(s) address, else "": an imported or admin-typed
    "javascript:" URL must not become a link that runs in the worker's session."""
    try:
        scheme = urlsplit(url.strip()).scheme.lower()
    except ValueError:
        return ""
    return url.strip() if scheme in ("http", "https") else ""


def referral_base_url(case_id) -> str | None:
    """The start of a "Refer" link for this case; None until the referral pages exist."""
    if case_id is None:
        return None
    try:
        base = reverse("referrals:new")
    except NoReverseMatch:
        return None
    return f"{base}?{urlencode({'case': case_id})}"


@login_required
@require_GET
def search(request):
    case = referral_case(request)
    case_id = case.pk if case is not None else None
    form = SearchForm(with_client_filters(request.GET, case))
    page = None
    results = None
    if form.is_valid():
        params = form.params()
        near = (form.cleaned_data.get("near") or "").strip()
        if near and not params.near:
            try:
                params.lat, params.lng = geocode(near, request.user)
            except GeocodeError as exc:
                form.add_error("near", exc.message)
        if form.is_valid():
            results = finder.search(request.user, params)
            page = Paginator(results, finder.PAGE_SIZE).get_page(request.GET.get("page"))
            finder.audit_search(
                request, params, page.object_list, page_number=page.number, case_id=case_id
            )
    context = {
        "form": form,
        "page": page,
        "needs": NeedCategory.choices,
        "case_id": case_id,
        "refer_url": referral_base_url(case_id),
        "open_now_truncated": results.open_now_truncated if results else False,
        "can_manage": request.user.is_agency_admin or request.user.is_system_admin,
    }
    template = "directory/_results.html" if request.htmx else "directory/search.html"
    return render(request, template, context)


@login_required
@require_GET
def service_detail(request, pk):
    user = request.user

    def visible(model):
        return model.objects.visible_to(user)

    service = get_directory_row_for_user(
        request, Service, pk, queryset=Service.objects.select_related("organization")
    )
    at_locations = (
        visible(ServiceAtLocation)
        .filter(service=service, location__in=visible(Location))
        .select_related("location")
        .prefetch_related(
            Prefetch("location__addresses", queryset=visible(Address)),
            Prefetch("location__phones", queryset=visible(Phone)),
            Prefetch("location__schedules", queryset=visible(Schedule)),
            Prefetch("location__languages", queryset=visible(Language)),
            Prefetch("schedules", queryset=visible(Schedule)),
        )
    )
    schedules = list(visible(Schedule).filter(service=service))
    case_id = referral_case_id(request)
    needs = finder.need_categories_for(user, [service.pk]).get(service.pk, [])
    context = {
        "service": service,
        "web_link": web_link(service.url),
        "at_locations": [
            {
                "row": row,
                "location": row.location,
                "hours": [
                    hours.describe(s)
                    for s in hours.applicable(row.schedules.all(), row.location.schedules.all())
                ],
            }
            for row in at_locations
        ],
        "phones": list(visible(Phone).filter(service=service)),
        "hours": [hours.describe(s) for s in schedules],
        "open_status": hours.open_status(schedules, timezone.now(), hours.agency_zone(user)),
        "languages": list(visible(Language).filter(service=service)),
        "service_areas": list(visible(ServiceArea).filter(service=service)),
        "contacts": list(visible(Contact).filter(service=service)),
        "needs": [NeedCategory(c).label for c in needs],
        "case_id": case_id,
        "refer_url": referral_base_url(case_id),
        # Carried into the referral, which cannot be sent without it.
        "refer_need": referral_need(request, needs) if case_id else "",
        "can_edit": Service.objects.editable_by(user).filter(pk=service.pk).exists(),
    }
    return render(request, "directory/service_detail.html", context)


# Editing: agency admins their agency's rows, the system admin the shared directory.


def require_editor(request):
    user = request.user
    if not (user.is_system_admin or (user.is_agency_admin and user.agency_id)):
        refuse(request, "directory_manage", str(EDITORS_ONLY))


@login_required
@require_GET
def manage(request):
    require_editor(request)
    user = request.user
    return render(
        request,
        "directory/manage.html",
        {
            "organizations": list(Organization.objects.editable_by(user)),
            "services": list(
                Service.objects.editable_by(user).select_related("organization").order_by("name")
            ),
            "locations": list(
                Location.objects.editable_by(user)
                .prefetch_related(Prefetch("addresses", queryset=Address.objects.visible_to(user)))
                .order_by("name", "pk")
            ),
            "shared": user.is_system_admin,
        },
    )


def _edit(request, form, save, *, success, kind, row):
    """POST: validate, call `save` (a service), back to the manage page; errors and GET
    re-render the form."""
    if request.method == "POST" and form.is_valid():
        try:
            save()
        except ValidationError as exc:
            add_error(exc, form)
        else:
            messages.success(request, success)
            return redirect("directory:manage")
    new_title, edit_title = ROW_TITLES[kind]
    return render(
        request,
        "directory/row_form.html",
        {
            "form": form,
            "kind": kind,
            "row": row,
            kind: row,
            "new_title": new_title,
            "edit_title": edit_title,
        },
    )


def _bound(request):
    return request.POST if request.method == "POST" else None


@login_required
@require_http_methods(["GET", "POST"])
def organization_edit(request, pk=None):
    require_editor(request)
    organization = pk and get_directory_row_for_user(request, Organization, pk, write=True)
    initial = {}
    if organization:
        initial = {name: getattr(organization, name) for name in services.ORGANIZATION_FIELDS}
    form = OrganizationForm(_bound(request), initial=initial)
    return _edit(
        request,
        form,
        lambda: services.save_organization(
            actor=request.user,
            organization=organization or None,
            data=form.cleaned_data,
            request=request,
        ),
        success=_("Organization saved."),
        kind="organization",
        row=organization,
    )


def _service_initial(service):
    """The form's values from the service and its own directory's rows (not another
    directory's rows hung on it: see directory/services.py)."""
    own = {"agency_id": service.agency_id}
    initial = {name: getattr(service, name) for name in services.SERVICE_FIELDS}
    for name in ("minimum_age", "maximum_age"):
        if initial[name] is not None:
            initial[name] = int(initial[name])
    initial["need_categories"] = sorted(
        set(
            Attribute.objects.filter(
                **own,
                link_entity="service",
                link_id=service.pk,
                taxonomy_term__taxonomy=services.NEEDS_TAXONOMY,
            ).values_list("taxonomy_term__need_category", flat=True)
        )
    )
    initial["languages"] = ", ".join(
        language.code or language.name
        for language in service.languages.filter(**own, location__isnull=True, phone__isnull=True)
    )
    phone = service.phones.filter(**own).order_by("pk").first()
    initial["phone"] = phone.number if phone else ""
    schedule = (
        service.schedules.filter(
            **own, freq="WEEKLY", location__isnull=True, service_at_location__isnull=True
        )
        .order_by("pk")
        .first()
    )
    if schedule:
        initial["schedule_days"] = [d for d in schedule.byday.split(",") if d]
        initial["opens_at"] = schedule.opens_at
        initial["closes_at"] = schedule.closes_at
    return initial


@login_required
@require_http_methods(["GET", "POST"])
def service_edit(request, pk=None):
    require_editor(request)
    service = pk and get_directory_row_for_user(request, Service, pk, write=True)
    form = ServiceForm(
        _bound(request), initial=_service_initial(service) if service else {}, user=request.user
    )
    return _edit(
        request,
        form,
        lambda: services.save_service(
            actor=request.user, service=service or None, request=request, **form.service_kwargs()
        ),
        success=_("Service saved."),
        kind="service",
        row=service,
    )


def _location_initial(location):
    own = {"agency_id": location.agency_id}
    initial = {
        "name": location.name,
        "organization": location.organization_id,
        "description": location.description,
        "latitude": location.latitude,
        "longitude": location.longitude,
        "services": list(location.services_at.filter(**own).values_list("service_id", flat=True)),
    }
    address = location.addresses.filter(**own).order_by("address_type", "pk").first()
    if address:
        initial.update({name: getattr(address, name) for name in services.ADDRESS_FIELDS})
    return initial


@login_required
@require_http_methods(["GET", "POST"])
def location_edit(request, pk=None):
    require_editor(request)
    location = pk and get_directory_row_for_user(request, Location, pk, write=True)
    form = LocationForm(
        _bound(request),
        initial=_location_initial(location) if location else {"country": "US"},
        user=request.user,
    )
    return _edit(
        request,
        form,
        lambda: services.save_location(
            actor=request.user,
            location=location or None,
            request=request,
            **form.location_kwargs(),
        ),
        success=_("Location saved."),
        kind="location",
        row=location,
    )
