"""Finding a client, and reading or correcting their details."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import OuterRef, Subquery
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from audit.models import Action
from audit.services import record as audit
from audit.services import refuse
from cases import services
from cases.access import get_client_for_user
from cases.forms import ClientEditForm, ClientSearchForm, MergeConfirmForm
from cases.matching import find_likely_clients
from cases.models import Case, Client
from core.exceptions import DomainError
from core.forms import add_error

PAGE_SIZE = 20
# Outside one's scope only a few exact-enough matches are offered, for emergency access.
OUTSIDE_MIN_QUERY = 3
OUTSIDE_LIMIT = 10


@login_required
@require_GET
def client_search(request):
    user = request.user
    if not user.agency_id:
        refuse(request, "client_search", "Client records belong to agencies.")
    form = ClientSearchForm(request.GET)
    q = form.cleaned_data["q"].strip() if form.is_valid() else ""
    page = None
    outside = []
    if q:
        results = (
            Client.objects.visible_to(user)
            .search(q)
            .prefetch_related("identifiers")
            .order_by("legal_name", "pk")
        )
        page = Paginator(results, PAGE_SIZE).get_page(request.GET.get("page"))
        if user.works_cases and len(q) >= OUTSIDE_MIN_QUERY:
            outside = _outside_scope(user, q)
        audit(
            request=request,
            action=Action.SEARCH,
            object_type="client",
            detail={
                "query": q,
                "page": page.number,
                "ids": [client.pk for client in page],
                "outside_scope_ids": [client.pk for client in outside],
            },
        )
    return render(
        request,
        "cases/client_search.html",
        {"form": form, "q": q, "page": page, "outside": outside},
    )


def _outside_scope(user, q):
    """Clients of the user's own agency that match but that they cannot see, each with
    their most recent case (the one emergency access would open)."""
    latest_case = Case.objects.filter(client=OuterRef("pk")).order_by("-opened_at", "-pk")
    return list(
        Client.objects.filter(agency_id=user.agency_id)
        .search(q)
        .exclude(pk__in=Client.objects.visible_to(user).values("pk"))
        .annotate(latest_case_id=Subquery(latest_case.values("pk")[:1]))
        .filter(latest_case_id__isnull=False)
        .only("pk", "legal_name", "preferred_name", "date_of_birth", "estimated_age")
        .order_by("legal_name", "pk")[:OUTSIDE_LIMIT]
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
        messages.info(request, "This record was merged into another: edit that one.")
        return redirect("cases:client_detail", client.pk)
    if request.method == "POST":
        form = ClientEditForm(request.POST, client=client)
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
                messages.success(request, "Client details saved.")
                return redirect("cases:client_detail", client.pk)
    else:
        form = ClientEditForm(
            initial={name: getattr(client, name) for name in services.CLIENT_FIELDS},
            client=client,
        )
    return render(
        request,
        "cases/client_form.html",
        {"form": form, "client": client, "suggestions": form.suggestions},
    )


def _require_merger(request):
    if not services.can_merge_clients(request.user):
        refuse(request, "client_merge", "Only an agency admin can merge client records.")


@login_required
@require_GET
def client_merge(request, pk):
    """An agency admin picks the duplicate of this client: the likely matches, or any
    client of the agency found by name, phone or identifier."""
    _require_merger(request)
    client = get_client_for_user(request, pk)
    if client.is_merged:
        messages.info(request, "This record was already merged into another.")
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
                f"Record {duplicate.pk} merged into this one: its cases, contacts and history "
                "are here now.",
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
        for label, c in (("Keep", survivor), ("Merge into it", duplicate))
    ]
    return render(
        request,
        "cases/client_merge_confirm.html",
        {"survivor": survivor, "duplicate": duplicate, "records": records, "form": form},
    )
