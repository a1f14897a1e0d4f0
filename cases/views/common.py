"""What the worker's pages share."""

from django.utils.translation import gettext as _

from audit.services import refuse


def require_worker(request, page: str):
    """Recording contacts and breaking the glass are for people who carry a caseload."""
    if not request.user.works_cases:
        refuse(request, page, _("Only social workers and supervisors can do this."))
