"""Finding a client, and reading or correcting their details."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from audit.models import Action
from audit.services import record as audit
from audit.services import refuse
from cases import services
from cases.access import get_client_for_user
from cases.forms import ClientEditForm, ClientSearchForm, MergeConfirmForm, OutsideSearchForm
from cases.lookup import LIMITED_MESSAGE, search_outside
from cases.matching import find_likely_clients
from cases.models import Case, Client
from core.exceptions import DomainError
from core.forms import add_error

PAGE_SIZE = 20
OUTSIDE_PREFIX = "outside"


@login_required
@require_GET
def client_search(request):
    """The user's own clients by name, phone or identifier fragment; and, for those who
    carry a caseload, a separate exact lookup outside it, for emergency access only."""
    user = request.user
    if not user.agency_id:
        refuse(request, "client_search", _("Client records belong to agencies."))
    form = ClientSearchForm(request.GET)
    q = form.cleaned_data["q"].strip() if form.is_valid() else ""
    page = None
    if q:
        results = (
            Client.objects.visible_to(user)
            .search(q)
            .prefetch_related("identifiers")
            .order_by("legal_name", "pk")
        )
        page = Paginator(results, PAGE_SIZE).get_page(request.GET.get("page"))
        audit(
            request=request,
            action=Action.SEARCH,
            object_type="client",
            detail={"query": q, "page": page.number, "ids": [client.pk for client in page]},
        )
    outside_form, lookup = _outside_search(request)
    return render(
        request,
        "cases/client_search.html",
        {
            "form": form,
            "q": q,
            "page": page,
            "outside_form": outside_form,
            "outside": lookup.suggestions if lookup else None,
            "outside_limited": LIMITED_MESSAGE if lookup and lookup.limited else "",
        },
        status=429 if lookup and lookup.limited else 200,
    )


def _outside_search(request):
    """(form, lookup) for the lookup outside the user's caseload: lookup None when
    nothing valid was asked (or the user carries no caseload)."""
    if not request.user.works_cases:
        return None, None
    asked = any(key.startswith(f"{OUTSIDE_PREFIX}-") for key in request.GET)
    form = OutsideSearchForm(request.GET if asked else None, prefix=OUTSIDE_PREFIX)
    if not asked or not form.is_valid():
        return form, None
    data = form.cleaned_data
    return form, search_outside(
        request,
        page="client search",
        legal_name=data["name"],
        date_of_birth=data["date_of_birth"],
        phone=data["phone"],
    )


@login_required
@require_GET
def client_detail(request, pk):
    client = get_client_for_user(request, pk, audit_read=False)
    cases = list(
        Case.objects.visible_to(request.user)
        .filter(client=client)
        .select_related("assigned_worker", "team")
    )
    audit(
        request=request,
        action=Action.VIEW,
        obj=client,
        detail={"case_ids": [case.pk for case in cases]},
    )
    can_edit = Client.objects.filter(
        pk=client.pk, cases__in=Case.objects.writable_by(request.user)
    ).exists()
    return render(
        request,
        "cases/client_detail.html",
        {
            "client": client,
            "identifiers": client.identifiers.all(),
            "cases": cases,
            "can_edit": can_edit,
            "can_merge": services.can_merge_clients(request.user) and not client.is_merged,
            "merged_into": _merged_into(request.user, client),
        },
    )


def _merged_into(user, client):
    """The record a merged client was merged into, when the user may see it."""
    if not client.is_merged:
        return None
    return Client.objects.visible_to(user).filter(pk=client.merged_into_id).first()


@login_required
@require_http_methods(["GET", "POST"])
def client_edit(request, pk):
    client = get_client_for_user(request, pk, write=True)
    if client.is_merged:
        messages.info(request, _("This record was merged into another: edit that one."))
        return redirect("cases:client_detail", client.pk)
    if request.method == "POST":
        form = ClientEditForm(request.POST, client=client, request=request)
        if form.is_valid():
            try:
                services.update_client(
                    actor=request.user,
                    client=client,
                    data=form.client_data(),
                    identifiers=form.identifiers(),
                    request=request,
                )
            except ValidationError as exc:
                add_error(exc, form)
            else:
                messages.success(request, _("Client details saved."))
                return redirect("cases:client_detail", client.pk)
    else:
        form = ClientEditForm(
            initial={name: getattr(client, name) for name in services.CLIENT_FIELDS},
            client=client,
            request=request,
        )
    return render(
        request,
        "cases/client_form.html",
        {"form": form, "client": client, "suggestions": form.suggestions},
    )


def _require_merger(request):
    if not services.can_merge_clients(request.user):
        refuse(request, "client_merge", _("Only an agency admin can merge client records."))


@login_required
@require_GET
def client_merge(request, pk):
    """An agency admin picks the duplicate of this client: the likely matches, or any
    client of the agency found by name, phone or identifier."""
    _require_merger(request)
    client = get_client_for_user(request, pk)
    if client.is_merged:
        messages.info(request, _("This record was already merged into another."))
        return redirect("cases:client_detail", client.pk)
    likely = [
        s.client
        for s in find_likely_clients(
            agency=client.agency,
            legal_name=client.legal_name,
            preferred_name=client.preferred_name,
            date_of_birth=client.date_of_birth,
            estimated_age=client.estimated_age,
            phone=client.phone,
            identifiers=list(client.identifiers.values_list("kind", "value")),
            exclude_pk=client.pk,
        )
    ]
    form = ClientSearchForm(request.GET)
    q = form.cleaned_data["q"].strip() if form.is_valid() else ""
    found = []
    if q:
        found = list(
            Client.objects.visible_to(request.user)
            .search(q)
            .exclude(pk=client.pk)
            .select_related("agency")
            .order_by("legal_name", "pk")[:PAGE_SIZE]
        )
    audit(
        request=request,
        action=Action.SEARCH,
        object_type="client",
        detail={
            "purpose": "merge candidates",
            "client": client.pk,
            "query": q,
            "ids": [c.pk for c in likely + found],
        },
    )
    return render(
        request,
        "cases/client_merge.html",
        {"client": client, "likely": likely, "found": found, "form": form, "q": q},
    )


@login_required
@require_http_methods(["GET", "POST"])
def client_merge_confirm(request, pk, other):
    """Both records side by side; confirming merges `other` (the duplicate) into `pk`."""
    _require_merger(request)
    survivor = get_client_for_user(request, pk)
    duplicate = get_client_for_user(request, other)
    form = MergeConfirmForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.merge_clients(
                actor=request.user, survivor=survivor, duplicate=duplicate, request=request
            )
        except DomainError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request,
                _(
                    "Record %(id)s merged into this one: its cases, contacts and history "
                    "are here now."
                )
                % {"id": duplicate.pk},
            )
            return redirect("cases:client_detail", survivor.pk)
    records = [
        (
            label,
            c,
            c.identifiers.all(),
            Case.objects.visible_to(request.user)
            .filter(client=c)
            .select_related("assigned_worker"),
        )
        for label, c in ((_("Keep"), survivor), (_("Merge into it"), duplicate))
    ]
    return render(
        request,
        "cases/client_merge_confirm.html",
        {"survivor": survivor, "duplicate": duplicate, "records": records, "form": form},
    )
