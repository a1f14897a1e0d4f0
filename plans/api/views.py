"""The safety plan and crisis response plan API.

As the other client-record APIs: lists are scoped by visible_to(user) and audited with the
ids they show; a detail route fetches through the access helpers below (another agency's
id: 404 and a DENIED audit row; a plan the user may only read, as an agency admin: 403
and a DENIED row on a write). Every write validates an input serializer and calls one
service in plans/services/; a refusal of the service is a 400 naming the field it is about
where there is one, a refusal of the kind "not permitted" (approving one's own plan) a 403.
"""

import django_filters
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch, Q
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiTypes,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from audit.access import get_for_user
from audit.api import AccessHelperMixin
from audit.models import Action
from audit.services import record as audit
from audit.services import refuse
from cases.models import Case
from core.api import PARSER_CLASSES
from core.api_filters import IdFilter, StrictBooleanFilter, UTCIsoDateTimeFilter
from core.ids import as_id
from plans import services
from plans.api.serializers import (
    CrisisPlanContentSerializer,
    CrisisPlanInputSerializer,
    CrisisPlanSerializer,
    ReturnCrisisPlanSerializer,
    SafetyPlanInputSerializer,
    SafetyPlanLinkInputSerializer,
    SafetyPlanLinkSerializer,
    SafetyPlanSerializer,
    SafetyPlanVersionSerializer,
)
from plans.exceptions import InvalidTransition
from plans.models import (
    CrisisPlan,
    CrisisPlanStatus,
    SafetyPlan,
    SafetyPlanLink,
    SafetyPlanMeans,
    SafetyPlanVersion,
)
from plans.services import CrisisPlanContent, MeansStep, PlanContent
from plans.services.links import issue_safety_plan_link, revoke_safety_plan_link

# --- Access ------------------------------------------------------------------------------


def _means(lookup="means"):
    """A version's lethal-means steps, with who confirmed each."""
    return Prefetch(lookup, queryset=SafetyPlanMeans.objects.select_related("confirmed_by"))


def safety_plans_for_api(user):
    """The safety plans `user` may see, with what the API shows of each joined in."""
    return (
        SafetyPlan.objects.visible_to(user)
        .select_related("client", "created_by", "current__created_by")
        .prefetch_related(_means("current__means"))
    )


def crisis_plans_for_api(user):
    """The crisis plans `user` may see, with what the API shows of each joined in."""
    return CrisisPlan.objects.visible_to(user).select_related(
        "client", "case", "author", "approved_by", "reviewed_by", "ended_by"
    )


def _on_contactable_case(user):
    return SafetyPlan.objects.filter(case_id__any_of=Case.objects.contactable_by(user).values("pk"))


def get_safety_plan_by_id(request, pk, *, write=False, audit_read=True) -> SafetyPlan:
    """A safety plan (by its own id; plans.access fetches the pages' by the client's) of a
    client the user may see; `write`: one whose case the user may record a contact on, as
    the services require to write it or send it."""
    user = request.user
    return get_for_user(
        request,
        SafetyPlan,
        safety_plans_for_api(user),
        _on_contactable_case(user),
        pk,
        write,
        audit_read,
    )


def get_crisis_plan_by_id(request, pk, *, write=False, audit_read=True) -> CrisisPlan:
    """A crisis plan of a client the user may see; `write`: one written on a case the user
    may change (the services check the finer rules: who approves, who withdraws)."""
    user = request.user
    return get_for_user(
        request,
        CrisisPlan,
        crisis_plans_for_api(user),
        CrisisPlan.objects.filter(case_id__any_of=Case.objects.writable_by(user).values("pk")),
        pk,
        write,
        audit_read,
    )


def get_safety_plan_link_by_id(request, pk, *, write=False) -> SafetyPlanLink:
    """A link to a safety plan the user may see; `write`: to a plan the user may send.
    As audit.access.get_for_user, whose DENIED row would read the agency from the row
    itself: a link's agency is its plan's."""
    user = request.user
    pk_id = as_id(pk)
    visible = SafetyPlanLink.objects.filter(
        plan_id__any_of=SafetyPlan.objects.visible_to(user).values("pk")
    ).select_related("plan", "created_by", "revoked_by", "notification")
    link = visible.filter(pk=pk_id).first() if pk_id else None
    thing = SafetyPlanLink._meta.verbose_name
    if link is None:
        _deny_link(request, pk, "not visible")
        raise Http404(_("No %(thing)s found.") % {"thing": thing})
    if write and not _on_contactable_case(user).filter(pk=link.plan_id).exists():
        _deny_link(request, pk, "read only")
        raise PermissionDenied(
            _("You may view this %(thing)s but not change it.") % {"thing": thing}
        )
    return link


def _deny_link(request, pk, reason):
    pk_id = as_id(pk)
    owner = (
        SafetyPlanLink.objects.filter(pk=pk_id).values("plan__agency_id").first() if pk_id else None
    )
    audit(
        request=request,
        action=Action.DENIED,
        object_type="safetyplanlink",
        object_id=pk,
        agency_id=owner["plan__agency_id"] if owner else None,
        detail={"reason": reason},
    )


# --- Safety plans ------------------------------------------------------------------------


class SafetyPlanFilter(django_filters.FilterSet):
    client = IdFilter(field_name="client_id")
    updated_since = UTCIsoDateTimeFilter(
        field_name="updated_at",
        lookup_expr="gte",
        label=gettext_lazy("Changed at or after this time (ISO 8601; UTC without an offset)"),
    )

    class Meta:
        model = SafetyPlan
        fields: list[str] = []


@extend_schema(tags=["plans"])
@extend_schema_view(
    list=extend_schema(summary="Safety plans of the clients you can see"),
    retrieve=extend_schema(summary="A safety plan, with its current version"),
)
class SafetyPlanViewSet(
    AccessHelperMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Clients' safety plans (the Safety Planning Intervention), written with the client
    in their own words: one per person, whatever the case. Every change is a new version,
    the earlier ones kept with who wrote them and when; `current` is the one the client
    has. Agency admins read every plan of the agency and change none (403)."""

    serializer_class = SafetyPlanSerializer
    filterset_class = SafetyPlanFilter
    access_helper = staticmethod(get_safety_plan_by_id)
    audit_object_type = "safetyplan"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return SafetyPlan.objects.none()
        return safety_plans_for_api(self.request.user).order_by("-updated_at", "-pk")

    def plan_response(self, plan_id, code=status.HTTP_200_OK):
        plan = safety_plans_for_api(self.request.user).get(pk=plan_id)
        return Response(
            SafetyPlanSerializer(plan, context=self.get_serializer_context()).data, status=code
        )

    @extend_schema(
        summary="Write a client's safety plan (the first version, or the next)",
        description="The whole plan as it should now read, written on an open case of the "
        "client: it becomes the plan's next version. A step confirmed in an earlier version "
        "keeps who confirmed it and when. A version identical to the current one is refused.",
        request=SafetyPlanInputSerializer,
        responses={201: SafetyPlanSerializer},
    )
    def create(self, request):
        self.require_case_worker(request)
        serializer = SafetyPlanInputSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        case = data["case"]
        if not Case.objects.contactable_by(request.user).filter(pk=case.pk).exists():
            refuse(
                request,
                "api:safety-plans",
                _("Only the workers on this client's case can write their safety plan."),
            )
        content = PlanContent(
            warning_signs=data["warning_signs"],
            coping=data["coping"],
            distractions=[dict(person) for person in data["distractions"]],
            help_people=[dict(person) for person in data["help_people"]],
            professionals=[dict(person) for person in data["professionals"]],
            service_ids=[str(service) for service in data["services"]],
            means=[MeansStep(**step) for step in data["means"]],
            reasons=data["reasons"],
        )
        version = services.save_safety_plan(
            actor=request.user,
            case=case,
            content=content,
            contact=data["contact"],
            followup=data["followup"],
            change_note=data["change_note"],
            request=request,
        )
        return self.plan_response(version.plan_id, status.HTTP_201_CREATED)

    @extend_schema(
        summary="A safety plan's versions, newest first",
        responses=SafetyPlanVersionSerializer(many=True),
    )
    @action(detail=True, methods=["get"], filterset_class=None)
    def versions(self, request, pk=None):
        plan = self.get_object()
        versions = (
            SafetyPlanVersion.objects.filter(plan=plan)
            .select_related("created_by")
            .prefetch_related(_means())
            .order_by("-number")
        )
        return self.paginated(versions, SafetyPlanVersionSerializer)

    @extend_schema(
        summary="One version of a safety plan",
        parameters=[OpenApiParameter("number", OpenApiTypes.INT, OpenApiParameter.PATH)],
        responses=SafetyPlanVersionSerializer,
    )
    @action(
        detail=True,
        methods=["get"],
        url_path=r"versions/(?P<number>[^/]+)",
        url_name="version",
        filterset_class=None,
    )
    def version(self, request, pk=None, number=None):
        plan = self.get_object()
        wanted = as_id(number)
        version = (
            SafetyPlanVersion.objects.filter(plan=plan, number=wanted)
            .select_related("created_by")
            .prefetch_related(_means())
            .first()
            if wanted
            else None
        )
        if version is None:
            raise Http404(
                _("No %(thing)s found.") % {"thing": SafetyPlanVersion._meta.verbose_name}
            )
        return Response(SafetyPlanVersionSerializer(version).data)

    @extend_schema(
        methods=["GET"],
        summary="The links sent to the client for their plan, newest first (never a token)",
        responses=SafetyPlanLinkSerializer(many=True),
    )
    @extend_schema(
        methods=["POST"],
        summary="Send the client a link to their plan",
        description="By text message or email, to the address given or the client's own. "
        "The message names nothing clinical; the link opens the current version until it "
        "expires or is revoked.",
        request=SafetyPlanLinkInputSerializer,
        responses={201: SafetyPlanLinkSerializer},
    )
    @action(detail=True, methods=["get", "post"], filterset_class=None)
    def links(self, request, pk=None):
        plan = self.get_object()
        if request.method == "GET":
            return self.paginated(
                plan.links.select_related("created_by", "revoked_by", "notification"),
                SafetyPlanLinkSerializer,
            )
        serializer = SafetyPlanLinkInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        link = issue_safety_plan_link(
            actor=request.user,
            plan=plan,
            channel=serializer.validated_data["channel"],
            address=serializer.validated_data["address"] or None,
            request=request,
        )
        return Response(
            SafetyPlanLinkSerializer(_link_for_response(link.pk)).data,
            status=status.HTTP_201_CREATED,
        )


def _link_for_response(pk):
    return SafetyPlanLink.objects.select_related("created_by", "revoked_by", "notification").get(
        pk=pk
    )


@extend_schema(tags=["plans"])
class SafetyPlanLinkViewSet(viewsets.GenericViewSet):
    """Links sent to clients for their safety plans (listed on each plan)."""

    serializer_class = SafetyPlanLinkSerializer
    parser_classes = PARSER_CLASSES
    lookup_value_regex = "[^/]+"
    queryset = SafetyPlanLink.objects.none()

    @extend_schema(
        summary="Revoke a link: it stops opening the plan at once",
        request=None,
        responses=SafetyPlanLinkSerializer,
    )
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None):
        link = get_safety_plan_link_by_id(request, pk, write=True)
        revoke_safety_plan_link(actor=request.user, link=link, request=request)
        return Response(SafetyPlanLinkSerializer(_link_for_response(link.pk)).data)


# --- Crisis response plans ---------------------------------------------------------------


class CrisisPlanFilter(django_filters.FilterSet):
    client = IdFilter(field_name="client_id")
    status = django_filters.ChoiceFilter(choices=CrisisPlanStatus.choices)
    review_overdue = StrictBooleanFilter(
        method="filter_review_overdue",
        label=gettext_lazy("Approved and past its review date, or not"),
    )

    class Meta:
        model = CrisisPlan
        fields: list[str] = []

    def filter_review_overdue(self, queryset, name, value):
        now = timezone.now()
        if value:
            return queryset.review_overdue(now)
        return queryset.exclude(Q(status=CrisisPlanStatus.APPROVED, review_due_at__lte=now))


@extend_schema(tags=["plans"])
@extend_schema_view(
    list=extend_schema(
        summary="Crisis response plans of the clients you can see",
        description="Every version; `status=approved` for the ones responders see, "
        "`review_overdue=true` for approved plans past their review date.",
    ),
    retrieve=extend_schema(summary="A version of a crisis response plan"),
)
class CrisisPlanViewSet(
    AccessHelperMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Crisis response plans: what the team sent to a person should know. Each row is a
    version. A worker on the client's case writes a draft and submits it; a supervisor of
    the team who is not its author approves it (or returns it with a note); the approved
    version replaces the one before and is reviewed at the agency's interval. Agency
    admins read every plan of the agency and change none (403)."""

    serializer_class = CrisisPlanSerializer
    filterset_class = CrisisPlanFilter
    access_helper = staticmethod(get_crisis_plan_by_id)
    audit_object_type = "crisisplan"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return CrisisPlan.objects.none()
        return crisis_plans_for_api(self.request.user).order_by("-updated_at", "-pk")

    def plan_response(self, plan, code=status.HTTP_200_OK):
        plan = crisis_plans_for_api(self.request.user).get(pk=plan.pk)
        return Response(
            CrisisPlanSerializer(plan, context=self.get_serializer_context()).data, status=code
        )

    @extend_schema(
        summary="Write the draft of a client's next crisis response plan",
        description="On an open case of the client. When a draft is being written it is "
        "replaced by what is sent (200); else a new draft is made (201). A version waiting "
        "for approval cannot be changed until it is returned.",
        request=CrisisPlanInputSerializer,
        responses={200: CrisisPlanSerializer, 201: CrisisPlanSerializer},
    )
    def create(self, request):
        self.require_case_worker(request)
        serializer = CrisisPlanInputSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        case = data.pop("case")
        if not Case.objects.writable_by(request.user).filter(pk=case.pk).exists():
            refuse(
                request,
                "api:crisis-plans",
                _("Only the workers on this client's case can write their crisis response plan."),
            )
        existing = (
            CrisisPlan.objects.filter(client_id=case.client_id, status=CrisisPlanStatus.DRAFT)
            .values_list("pk", flat=True)
            .first()
        )
        plan = services.save_crisis_plan(
            actor=request.user, case=case, content=_crisis_content(data), request=request
        )
        return self.plan_response(
            plan, status.HTTP_200_OK if plan.pk == existing else status.HTTP_201_CREATED
        )

    @extend_schema(
        summary="Change a draft",
        description="Only a draft is changed; the fields sent replace its own.",
        request=CrisisPlanContentSerializer,
        responses=CrisisPlanSerializer,
    )
    def partial_update(self, request, pk=None):
        plan = self.get_object()
        serializer = CrisisPlanContentSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        if plan.status != CrisisPlanStatus.DRAFT:
            raise InvalidTransition(
                _("This plan is %(status)s: that cannot be done now.")
                % {"status": str(plan.get_status_display()).lower()}
            )
        content = CrisisPlanContent.of(plan)
        for name, value in _crisis_fields(serializer.validated_data).items():
            setattr(content, name, value)
        plan = services.save_crisis_plan(
            actor=request.user, case=plan.case, content=content, request=request
        )
        return self.plan_response(plan)

    @extend_schema(
        summary="Send a draft for approval", request=None, responses=CrisisPlanSerializer
    )
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        plan = services.submit_crisis_plan(
            actor=request.user, plan=self.get_object(), request=request
        )
        return self.plan_response(plan)

    @extend_schema(
        summary="Return a version waiting for approval to its author, saying what to change",
        request=ReturnCrisisPlanSerializer,
        responses=CrisisPlanSerializer,
    )
    @action(detail=True, methods=["post"], url_path="return", url_name="return")
    def return_plan(self, request, pk=None):
        plan = self.get_object()
        serializer = ReturnCrisisPlanSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        plan = services.return_crisis_plan(
            actor=request.user, plan=plan, note=serializer.validated_data["note"], request=request
        )
        return self.plan_response(plan)

    @extend_schema(
        summary="Approve a version waiting for approval (a supervisor who is not its author)",
        description="It replaces the version approved before; its review falls due at the "
        "agency's interval.",
        request=None,
        responses=CrisisPlanSerializer,
    )
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        plan = services.approve_crisis_plan(
            actor=request.user, plan=self.get_object(), request=request
        )
        return self.plan_response(plan)

    @extend_schema(
        summary="Record that the approved plan was reviewed and is still right",
        request=None,
        responses=CrisisPlanSerializer,
    )
    @action(detail=True, methods=["post"])
    def review(self, request, pk=None):
        plan = services.review_crisis_plan(
            actor=request.user, plan=self.get_object(), request=request
        )
        return self.plan_response(plan)

    @extend_schema(
        summary="Withdraw a draft, or take an approved plan out of use (a supervisor)",
        request=None,
        responses=CrisisPlanSerializer,
    )
    @action(detail=True, methods=["post"])
    def withdraw(self, request, pk=None):
        plan = services.withdraw_crisis_plan(
            actor=request.user, plan=self.get_object(), request=request
        )
        return self.plan_response(plan)


def _crisis_fields(data):
    fields = dict(data)
    if "contacts" in fields:
        fields["contacts"] = [dict(row) for row in fields["contacts"]]
    return fields


def _crisis_content(data):
    return CrisisPlanContent(**_crisis_fields(data))
