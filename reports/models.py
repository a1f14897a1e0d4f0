"""Exports run as jobs: a Celery task writes the file in constant memory, reporting its
progress on the row, and only the person who asked may download it."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

# What the export sweep writes into a job whose worker died (services.fail_stalled_exports):
# stored in English, shown in the reader's language (ExportJob.error_text).
STALLED_MESSAGE = gettext_noop("The export stopped; please try again.")


class ExportFormat(models.TextChoices):
    CSV = "csv", gettext_lazy("CSV")
    XLSX = "xlsx", gettext_lazy("Excel (XLSX)")


class ExportStatus(models.TextChoices):
    QUEUED = "queued", gettext_lazy("Queued")
    RUNNING = "running", gettext_lazy("Running")
    DONE = "done", gettext_lazy("Ready")
    FAILED = "failed", gettext_lazy("Failed")


class ExportJob(models.Model):
    agency = models.ForeignKey("accounts.Agency", on_delete=models.PROTECT, related_name="+")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="exports"
    )
    kind = models.CharField(max_length=30, default="referrals")
    format = models.CharField(max_length=10, choices=ExportFormat.choices)
    deidentified = models.BooleanField(default=True)
    filters = models.JSONField(default=dict, blank=True)
    status = models.CharField(
        max_length=10, choices=ExportStatus.choices, default=ExportStatus.QUEUED
    )
    rows_total = models.PositiveIntegerField(null=True, blank=True)
    rows_done = models.PositiveIntegerField(default=0)
    file_path = models.CharField(max_length=500, blank=True)
    error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            # My exports page.
            models.Index(fields=["requested_by", "-created_at"], name="export_user_idx"),
            # The sweeper for exports whose worker died.
            models.Index(
                fields=["status", "heartbeat_at"],
                condition=models.Q(status__in=["queued", "running"]),
                name="export_unfinished_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"Export {self.pk} ({self.get_format_display()}) by {self.requested_by}"

    @property
    def error_text(self) -> str:
        """Why the job failed, as its reader reads it: the sweep's own message in their
        language, a worker's error (an exception's name and text) as it was stored."""
        return _(self.error) if self.error == STALLED_MESSAGE else self.error

    @property
    def progress_percent(self) -> int:
        if self.status == ExportStatus.DONE:
            return 100
        if not self.rows_total:
            return 0
        return min(99, self.rows_done * 100 // self.rows_total)
