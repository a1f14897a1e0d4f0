"""Attaching a photo or a document to a client record, marking one entered in error, and
removing a client's attachments when their records are purged. Each change writes its
case timeline event (when it is on a case) and its audit row in the same transaction."""

from collections.abc import Iterable

from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from attachments import events, files
from attachments.exceptions import AttachmentRefused, NotPermitted
from attachments.models import LABEL_MAX, Attachment, AttachmentKind
from audit.models import Action
from audit.services import record as audit
from cases.models import Case, Client, Contact
from core.text import without_nul
from referrals.models import Consent

REASON_MAX = 500


def can_attach(actor: User, *, client: Client, case: Case | None = None) -> bool:
    """Whether `actor` may attach to `case` (one they may change: assigned, team,
    supervised) or, without a case, to `client` (one they may change)."""
    if case is not None:
        return Case.objects.writable_by(actor).filter(pk=case.pk).exists()
    return Client.objects.writable_by(actor).filter(pk=client.pk).exists()


def attach_file(
    *,
    actor: User,
    client: Client,
    case: Case | None = None,
    contact: Contact | None = None,
    consent: Consent | None = None,
    kind: str,
    label: str,
    upload: UploadedFile,
    request: HttpRequest | None = None,
) -> Attachment:
    """Attach `upload` (a photo or a PDF) to `client`, with `kind` and `label`: on `case`,
    on `contact` (and its case), or on `consent` (and its case, if it was recorded on
    one). Every record named must be the client's.

    The file is checked by its content and a photo re-encoded without metadata
    (attachments.files.prepare) before the transaction opens, so that no transaction
    stays open through seconds of image work; the row, its timeline event and its audit
    row are then written in one transaction. Raises AttachmentRefused (naming the input)
    for a bad kind, label or file, or records that do not belong together, and
    NotPermitted when the actor may not change the case (or, without one, the client).
    """
    case = attached_case(client=client, case=case, contact=contact, consent=consent)
    if client.is_merged:
        raise AttachmentRefused(
            _("This record was merged into record %(survivor)s: attach it there.")
            % {"survivor": client.merged_into_id}
        )
    if not can_attach(actor, client=client, case=case):
        raise NotPermitted(_("Only the workers on this case can attach photos and documents."))
    if kind not in AttachmentKind.values:
        raise AttachmentRefused(_("Choose what kind of document it is."), field="kind")
    label = _clean(label)
    if not label:
        raise AttachmentRefused(_("Give it a label, e.g. Signed consent."), field="label")
    if len(label) > LABEL_MAX:
        raise AttachmentRefused(
            _("Keep the label to %(max)s characters.") % {"max": LABEL_MAX}, field="label"
        )
    prepared = files.prepare(upload)
    return _store(
        actor=actor,
        attachment=Attachment(
            agency_id=client.agency_id,
            client=client,
            case=case,
            contact=contact,
            consent=consent,
            kind=kind,
            label=label,
            content_type=prepared.content_type,
            size=len(prepared.content),
            sha256=prepared.sha256,
            original_name=prepared.original_name,
            uploaded_by=actor,
            uploaded_at=timezone.now(),
        ),
        content=prepared.content,
        request=request,
    )


@transaction.atomic
def _store(
    *, actor: User, attachment: Attachment, content: bytes, request: HttpRequest | None
) -> Attachment:
    # The name is random (models.stored_name); the file is written first, and removed
    # again if the row cannot be.
    attachment.file.save("upload", ContentFile(content), save=False)
    try:
        attachment.save()
        events.attachment_added(attachment=attachment)
        audit(
            request=request,
            actor=actor,
            action=Action.CREATE,
            obj=attachment,
            detail={
                "kind": attachment.kind,
                "content_type": attachment.content_type,
                "size": attachment.size,
                **attachment.where(),
            },
        )
    except BaseException:
        if attachment.file.name:
            attachment.file.storage.delete(attachment.file.name)
        raise
    return attachment


def attached_case(
    *, client: Client, case: Case | None, contact: Contact | None, consent: Consent | None
) -> Case | None:
    """The case the attachment is on: the contact's, else `case`, else the consent's (if
    any). Refuses records of another client, or a contact or consent of another case."""
    if contact is not None:
        if contact.client_id != client.pk or (case is not None and case.pk != contact.case_id):
            raise AttachmentRefused(_("That contact is not this client's."), field="contact")
        case = contact.case
    if consent is not None:
        if consent.client_id != client.pk:
            raise AttachmentRefused(_("That consent is not this client's."), field="consent")
        if case is None:
            case = consent.case
        elif consent.case_id not in (None, case.pk):
            raise AttachmentRefused(
                _("That consent was recorded on another case."), field="consent"
            )
    if case is not None and case.client_id != client.pk:
        raise AttachmentRefused(_("That case is not this client's."), field="case")
    return case


def _clean(text: str | None) -> str:
    return " ".join(without_nul(text or "").split())


@transaction.atomic
def mark_attachment_in_error(
    *, actor: User, attachment: Attachment, reason: str, request: HttpRequest | None = None
) -> Attachment:
    """Mark `attachment` entered in error, with who, when and why: the lists stop showing
    it, and its row and file are kept. Refused (NotPermitted) for a user who may not
    change its case (or, without one, its client); AttachmentRefused without a reason,
    or when it already was marked (a conditional update: two at once mark it once)."""
    reason = without_nul(reason or "").strip()
    if not reason:
        raise AttachmentRefused(_("Say why it was entered in error."), field="reason")
    if len(reason) > REASON_MAX:
        raise AttachmentRefused(
            _("Keep the reason to %(max)s characters.") % {"max": REASON_MAX}, field="reason"
        )
    if not Attachment.objects.writable_by(actor).filter(pk=attachment.pk).exists():
        raise NotPermitted(_("Only the workers on this case can mark its attachments."))
    now = timezone.now()
    marked = Attachment.objects.filter(pk=attachment.pk, entered_in_error_at__isnull=True).update(
        entered_in_error_at=now, entered_in_error_by=actor, entered_in_error_reason=reason
    )
    if not marked:
        raise AttachmentRefused(_("This attachment was already marked entered in error."))
    attachment.entered_in_error_at = now
    attachment.entered_in_error_by = actor
    attachment.entered_in_error_reason = reason
    events.attachment_in_error(attachment=attachment)
    audit(
        request=request,
        actor=actor,
        action=Action.UPDATE,
        obj=attachment,
        detail={"entered_in_error": True, **attachment.where()},
    )
    return attachment


@transaction.atomic
def purge_client_attachments(*, client_ids: Iterable[int]) -> int:
    """Delete every attachment of these clients: the rows now, their files from storage
    once the transaction commits (a rolled-back purge keeps them). The step a retention
    purge of client records takes, in its own transaction, before it deletes the clients
    and their cases, which attachments protect. Returns how many were deleted.

    casebook keeps client records and has no retention purge yet: nothing calls this
    outside its tests until one is written."""
    rows = list(Attachment.objects.filter(client_id__in=list(client_ids)).values_list("pk", "file"))
    if not rows:
        return 0
    Attachment.objects.filter(pk__in=[pk for pk, _name in rows]).delete()
    storage = Attachment._meta.get_field("file").storage
    names = [name for _pk, name in rows]

    def delete_files() -> None:
        for name in names:
            storage.delete(name)

    transaction.on_commit(delete_files)
    return len(rows)
