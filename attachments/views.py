"""The photos and documents of a case, a client, a contact or a consent: the list with its
attach form (a section that the record's page loads with htmx, or a page of its own
without JavaScript), a file, and marking one entered in error.

Every list and every file read is audited; the file is streamed from storage by
`file_response`, never from a public URL."""

from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from attachments import files, services
from attachments.access import get_attachment_for_user
from attachments.forms import AttachmentForm, InErrorForm
from attachments.models import Attachment, AttachmentKind, AttachmentQuerySet
from attachments.uploads import dropped_as_too_large
from audit.models import Action
from audit.services import record as audit
from cases.access import get_case_for_user, get_client_for_user, get_contact_for_user
from cases.models import Case, Client, Contact
from core.exceptions import DomainError
from core.forms import add_error
from referrals.access import get_consent_for_user
from referrals.models import Consent

# What a file answer may do when opened in the browser: nothing (no script, no request,
# no form, no plugin), whatever the file holds.
FILE_POLICY = "sandbox; default-src 'none'"
# The attach form's inputs are named apart from the other forms of the record's page.
FORM_PREFIX = "attach"


@dataclass(frozen=True)
class Target:
    """What the attachments hang from: the record whose page shows them."""

    on: str
    client: Client
    case: Case | None
    contact: Contact | None
    consent: Consent | None
    page_url: str
    attachments: AttachmentQuerySet


def _target(request, on, pk, *, write):
    """The record, fetched through its own access helper (404 when invisible, 403 when
    `write` and read-only), and the attachments its section lists."""
    user = request.user
    if on == "case":
        case = get_case_for_user(request, pk, write=write, audit_read=False)
        return Target(
            on,
            case.client,
            case,
            None,
            None,
            reverse("casework:case_detail", args=[case.pk]),
            Attachment.objects.filter(case=case),
        )
    if on == "client":
        client = get_client_for_user(request, pk, write=write, audit_read=False)
        return Target(
            on,
            client,
            None,
            None,
            None,
            reverse("cases:client_detail", args=[client.pk]),
            Attachment.objects.visible_to(user).filter(client=client),
        )
    if on == "contact":
        contact = get_contact_for_user(request, pk, write=write, audit_read=False)
        return Target(
            on,
            contact.client,
            contact.case,
            contact,
            None,
            reverse("cases:contact_detail", args=[contact.pk]),
            Attachment.objects.filter(contact=contact),
        )
    consent = get_consent_for_user(request, pk, write=write, audit_read=False)
    return Target(
        on,
        consent.client,
        consent.case,  # may be None: a consent recorded on no case
        None,
        consent,
        reverse("referrals:consent_detail", args=[consent.pk]),
        Attachment.objects.visible_to(user).filter(consent=consent),
    )


@login_required
@require_http_methods(["GET", "POST"])
def attachments_for(request, pk, on):
    """GET: the list and the attach form. POST: attach; a refused upload comes back with
    the kind and label as they were, and says what to change."""
    target = _target(request, on, pk, write=request.method == "POST")
    form = None
    saved = None
    if request.method == "POST":
        form = AttachmentForm(
            request.POST,
            request.FILES,
            prefix=FORM_PREFIX,
            dropped_as_too_large=dropped_as_too_large(request, f"{FORM_PREFIX}-file"),
        )
        if form.is_valid():
            try:
                saved = services.attach_file(
                    actor=request.user,
                    client=target.client,
                    case=target.case,
                    contact=target.contact,
                    consent=target.consent,
                    kind=form.cleaned_data["kind"],
                    label=form.cleaned_data["label"],
                    upload=form.cleaned_data["file"],
                    request=request,
                )
            except DomainError as exc:
                add_error(exc, form)
            else:
                form = None
                if not request.htmx:
                    messages.success(request, _("Attached: %(label)s.") % {"label": saved.label})
                    return redirect(target.page_url + "#attachments")
    return _section(request, target, form=form, saved=saved)


def _section(request, target, *, form, saved):
    rows = list(target.attachments.for_list())
    shown = [a for a in rows if not a.is_in_error]
    audit(
        request=request,
        action=Action.LIST,
        object_type="attachment",
        client_id=target.client.pk,
        detail={"ids": [a.pk for a in shown], "on": target.on},
    )
    can_write = not target.client.is_merged and services.can_attach(
        request.user, client=target.client, case=target.case
    )
    if form is None and can_write:
        initial = {"kind": AttachmentKind.SIGNED_CONSENT} if target.on == "consent" else {}
        form = AttachmentForm(prefix=FORM_PREFIX, initial=initial)
    # Who may mark which: one query for the rows shown (a client's may be on cases of
    # different teams).
    writable_ids = (
        set(
            Attachment.objects.writable_by(request.user)
            .filter(pk__in=[a.pk for a in shown])
            .values_list("pk", flat=True)
        )
        if shown and request.user.works_cases
        else set()
    )
    context = {
        "target": target,
        "client": target.client,
        "attachments": shown,
        "in_error_count": len(rows) - len(shown),
        "can_write": can_write,
        "writable_ids": writable_ids,
        "form": form,
        "saved": saved,
        "section_url": request.path,
    }
    template = "attachments/_panel.html" if request.htmx else "attachments/attachment_list.html"
    return render(request, template, context)


@login_required
@require_GET
def attachment_file(request, pk):
    """The file, or with `?thumb=1` a small copy of an image, for the page's preview."""
    attachment = get_attachment_for_user(request, pk, audit_read=False)
    thumbnail = request.GET.get("thumb") == "1"
    if thumbnail and not attachment.is_image:
        raise Http404(_("Only a photo has a preview."))
    audit(
        request=request,
        action=Action.VIEW,
        obj=attachment,
        detail={"file": "thumbnail" if thumbnail else "original", **attachment.where()},
    )
    return file_response(attachment, thumbnail=thumbnail)


def file_response(attachment: Attachment, *, thumbnail: bool = False) -> HttpResponseBase:
    """The stored file (or a thumbnail of an image) as an answer: its type as detected,
    never sniffed by the browser; shown inline only when it is an image (the page's
    preview), downloaded otherwise; sandboxed by its own Content-Security-Policy, so that
    a file opened in the browser can run and fetch nothing. `Cache-Control: no-store` is
    added by core.middleware.NoStoreMiddleware, as on every answer."""
    name = f"{slugify(attachment.label) or 'attachment'}-{attachment.pk}.{attachment.extension}"
    response: HttpResponseBase
    if thumbnail:
        with attachment.file.open("rb") as stored:
            data = files.thumbnail(stored, attachment.content_type)
        response = HttpResponse(data, content_type=attachment.content_type)
        response["Content-Disposition"] = content_disposition_header(False, name) or ""
    else:
        response = FileResponse(
            attachment.file.open("rb"),
            content_type=attachment.content_type,
            as_attachment=not attachment.is_image,
            filename=name,
        )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = FILE_POLICY
    return response


def page_of(attachment: Attachment) -> str:
    """The page that lists the attachment: its case's, else its consent's, else its
    client's."""
    if attachment.case_id:
        return reverse("casework:case_detail", args=[attachment.case_id])
    if attachment.consent_id:
        return reverse("referrals:consent_detail", args=[attachment.consent_id])
    return reverse("cases:client_detail", args=[attachment.client_id])


@login_required
@require_http_methods(["GET", "POST"])
def attachment_in_error(request, pk):
    """Mark an attachment entered in error, with a reason: it leaves the lists, and the
    record keeps it."""
    attachment = get_attachment_for_user(request, pk, write=True, audit_read=False)
    form = InErrorForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            services.mark_attachment_in_error(
                actor=request.user,
                attachment=attachment,
                reason=form.cleaned_data["reason"],
                request=request,
            )
        except DomainError as exc:
            add_error(exc, form)
        else:
            messages.success(
                request,
                _("%(label)s was marked entered in error. It is kept in the record.")
                % {"label": attachment.label},
            )
            return redirect(page_of(attachment) + "#attachments")
    if request.method == "GET":
        # The page names the attachment and its client: a read of their record.
        audit(request=request, action=Action.VIEW, obj=attachment, detail={"page": "in error"})
    return render(
        request,
        "attachments/attachment_in_error.html",
        {
            "attachment": attachment,
            "client": attachment.client,
            "form": form,
            "back_url": page_of(attachment),
        },
    )
