"""The one way views and API endpoints fetch a follow-up, a hospital visit or an enrolment.

As cases.access: an invisible record (another agency's, or an id that cannot be one)
answers 404 exactly as if it did not exist, a visible record the user may not change
answers 403, and every refusal and every read is written to the audit trail. A row is
visible when its case is (Case.objects.visible_to); `write` asks for one on a case the
user may record a contact on (Case.objects.contactable_by: the rule the services apply),
unless the caller names stricter `writable_cases`.
"""

from collections.abc import Callable
from typing import TypeVar

from django.contrib.auth.models import AnonymousUser
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts.models import User
from audit.access import get_for_user
from audit.models import Action
from audit.services import record as audit
from cases.models import Case
from followups.models import Enrolment, FollowUp, HospitalVisit

_OnCase = TypeVar("_OnCase", Enrolment, FollowUp, HospitalVisit)


def _writable(
    model: type[_OnCase], user: User | AnonymousUser, writable_cases: QuerySet[Case] | None
) -> QuerySet[_OnCase]:
    cases = Case.objects.contactable_by(user) if writable_cases is None else writable_cases
    return model.objects.filter(case__in=cases)


def get_followup_for_user(
    request: HttpRequest,
    pk: object,
    *,
    write: bool = False,
    audit_read: bool = True,
    refine: Callable[[QuerySet[FollowUp]], QuerySet[FollowUp]] | None = None,
) -> FollowUp:
    """A follow-up on a case the user may see; `write`: one the user may work (the
    workers of its case, and a live emergency access, as the services allow). `refine`
    adds what a page shows (joins, annotations) to the visible follow-ups; it must only
    narrow them."""
    user = request.user
    visible = FollowUp.objects.visible_to(user).select_related(
        "case__client", "assigned_to", "enrolment__version__protocol", "step"
    )
    followup = get_for_user(
        request,
        FollowUp,
        refine(visible) if refine is not None else visible,
        _writable(FollowUp, user, None),
        pk,
        write,
        audit_read=False,
    )
    if audit_read:
        # FollowUp has no client column of its own: name the client for the trail.
        audit(request=request, action=Action.VIEW, obj=followup, client_id=followup.case.client_id)
    return followup


def get_hospital_visit_for_user(
    request: HttpRequest,
    pk: object,
    *,
    write: bool = False,
    audit_read: bool = True,
    writable_cases: QuerySet[Case] | None = None,
) -> HospitalVisit:
    """An ER visit or admission on a case the user may see; `write`: on a case the user
    may record a contact on, or one of `writable_cases` when given."""
    user = request.user
    return get_for_user(
        request,
        HospitalVisit,
        HospitalVisit.objects.visible_to(user).select_related("case", "client", "recorded_by"),
        _writable(HospitalVisit, user, writable_cases),
        pk,
        write,
        audit_read,
    )


def get_enrolment_for_user(
    request: HttpRequest,
    pk: object,
    *,
    write: bool = False,
    audit_read: bool = True,
    writable_cases: QuerySet[Case] | None = None,
) -> Enrolment:
    """An enrolment of a case the user may see; `write`: of a case the user may record a
    contact on, or one of `writable_cases` when given."""
    user = request.user
    enrolment = get_for_user(
        request,
        Enrolment,
        Enrolment.objects.filter(case__in=Case.objects.visible_to(user)).select_related(
            "case", "version__protocol"
        ),
        _writable(Enrolment, user, writable_cases),
        pk,
        write,
        audit_read=False,
    )
    if audit_read:
        # Enrolment has no client column of its own: name the client for the trail.
        audit(
            request=request, action=Action.VIEW, obj=enrolment, client_id=enrolment.case.client_id
        )
    return enrolment
