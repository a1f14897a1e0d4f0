"""The one way pages and the API fetch an export job: only the person who asked for it."""

from django.http import Http404, HttpRequest
from django.utils.translation import gettext as _

from audit.access import record_denied
from core.ids import as_id
from reports.models import ExportJob


def get_export_for_user(request: HttpRequest, pk: object) -> ExportJob:
    """The user's own export job. Anyone else's, or none, answers 404 with a DENIED
    audit row (in the trail of the job's agency)."""
    job_id = as_id(pk)
    job = None
    if job_id is not None:
        job = ExportJob.objects.filter(pk=job_id, requested_by_id=request.user.pk).first()
    if job is None:
        record_denied(request, ExportJob, pk if job_id is None else job_id, "not the requester")
        raise Http404(_("No export found."))
    return job
