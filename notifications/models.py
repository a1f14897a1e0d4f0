"""Notifications: the in-app inbox, staff email and client reminders, each a row whose
delivery is recorded (queued, sending, sent, failed with the reason).

`dedupe_key` is unique: whatever runs twice (a duplicate task delivery, two sweepers, a
re-dispatch after a lost message) creates a notification once and so sends it once.
External sends are at most once: a row left in SENDING by a killed worker is marked
failed ("outcome unknown") for a person to check, never sent again blindly.
"""

import datetime
from typing import Self

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts.models import User
from core.i18n import render_stored


class Kind(models.TextChoices):
    FOLLOWUP_DUE = "followup_due", _("Follow-up due")
    FOLLOWUP_OVERDUE = "followup_overdue", _("Follow-up overdue")
    FOLLOWUP_MISSED = "followup_missed", _("Follow-up missed (supervisor)")
    DAILY_DIGEST = "daily_digest", _("Daily digest")
    CLIENT_REMINDER = "client_reminder", _("Client reminder")
    DELIVERY_FAILED = "delivery_failed", _("Delivery failed (supervisor)")
    PROCESSING_PARKED = "processing_parked", _("Follow-up processing stopped (supervisor)")
    REFERRAL_UPDATE = "referral_update", _("Referral update from the provider")
    PROVIDER_LINK = "provider_link", _("Referral link to a provider")
    DISPATCH_ALERT = "dispatch_alert", _("Dispatch alert: a team's safety or an assignment")
    SAFETY_PLAN_LINK = "safety_plan_link", _("Link to a client's safety plan")
    CRISIS_PLAN = "crisis_plan", _("Crisis response plan to approve, or returned")


class Channel(models.TextChoices):
    IN_APP = "in_app", _("In-app inbox")
    EMAIL = "email", _("Email")
    TEXT = "text", _("Text message")


class DeliveryStatus(models.TextChoices):
    QUEUED = "queued", pgettext_lazy("delivery status", "Queued")
    SENDING = "sending", pgettext_lazy("delivery status", "Sending")
    SENT = "sent", pgettext_lazy("delivery status", "Sent")
    FAILED = "failed", pgettext_lazy("delivery status", "Failed")
    # Withdrawn before it went (a provider link revoked while its email waited).
    CANCELLED = "cancelled", pgettext_lazy("delivery status", "Cancelled")


class NotificationQuerySet(models.QuerySet["Notification"]):
    def inbox_of(self, user: User) -> Self:
        """A user's in-app notifications, newest first."""
        return self.filter(recipient=user, channel=Channel.IN_APP).order_by("-created_at", "-pk")

    def unread(self) -> Self:
        return self.filter(read_at__isnull=True)

    def needing_delivery(self, now: datetime.datetime) -> Self:
        """Queued rows whose next attempt has come and that no live lease holds."""
        return self.filter(status=DeliveryStatus.QUEUED, next_attempt_at__lte=now).filter(
            Q(lease_until__isnull=True) | Q(lease_until__lt=now)
        )


class Notification(models.Model):
    agency = models.ForeignKey("accounts.Agency", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=30, choices=Kind.choices)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    # A staff member (inbox, email) or, for a client reminder, the client.
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="notifications",
    )
    client = models.ForeignKey(
        "cases.Client", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    followup = models.ForeignKey(
        "followups.FollowUp",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="notifications",
    )
    # Where it goes (email address or phone number), kept as it was when queued.
    address = models.CharField(max_length=254, blank=True)
    subject = models.CharField(max_length=200)
    body = models.TextField(max_length=10000)
    # An email's HTML alternative to `body`, when it has one.
    html_body = models.TextField(max_length=20000, blank=True)
    url = models.CharField(max_length=300, blank=True)
    dedupe_key = models.CharField(max_length=200, unique=True)

    status = models.CharField(
        max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.QUEUED
    )
    created_at = models.DateTimeField(default=timezone.now)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    tries = models.PositiveSmallIntegerField(default=0)
    lease_until = models.DateTimeField(null=True, blank=True)
    lease_token = models.UUIDField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    failure_reason = models.CharField(max_length=500, blank=True)
    # The reason's message and arguments when the product wrote it ("try 2 failed: …",
    # "outcome unknown …"; core.i18n.stored_text), shown in each reader's language; null
    # for a reason that is only a mail server's or gateway's own words, and for rows
    # written before.
    failure_reason_i18n = models.JSONField(null=True, blank=True, editable=False)
    read_at = models.DateTimeField(null=True, blank=True)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            # The inbox and its unread badge.
            models.Index(
                fields=["recipient", "channel", "-created_at"], name="notification_inbox_idx"
            ),
            # The delivery sweep: queued rows by next attempt.
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status="queued"),
                name="notification_queued_idx",
            ),
            # The supervisor's failed-delivery list.
            models.Index(
                fields=["agency", "-failed_at"],
                condition=Q(status="failed"),
                name="notification_failed_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} by {self.get_channel_display()}: {self.subject}"

    @property
    def display_failure_reason(self) -> str:
        """Why it failed (or was withdrawn), in the reader's language where the product
        wrote it; a server's own words stay as it gave them."""
        return render_stored(self.failure_reason_i18n, self.failure_reason)
