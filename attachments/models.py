"""Photos and documents attached to a client, and to a case, a contact or a consent of
theirs: a signed consent, an ID, discharge papers.

The file is kept in the "attachments" storage (settings.STORAGES: a private folder, or an
S3-compatible bucket), under a random name, and is never given a public URL: it is read
only through the access-checked, audited views (attachments/views.py, the API). Nothing is
ever deleted by a user: an attachment added by mistake is marked entered in error, which
hides it from the lists and keeps the file and the row.
"""

import uuid
from typing import Any, Self

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.files.storage import Storage, storages
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Role, User
from cases.models import Case, Client

# What is stored, as detected from the content (attachments/files.py re-encodes every
# image as JPEG, or PNG when it has transparency, and keeps a PDF as it was sent), and the
# extension of its random name.
STORED_TYPES = {"image/jpeg": "jpg", "image/png": "png", "application/pdf": "pdf"}
LABEL_MAX = 120


def attachment_storage() -> Storage:
    """The storage named "attachments" in settings.STORAGES (read when the model loads)."""
    return storages["attachments"]


def stored_name(instance: "Attachment", filename: str) -> str:
    """Where a file is kept: random ids only, never a word of the uploaded name, fanned out
    over 256 folders (`3f/3f9c…e1.jpg`)."""
    token = uuid.uuid4().hex
    return f"{token[:2]}/{token}.{STORED_TYPES[instance.content_type]}"


class AttachmentKind(models.TextChoices):
    SIGNED_CONSENT = "signed_consent", _("Signed consent")
    ID_DOCUMENT = "id_document", _("ID document")
    DISCHARGE_PAPERS = "discharge_papers", _("Discharge papers")
    OTHER = "other", _("Other")


class AttachmentQuerySet(models.QuerySet["Attachment"]):
    def visible_to(self, user: User | AnonymousUser) -> Self:
        """Attachments the user may see, by the rules of the pages they hang from: those
        on a case the user may see (Case.objects.visible_to: own, team, supervised, a live
        emergency access), and those on no case of a client the user may see
        (Client.objects.visible_to). An agency admin: the agency's. A system admin, a
        dispatcher, anyone without an agency: none. Each branch searches its own index
        (case, client) for the scope's few ids."""
        if not user.is_authenticated or not user.agency_id:
            return self.none()
        if user.role == Role.AGENCY_ADMIN:
            return self.filter(agency_id=user.agency_id)
        if not user.works_cases:
            return self.none()
        return self.filter(agency_id=user.agency_id).filter(
            Q(case_id__any_of=Case.objects.visible_to(user).values("pk"))
            | Q(case__isnull=True, client_id__any_of=Client.objects.visible_to(user).values("pk"))
        )

    def writable_by(self, user: User | AnonymousUser) -> Self:
        """Attachments the user may mark entered in error: those on a case the user may
        change, and those on no case of a client the user may change."""
        if not user.is_authenticated or not user.works_cases or not user.agency_id:
            return self.none()
        return self.filter(agency_id=user.agency_id).filter(
            Q(case_id__any_of=Case.objects.writable_by(user).values("pk"))
            | Q(
                case__isnull=True,
                client_id__any_of=Client.objects.writable_by(user).values("pk"),
            )
        )

    def shown(self) -> Self:
        """Not entered in error: what the lists show."""
        return self.filter(entered_in_error_at__isnull=True)

    def for_list(self) -> Self:
        """A list's rows, with who uploaded each joined in."""
        return self.select_related("uploaded_by")


class Attachment(models.Model):
    """A photo or a PDF about a client, with a label. `case` is set for one attached to a
    case, a contact (its case) or a consent recorded on a case; `contact` and `consent`
    say where it was attached from. Written only by attachments.services."""

    agency = models.ForeignKey(
        "accounts.Agency", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    client = models.ForeignKey(
        "cases.Client", on_delete=models.PROTECT, related_name="attachments", db_index=False
    )
    case = models.ForeignKey(
        "cases.Case",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="attachments",
        db_index=False,
    )
    contact = models.ForeignKey(
        "cases.Contact",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="attachments",
        db_index=False,
    )
    consent = models.ForeignKey(
        "referrals.Consent",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="attachments",
        db_index=False,
    )
    kind = models.CharField(_("kind"), max_length=20, choices=AttachmentKind.choices)
    label = models.CharField(_("label"), max_length=LABEL_MAX)
    file = models.FileField(storage=attachment_storage, upload_to=stored_name, max_length=100)
    # As detected from the content, never from the name or the browser's word for it.
    content_type = models.CharField(_("type"), max_length=40)
    size = models.PositiveIntegerField(_("size in bytes"))
    # Of the stored bytes (a photo as re-encoded), for integrity checks.
    sha256 = models.CharField(max_length=64)
    # The uploaded file's name, cleaned; shown as text only, never used as a path or header.
    original_name = models.CharField(_("original file name"), max_length=200, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(_("uploaded"), default=timezone.now)
    entered_in_error_at = models.DateTimeField(null=True, blank=True)
    entered_in_error_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    entered_in_error_reason = models.CharField(max_length=500, blank=True)

    objects = AttachmentQuerySet.as_manager()

    class Meta:
        ordering = ["-uploaded_at", "-pk"]
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        indexes = [
            # A case's attachments, newest first: the case page's section, `?case=` in the
            # API, and visible_to's branch that searches the scope's case ids.
            models.Index(fields=["case", "-uploaded_at"], name="attachment_case_idx"),
            # A client's: the client page, `?client=`, visible_to's caseless branch, and a
            # merge moving them to the record kept.
            models.Index(fields=["client", "-uploaded_at"], name="attachment_client_idx"),
            # An agency admin's list (the API, the admin), newest first.
            models.Index(fields=["agency", "-uploaded_at"], name="attachment_agency_idx"),
            # The contact page's and the consent page's sections (`?contact=`, `?consent=`):
            # only the few rows attached from one.
            models.Index(
                fields=["contact"],
                condition=Q(contact__isnull=False),
                name="attachment_contact_idx",
            ),
            models.Index(
                fields=["consent"],
                condition=Q(consent__isnull=False),
                name="attachment_consent_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(label=""), name="attachment_has_label"),
            models.CheckConstraint(
                condition=Q(content_type__in=list(STORED_TYPES)),
                name="attachment_stored_type",
            ),
            # A contact's attachment is on the contact's case.
            models.CheckConstraint(
                condition=Q(contact__isnull=True) | Q(case__isnull=False),
                name="attachment_contact_has_case",
            ),
            # Entered in error: when, by whom and why, all three or none.
            models.CheckConstraint(
                condition=Q(
                    entered_in_error_at__isnull=True,
                    entered_in_error_by__isnull=True,
                    entered_in_error_reason="",
                )
                | (
                    Q(entered_in_error_at__isnull=False, entered_in_error_by__isnull=False)
                    & ~Q(entered_in_error_reason="")
                ),
                name="attachment_in_error_complete",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.label}"

    @property
    def is_image(self) -> bool:
        """Shown inline (and as a thumbnail); anything else is only downloaded."""
        return self.content_type.startswith("image/")

    @property
    def is_in_error(self) -> bool:
        return self.entered_in_error_at is not None

    @property
    def extension(self) -> str:
        return STORED_TYPES.get(self.content_type, "bin")

    def where(self) -> dict[str, Any]:
        """The ids it hangs from, for audit rows and events."""
        return {
            "case_id": self.case_id,
            "contact_id": self.contact_id,
            "consent_id": self.consent_id,
        }
