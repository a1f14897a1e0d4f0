"""The one way views fetch a safety plan, and the case one is written on (built on
audit.access.get_for_user).

Invisible records answer 404 exactly as if they did not exist; a visible record the user
may not change answers 403. Every refusal and every read is written to the audit trail.
"""

from typing import Any

from django.http import Http404, HttpRequest
from django.utils.translation import gettext as _

from audit.access import get_for_user, record_denied
from cases.models import Case, Client, Contact
from core.ids import as_id
from plans.models import CrisisPlan, SafetyPlan, SafetyPlanVersion


def get_safety_plan_for_user(
    request: HttpRequest, client_id: object, *, write: bool = False, audit_read: bool = True
) -> SafetyPlan:
    """The safety plan of client `client_id`, with its client, agency and current
    version (and who wrote it)."""
    user = request.user
    client_pk = as_id(client_id)
    plan_pk = (
        SafetyPlan.objects.filter(client_id=client_pk).values_list("pk", flat=True).first()
        if client_pk
        else None
    )
    if plan_pk is None:
        record_denied(request, Client, client_id, "no safety plan")
        raise Http404(_("No safety plan found."))
    return get_for_user(
        request,
        SafetyPlan,
        SafetyPlan.objects.visible_to(user).select_related(
            "client", "agency", "current", "current__created_by"
        ),
        SafetyPlan.objects.writable_by(user),
        plan_pk,
        write,
        audit_read,
    )


def get_case_for_plan(request: HttpRequest, pk: object, *, audit_read: bool = True) -> Case:
    """A case to write its client's safety plan on: one the user may record a contact
    on (an emergency access included: a plan is made during a call), else 403 for a
    reader and 404 for anyone else."""
    user = request.user
    return get_for_user(
        request,
        Case,
        Case.objects.visible_to(user).select_related("client", "agency"),
        Case.objects.contactable_by(user),
        pk,
        True,
        audit_read,
    )


def made_during(request: HttpRequest, case: Case) -> tuple[Contact | None, Any]:
    """The contact (`?contact=`) and the follow-up call (`?followup=`) a version is made
    during, each of `case`; 404 (audited) for one that is not."""
    contact = followup = None
    if value := request.GET.get("contact"):
        contact = Contact.objects.filter(pk=as_id(value) or 0, case_id=case.pk).first()
        if contact is None:
            record_denied(request, Contact, value, "not on this case", case_id=case.pk)
            raise Http404(_("That contact is not on this case."))
    if value := request.GET.get("followup"):
        # followups sits above plans: its model is named through the version's foreign key.
        model = SafetyPlanVersion._meta.get_field("followup").related_model
        followup = model._default_manager.filter(pk=as_id(value) or 0, case_id=case.pk).first()
        if followup is None:
            record_denied(request, model, value, "not on this case", case_id=case.pk)
            raise Http404(_("That follow-up is not on this case."))
    return contact, followup


def get_crisis_plan_for_user(
    request: HttpRequest, pk: object, *, write: bool = False, audit_read: bool = True
) -> CrisisPlan:
    """A version of a crisis response plan of a client the user may see, with its
    client, case, agency and the people it names; `write`: of a client whose record the
    user may change. Who may move it (submit, approve, review) is the services' to say."""
    user = request.user
    return get_for_user(
        request,
        CrisisPlan,
        CrisisPlan.objects.visible_to(user).select_related(
            "client", "case", "agency", "author", "approved_by"
        ),
        CrisisPlan.objects.filter(client_id__any_of=Client.objects.writable_by(user).values("pk")),
        pk,
        write,
        audit_read,
    )
