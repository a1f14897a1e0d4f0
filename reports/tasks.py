"""Export work for the Celery worker: thin, idempotent, taking ids."""

from celery import shared_task

from reports import services


@shared_task
def build_export(job_id: int):
    """Build one export job's file (a second delivery finds it claimed and does nothing)."""
    services.build_export(job_id=job_id)


@shared_task
def fail_stalled_exports():
    """Beat runs this every minute: jobs with no heartbeat for 10 minutes are marked
    failed, and export files older than 7 days are deleted."""
    failed = services.fail_stalled_exports()
    services.delete_old_export_files()
    return failed
