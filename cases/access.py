"""The one way views and API endpoints fetch a client record.

Invisible records answer 404 exactly as if they did not exist (another agency's data
must not even be confirmed to exist); a visible record the user may not change answers
403. Every refusal and every read is written to the audit trail.
"""

from django.core.exceptions import PermissionDenied
from django.http import Http404

from audit.models import Action
from audit.services import record as audit
from casebook.api import MAX_ID
from cases.models import Case, Client, Contact


def record_denied(request, model, pk, reason, **detail):
    """Audit a refused request for a record (404 or 403), in the trail of the agency
    that owns the record, else the actor's own."""
    pk_id = as_id(pk)
    target = model.objects.filter(pk=pk_id).values("agency_id").first() if pk_id else None
    audit(
        request=request,
        action=Action.DENIED,
        object_type=model._meta.model_name,
        object_id=pk,
        agency_id=target["agency_id"] if target else None,
        detail={"reason": reason, **detail},
    )


def as_id(value) -> int | None:
    """`value` as a database id when it is written as one (ASCII digits, or an int from a
    URL converter, within the id range), else None. Python's int() also reads " 1", "+1",
    "1_0" and other scripts' digits, which no id typed, posted or in a URL should be."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value if 0 < value <= MAX_ID else None
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 20:
        number = int(value)
        return number if 0 < number <= MAX_ID else None
    return None


def get_for_user(request, model, queryset, writable_queryset, pk, write, audit_read):
    """The `model` row `pk` from `queryset` (what the user may see), checked against
    `writable_queryset` when `write`; the shared core of every client-record helper."""
    pk_id = as_id(pk)
    obj = queryset.filter(pk=pk_id).first() if pk_id else None
    if obj is None:
        record_denied(request, model, pk, "not visible")
        raise Http404(f"No {model._meta.verbose_name} found.")
    if write and not writable_queryset.filter(pk=obj.pk).exists():
        record_denied(request, model, pk, "read only")
        raise PermissionDenied(f"You may view this {model._meta.verbose_name} but not change it.")
    if audit_read:
        audit(request=request, action=Action.VIEW, obj=obj)
    return obj


def get_case_for_user(request, pk, *, write=False, audit_read=True) -> Case:
    user = request.user
    return get_for_user(
        request,
        Case,
        Case.objects.visible_to(user).select_related("client", "assigned_worker", "team"),
        Case.objects.writable_by(user),
        pk,
        write,
        audit_read,
    )


def get_client_for_user(request, pk, *, write=False, audit_read=True) -> Client:
    user = request.user
    return get_for_user(
        request,
        Client,
        Client.objects.visible_to(user),
        Client.objects.writable_by(user),
        pk,
        write,
        audit_read,
    )


def get_contact_for_user(request, pk, *, write=False, audit_read=True) -> Contact:
    user = request.user
    return get_for_user(
        request,
        Contact,
        Contact.objects.visible_to(user).select_related(
            "case", "client", "recorded_by", "call_nature"
        ),
        Contact.objects.filter(case__in=Case.objects.writable_by(user)),
        pk,
        write,
        audit_read,
    )
