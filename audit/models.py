from typing import Any, NoReturn, Self

from django.conf import settings
from django.db import models
from django.utils.translation import pgettext_lazy


class Action(models.TextChoices):
    VIEW = "view", pgettext_lazy("audit trail action", "Viewed")
    LIST = "list", pgettext_lazy("audit trail action", "Listed")
    SEARCH = "search", pgettext_lazy("audit trail action", "Searched")
    EXPORT = "export", pgettext_lazy("audit trail action", "Exported")
    CREATE = "create", pgettext_lazy("audit trail action", "Created")
    UPDATE = "update", pgettext_lazy("audit trail action", "Changed")
    AMEND = "amend", pgettext_lazy("audit trail action", "Amended")
    REASSIGN = "reassign", pgettext_lazy("audit trail action", "Reassigned")
    CLOSE = "close", pgettext_lazy("audit trail action", "Closed")
    MERGE = "merge", pgettext_lazy("audit trail action", "Merged")
    DENIED = "denied", pgettext_lazy("audit trail action", "Access denied")
    EMERGENCY_ACCESS = "emergency_access", pgettext_lazy("audit trail action", "Emergency access")
    DISCLOSE = "disclose", pgettext_lazy("audit trail action", "Disclosed")
    PROVIDER_LINK = "provider_link", pgettext_lazy("audit trail action", "Provider link used")
    IMPORT = "import", pgettext_lazy("audit trail action", "Imported")
    LOGIN = "login", pgettext_lazy("audit trail action", "Signed in")
    LOGOUT = "logout", pgettext_lazy("audit trail action", "Signed out")
    LOGIN_FAILED = "login_failed", pgettext_lazy("audit trail action", "Failed sign-in")


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    def for_agency(self, agency: models.Model | None) -> Self:
        """The trail an agency admin may browse: their agency's events only."""
        return self.filter(agency=agency)

    def update(self, **kwargs: Any) -> NoReturn:
        raise TypeError("Audit events cannot be changed.")

    def delete(self) -> NoReturn:
        raise TypeError("Audit events cannot be deleted.")


class AuditEvent(models.Model):
    """One read or write of client data, or a security event. Append-only.

    The application never changes or deletes a row: the model refuses it, and a database
    trigger (migration 0002) refuses it for any other client of the same database user.
    On PostgreSQL the table is partitioned by month of `at` (migration 0005,
    audit/partitions.py); its primary key there is (id, at), as partitioning requires, and
    the identity still gives every row an id of its own.
    """

    at = models.DateTimeField(auto_now_add=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # Kept as text too, so the trail reads the same if a user is renamed.
    actor_username = models.CharField(max_length=150, blank=True)
    agency = models.ForeignKey(
        "accounts.Agency", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    action = models.CharField(max_length=20, choices=Action.choices)
    object_type = models.CharField(max_length=40, blank=True)
    object_id = models.CharField(max_length=40, blank=True)
    # The client whose record this was, for "who looked at this person" questions.
    client_id = models.BigIntegerField(null=True, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    path = models.CharField(max_length=500, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            # The agency admin's trail page: newest first within an agency.
            models.Index(fields=["agency", "-at"], name="audit_agency_at_idx"),
            # "Who looked at this client?"
            models.Index(fields=["client_id", "-at"], name="audit_client_at_idx"),
            # Filter by user on the trail page.
            models.Index(fields=["actor", "-at"], name="audit_actor_at_idx"),
            # The admin's list of every agency's events, newest first (each month's index
            # read backwards, merged), and its date drill-down.
            models.Index(fields=["at", "id"], name="audit_at_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_username} {self.action} {self.object_type} {self.object_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise TypeError("Audit events cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise TypeError("Audit events cannot be deleted.")
