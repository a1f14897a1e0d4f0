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
from cases.forms import ClientEditForm, ClientSearchForm
from cases.models import Case, Client
from cases.views.common import add_service_errors

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
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def client_edit(request, pk):
    client = get_client_for_user(request, pk, write=True)
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
                add_service_errors(exc, form)
            else:
                messages.success(request, "Client details saved.")
                return redirect("cases:client_detail", client.pk)
    else:
        form = ClientEditForm(
            initial={name: getattr(client, name) for name in services.CLIENT_FIELDS},
            client=client,
        )
    return render(request, "cases/client_form.html", {"form": form, "client": client})
