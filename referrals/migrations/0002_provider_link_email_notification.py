"""A provider link's email becomes a notification: ProviderLink.notification replaces
emailed_at and email_error, and each link made before keeps what became of its email
as a notification row (without the email's text, which was never stored)."""

import django.db.models.deletion
from django.db import migrations, models

LOST = (
    "outcome unknown: queued before provider-link emails were notifications; "
    "send a new link if the provider has not had it"
)
REVOKED_FIRST = "The link was revoked before it was sent."


def _delivery(link):
    """The notification fields that say what became of `link`'s email."""
    if link.emailed_at is not None:
        return {"status": "sent", "sent_at": link.emailed_at, "tries": 1}
    if link.email_error:
        return {
            "status": "failed",
            "failed_at": link.created_at,
            "failure_reason": link.email_error,
            "tries": 1,
        }
    if link.revoked_at is not None:
        return {"status": "cancelled", "failure_reason": REVOKED_FIRST}
    return {"status": "failed", "failed_at": link.created_at, "failure_reason": LOST}


def links_to_notifications(apps, schema_editor):
    ProviderLink = apps.get_model("referrals", "ProviderLink")
    Notification = apps.get_model("notifications", "Notification")
    links = ProviderLink.objects.filter(notification__isnull=True).select_related(
        "referral__agency"
    )
    for link in links.iterator():
        referral = link.referral
        key = f"provider_link:{link.public_id}"
        # A row left by migrating back and forth is the link's own.
        link.notification = Notification.objects.filter(dedupe_key=key).first()
        if link.notification is None:
            link.notification = Notification.objects.create(
                agency_id=referral.agency_id,
                kind="provider_link",
                channel="email",
                address=link.sent_to,
                subject=f"A referral from {referral.agency.name} is waiting for you"[:200],
                body="",
                dedupe_key=key,
                created_at=link.created_at,
                next_attempt_at=link.created_at,
                **_delivery(link),
            )
        link.save(update_fields=["notification"])


def notifications_to_links(apps, schema_editor):
    ProviderLink = apps.get_model("referrals", "ProviderLink")
    for link in ProviderLink.objects.filter(notification__isnull=False).select_related(
        "notification"
    ):
        notification = link.notification
        link.emailed_at = notification.sent_at
        link.email_error = (
            "" if notification.status in ("sent", "cancelled") else notification.failure_reason
        )[:300]
        link.save(update_fields=["emailed_at", "email_error"])


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0003_provider_link_email"),
        ("referrals", "0001_referrals_consent_disclosure"),
    ]

    operations = [
        migrations.AddField(
            model_name="providerlink",
            name="notification",
            field=models.OneToOneField(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="notifications.notification",
            ),
        ),
        migrations.RunPython(links_to_notifications, notifications_to_links),
        migrations.RemoveField(model_name="providerlink", name="email_error"),
        migrations.RemoveField(model_name="providerlink", name="emailed_at"),
    ]
