from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from cases.models import ContactDraft

# A draft keeps a note typed before an idle logoff; after a week nobody is coming back to it.
DRAFT_MAX_AGE = timedelta(days=7)


@shared_task
def purge_stale_drafts() -> int:
    """Delete contact drafts untouched for DRAFT_MAX_AGE. Beat runs it hourly; running it
    again deletes nothing more. Returns how many drafts were deleted."""
    deleted, _ = ContactDraft.objects.filter(updated_at__lt=timezone.now() - DRAFT_MAX_AGE).delete()
    return deleted
