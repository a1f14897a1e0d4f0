"""The one way views and API endpoints fetch an attachment (built on
audit.access.get_for_user, as cases.access): 404 and a DENIED audit row when the user may
not see it (another team's, another agency's, a system admin), 403 when `write` and the
user may only read it, a VIEW row on a read."""

from django.http import HttpRequest

from attachments.models import Attachment
from audit.access import get_for_user


def get_attachment_for_user(
    request: HttpRequest, pk: object, *, write: bool = False, audit_read: bool = True
) -> Attachment:
    """An attachment the user may see (Attachment.objects.visible_to: the rules of the case
    page, or of the client page for one on no case); `write`: one they may change."""
    user = request.user
    return get_for_user(
        request,
        Attachment,
        Attachment.objects.visible_to(user).select_related("client", "uploaded_by"),
        Attachment.objects.writable_by(user),
        pk,
        write,
        audit_read,
    )
