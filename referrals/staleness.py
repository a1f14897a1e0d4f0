"""Why a live referral is flagged as stale (STALE_AFTER), in words for its flag.

When it goes stale is Referral.compute_stale_at, stored in stale_at by every write that
moves it; the filters read the stored column (Referral.objects.stale, and the referral
list's swept is_stale)."""

import datetime

from django.utils import timezone
from django.utils.translation import ngettext

from referrals.models import STALE_AFTER, STALE_AFTER_DEFAULT, Referral, Status


def stale_reason(referral: Referral, now: datetime.datetime) -> str:
    """Why a referral is stale at `now`, for the flag's text; empty when it is not.

    Worked out from the referral's status, need, last activity and service date (not its
    stored stale_at), so that a referral built from those fields alone answers too (the
    caseload's), in the active time zone's weekdays (the agency's, on its pages and API,
    which is the zone stale_at was computed in): no agency row is read."""
    stale_at = referral.compute_stale_at(zone=timezone.get_current_timezone())
    if stale_at is None or stale_at > now:
        return ""
    accept_days, connect_days = STALE_AFTER.get(referral.need_category, STALE_AFTER_DEFAULT)
    if referral.status == Status.REQUESTED:
        return ngettext(
            "Not accepted after %(days)d business day",
            "Not accepted after %(days)d business days",
            accept_days,
        ) % {"days": accept_days}
    return ngettext(
        "Client not seen and no update for %(days)d day",
        "Client not seen and no update for %(days)d days",
        connect_days,
    ) % {"days": connect_days}
