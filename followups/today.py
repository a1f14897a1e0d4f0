"""The worker's Today list as one query: the page (followups.views.today) and the
benchmark (bench/followups.py) run this, so what is measured is what is shown."""

import datetime

from django.db import models
from django.utils.timesince import timesince, timeuntil
from django.utils.translation import gettext as _

from cases.cssrs import RISK_ORDER
from cases.models import Case
from followups.models import OPEN_STATUSES, Attempt, FollowUp, Status

# "Coming up": follow-ups whose window opens within this long.
COMING_UP = datetime.timedelta(hours=24)
# "Missed recently": missed follow-ups whose window closed within this long.
MISSED_RECENTLY = datetime.timedelta(days=7)


def with_row_details(followups, user=None):
    """The Today list's rows (FollowUp.objects.for_today) with the case's risk rank, the
    number of attempts, the last attempt's outcome, whether reaching the client needs a
    note (`note_required`), whether completing it asks about the safety plan
    (`plan_asked`) and, given a user, whether they may work it (`can_work`), all in the
    same query."""
    last = Attempt.objects.filter(followup=models.OuterRef("pk")).order_by("-at", "-pk")
    if user is not None:
        followups = followups.annotate(
            can_work=models.Exists(
                Case.objects.contactable_by(user).filter(pk=models.OuterRef("case_id"))
            )
        )
    return (
        followups.for_today()
        .with_note_required()
        .with_plan_review()
        .select_related("case__assigned_worker")
        .annotate(
            case_risk_rank=models.Case(
                *[
                    models.When(case__risk_level=level, then=rank)
                    for level, rank in RISK_ORDER.items()
                ],
                default=0,
                output_field=models.IntegerField(),
            ),
            attempt_count=models.Count("attempts"),
            last_outcome=models.Subquery(last.values("outcome")[:1]),
        )
    )


def today_rows(user, now: datetime.datetime):
    """The follow-ups of `user`'s Today list at `now` (a QuerySet): theirs and visible to
    them, open with a window that opens within COMING_UP, or missed with a window that
    closed within MISSED_RECENTLY; highest case risk first, then the window that closes
    soonest. One query, row details included."""
    return (
        with_row_details(FollowUp.objects.visible_to(user).filter(assigned_to=user), user)
        .filter(
            models.Q(status__in=OPEN_STATUSES, window_start__lte=now + COMING_UP)
            | models.Q(status=Status.MISSED, window_end__gte=now - MISSED_RECENTLY)
        )
        .order_by("-case_risk_rank", "window_end", "pk")
    )


def describe(fu, now):
    """Set what a row shows that depends on the time: `shown_status` (the status its
    times give now, so a row the sweeper has not reached yet is still shown right) and
    `window_note` ("window closes in 2 days")."""
    fu.shown_status = fu.status_at(now)
    fu.shown_status_label = Status(fu.shown_status).label
    if fu.status == Status.COMPLETED:
        fu.window_note = _("Done")
    elif fu.status == Status.CANCELLED:
        fu.window_note = _("Cancelled: %(reason)s") % {"reason": fu.display_cancel_reason}
    elif now < fu.window_start:
        fu.window_note = _("window opens in %(time)s") % {
            "time": timeuntil(fu.window_start, now, depth=1)
        }
    elif now < fu.window_end:
        fu.window_note = _("window closes in %(time)s") % {
            "time": timeuntil(fu.window_end, now, depth=1)
        }
    else:
        fu.window_note = _("window closed %(time)s ago") % {
            "time": timesince(fu.window_end, now, depth=1)
        }
    fu.last_outcome_label = (
        Attempt(outcome=fu.last_outcome).get_outcome_display()
        if getattr(fu, "last_outcome", None)
        else ""
    )
    return fu
