"""The daily digest: once a day, each active worker or supervisor with due or overdue
follow-ups gets one email of counts and a link to the Today page, sent through the
notifications pipeline (notifications.services, delivered by notifications.tasks).

Counts only: no client names, nothing clinical (email is not a secure channel).
"""

import datetime
from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models import Count, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from accounts.models import Agency, User
from core.i18n import user_language
from followups.models import ACTIONABLE_STATUSES, OPEN_STATUSES, Status
from notifications import services as notices
from notifications.models import Channel, Kind, Notification

if TYPE_CHECKING:
    from typing import TypedDict

    from django_stubs_ext import WithAnnotations

    class _WorkCounts(TypedDict):
        due_today: int
        overdue: int
        actionable: int
        missed: int


# Digests go once a day, at or after this hour in the agency's time zone.
DIGEST_HOUR = 7


def queue_daily_digests(now: datetime.datetime) -> int:
    """One digest email per active worker or supervisor with due or overdue follow-ups,
    once per local date of their agency, at or after DIGEST_HOUR. Idempotent: a second
    run on the same local date queues nothing. Returns how many were queued now."""
    queued = 0
    for agency in Agency.objects.order_by("pk"):
        local = agency.local(now)
        if local.hour < DIGEST_HOUR:
            continue
        today = local.date()
        for user in _readers(agency, today):
            with transaction.atomic():
                _, created = _digest(user, agency, today)
            queued += created
    return queued


def _readers(agency: Agency, today: datetime.date):
    """The agency's staff with an address and due or overdue work, each annotated with
    the digest's counts for the agency's date `today`."""
    start = agency.midnight(today)
    end = agency.midnight(today + datetime.timedelta(days=1))
    since = agency.midnight(today - datetime.timedelta(days=1))
    return (
        User.objects.filter(agency=agency, is_active=True, role__in=notices.STAFF_ROLES)
        .exclude(email="")
        .annotate(
            due_today=Count(
                "followups",
                filter=Q(
                    followups__status__in=OPEN_STATUSES,
                    followups__due_at__gte=start,
                    followups__due_at__lt=end,
                ),
            ),
            overdue=Count("followups", filter=Q(followups__status=Status.OVERDUE)),
            actionable=Count("followups", filter=Q(followups__status__in=ACTIONABLE_STATUSES)),
            missed=Count(
                "followups",
                filter=Q(followups__status=Status.MISSED, followups__status_changed_at__gte=since),
            ),
        )
        .filter(Q(actionable__gt=0) | Q(due_today__gt=0))
        .order_by("pk")
    )


def _digest(
    user: "WithAnnotations[User, _WorkCounts]", agency: Agency, today: datetime.date
) -> tuple[Notification, bool]:
    path = reverse("followups:today")
    context = {
        "day": today,
        "due_today": user.due_today,
        "overdue": user.overdue,
        "actionable": user.actionable,
        "missed": user.missed,
        "url": notices.absolute(path),
    }
    # In the reader's language, as every e-mail to a member of staff.
    with translation.override(user_language(user)):
        subject = _("Your follow-ups for %(day)s") % {"day": date_format(today, "D d M")}
        body = render_to_string("notifications/email/daily_digest.txt", context)
    return notices.get_or_create_notification(
        agency_id=agency.pk,
        kind=Kind.DAILY_DIGEST,
        channel=Channel.EMAIL,
        dedupe_key=f"digest:{user.pk}:{today.isoformat()}",
        recipient=user,
        subject=subject,
        body=body,
        url=path,
    )
