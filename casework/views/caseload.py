import datetime
from typing import cast

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import models
from django.db.models.functions import JSONObject
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Role
from audit.services import record_list, refuse
from cases.cssrs import RISK_ORDER
from cases.models import Case
from core.offline import keep_offline
from followups.models import OPEN_STATUSES, FollowUp
from referrals.models import Referral
from referrals.staleness import stale_reason

FILTERS = {"all": gettext_lazy("All"), "mine": gettext_lazy("Mine"), "team": gettext_lazy("Team")}


def next_due_for(cases) -> dict:
    """Case id -> when its earliest open follow-up is due, for the caseload's "Next due"
    column (followup_case_due_idx). One query for the whole page, whatever its length;
    none when there are no cases."""
    ids = [case.pk for case in cases]
    if not ids:
        return {}
    rows = (
        FollowUp.objects.filter(case_id__in=ids, status__in=OPEN_STATUSES)
        .values("case_id")
        .annotate(next_due=models.Min("due_at"))
        .order_by()
    )
    return {row["case_id"]: row["next_due"] for row in rows}


def with_stale_referral(cases, now):
    """Each case annotated with its longest-stale live referral (Referral.objects.stale),
    as a small dict or None: a correlated subquery in the caseload's own query."""
    stale = (
        Referral.objects.stale(now)
        .filter(case=models.OuterRef("pk"))
        .order_by("last_activity_at", "pk")
        .values(
            data=JSONObject(
                status="status",
                need_category="need_category",
                last_activity_at="last_activity_at",
            )
        )[:1]
    )
    return cases.annotate(stale_referral=models.Subquery(stale))


def stale_referral_flag(data, now) -> str:
    """The caseload's flag for an annotated stale referral, e.g. "Referral not accepted
    after 3 business days"; empty when there is none."""
    if not data:
        return ""
    # A stored time, written by the database: it always parses.
    last_activity_at = cast(datetime.datetime, parse_datetime(data["last_activity_at"]))
    if timezone.is_naive(last_activity_at):
        # SQLite's JSON holds the stored UTC time without its offset.
        last_activity_at = timezone.make_aware(last_activity_at, datetime.UTC)
    referral = Referral(
        status=data["status"],
        need_category=data["need_category"],
        last_activity_at=last_activity_at,
    )
    reason = stale_reason(referral, now)
    if not reason:
        return ""
    lowered = f"{reason[0].lower()}{reason[1:]}"
    # "Not accepted after ..." reads on from "Referral"; the others need a colon.
    if reason.startswith("Not "):
        return _("Referral %(reason)s") % {"reason": lowered}
    return _("Referral: %(reason)s") % {"reason": lowered}


# Rows per page of each section: the worker's own cases, then the team's (a secondary
# list, highest risk first: its first page is the one that matters).
SECTION_SIZES = {"mine": 50, "others": 25}


class CountedPaginator(Paginator):
    """A paginator given its count: the caseload counts both sections in one query."""

    def __init__(self, object_list, per_page, count: int):
        super().__init__(object_list, per_page)
        self._count = count

    @property
    def count(self) -> int:
        return self._count


def caseload_sections(user, show: str, numbers: dict, now) -> dict:
    """The caseload's sections ("mine", "others"), each a page of SECTION_SIZES rows: the
    open cases assigned to the user, then their team's; within each, highest risk first,
    then the longest since the last contact. The two sections are counted in one query,
    and each page is its own query, so a team of hundreds of open cases renders fifty."""
    visible = Case.objects.visible_to(user).open()
    mine_q = models.Q(assigned_worker=user)
    counts = visible.aggregate(
        mine=models.Count("pk", filter=mine_q), others=models.Count("pk", filter=~mine_q)
    )
    ordered = with_stale_referral(visible.for_caseload(), now).order_by(
        models.Case(
            *[models.When(risk_level=level, then=rank) for level, rank in RISK_ORDER.items()],
            default=0,
            output_field=models.IntegerField(),
        ).desc(),
        models.F("last_contact_at").asc(nulls_first=True),
        "opened_at",
        "pk",
    )
    wanted = {"mine": show in ("all", "mine"), "others": show in ("all", "team")}
    sections = {}
    for name, rows in (("mine", ordered.filter(mine_q)), ("others", ordered.exclude(mine_q))):
        if not wanted[name] or not counts[name]:
            continue
        page = CountedPaginator(rows, SECTION_SIZES[name], counts[name]).get_page(numbers.get(name))
        page.object_list = list(page.object_list)
        sections[name] = page
    return sections


@login_required
def caseload(request):
    """My caseload: the open cases I can see, mine first, then my team's, a page of each
    (caseload_sections)."""
    user = request.user
    if user.is_system_admin:
        return redirect("admin:index")
    if user.is_agency_admin:
        return redirect("supervision:case_list")
    if user.role == Role.DISPATCHER:
        return redirect("dispatch:board")
    if not user.works_cases:
        refuse(request, "caseload", _("You have no caseload."))

    show = request.GET.get("show", "all")
    if show not in FILTERS:
        show = "all"
    now = timezone.now()
    sections = caseload_sections(
        user,
        show,
        {"mine": request.GET.get("mine_page"), "others": request.GET.get("team_page")},
        now,
    )
    cases = [case for page in sections.values() for case in page.object_list]
    due = next_due_for(cases)
    for case in cases:
        case.next_due = due.get(case.pk)
        case.next_due_past = case.next_due is not None and case.next_due < now
        case.referral_flag = stale_referral_flag(case.stale_referral, now)
    record_list(
        request=request,
        object_type="case",
        objects=cases,
        client_ids=[case.client_id for case in cases],
        detail={"page": "caseload", "show": show},
    )
    response = render(
        request,
        "casework/caseload.html",
        {
            "mine": sections.get("mine"),
            "others": sections.get("others"),
            "show": show,
            "filters": FILTERS,
        },
    )
    # The phone keeps the caseload's first page for reading offline (core.offline).
    return keep_offline(response, user) if not request.GET else response
