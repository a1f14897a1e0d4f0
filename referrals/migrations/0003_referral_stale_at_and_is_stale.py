"""A referral's stale flag becomes stored columns, so that lists filter and order on an
index instead of computing staleness over every row of an agency: stale_at (when it goes
stale; None when it cannot), is_stale (stale_at has come, kept by a beat sweep), their
indexes, and stale_at and is_stale filled for the referrals that can go stale.

The caseload's stale lookup moves from referral_live_idx (case, status, last_activity_at)
to referral_case_stale_idx (case, stale_at)."""

import datetime
import zoneinfo

from django.conf import settings
from django.db import migrations, models
from django.utils import timezone

# referrals.models as this migration was written (migrations import no app code):
# STALE_AFTER by need, (business days unaccepted, days with the client not seen).
STALE_AFTER = {
    "substance_use": (2, 7),
    "medical": (2, 14),
    "housing": (3, 30),
    "domestic_violence": (1, 7),
}
STALE_AFTER_DEFAULT = (3, 14)
UNCONNECTED = ("accepted", "in-progress", "on-hold")
BATCH = 2000


def business_days_after(moment, days, zone):
    """referrals.models.business_days_after: the clock time of `moment` on the `days`th
    weekday after its day (in `zone`), counted from Monday's midnight from a weekend."""
    local = moment.astimezone(zone)
    day, clock = local.date(), local.time()
    if day.weekday() >= 5:
        day += datetime.timedelta(days=7 - day.weekday())
        clock = datetime.time()
    remaining = days
    while remaining > 0:
        day += datetime.timedelta(days=1)
        if day.weekday() < 5:
            remaining -= 1
    return datetime.datetime.combine(day, clock, tzinfo=zone)


def stale_at(referral, zone):
    accept_days, connect_days = STALE_AFTER.get(referral.need_category, STALE_AFTER_DEFAULT)
    if referral.status == "requested":
        return business_days_after(referral.last_activity_at, accept_days, zone)
    return referral.last_activity_at + datetime.timedelta(days=connect_days)


def agency_zones(apps):
    """Agency id -> its zone (the installation's for a name this machine does not know,
    as accounts.models.zone_of)."""
    zones = {}
    for agency_id, name in apps.get_model("accounts", "Agency").objects.values_list(
        "pk", "timezone"
    ):
        try:
            zones[agency_id] = zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            zones[agency_id] = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    return zones


def fill_stale_at(apps, schema_editor):
    """Only the referrals that can go stale (sent and not accepted; accepted, in progress
    or on hold without a service date) get a value: every other row keeps None and False."""
    Referral = apps.get_model("referrals", "Referral")
    zones = agency_zones(apps)
    now = timezone.now()
    can_go_stale = models.Q(status="requested") | models.Q(
        status__in=UNCONNECTED, service_date__isnull=True
    )
    rows = (
        Referral.objects.filter(can_go_stale)
        .only("pk", "agency_id", "status", "need_category", "last_activity_at")
        .order_by()
        .iterator(chunk_size=BATCH)
    )
    batch = []
    for referral in rows:
        referral.stale_at = stale_at(referral, zones[referral.agency_id])
        referral.is_stale = referral.stale_at <= now
        batch.append(referral)
        if len(batch) == BATCH:
            save(Referral, batch, schema_editor.connection)
            batch = []
    if batch:
        save(Referral, batch, schema_editor.connection)


def save(Referral, batch, connection):
    """One UPDATE for the batch. On PostgreSQL from arrays of the values: bulk_update's
    CASE of 2,000 branches per row took 22 s for 40,000 rows where this takes 4 s."""
    if connection.vendor != "postgresql":
        Referral.objects.bulk_update(batch, ["stale_at", "is_stale"])
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE referrals_referral AS r SET stale_at = v.stale_at, is_stale = v.is_stale "
            "FROM unnest(%s::bigint[], %s::timestamptz[], %s::boolean[]) "
            "AS v(id, stale_at, is_stale) WHERE r.id = v.id",
            [
                [referral.pk for referral in batch],
                [referral.stale_at for referral in batch],
                [referral.is_stale for referral in batch],
            ],
        )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_api_tokens"),
        ("cases", "0008_client_name_trigram_indexes_and_phonetic_keys"),
        ("directory", "0003_address_plural"),
        ("referrals", "0002_provider_link_email_notification"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="referral",
            name="stale_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        # A constant default: PostgreSQL adds the column without rewriting the table.
        migrations.AddField(
            model_name="referral",
            name="is_stale",
            field=models.BooleanField(default=False, editable=False),
        ),
        # Filled before the indexes are built: building them once is cheaper than keeping
        # them up to date through the updates.
        migrations.RunPython(fill_stale_at, migrations.RunPython.noop),
        migrations.RemoveIndex(
            model_name="referral",
            name="referral_live_idx",
        ),
        migrations.AddIndex(
            model_name="referral",
            index=models.Index(
                condition=models.Q(("stale_at__isnull", False)),
                fields=["case", "stale_at"],
                name="referral_case_stale_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="referral",
            index=models.Index(
                fields=["agency", "is_stale", "created_at", "id"],
                name="referral_agency_stale_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="referral",
            index=models.Index(
                condition=models.Q(("is_stale", False), ("stale_at__isnull", False)),
                fields=["stale_at"],
                name="referral_stale_due_idx",
            ),
        ),
    ]
